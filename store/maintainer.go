package store

import "time"

// runMaintainer is the background goroutine: it gives pages back after
// the memory limit shrank (SetMemoryLimit), balances pages between
// classes once a second (slab_automove) and sweeps for dead items
// (memcached's LRU crawler), right after a flush_all and then at an
// interval stretched so sweeping costs at most ~5% of one core.
func (s *Store) runMaintainer() {
	defer s.wg.Done()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	nextCrawl := time.Now().Add(s.opts.CrawlInterval)
	window := s.opts.AutomoveWindow
	if window <= 0 {
		window = 10
	}
	samples := 0
	for {
		select {
		case <-s.stop:
			return
		case <-s.kick:
			nextCrawl = s.crawlAndSchedule()
		case <-s.resized:
			s.shrink() // what is left goes on the next passes
		case <-t.C:
			s.shrink()
			if s.automoveLevel.Load() > 0 && !s.opts.NoEvictions {
				if samples++; samples > window {
					s.automove()
				}
			}
			if !s.autoCrawlOff.Load() && !time.Now().Before(nextCrawl) {
				nextCrawl = s.crawlAndSchedule()
			}
		}
	}
}

func (s *Store) crawlAndSchedule() time.Time {
	start := time.Now()
	s.Crawl()
	next := s.opts.CrawlInterval
	if d := 20 * time.Since(start); d > next {
		next = d
	}
	return time.Now().Add(next)
}

// Crawl sweeps every class for expired and flushed items and frees them.
func (s *Store) Crawl() {
	s.global.crawlerRun.Store(true)
	defer s.global.crawlerRun.Store(false)
	s.global.crawlerStarts.Add(1)
	checked := s.sweep(func(it hdr, now uint32) bool {
		exp := it.exptime()
		return (exp != 0 && exp <= now) || s.isFlushed(it, now)
	}, reasonCrawl)
	s.global.itemsChecked.Add(uint64(checked))
}

// sweep walks every class page by page and frees each linked item that
// dead picks (asked again under the item's shard lock, so an item changed
// meanwhile is judged as it is then). It returns how many items it looked
// at, and stops early when the store closes.
func (s *Store) sweep(dead func(it hdr, now uint32) bool, why reason) int {
	var doomed []victim
	checked := 0
	for _, c := range s.classes[1:] {
		c.mu.Lock()
		pages := append([]uint32(nil), c.sc.PageList()...)
		c.mu.Unlock()
		for _, page := range pages {
			select {
			case <-s.stop:
				return checked
			default:
			}
			doomed = doomed[:0]
			now := s.clock.Now()
			c.mu.Lock()
			if !c.owns(page) {
				c.mu.Unlock()
				continue
			}
			for off := 0; off+c.sc.Size <= s.arena.PageSize(); off += c.sc.Size {
				l := s.arena.LocOf(page, off)
				it := hdr(s.arena.Chunk(l, HeaderSize))
				if !it.linked() {
					continue
				}
				checked++
				if dead(it, now) {
					doomed = append(doomed, victim{l, s.hashAt(l)})
				}
			}
			c.mu.Unlock()
			for _, v := range doomed {
				s.freeIfAt(v.loc, v.hash, dead, why)
			}
		}
	}
	return checked
}

// owns reports whether page belongs to the class (class lock held).
func (c *class) owns(page uint32) bool {
	for _, p := range c.sc.PageList() {
		if p == page {
			return true
		}
	}
	return false
}

// automove moves one page toward the class that is evicting the youngest
// items, from the class whose LRU tail is oldest, as memcached's
// slab_automove=1: only when the young class's tail age is under 0.8 of the
// old one's, and the old class keeps at least two pages.
func (s *Store) automove() {
	now := s.clock.Now()
	var young, old *class
	var youngAge, oldAge uint32
	for _, c := range s.classes[1:] {
		c.mu.Lock()
		ev := c.st.evicted
		delta := ev - c.lastEvicted
		c.lastEvicted = ev
		pages := c.sc.Pages()
		age := s.tailAge(c, now)
		c.mu.Unlock()
		if delta > 0 && (young == nil || age < youngAge) {
			young, youngAge = c, age
		}
		if pages > 2 && (old == nil || age > oldAge) {
			old, oldAge = c, age
		}
	}
	if young == nil || old == nil || young == old {
		return
	}
	if float64(youngAge) < 0.8*float64(oldAge) {
		s.logPageMove(old, young, s.movePage(old, young))
	}
}

// automoveOnce is slab_automove=2: the balancing pass runs before every
// eviction instead of once a second (skipped while a page is moving).
func (s *Store) automoveOnce() {
	if !s.moveMu.TryLock() {
		return
	}
	s.moveMu.Unlock()
	s.automove()
}
