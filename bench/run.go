package bench

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// Target is one server under test.
type Target struct {
	Name string `json:"name"`
	Addr string `json:"addr"`
	PID  int    `json:"pid"` // 0: found from the listening port; < 0: none
	// TLS, when set, makes every connection TLS (a server with -Z).
	TLS *tls.Config `json:"-"`
}

// Options is one run: a workload against one server, or two in
// alternating rounds.
type Options struct {
	Workload Workload
	Targets  []Target // one, or two to compare (the first ÷ the second)
	Progress io.Writer
	Tag      string // recorded in the report, e.g. the standard workload's id
	Command  string // recorded in the report
}

// Report is everything a run measured; it is what --json prints.
type Report struct {
	Tool     string    `json:"tool"`
	Tag      string    `json:"tag,omitempty"`
	Command  string    `json:"command,omitempty"`
	Date     time.Time `json:"date"`
	Machine  Machine   `json:"machine"`
	Workload Workload  `json:"workload"`
	Servers  []*Result `json:"servers"`
	Ratios   *Ratios   `json:"ratios,omitempty"` // servers[0] ÷ servers[1]
}

// Result is one server's side of a run.
type Result struct {
	Name          string            `json:"name"`
	Addr          string            `json:"addr"`
	PID           int               `json:"pid,omitempty"`
	TLS           string            `json:"tls,omitempty"` // the TLS version negotiated; "" for plaintext
	Protocol      string            `json:"protocol"`
	Unsupported   string            `json:"unsupported,omitempty"` // the protocol probe failed: why
	Seconds       float64           `json:"seconds"`               // measured, all rounds
	Ops           uint64            `json:"ops"`                   // requests answered
	Gets          uint64            `json:"gets"`
	Sets          uint64            `json:"sets"`
	KeysRequested uint64            `json:"keys_requested"`
	Hits          uint64            `json:"hits"`
	BadValues     uint64            `json:"bad_values"` // with verify: hits whose value was not the key's
	HitRatio      float64           `json:"hit_ratio"`
	OpsPerSec     float64           `json:"ops_per_sec"`
	KeysPerSec    float64           `json:"keys_per_sec"` // get keys + sets per second
	Latency       Latency           `json:"latency_us"`
	Errors        map[string]uint64 `json:"errors"`
	ErrorCount    uint64            `json:"error_count"`
	Rounds        []Round           `json:"rounds"`
	Server        ServerStats       `json:"server"`
	Prefill       *Phase            `json:"prefill,omitempty"`
	Idle          *Idle             `json:"idle,omitempty"`
	hist          *Histogram
}

// Latency is in microseconds.
type Latency struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p99_9"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

// Round is one measured round of one server.
type Round struct {
	Seconds   float64 `json:"seconds"`
	Ops       uint64  `json:"ops"`
	OpsPerSec float64 `json:"ops_per_sec"`
}

// ServerStats is what /proc says about the server process.
type ServerStats struct {
	CPUSeconds      float64 `json:"cpu_seconds"`   // user + system, measured rounds only
	CPUPerOpUS      float64 `json:"cpu_us_per_op"` // CPUSeconds / Ops, microseconds
	RSSStart        int64   `json:"rss_start"`     // connections open, before the prefill
	RSSAfterPrefill int64   `json:"rss_after_prefill"`
	RSSEnd          int64   `json:"rss_end"`
	Error           string  `json:"error,omitempty"` // why there are no figures
}

// Phase is the prefill: every key set once.
type Phase struct {
	Items      uint64            `json:"items"`
	Seconds    float64           `json:"seconds"`
	CPUSeconds float64           `json:"cpu_seconds"`
	Errors     map[string]uint64 `json:"errors,omitempty"`
}

// Idle is the idle-connection measurement.
type Idle struct {
	Wanted       int     `json:"wanted"`
	Conns        int     `json:"conns"` // opened and answered
	RSSBefore    int64   `json:"rss_before"`
	RSSAfter     int64   `json:"rss_after"`
	BytesPerConn float64 `json:"bytes_per_conn"`
	Error        string  `json:"error,omitempty"` // why fewer than wanted
}

