package server

import (
	"github.com/gocached/gocached/protocol"
	"github.com/gocached/gocached/store"
)

var reassignReplies = map[store.ReassignResult]string{
	store.ReassignOK:       "OK\r\n",
	store.ReassignRunning:  "BUSY currently processing reassign request\r\n",
	store.ReassignBadClass: "BADCLASS invalid src or dst class id\r\n",
	store.ReassignNoSpare:  "NOSPARE source class has no spare pages\r\n",
	store.ReassignSame:     "SAME src and dst class are identical\r\n",
}

// cmdSlabs is `slabs reassign <src> <dst>` and `slabs automove <0|1|2>`.
func (c *conn) cmdSlabs(t *protocol.Tokens) action {
	var sl protocol.SlabsCommand
	errLine := protocol.ParseSlabs(t, &sl)
	c.noreply = sl.Noreply
	switch {
	case sl.Sub == protocol.SlabsReassign && !c.s.cfg.SlabReassign:
		c.reply([]byte("CLIENT_ERROR slab reassignment disabled\r\n"))
	case errLine != nil:
		c.reply(errLine)
	case sl.Sub == protocol.SlabsReassign:
		c.out = append(c.out, reassignReplies[c.s.store.Reassign(int(sl.Src), int(sl.Dst))]...)
	default:
		c.s.automove.Store(int32(sl.Level))
		c.s.store.SetAutomove(int(sl.Level))
		c.reply(protocol.OK)
	}
	return actMore
}

// cmdLRUCrawler is `lru_crawler crawl <ids|all>` (an immediate sweep for
// dead items) and the tuning words memcached accepts.
func (c *conn) cmdLRUCrawler(t *protocol.Tokens) action {
	if t.N < 2 {
		c.reply(protocol.Error)
		return actMore
	}
	switch string(t.T[1]) {
	case "crawl":
		if t.N < 3 {
			c.reply(protocol.Error)
			return actMore
		}
		if !c.s.store.KickCrawler() {
			c.out = append(c.out, "BUSY currently processing crawler request\r\n"...)
			return actMore
		}
		c.reply(protocol.OK)
	case "enable", "disable", "sleep", "tocrawl":
		c.reply(protocol.OK)
	default:
		c.reply(protocol.Error)
	}
	return actMore
}

// cmdDebugTime is memcached-debug's `debugtime <seconds>|p|r`.
func (c *conn) cmdDebugTime(t *protocol.Tokens) action {
	var d protocol.DebugTime
	if e := protocol.ParseDebugTime(t, &d); e != nil {
		c.reply(e)
		return actMore
	}
	c.s.store.MoveClock(d.Seconds, d.Pause, d.Resume)
	c.reply(protocol.OK)
	return actMore
}
