package slab

// MaxClasses bounds the number of size classes (ids 1..MaxClasses-1; 0 is
// reserved as in memcached). memcached caps at 64; gocached's default
// growth factor is finer, so it allows more.
const MaxClasses = 128

// Sizes computes the chunk sizes of the classes, memcached's way: the first
// is minSize rounded up to 8, each next one the previous times factor rounded
// up to 8, until half a page; the last class is a whole page.
func Sizes(minSize int, factor float64, pageSize int) []int {
	if factor <= 1 {
		factor = 1.25
	}
	chunkMax := pageSize / 2
	var sizes []int
	size := float64(minSize)
	// At most MaxClasses-3 grown classes, so that with the two below the
	// ids stay within 1..MaxClasses-1.
	for len(sizes) < MaxClasses-3 {
		s := (int(size) + 7) &^ 7
		if float64(s) >= float64(chunkMax)/factor {
			break
		}
		if n := len(sizes); n > 0 && s <= sizes[n-1] {
			s = sizes[n-1] + 8
		}
		sizes = append(sizes, s)
		size = float64(s) * factor
	}
	sizes = append(sizes, chunkMax, pageSize)
	return sizes
}
