package bench

import (
	"math"
	"math/rand/v2"
)

// Facebook's ETC pool (Atikoglu et al., "Workload Analysis of a
// Large-Scale Key-Value Store", SIGMETRICS 2012), with the parameters
// mutilate uses for it: key lengths from a generalized extreme value
// distribution GEV(30.7984, 8.20449, 0.078688); value sizes from a
// discrete head of 0..14 bytes, then a generalized Pareto (location 15,
// scale 214.476, shape 0.348238).

// etcValueHead is the probability of each value size 0..14.
var etcValueHead = [...]float64{0.00536, 0.00047, 0.17820, 0.09239, 0.00018, 0.02740, 0.00065,
	0.00606, 0.00023, 0.00837, 0.00837, 0.08989, 0.00092, 0.00326, 0.01980}

// ETCKeySize draws a key length, within memcached's 1..250 (at least
// minKey, so that a distinct key index fits).
func ETCKeySize(r *rand.Rand, minKey int) int {
	const mu, sigma, xi = 30.7984, 8.20449, 0.078688
	x := mu + sigma*(math.Pow(-math.Log(1-r.Float64()), -xi)-1)/xi
	return min(max(int(x), minKey, 1), 250)
}

// ETCValueSize draws a value size, at most maxValue.
func ETCValueSize(r *rand.Rand, maxValue int) int {
	u := r.Float64()
	for size, p := range etcValueHead {
		if u < p {
			return min(size, maxValue)
		}
		u -= p
	}
	const loc, scale, shape = 15, 214.476, 0.348238
	x := loc + scale*(math.Pow(1-r.Float64(), -shape)-1)/shape
	return int(min(x, float64(maxValue)))
}
