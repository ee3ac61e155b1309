package client

import "hash/crc32"

// Modulo is gomemcache's ServerList distribution: crc32 (IEEE) of the key
// modulo the number of servers, a server of weight w listed w times in a
// row. It moves most keys when a server is added or lost (75% going from
// 3 to 4) and is offered only for migrating from gomemcache.
type Modulo struct {
	slots []int // node index per slot
}

// NewModulo builds the distribution of nodes; Pick returns indexes into
// nodes.
func NewModulo(nodes []Node) *Modulo {
	m := &Modulo{}
	for i, n := range nodes {
		for w := uint32(0); w < nodeWeight(n.Weight); w++ {
			m.slots = append(m.slots, i)
		}
	}
	return m
}

// Pick returns the index of the node key belongs to, or -1 when there is
// none.
func (m *Modulo) Pick(key string) int {
	switch len(m.slots) {
	case 0:
		return -1
	case 1:
		return m.slots[0]
	}
	// gomemcache copies the key into a 256-byte buffer first, so only
	// the first 256 bytes count.
	var buf [256]byte
	n := copy(buf[:], key)
	cs := crc32.ChecksumIEEE(buf[:n])
	return m.slots[cs%uint32(len(m.slots))]
}
