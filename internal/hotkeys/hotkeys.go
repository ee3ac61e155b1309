// Package hotkeys finds the keys that take the most requests and the most
// bytes over the last seconds: a streaming heavy-hitters summary
// (Space-Saving) per sliding window, fed a random sample of the requests.
//
// It owns only its own memory, fixed when a Tracker is made (Bytes says how
// much): never a map of every key, never an allocation per request. It
// knows nothing of the store, the protocols or the sockets; the server
// hands it keys.
package hotkeys

import (
	"slices"
	"sync"
	"time"

	"github.com/cespare/xxhash/v2"
)

// MaxKey is the longest key held: memcached's key limit. Longer keys
// (binary protocol) are held by their first MaxKey bytes.
const MaxKey = 250

// Window is a sliding window of Slots slots of Slot each: its figures cover
// the last (Slots-1)×Slot to Slots×Slot of traffic.
type Window struct {
	Name  string // as shown: "10s"
	Slot  time.Duration
	Slots int
}

// Seconds is the window's length.
func (w Window) Seconds() float64 { return (time.Duration(w.Slots) * w.Slot).Seconds() }

// DefaultWindows are the last 10 s (1 s slots) and the last 60 s (5 s slots).
var DefaultWindows = []Window{{"10s", time.Second, 10}, {"60s", 5 * time.Second, 12}}

// DefaultCapacity is the counters per summary: any key with more than
// 1/256 (0.4%) of a window's sampled requests is always held.
const DefaultCapacity = 256

// Config is a Tracker's shape.
type Config struct {
	Capacity   int      // counters per window and ranking (default DefaultCapacity)
	Windows    []Window // default DefaultWindows
	SampleRate int      // one request in SampleRate is recorded; estimates are scaled by it (default 1)
}

// Tracker is the hot keys of a server: for each window, one summary by
// requests and one by bytes. Safe for concurrent use; Add takes one mutex,
// so callers sample before calling it.
type Tracker struct {
	mu      sync.Mutex
	rate    uint64
	start   int64 // time of the first Add: a window younger than its length is averaged over its age
	windows []window
	size    int // Bytes, counted once in New: it never changes
}

type window struct {
	Window
	slot  int64 // index of the current slot since the epoch
	req   *summary
	bytes *summary
}

// New makes a Tracker; its memory is all allocated here.
func New(cfg Config) *Tracker {
	if cfg.Capacity <= 0 {
		cfg.Capacity = DefaultCapacity
	}
	if cfg.Capacity > 1<<15 {
		cfg.Capacity = 1 << 15
	}
	if len(cfg.Windows) == 0 {
		cfg.Windows = DefaultWindows
	}
	if cfg.SampleRate <= 0 {
		cfg.SampleRate = 1
	}
	t := &Tracker{rate: uint64(cfg.SampleRate)}
	for _, w := range cfg.Windows {
		if w.Slots < 1 {
			w.Slots = 1
		}
		if w.Slot <= 0 {
			w.Slot = time.Second
		}
		t.windows = append(t.windows, window{Window: w, req: newSummary(cfg.Capacity, w.Slots), bytes: newSummary(cfg.Capacity, w.Slots)})
	}
	for _, w := range t.windows {
		t.size += w.req.bytes() + w.bytes.bytes()
	}
	return t
}

// SampleRate is the rate the Tracker scales its estimates by.
func (t *Tracker) SampleRate() int { return int(t.rate) }

// Windows are the Tracker's windows.
func (t *Tracker) Windows() []Window {
	out := make([]Window, len(t.windows))
	for i := range t.windows {
		out[i] = t.windows[i].Window // fixed since New; the rest Add writes
	}
	return out
}

// Bytes is the memory the Tracker holds; it never changes. It reads
// nothing that Add writes (the summaries' slices grow within capacity), so
// it needs no lock.
func (t *Tracker) Bytes() int { return t.size }

