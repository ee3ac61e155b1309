// Package casorder renumbers CAS uniques by order of first appearance, so
// that tests can compare the replies of two servers (or of one server over
// two runs) without depending on their CAS counters. It is test support:
// only tests import it, and it must never hold production logic.
package casorder

import "strconv"

// Order maps each CAS unique to its rank of first appearance, from 1. The
// zero CAS is not renumbered: it means "no CAS" on every protocol.
type Order map[uint64]int

// Name returns "#N" for cas, N its rank of first appearance, or "0".
func (o Order) Name(cas uint64) string {
	if cas == 0 {
		return "0"
	}
	n, ok := o[cas]
	if !ok {
		n = len(o) + 1
		o[cas] = n
	}
	return "#" + strconv.Itoa(n)
}

// NameText is Name for a CAS written in decimal; text that is not a
// number is returned unchanged.
func (o Order) NameText(cas string) string {
	v, err := strconv.ParseUint(cas, 10, 64)
	if err != nil {
		return cas
	}
	return o.Name(v)
}
