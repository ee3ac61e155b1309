package hotkeys

import (
	"math/rand/v2"
	"runtime"
	"strconv"
	"testing"
	"time"
)

const sec = int64(time.Second)

// zipfStream is seeded Zipf traffic over distinct keys, with one planted key
// taking share of the requests.
type zipfStream struct {
	r       *rand.Rand
	z       *rand.Zipf
	share   float64
	buf     []byte
	planted []byte
}

func newZipfStream(seed uint64, keys uint64, share float64) *zipfStream {
	r := rand.New(rand.NewPCG(seed, seed^0x5bd1e995))
	return &zipfStream{r: r, z: rand.NewZipf(r, 1.01, 1, keys-1), share: share, planted: []byte("planted:key")}
}

func (z *zipfStream) next() []byte {
	if z.r.Float64() < z.share {
		return z.planted
	}
	z.buf = strconv.AppendUint(append(z.buf[:0], "user:"...), z.z.Uint64(), 10)
	return z.buf
}

func rankOf(top []Entry, key string) int {
	for i, e := range top {
		if e.Key == key {
			return i + 1
		}
	}
	return 0
}

// TestPlantedKeyFound: Zipf traffic over 10 M keys at 100 000 requests a
// second, one key at 1% of them, sampled one in 100 as the server samples:
// the planted key is in the top 10 of both windows within 5 s, for every seed.
func TestPlantedKeyFound(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3, 42, 1234} {
		t.Run(strconv.FormatUint(seed, 10), func(t *testing.T) {
			tr := New(Config{SampleRate: 100})
			z := newZipfStream(seed, 10_000_000, 0.01)
			smp := NewSampler(seed)
			const perSec = 100_000
			start := 1000 * sec
			now := start
			for i := 0; i < 5*perSec; i++ {
				now = start + int64(i)*sec/perSec
				k := z.next()
				if smp.Sample(100) {
					tr.Add(k, 100, now)
				}
			}
			for wi, w := range tr.Windows() {
				top := tr.Top(wi, ByRequests, 10, now)
				r := rankOf(top, "planted:key")
				if r == 0 {
					t.Fatalf("window %s: planted key not in the top 10: %+v", w.Name, top)
				}
				e := top[r-1]
				// 1% of 5 s at 100 000/s is 5 000 requests; sampled one in
				// 100, the estimate is within a factor of 2 of it.
				if e.Count < 2500 || e.Count > 10000 {
					t.Errorf("window %s: planted key estimated at %d requests, want about 5000", w.Name, e.Count)
				}
			}
		})
	}
}

// TestExactBelowCapacity: with fewer keys than counters and no sampling,
// every count is exact and the order is by count.
func TestExactBelowCapacity(t *testing.T) {
	cases := []struct {
		name   string
		counts map[string]int
		want   []string
	}{
		{"one", map[string]int{"a": 3}, []string{"a"}},
		{"order", map[string]int{"a": 1, "b": 5, "c": 3}, []string{"b", "c", "a"}},
		{"ten", map[string]int{"k0": 10, "k1": 9, "k2": 8, "k3": 7, "k4": 6, "k5": 5, "k6": 4, "k7": 3, "k8": 2, "k9": 1}, []string{"k0", "k1", "k2"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr := New(Config{Capacity: 16})
			now := 10 * sec
			for k, n := range c.counts {
				for i := 0; i < n; i++ {
					tr.Add([]byte(k), 10, now)
				}
			}
			top := tr.Top(0, ByRequests, len(c.want), now)
			if len(top) != len(c.want) {
				t.Fatalf("got %d entries, want %d: %+v", len(top), len(c.want), top)
			}
			for i, e := range top {
				if e.Key != c.want[i] || e.Count != uint64(c.counts[e.Key]) || e.Err != 0 {
					t.Errorf("#%d: got %+v, want %s with %d", i, e, c.want[i], c.counts[c.want[i]])
				}
			}
			bt := tr.Top(0, ByBytes, 1, now)
			if len(bt) != 1 || bt[0].Key != c.want[0] || bt[0].Count != uint64(10*c.counts[c.want[0]]) {
				t.Errorf("by bytes: %+v", bt)
			}
		})
	}
}

// TestNeverUndercounts: Space-Saving's guarantee, on a stream with many
// more keys than counters: a held key's count is at least its true count,
// and at most its true count plus its error bound.
func TestNeverUndercounts(t *testing.T) {
	tr := New(Config{Capacity: 32, Windows: []Window{{"all", time.Hour, 1}}})
	z := newZipfStream(7, 5000, 0.05)
	truth := map[string]uint64{}
	now := 10 * sec
	for i := 0; i < 200_000; i++ {
		k := z.next()
		truth[string(k)]++
		tr.Add(k, 0, now)
	}
	top := tr.Top(0, ByRequests, 32, now)
	if len(top) != 32 {
		t.Fatalf("%d entries held, want 32", len(top))
	}
	for _, e := range top {
		if e.Count < truth[e.Key] || e.Count-e.Err > truth[e.Key] {
			t.Errorf("%s: count %d err %d, true count %d", e.Key, e.Count, e.Err, truth[e.Key])
		}
	}
	// Zipf(1.01) over 5 000 keys gives its first keys 11% and 5.4%: the
	// planted 5% key is second or third.
	if r := rankOf(top, "planted:key"); r < 2 || r > 3 {
		t.Errorf("planted key (5%%) ranked %d, want 2 or 3: %+v", r, top[:4])
	}
}

