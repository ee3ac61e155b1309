package store

// ReassignResult is the outcome of a manual page move request.
type ReassignResult uint8

// memcached's REASSIGN_* results.
const (
	ReassignOK ReassignResult = iota
	ReassignRunning
	ReassignBadClass
	ReassignNoSpare
	ReassignSame
)

// Reassign moves one page from class src to class dst in the background
// (`slabs reassign`). src -1 picks any class with a spare page.
func (s *Store) Reassign(src, dst int) ReassignResult {
	if src == dst {
		return ReassignSame
	}
	last := len(s.classes) - 1
	if (src != -1 && (src < 1 || src > last)) || dst < 1 || dst > last {
		return ReassignBadClass
	}
	if !s.moveMu.TryLock() {
		return ReassignRunning
	}
	s.moveMu.Unlock()
	var from *class
	if src == -1 {
		for id := 1; id <= last; id++ {
			if id != dst && s.pages(s.classes[id]) > 1 {
				from = s.classes[id]
				break
			}
		}
	} else if s.pages(s.classes[src]) > 1 {
		from = s.classes[src]
	}
	if from == nil {
		return ReassignNoSpare
	}
	to := s.classes[dst]
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.movePageForce(from, to)
	}()
	return ReassignOK
}

func (s *Store) pages(c *class) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sc.Pages()
}

// SetAutomove changes slab_automove at run time.
func (s *Store) SetAutomove(level int) { s.automoveLevel.Store(int32(level)) }

// KickCrawler asks the reclaimer to sweep now; false if one is running.
func (s *Store) KickCrawler() bool {
	if s.global.crawlerRun.Load() {
		return false
	}
	select {
	case s.kick <- struct{}{}:
	default:
	}
	return true
}
