package store

import (
	"sync/atomic"
	"time"
)

// Time in the store is memcached's "rel time": whole seconds since a point
// just before the process started, so 0 can mean "never" and 1 "long ago".
const (
	relStart       = 62                // memcached: process_started = start - ITEM_UPDATE_INTERVAL - 2
	maxRelativeExp = 60 * 60 * 24 * 30 // exptimes above this are unix times
	bumpInterval   = 60                // memcached's ITEM_UPDATE_INTERVAL
	expiredRelTime = 1
)

type clock struct {
	now     func() time.Time
	started int64 // unix time of rel 0
	rel     atomic.Uint32
	moved   atomic.Int64 // seconds added by Move (memcached-debug's debugtime)
	paused  atomic.Bool  // the time stands still (debugtime p)
}

func newClock(now func() time.Time) *clock {
	if now == nil {
		now = time.Now
	}
	c := &clock{now: now, started: now().Unix() - relStart}
	c.tick()
	return c
}

// tick re-reads the time source.
func (c *clock) tick() {
	if c.paused.Load() {
		return
	}
	c.rel.Store(uint32(c.now().Unix() - c.started + c.moved.Load()))
}

// Now is the current rel time.
func (c *clock) Now() uint32 { return c.rel.Load() }

// RelTime converts a client exptime (seconds, or a unix time past 30 days;
// negative means already expired) to rel time, memcached's realtime().
func (c *clock) RelTime(exptime int64) uint32 {
	switch {
	case exptime == 0:
		return 0
	case exptime < 0:
		return expiredRelTime
	case exptime > maxRelativeExp:
		if exptime <= c.started {
			return expiredRelTime
		}
		return uint32(exptime - c.started)
	default:
		return uint32(exptime) + c.Now()
	}
}

// Unix converts a rel time back to unix seconds.
func (c *clock) Unix(rel uint32) int64 { return c.started + int64(rel) }
