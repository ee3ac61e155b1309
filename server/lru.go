package server

import (
	"strconv"

	"github.com/gocached/gocached/protocol"
)

// lruShown is what `stats settings` shows for the LRU settings that `lru
// tune` and `lru temp_ttl` change at run time. gocached evicts S3-FIFO's
// way and acts on none of tune's (they are accepted and shown, as the
// start-up options that set them are); temp_ttl also turns the store's
// temporary queue on or off (store.SetTempTTL).
type lruShown struct {
	hotPct, warmPct, hotFactor, warmFactor, tempTTL string
}

// initLRUShown takes the start-up values.
func (s *Server) initLRUShown() {
	c := &s.cfg
	s.lru.Store(&lruShown{
		hotPct: c.Setting("hot_lru_pct"), warmPct: c.Setting("warm_lru_pct"),
		hotFactor: c.Setting("hot_max_factor"), warmFactor: c.Setting("warm_max_factor"),
		tempTTL: c.Setting("temporary_ttl"),
	})
}

// setting is a `stats settings` value of an option without a mechanism of
// its own, as it is now: changed at run time or as started.
func (s *Server) setting(name string) string {
	l := s.lru.Load()
	switch name {
	case "hot_lru_pct":
		return l.hotPct
	case "warm_lru_pct":
		return l.warmPct
	case "hot_max_factor":
		return l.hotFactor
	case "warm_max_factor":
		return l.warmFactor
	case "temporary_ttl":
		return l.tempTTL
	case "lru_crawler_sleep":
		return strconv.FormatUint(uint64(s.crawlerSleep.Load()), 10)
	case "lru_crawler_tocrawl":
		return strconv.FormatUint(uint64(s.crawlerToCrawl.Load()), 10)
	}
	return s.cfg.Setting(name)
}

// cmdLRU is memcached 1.6.45's lru command: tune, mode and temp_ttl, with
// its replies; mode and temp_ttl only with an LRU maintainer reported, as
// memcached has them only with its maintainer thread. What they set is
// shown by stats settings (lruShown); `lru mode` changes nothing
// (lru_segmented stays no), `lru temp_ttl` turns the temporary queue on
// (temp_lru yes) or, negative, off.
func (c *conn) cmdLRU(t *protocol.Tokens) action {
	var l protocol.LRUCommand
	errLine := protocol.ParseLRU(t, c.s.maintainerStats(), &l)
	c.noreply = l.Noreply
	if errLine != nil {
		c.reply(errLine)
		return actMore
	}
	s := c.s
	s.lruMu.Lock()
	next := *s.lru.Load()
	switch l.Sub {
	case protocol.LRUTune:
		next.hotPct = strconv.Itoa(int(int32(l.HotPct))) // memcached prints them with %d
		next.warmPct = strconv.Itoa(int(int32(l.WarmPct)))
		next.hotFactor = protocol.FormatCFactor(l.HotFactor)
		next.warmFactor = protocol.FormatCFactor(l.WarmFactor)
	case protocol.LRUTempTTL:
		if l.TempTTL >= 0 {
			next.tempTTL = strconv.Itoa(int(l.TempTTL))
		}
		s.store.SetTempTTL(int64(l.TempTTL))
	}
	s.lru.Store(&next)
	s.lruMu.Unlock()
	c.reply(protocol.OK)
	return actMore
}