// Ratios are servers[0] ÷ servers[1]; 0 where undefined.
type Ratios struct {
	OpsPerSec  float64 `json:"ops_per_sec"`
	KeysPerSec float64 `json:"keys_per_sec"`
	P50        float64 `json:"p50"`
	P90        float64 `json:"p90"`
	P99        float64 `json:"p99"`
	P999       float64 `json:"p99_9"`
	Max        float64 `json:"max"`
	HitRatio   float64 `json:"hit_ratio"`
	CPUPerOp   float64 `json:"cpu_per_op"`
	RSSEnd     float64 `json:"rss_end"`
}

// Histogram returns the merged latency histogram (nil for idle runs).
func (r *Result) Histogram() *Histogram { return r.hist }

// session is one server's connections and tallies during a run.
type session struct {
	t        Target
	wl       *Workload
	codec    codec
	pick     *picker
	vals     *values
	prefix   []byte
	workers  []*worker
	res      *Result
	progress atomic.Uint64
	active   atomic.Bool  // connections are running
	phase    atomic.Value // string: "prefill" or "round 2/6"
	elapsed  time.Duration
}

// Run measures opt.Workload against opt.Targets.
func Run(ctx context.Context, opt Options) (*Report, error) {
	wl := opt.Workload
	if err := wl.Validate(); err != nil {
		return nil, err
	}
	if len(opt.Targets) < 1 || len(opt.Targets) > 2 {
		return nil, fmt.Errorf("want one or two servers, got %d", len(opt.Targets))
	}
	rep := &Report{Tool: "gocached bench", Tag: opt.Tag, Command: opt.Command, Date: time.Now().UTC(),
		Machine: ThisMachine(), Workload: wl}
	vals := newValues(wl.ValueMin, wl.ValueMax, wl.Seed)
	var sessions []*session
	for _, t := range opt.Targets {
		s, err := newSession(t, &rep.Workload, vals)
		if err != nil {
			return nil, err
		}
		sessions = append(sessions, s)
		rep.Servers = append(rep.Servers, s.res)
	}
	defer func() {
		for _, s := range sessions {
			s.closeAll()
		}
	}()

	if wl.IdleConns > 0 {
		for _, s := range sessions {
			if err := s.idle(ctx); err != nil {
				return nil, err
			}
		}
		rep.Ratios = ratios(rep.Servers)
		return rep, nil
	}

	stopProgress := startProgress(ctx, opt.Progress, sessions)
	defer stopProgress()

	var live []*session
	for _, s := range sessions {
		if err := s.open(ctx); err != nil {
			return nil, err
		}
		if s.res.Unsupported == "" {
			live = append(live, s)
		}
	}
	for _, s := range live {
		s.res.Server.RSSStart = s.sample().RSSBytes
		if wl.Prefill {
			s.prefill(ctx)
		}
		s.res.Server.RSSAfterPrefill = s.sample().RSSBytes
	}
	if wl.Duration > 0 || wl.Ops > 0 {
		for r := 0; r < wl.Rounds && ctx.Err() == nil; r++ {
			ops, dur := roundBudget(&wl, r)
			// ABBA order: neither server always goes first.
			order := live
			if r%2 == 1 && len(live) == 2 {
				order = []*session{live[1], live[0]}
			}
			for _, s := range order {
				s.phase.Store(fmt.Sprintf("round %d/%d", r+1, wl.Rounds))
				s.measure(ctx, ops, dur)
			}
		}
	}
	for _, s := range live {
		s.finish()
	}
	rep.Ratios = ratios(rep.Servers)
	return rep, ctx.Err()
}

// roundBudget splits the op count or the duration across rounds.
func roundBudget(wl *Workload, r int) (ops int64, dur time.Duration) {
	if wl.Ops > 0 {
		ops = wl.Ops / int64(wl.Rounds)
		if r == wl.Rounds-1 {
			ops = wl.Ops - ops*int64(wl.Rounds-1)
		}
		return ops, 0
	}
	return 0, wl.Duration / time.Duration(wl.Rounds)
}

