package server

import (
	"github.com/gocached/gocached/protocol"
	"github.com/gocached/gocached/store"
	"go.uber.org/zap"
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

// cmdMemlimit is cache_memlimit <megabytes>: item memory grows at once
// and shrinks in the background, pages given back to the system
// (store.SetMemoryLimit); refused, as memcached refuses it for its
// preallocated memory, when item memory is a memory file (-e).
func (c *conn) cmdMemlimit(t *protocol.Tokens) action {
	mb, noreply, errLine := protocol.ParseMemlimit(t)
	c.noreply = noreply
	switch {
	case errLine != nil:
		c.reply(errLine)
	case !c.s.store.SetMemoryLimit(int64(mb) << 20):
		c.reply(protocol.MemlimitAdjustErr)
	default:
		c.s.log.Info("maxbytes adjusted", zap.Uint32("megabytes", mb))
		c.reply(protocol.OK)
	}
	return actMore
}

// cmdLRUCrawler is memcached 1.6.45's lru_crawler: crawl <classes> (an
// immediate sweep for dead items), metadump and mgdump <classes|all|hash>,
// tocrawl <n>, sleep <us>, enable and disable. Subcommands match by the
// letters sent, as memcached compares them.
func (c *conn) cmdLRUCrawler(t *protocol.Tokens) action {
	s := c.s
	sub := protocol.TokenAt(t, 1)
	switch {
	case t.N == 3 && protocol.PrefixOf(sub, "crawl"):
		var cl protocol.CrawlerClasses
		switch {
		case !s.crawlerOn.Load():
			c.reply(protocol.CrawlerDisabled)
		case !protocol.ParseCrawlerClasses(t.T[2], &cl):
			c.reply(protocol.CrawlerBadClass)
		case !cl.All && !cl.Hash && cl.IDs == [64]bool{}:
			c.reply(protocol.CrawlerNotStarted)
		case !s.store.KickCrawler():
			c.reply(protocol.CrawlerBusy)
		default:
			c.reply(protocol.OK)
		}
	case t.N == 3 && protocol.PrefixOf(sub, "metadump"):
		c.crawlerDump(t, "metadump", "ERROR metadump not allowed\r\n")
	case t.N == 3 && protocol.PrefixOf(sub, "mgdump"):
		c.crawlerDump(t, "mgdump", "ERROR key dump not allowed\r\n")
	case t.N == 3 && protocol.PrefixOf(sub, "tocrawl"):
		v, ok := protocol.TokUint64(t.T[2])
		if !ok || v > 1<<32-1 {
			c.reply(protocol.ErrBadFormat)
			break
		}
		s.crawlerToCrawl.Store(uint32(v))
		c.reply(protocol.OK)
	case t.N == 3 && protocol.PrefixOf(sub, "sleep"):
		v, ok := protocol.TokUint64(t.T[2])
		switch {
		case !ok || v > 1<<32-1:
			c.reply(protocol.ErrBadFormat)
		case v > 1000000:
			c.reply([]byte("CLIENT_ERROR sleep must be one second or less\r\n"))
		default:
			s.crawlerSleep.Store(uint32(v))
			c.reply(protocol.OK)
		}
	case t.N == 2 && protocol.PrefixOf(sub, "enable"):
		s.crawlerOn.Store(true)
		s.store.SetAutoCrawl(true)
		c.reply(protocol.OK)
	case t.N == 2 && protocol.PrefixOf(sub, "disable"):
		s.crawlerOn.Store(false)
		s.store.SetAutoCrawl(false)
		c.reply(protocol.OK)
	default:
		c.reply(protocol.Error)
	}
	return actMore
}

// crawlerDump is lru_crawler metadump and mgdump: "OK", a line per live
// item of the classes asked for (all, or hash: every item), then END
// (metadump) or EN (mgdump). The index is walked one shard at a time, and
// what a shard gave is written before the next, so the replies pending
// stay bounded by a shard's share of the items.
func (c *conn) crawlerDump(t *protocol.Tokens, what, notAllowed string) {
	s := c.s
	var cl protocol.CrawlerClasses
	switch {
	case !s.crawlerOn.Load():
		c.reply(protocol.CrawlerDisabled)
		return
	case s.cfg.DumpDisabled:
		c.out = append(c.out, notAllowed...)
		return
	case len(c.out) > 0:
		// memcached refuses to interleave a dump with replies still held.
		c.out = append(c.out, "ERROR cannot pipeline other commands before "+what+"\r\n"...)
		return
	case !protocol.ParseCrawlerClasses(t.T[2], &cl):
		c.reply(protocol.CrawlerBadClass)
		return
	case !cl.All && !cl.Hash && cl.IDs == [64]bool{}:
		c.reply(protocol.CrawlerNotStarted)
		return
	}
	mg := what == "mgdump"
	c.out = append(c.out, protocol.OK...)
	var mi protocol.MetaDumpItem
	fn := func(it *store.Item) {
		cls := it.MemcachedClass()
		if !cl.Has(cls) {
			return
		}
		if mg {
			c.out = protocol.AppendMgDump(c.out, it.Key(), it.KeyBinary())
			return
		}
		mi = protocol.MetaDumpItem{Key: it.Key(), Exp: -1, LastAccess: s.store.Unix(it.Atime()), CAS: it.CAS(),
			Fetched: it.Fetched(), Class: cls, Size: it.MemcachedSize(), Flags: it.Flags()}
		if e := it.Exptime(); e != 0 {
			mi.Exp = s.store.Unix(e)
		}
		c.out = protocol.AppendMetaDump(c.out, &mi)
	}
	for i := 0; i < s.store.Shards(); i++ {
		s.store.DumpShard(i, fn)
		if _, err := c.writeIfFull(); err != nil {
			return
		}
	}
	if mg {
		c.out = append(c.out, "EN\r\n"...)
	} else {
		c.out = append(c.out, protocol.End...)
	}
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
