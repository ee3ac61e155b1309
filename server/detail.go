package server

import (
	"sync"
	"sync/atomic"

	"github.com/gocached/gocached/protocol"
)

// prefixStats is memcached's `stats detail`: get, hit, set and delete
// counts per key prefix (the key up to the -D delimiter), kept only while
// detail is on. Its cost when off is one atomic load per command.
type prefixStats struct {
	on    atomic.Bool
	delim byte

	mu     sync.Mutex
	byName map[string]*prefixCount
	order  []*prefixCount // dump order: creation
}

type prefixCount struct {
	prefix                 []byte
	gets, hits, sets, dels uint64
}

// maxPrefixes is memcached's MAX_PREFIX_COUNT: past it new prefixes are
// not counted.
const maxPrefixes = 1 << 16

// find returns key's prefix counters, creating them, or nil when key has
// no delimiter (memcached stops at a NUL too) or the table is full. The
// lock is held.
func (p *prefixStats) find(key []byte) *prefixCount {
	n := -1
	for i, b := range key {
		if b == 0 {
			break
		}
		if b == p.delim {
			n = i
			break
		}
	}
	if n < 0 {
		return nil
	}
	if pc := p.byName[string(key[:n])]; pc != nil {
		return pc
	}
	if len(p.order) >= maxPrefixes {
		return nil
	}
	if p.byName == nil {
		p.byName = map[string]*prefixCount{}
	}
	pc := &prefixCount{prefix: append([]byte(nil), key[:n]...)}
	p.byName[string(pc.prefix)] = pc
	p.order = append(p.order, pc)
	return pc
}

func (p *prefixStats) record(key []byte, get, hit, set, del bool) {
	p.mu.Lock()
	if pc := p.find(key); pc != nil {
		switch {
		case get:
			pc.gets++
			if hit {
				pc.hits++
			}
		case set:
			pc.sets++
		case del:
			pc.dels++
		}
	}
	p.mu.Unlock()
}

// recordGet, recordSet and recordDelete count one command on key's prefix
// while detail is on.
func (p *prefixStats) recordGet(key []byte, hit bool) {
	if p.on.Load() {
		p.record(key, true, hit, false, false)
	}
}

func (p *prefixStats) recordSet(key []byte) {
	if p.on.Load() {
		p.record(key, false, false, true, false)
	}
}

func (p *prefixStats) recordDelete(key []byte) {
	if p.on.Load() {
		p.record(key, false, false, false, true)
	}
}

// dump appends `stats detail dump`'s lines and END.
func (p *prefixStats) dump(dst []byte) []byte {
	p.mu.Lock()
	for _, pc := range p.order {
		dst = protocol.AppendPrefixStat(dst, pc.prefix, pc.gets, pc.hits, pc.sets, pc.dels)
	}
	p.mu.Unlock()
	return append(dst, protocol.End...)
}

// clear forgets every prefix (stats reset).
func (p *prefixStats) clear() {
	p.mu.Lock()
	p.byName, p.order = nil, nil
	p.mu.Unlock()
}

// cmdStatsDetail is `stats detail on|off|dump`.
func (c *conn) cmdStatsDetail(t *protocol.Tokens) {
	p := &c.s.detail
	switch protocol.ParseStatsDetail(t) {
	case protocol.DetailOn:
		p.on.Store(true)
		c.out = append(c.out, protocol.OK...)
	case protocol.DetailOff:
		p.on.Store(false)
		c.out = append(c.out, protocol.OK...)
	case protocol.DetailDump:
		c.out = p.dump(c.out)
	default:
		c.out = append(c.out, protocol.ErrDetailUsage...)
	}
}