// Add records one sampled request for key that moved n bytes (value bytes
// stored or returned; 0 for a miss), at now (unix nanoseconds).
func (t *Tracker) Add(key []byte, n int, now int64) {
	h := xxhash.Sum64(key)
	t.mu.Lock()
	if t.start == 0 {
		t.start = now
	}
	for i := range t.windows {
		w := &t.windows[i]
		w.advance(now)
		w.req.add(h, key, 1)
		if n > 0 {
			w.bytes.add(h, key, uint64(n))
		}
	}
	t.mu.Unlock()
}

func (w *window) advance(now int64) {
	s := now / int64(w.Slot)
	if w.slot == 0 {
		w.slot = s
	}
	if s > w.slot {
		w.req.advance(s - w.slot)
		w.bytes.advance(s - w.slot)
		w.slot = s
	}
}

// Ranking is what a top list is ordered by.
type Ranking uint8

const (
	ByRequests Ranking = iota
	ByBytes
)

func (r Ranking) String() string {
	if r == ByBytes {
		return "bytes"
	}
	return "requests"
}

// Entry is one hot key. Count and Err are estimates for the whole traffic
// (sampled figures times the sample rate): the key had at most Count and
// at least Count-Err requests (or bytes) in the window.
type Entry struct {
	Key        string
	Count, Err uint64
	PerSecond  float64 // Count over the window's length (or the time since the first sample, when shorter)
}

// Top is the n hottest keys of window wi by r at now, hottest first.
func (t *Tracker) Top(wi int, r Ranking, n int, now int64) []Entry {
	t.mu.Lock()
	defer t.mu.Unlock()
	if wi < 0 || wi >= len(t.windows) {
		return nil
	}
	w := &t.windows[wi]
	w.advance(now)
	s := w.req
	if r == ByBytes {
		s = w.bytes
	}
	idx := make([]int, 0, s.n)
	for i := 0; i < s.n; i++ {
		if s.total[i] > 0 {
			idx = append(idx, i)
		}
	}
	slices.SortFunc(idx, func(a, b int) int {
		switch {
		case s.total[a] > s.total[b]:
			return -1
		case s.total[a] < s.total[b]:
			return 1
		}
		return 0
	})
	if len(idx) > n {
		idx = idx[:n]
	}
	out := make([]Entry, len(idx))
	secs := w.Seconds()
	if age := float64(now-t.start) / 1e9; age < secs {
		secs = max(age, 1)
	}
	for j, i := range idx {
		c := s.total[i] * t.rate
		out[j] = Entry{Key: string(s.key(i)), Count: c, Err: s.err[i] * t.rate, PerSecond: float64(c) / secs}
	}
	return out
}

// Sampler picks about one request in rate for a Tracker, at random gaps
// (so that a periodic pattern of requests cannot hide a key), without
// locks or allocations: each connection has its own.
type Sampler struct {
	left uint32 // requests to skip before the next sample
	rng  uint32 // xorshift state; 0 until seeded
}

// NewSampler is a Sampler seeded with seed (e.g. a connection's id).
func NewSampler(seed uint64) Sampler {
	r := uint32(seed*0x9E3779B97F4A7C15>>32) | 1
	return Sampler{rng: r}
}

// Sample reports whether this request is sampled, rate ≥ 1.
func (s *Sampler) Sample(rate uint32) bool {
	if s.left > 0 {
		s.left--
		return false
	}
	s.left = s.gap(rate)
	return true
}

// gap is uniform in [0, 2·rate-2]: a mean of rate-1 skipped requests.
func (s *Sampler) gap(rate uint32) uint32 {
	if rate <= 1 {
		return 0
	}
	x := s.rng
	if x == 0 {
		x = 0x2545F491
	}
	x ^= x << 13
	x ^= x >> 17
	x ^= x << 5
	s.rng = x
	return x % (2*rate - 1)
}