func newSession(t Target, wl *Workload, vals *values) (*session, error) {
	c, err := newCodec(wl.Protocol)
	if err != nil {
		return nil, err
	}
	s := &session{t: t, wl: wl, codec: c, vals: vals, prefix: []byte(wl.KeyPrefix)}
	if wl.IdleConns == 0 {
		if s.pick, err = newPicker(wl); err != nil {
			return nil, err
		}
	}
	if s.t.Name == "" {
		s.t.Name = t.Addr
	}
	s.res = &Result{Name: s.t.Name, Addr: t.Addr, Errors: map[string]uint64{}, hist: NewHistogram()}
	if s.t.PID == 0 {
		pid, err := FindListener(t.Addr)
		if err != nil {
			s.res.Server.Error = err.Error()
		}
		s.t.PID = pid
	}
	s.res.PID = s.t.PID
	return s, nil
}

// sample reads the server's /proc figures (zeros without a pid).
func (s *session) sample() ProcSample {
	if s.t.PID <= 0 {
		return ProcSample{}
	}
	p, err := ReadProc(s.t.PID)
	if err != nil && s.res.Server.Error == "" {
		s.res.Server.Error = err.Error()
	}
	return p
}

// open dials every connection. A failed probe on the first one marks the
// server as not speaking the protocol; other failures are errors.
func (s *session) open(ctx context.Context) error {
	for i := range s.wl.Conns {
		s.workers = append(s.workers, newWorker(s, i))
	}
	if err := s.workers[0].dial(); err != nil {
		var pe *probeError
		if errors.As(err, &pe) {
			s.res.Unsupported = fmt.Sprintf("%s protocol probe failed: %v", s.codec.name(), err)
			s.closeAll()
			return nil
		}
		return fmt.Errorf("%s (%s): %w", s.t.Name, s.t.Addr, err)
	}
	s.res.TLS = tlsVersion(s.workers[0].nc)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	sem := make(chan struct{}, 32)
	for _, w := range s.workers[1:] {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := w.dial(); err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if first != nil {
		return fmt.Errorf("%s (%s): connection %d of %d: %w", s.t.Name, s.t.Addr, len(s.workers), s.wl.Conns, first)
	}
	return ctx.Err()
}

func (s *session) closeAll() {
	for _, w := range s.workers {
		w.close()
	}
}

// runAll runs every connection with src until st stops them.
func (s *session) runAll(ctx context.Context, src source, st *stopper) time.Duration {
	st.progress = &s.progress
	stop := context.AfterFunc(ctx, func() { st.cancel.Store(true) })
	defer stop()
	s.active.Store(true)
	defer s.active.Store(false)
	start := time.Now()
	var wg sync.WaitGroup
	for _, w := range s.workers {
		if w.nc == nil && w.dial() != nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.run(src, st)
		}()
	}
	wg.Wait()
	return time.Since(start)
}

// prefill sets every key once, outside the measurement.
func (s *session) prefill(ctx context.Context) {
	before := s.sample()
	st := &stopper{}
	s.phase.Store("prefill")
	d := s.runAll(ctx, &prefillSource{n: s.wl.Keys}, st)
	after := s.sample()
	ph := &Phase{Items: s.wl.Keys, Seconds: d.Seconds(), CPUSeconds: after.CPUSeconds - before.CPUSeconds}
	var c counts
	for _, w := range s.workers {
		c.add(&w.c)
		w.c = counts{}
		w.hist.Reset()
		w.miss = w.miss[:0]
	}
	ph.Errors = c.errors
	s.res.Prefill = ph
}

// measure runs one round.
func (s *session) measure(ctx context.Context, ops int64, dur time.Duration) {
	st := &stopper{}
	if ops > 0 {
		st.limited = true
		st.budget.Store(ops)
	} else {
		st.deadline = time.Now().Add(dur)
	}
	var before uint64
	for _, w := range s.workers {
		before += w.c.ops
	}
	cpu0 := s.sample()
	d := s.runAll(ctx, workloadSource{p: s.pick}, st)
	cpu1 := s.sample()
	var after uint64
	for _, w := range s.workers {
		after += w.c.ops
	}
	n := after - before
	s.res.Rounds = append(s.res.Rounds, Round{Seconds: d.Seconds(), Ops: n, OpsPerSec: float64(n) / d.Seconds()})
	s.res.Server.CPUSeconds += cpu1.CPUSeconds - cpu0.CPUSeconds
	s.elapsed += d
}