// TestWindowSlides: a key that stops being requested leaves the 10 s
// window after 10 s and the 60 s window after 60 s.
func TestWindowSlides(t *testing.T) {
	tr := New(Config{})
	now := 100 * sec
	for i := 0; i < 50; i++ {
		tr.Add([]byte("burst"), 1, now)
	}
	cases := []struct {
		after time.Duration
		in10s bool
		in60s bool
	}{
		{0, true, true},
		{8 * time.Second, true, true},
		{11 * time.Second, false, true},
		{50 * time.Second, false, true},
		{61 * time.Second, false, false},
	}
	for _, c := range cases {
		at := now + int64(c.after)
		for wi, want := range []bool{c.in10s, c.in60s} {
			got := rankOf(tr.Top(wi, ByRequests, 10, at), "burst") == 1
			if got != want {
				t.Errorf("%v after: in window %d = %v, want %v", c.after, wi, got, want)
			}
		}
	}
}

// TestTableConsistent drives many replacements through a tiny summary and
// checks that the hash table finds exactly the keys held, and the heap's
// root holds the least total.
func TestTableConsistent(t *testing.T) {
	s := newSummary(8, 3)
	r := rand.New(rand.NewPCG(9, 9))
	for i := 0; i < 20000; i++ {
		id := r.IntN(40)
		// Hashes whose low bits collide, so that probing and shifting run.
		h := uint64(id)<<40 | uint64(id%3)
		s.add(h, []byte(strconv.Itoa(id)), uint64(1+r.IntN(3)))
		if i%97 == 0 {
			s.advance(1)
		}
		used := 0
		for _, e := range s.table {
			if e != 0 {
				used++
			}
		}
		if used != s.n {
			t.Fatalf("step %d: %d table entries for %d counters", i, used, s.n)
		}
		for c := 0; c < s.n; c++ {
			if s.find(s.hash[c]) != c {
				t.Fatalf("step %d: counter %d not found by its hash", i, c)
			}
			if s.total[s.heap[0]] > s.total[c] {
				t.Fatalf("step %d: heap root total %d > counter %d's %d", i, s.total[s.heap[0]], c, s.total[c])
			}
		}
	}
}

// TestBoundedMemory: 10 M distinct keys (sampled one in 10, as a server
// at that rate would see them) leave the Tracker's memory where it was
// made, and Add allocates nothing.
func TestBoundedMemory(t *testing.T) {
	tr := New(Config{SampleRate: 10})
	size := tr.Bytes()
	if size > 1<<20 {
		t.Fatalf("a default tracker holds %d bytes, over its 1 MiB bound", size)
	}
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	smp := NewSampler(1)
	buf := make([]byte, 0, 32)
	now := 10 * sec
	for i := uint64(0); i < 10_000_000; i++ {
		if !smp.Sample(10) {
			continue
		}
		buf = strconv.AppendUint(append(buf[:0], "distinct:"...), i, 10)
		tr.Add(buf, 64, now+int64(i)*1000)
	}
	runtime.ReadMemStats(&m1)
	if m1.Mallocs-m0.Mallocs > 100 {
		t.Errorf("%d allocations while adding 1 M samples", m1.Mallocs-m0.Mallocs)
	}
	if tr.Bytes() != size {
		t.Errorf("tracker grew from %d to %d bytes", size, tr.Bytes())
	}
	if n := len(tr.Top(1, ByRequests, 1000, now)); n > DefaultCapacity {
		t.Errorf("%d keys held, over the capacity %d", n, DefaultCapacity)
	}
}

// TestSamplerRate: about one request in rate is sampled, and a periodic
// pattern does not hide any key of it.
func TestSamplerRate(t *testing.T) {
	for _, rate := range []uint32{1, 2, 10, 100} {
		s := NewSampler(uint64(rate))
		const n = 1_000_000
		got := 0
		perKey := [2]int{}
		for i := 0; i < n; i++ {
			if s.Sample(rate) {
				got++
				perKey[i%2]++
			}
		}
		want := float64(n) / float64(rate)
		if d := float64(got)/want - 1; d > 0.03 || d < -0.03 {
			t.Errorf("rate %d: %d sampled, want about %.0f", rate, got, want)
		}
		if perKey[0] == 0 || perKey[1] == 0 {
			t.Errorf("rate %d: alternating keys sampled %v", rate, perKey)
		}
	}
}

func BenchmarkAddZipf(b *testing.B) {
	tr := New(Config{})
	z := newZipfStream(1, 10_000_000, 0.01)
	keys := make([][]byte, 4096)
	for i := range keys {
		keys[i] = append([]byte(nil), z.next()...)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tr.Add(keys[i&4095], 100, int64(i)*1000)
	}
}

func BenchmarkSampler(b *testing.B) {
	s := NewSampler(1)
	n := 0
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if s.Sample(100) {
			n++
		}
	}
	_ = n
}

// TestReadersDuringAdd: Bytes and Windows, which take no lock, read nothing
// Add writes (run under -race: the scrape of /metrics calls them while
// connections add).
func TestReadersDuringAdd(t *testing.T) {
	tr := New(Config{Capacity: 8, Windows: []Window{{"1s", 10 * time.Millisecond, 3}}})
	want := tr.Bytes()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 2000; i++ {
			tr.Add([]byte{byte(i), byte(i >> 8)}, i%7, int64(i)*int64(5*time.Millisecond))
		}
	}()
	for i := 0; i < 2000; i++ {
		if got := tr.Bytes(); got != want {
			t.Fatalf("Bytes %d, then %d", want, got)
		}
		if w := tr.Windows(); len(w) != 1 || w[0].Name != "1s" {
			t.Fatalf("Windows %v", w)
		}
	}
	<-done
}