// finish adds up the connections' tallies into the result.
func (s *session) finish() {
	var c counts
	for _, w := range s.workers {
		c.add(&w.c)
		s.res.hist.Merge(w.hist)
	}
	r := s.res
	r.Protocol = s.codec.name()
	r.Seconds = s.elapsed.Seconds()
	r.Ops, r.Gets, r.Sets = c.ops, c.gets, c.sets
	r.KeysRequested, r.Hits, r.BadValues = c.keysReq, c.hits, c.bad
	for k, v := range c.errors {
		r.Errors[k] += v
		r.ErrorCount += v
	}
	if c.keysReq > 0 {
		r.HitRatio = float64(c.hits) / float64(c.keysReq)
	}
	if r.Seconds > 0 {
		r.OpsPerSec = float64(c.ops) / r.Seconds
		r.KeysPerSec = float64(c.keysReq+c.sets) / r.Seconds
	}
	h := r.hist
	us := func(d time.Duration) float64 { return float64(d) / 1e3 }
	r.Latency = Latency{P50: us(h.Quantile(0.5)), P90: us(h.Quantile(0.9)), P99: us(h.Quantile(0.99)),
		P999: us(h.Quantile(0.999)), Max: us(h.Max()), Mean: us(h.Mean())}
	if c.ops > 0 {
		r.Server.CPUPerOpUS = r.Server.CPUSeconds / float64(c.ops) * 1e6
	}
	r.Server.RSSEnd = s.sample().RSSBytes
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// ratios compares two supported servers.
func ratios(rs []*Result) *Ratios {
	if len(rs) != 2 || rs[0].Unsupported != "" || rs[1].Unsupported != "" {
		return nil
	}
	a, b := rs[0], rs[1]
	return &Ratios{
		OpsPerSec:  ratio(a.OpsPerSec, b.OpsPerSec),
		KeysPerSec: ratio(a.KeysPerSec, b.KeysPerSec),
		P50:        ratio(a.Latency.P50, b.Latency.P50),
		P90:        ratio(a.Latency.P90, b.Latency.P90),
		P99:        ratio(a.Latency.P99, b.Latency.P99),
		P999:       ratio(a.Latency.P999, b.Latency.P999),
		Max:        ratio(a.Latency.Max, b.Latency.Max),
		HitRatio:   ratio(a.HitRatio, b.HitRatio),
		CPUPerOp:   ratio(a.Server.CPUPerOpUS, b.Server.CPUPerOpUS),
		RSSEnd:     ratio(float64(a.Server.RSSEnd), float64(b.Server.RSSEnd)),
	}
}

// startProgress prints a live line every half second until stopped.
func startProgress(ctx context.Context, out io.Writer, ss []*session) func() {
	if out == nil {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		last := make([]uint64, len(ss))
		lastT := time.Now()
		for {
			select {
			case <-done:
				fmt.Fprint(out, "\r\033[K")
				return
			case <-ctx.Done():
				return
			case now := <-t.C:
				dt := now.Sub(lastT).Seconds()
				lastT = now
				line := ""
				for i, s := range ss {
					n := s.progress.Load()
					rate := float64(n-last[i]) / dt
					last[i] = n
					if !s.active.Load() {
						continue
					}
					phase, _ := s.phase.Load().(string)
					line += fmt.Sprintf("%s: %s, %s requests, %s/s", s.t.Name, phase, human(float64(n)), human(rate))
				}
				if line != "" {
					fmt.Fprintf(out, "\r\033[K%s", line)
				}
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// human writes n with a k/M/G suffix.
func human(n float64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2fG", n/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.2fM", n/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1fk", n/1e3)
	}
	return fmt.Sprintf("%.0f", n)
}
