//go:build interop && reliability && linux

package interop

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestHostile runs misbehaving clients against memcached 1.6.18 and
// gocached, one fresh server per scenario, both started with the same flags
// (-m 64 -c 1024 -t 2 -U 0; memcached also gets what memcachedBinary adds).
// Each server is first filled past its -m (prefill). Then a canary
// connection sets and reads back a known value every 10 ms and a writer
// connection sets 100-byte values as fast as it is answered (both in a
// process of their own, hostile_honest_test.go); after 1.5 s on their own,
// the scenario's hostile clients run for a few seconds (every loop bounded
// in time and in count, loopback only) and then leave, and the server gets
// 3 s to settle. Measured per server: up and answering, peak RSS (VmHWM)
// and RSS after the settle, the canary's p99 and max round trip and its
// errors, the server's descriptors (before, most, after), the writer's
// throughput during the hostile window against its own around it, and what
// the hostile clients received.
//
// memcached runs first in each scenario; gocached's assertions (hostileFailures)
// compare with its figures from the same run. HOSTILE_REPORT=path writes
// RELIABILITY.md (intro and table) to path.

// The bounds asserted on gocached, in one place: README and RELIABILITY.md
// quote them.
const (
	// Memory formula (README's): peak RSS ≤ -m + memPerConnKB × connections
	// + held replies + memFixedMB, connections being the most the
	// scenario's clients and the two honest ones hold at once, at most -c,
	// and held replies README's bound on what a connection that does not
	// read can make the server hold (64 KB of replies plus one value), for
	// each such connection (hostile.heldKB).
	//
	// memPerConnKB: measured 5.8-5.9 KB of RSS per connection with 10 000
	// connections idle after one request each (the 10k-conns scenario;
	// memcached: 0.6 KB) before connections past 2048 parked when idle,
	// ~2.6 KB since; 8 is the bound for connections that all hold a
	// goroutine.
	//
	// memFixedMB: everything that is neither items nor connections. Measured
	// 13.5-14.5 MB in the baseline scenario (peak 77.5-78.5 MB with -m 64
	// full; memcached: 5 MB over its 64), counted as 16; plus 32 MB for
	// buffers grown by large requests and not yet given back, which is the
	// amount after which the server returns them to the OS (bigFreeReturn;
	// a total cap on buffer memory, when there is one, takes its place).
	memPerConnKB = 8
	memFixedMB   = 16 + 32

	// Memory returns to its baseline once the hostile clients have left:
	// RSS after the settle ≤ RSS before them + memReturnSlackMB (README:
	// up to 8 MB of free buffers are kept for reuse; the rest is the Go
	// runtime's own free lists and page granularity).
	memReturnSlackMB = 16

	// Against memcached in the same run: gocached's peak RSS may be up to
	// rssRatio × memcached's or memcached's + rssSlackMB, whichever is more.
	// The ratio is for the Go heap, which grows to twice its live size
	// before a collection (GOGC=100), on the part of memory that is heap;
	// the slack is for what a Go process has and memcached has not: the
	// runtime's own ~10 MB, and a goroutine stack per connection (~6 KB
	// against memcached's 0.6 KB: 10 000 connections are 55 MB more).
	rssRatio   = 1.5
	rssSlackMB = 64

	// The canary: p99 at most canaryBound and at most memcached's p99 plus
	// canaryP99Slack; max at most canaryBound, except that up to
	// canaryOutliers round trips may exceed it when memcached's canary had
	// some too in the same scenario (the machine is shared: a stall of the
	// whole VM shows on both).
	canaryBound    = 50 * time.Millisecond
	canaryP99Slack = 10 * time.Millisecond
	canaryOutliers = 3

	// The writer's sets/s during the hostile window over its own around
	// it, divided by the control writer's same ratio (see
	// hostile_honest_test.go), is at least writerMinRatio, or, in a
	// scenario where memcached's own writer falls below that in the same
	// run (the hostile clients' load is work either server must do on this
	// machine's cores), at least memcached's less writerSlack.
	writerMinRatio = 0.8
	writerSlack    = 0.1

	// The writer's baseline brackets the window, so that a drift of the
	// shared machine cancels: from writerSkip after the honest clients
	// connected to the window's start (hostilePre), and the last writerPost
	// of the settle.
	hostilePre    = 1500 * time.Millisecond
	writerSkip    = 300 * time.Millisecond
	writerPost    = 2 * time.Second
	hostileWindow = 3 * time.Second // default hostile window
	hostileSettle = 3 * time.Second // after the clients left, before RSS after and fds
	hostileGrace  = 10 * time.Second
	bigValueSize  = 500000   // "big": what non-reading and half-closed clients get
	prefillBytes  = 72 << 20 // of 500 KB values before each run: more than -m 64
)

// hostileArgs are the common server flags with -c conns.
func hostileArgs(conns int) []string {
	return []string{"-m", "64", "-c", strconv.Itoa(conns), "-t", "2", "-U", "0"}
}

// hostile is one kind of misbehaving client.
type hostile struct {
	name   string
	conns  int           // the most connections it holds at once
	heldKB int           // replies its clients can make the server hold, by README's bound
	window time.Duration // the window it needs, if more than hostileWindow
	run    func(h *hostileRun) *outcome
	// check, when set, is asserted on the candidate when this client ran
	// alone in its scenario; ref is memcached's outcome from the same run.
	check func(got, ref *outcome) []string
}

// hostileRun is what a hostile client is given.
type hostileRun struct {
	addr   string
	start  time.Time // the window's
	until  time.Time // send nothing after this, then close everything and return
	pid    int       // the server's
	baseKB int64     // the server's RSS just before the hostile clients started
}

// outcome is what one hostile client reports.
type outcome struct {
	name    string
	summary string         // "what the hostile client received"
	firsts  map[string]int // distinct replies (or first replies) → connections
	count   int            // a client-specific count, where its check needs one
}

type scenario struct {
	name    string
	args    []string // server flags
	window  time.Duration
	clients []hostile
}

func hostileScenarios() []scenario {
	def := hostileArgs(1024)
	all := []hostile{
		slowloris(500), endlessLine("endless get", "get ", 10), endlessLine("endless bare", "", 10),
		declaredSizes(), neverRead(50), connStorm(2000), overLimit(1100), halfClosed(), randomBytes(16),
	}
	sc := []scenario{{name: "baseline", args: def}}
	for _, h := range all {
		name := strings.NewReplacer(" -", "-", " ", "-").Replace(h.name)
		sc = append(sc, scenario{name: name, args: def, clients: []hostile{h}})
	}
	sc = append(sc,
		scenario{name: "10k-conns", args: hostileArgs(11000), clients: []hostile{manyConns(10000)}},
		// -c 1024, so the 10 000 connections are left out: over -c stands for them.
		scenario{name: "all-at-once", args: def, clients: all},
	)
	for i := range sc {
		sc[i].window = hostileWindow
		for _, h := range sc[i].clients {
			sc[i].window = max(sc[i].window, h.window)
		}
	}
	return sc
}

// runResult is one server's row.
type runResult struct {
	scenario, server, args   string
	up                       string // "" when up and answering after the clients left
	baseKB, peakKB, afterKB  int64
	canary                   canaryStats
	writerErrs               int64
	writerFirstErr           string
	fdBase, fdPeak, fdAfter  int
	writerBase, writerRate   float64 // sets/s around and during the hostile window
	controlBase, controlRate float64 // the control writer's
	outcomes                 []*outcome
	conns                    int    // connections in the memory formula
	heldKB                   int    // held replies in the memory formula
	rerun                    string // why this is a scenario's second run, if it is
	mMB                      int
	failed                   []string // assertions that failed
}

// rawRatio is the writer's throughput during the window over its own
// around it; writerRatio divides that by the control writer's ratio over
// the same spans.
func (r *runResult) rawRatio() float64 {
	if r.writerBase == 0 {
		return 0
	}
	return r.writerRate / r.writerBase
}

func (r *runResult) writerRatio() float64 {
	if r.controlBase == 0 || r.controlRate == 0 {
		return 0
	}
	return r.rawRatio() / (r.controlRate / r.controlBase)
}

func TestHostile(t *testing.T) {
	servers := []binary{memcachedBinary(t), candidateBinary(t)}
	start, load := time.Now(), loadAvg()
	var rows []*runResult
	for _, sc := range hostileScenarios() {
		t.Run(sc.name, func(t *testing.T) {
			var ref, r *runResult
			var first string
			for attempt := 1; ; attempt++ {
				ref = runHostile(t, servers[0], sc)
				hostileSanity(t, ref)
				r = runHostile(t, servers[1], sc)
				var timingOnly bool
				r.failed, timingOnly = hostileFailures(sc, r, ref)
				// The writer's ratio is a 3 s throughput and the canary's
				// max one round trip, on a shared machine (the baseline
				// rows show their spread): a scenario that failed on those
				// alone runs once more, both servers, and the second run
				// decides. Any other failure stands.
				if attempt > 1 || !timingOnly {
					break
				}
				first = strings.Join(r.failed, "; ")
				t.Logf("%s: %s failed on timing bounds alone (%s); running the scenario once more", sc.name, r.server, first)
			}
			if first != "" {
				r.rerun = "second run; the first failed on " + first
			}
			rows = append(rows, ref, r)
			for _, msg := range r.failed {
				t.Errorf("%s %s: %s", sc.name, r.server, msg)
			}
		})
	}
	took := time.Since(start)
	t.Logf("TestHostile: %d rows in %v", len(rows), took.Round(time.Second))
	if path := os.Getenv("HOSTILE_REPORT"); path != "" {
		if err := writeHostileReport(path, rows, took, load); err != nil {
			t.Errorf("HOSTILE_REPORT: %v", err)
		}
	}
}

// runHostile runs one scenario against a fresh server b.
func runHostile(t *testing.T, b binary, sc scenario) *runResult {
	srv := startServer(t, b, sc.args...)
	pid := srv.cmd.Process.Pid
	r := &runResult{scenario: sc.name, server: b.name, args: strings.Join(srv.args[4:], " ")}
	r.mMB, _ = strconv.Atoi(flagValue(sc.args, "-m"))
	limit, _ := strconv.Atoi(flagValue(sc.args, "-c"))
	r.conns = 2 // canary and writer
	for _, h := range sc.clients {
		r.conns += h.conns
	}
	r.conns = min(r.conns, limit)
	for _, h := range sc.clients {
		r.heldKB += h.heldKB
	}
	if err := prefill(srv.addr); err != nil {
		t.Fatalf("%s: prefill: %v", b.name, err)
	}

	ctl := startServer(t, b, sc.args...) // the control writer's: no hostile client touches it
	hon, err := startHonest(srv.addr, ctl.addr)
	if err != nil {
		t.Fatalf("%s: starting the honest clients: %v", b.name, err)
	}
	t.Cleanup(hon.kill)
	if err := hon.ready(); err != nil {
		t.Fatalf("%s: honest clients: %v", b.name, err)
	}
	tStart := time.Now()
	time.Sleep(hostilePre)

	r.fdBase = fdCount(pid)
	r.baseKB = rssKB(pid)
	samp := startSampler(pid)
	tA := time.Now()
	h := &hostileRun{addr: srv.addr, start: tA, until: tA.Add(sc.window), pid: pid, baseKB: r.baseKB}
	r.outcomes = make([]*outcome, len(sc.clients))
	var wg sync.WaitGroup
	for i, hc := range sc.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o := hc.run(h)
			o.name = hc.name
			r.outcomes[i] = o
		}()
	}
	waited := make(chan struct{})
	go func() { wg.Wait(); close(waited) }()
	select {
	case <-waited:
		sleepUntil(h.until) // a scenario without clients still has its window
	case <-time.After(time.Until(h.until) + hostileGrace):
		t.Fatalf("%s: the hostile clients did not stop %v after their window", b.name, hostileGrace)
	}
	tB := time.Now()
	r.fdPeak = samp.finish()

	time.Sleep(hostileSettle)
	tC := time.Now()
	r.fdAfter = fdCount(pid)
	r.afterKB = rssKB(pid)
	r.peakKB = peakKB(pid)
	rep, err := hon.finish()
	if err != nil {
		t.Fatalf("%s: honest clients: %v", b.name, err)
	}
	r.up = upCheck(srv)
	r.canary, r.writerErrs, r.writerFirstErr = rep.Canary, rep.WriterErrs, rep.WriterFirstErr
	pre := [2]int64{tStart.Add(writerSkip).UnixNano(), tA.UnixNano()}
	post := [2]int64{tB.Add(hostileSettle - writerPost).UnixNano(), tC.UnixNano()}
	win := [2]int64{tA.UnixNano(), tB.UnixNano()}
	r.writerBase, r.writerRate = rep.writerRate(rep.N, pre, post), rep.writerRate(rep.N, win)
	r.controlBase, r.controlRate = rep.writerRate(rep.C, pre, post), rep.writerRate(rep.C, win)
	t.Logf("%s %s: writer %.0f/s before, %.0f/s during, %.0f/s after; control writer %.0f, %.0f, %.0f",
		sc.name, b.name, rep.writerRate(rep.N, pre), r.writerRate, rep.writerRate(rep.N, post),
		rep.writerRate(rep.C, pre), r.controlRate, rep.writerRate(rep.C, post))
	t.Logf("%s %s: peak %s, after %s, canary p99 %v max %v (%d over %v of %d), errors %d/%d/%d, fds %d/%d/%d, writer %.2fx (raw %.2fx, control %.2fx)",
		sc.name, b.name, mbStr(r.peakKB), mbStr(r.afterKB), r.canary.P99, r.canary.Max, r.canary.Over, canaryBound, r.canary.N,
		r.canary.Wrong, r.canary.Failed, r.writerErrs, r.fdBase, r.fdPeak, r.fdAfter, r.writerRatio(), r.rawRatio(), r.controlRate/r.controlBase)
	for _, o := range r.outcomes {
		t.Logf("%s %s: %s: %s", sc.name, b.name, o.name, o.summary)
	}
	if r.canary.FirstErr != "" {
		t.Logf("%s %s: canary's first error: %s", sc.name, b.name, r.canary.FirstErr)
	}
	return r
}

// prefill fills the server's -m with items before the honest clients
// start, so that the -m of the memory formula is in use and the server
// evicts while it is attacked. It first writes every key the writer and
// the canary use and the ones the half-closed clients store (so that their
// slab classes hold them all before memory runs out: memcached moves no
// page to them later, and they never evict one another), then
// prefillBytes of 500 KB values, then "big", the value the non-reading and
// half-closed clients ask for, last, so that it is the newest of its class.
func prefill(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	br := bufio.NewReader(c)
	set := func(key, val string) error {
		if _, err := fmt.Fprintf(c, "set %s 0 0 %d\r\n%s\r\n", key, len(val), val); err != nil {
			return err
		}
		line, err := br.ReadString('\n')
		if err != nil || line != "STORED\r\n" {
			return fmt.Errorf("set %s: got %q, %v", key, line, err)
		}
		return nil
	}
	var first bytes.Buffer
	for i := range writerKeys {
		fmt.Fprintf(&first, "set w:%d 0 0 %d noreply\r\n%s\r\n", i, writerValue, strings.Repeat("w", writerValue))
	}
	for i := range 64 {
		fmt.Fprintf(&first, "set canary:%d 0 0 13 noreply\r\n1000-0123abcd\r\n", i)
	}
	first.WriteString("set hc 0 0 10 noreply\r\n0123456789\r\nset hcb 0 0 10 noreply\r\n0123456789\r\nmn\r\n")
	if _, err := c.Write(first.Bytes()); err != nil {
		return err
	}
	if line, err := br.ReadString('\n'); err != nil || line != "MN\r\n" {
		return fmt.Errorf("the honest clients' keys: got %q, %v", line, err)
	}
	big := bigValue()
	for i := 0; i*bigValueSize < prefillBytes; i++ {
		if err := set("fill:"+strconv.Itoa(i), big); err != nil {
			return err
		}
	}
	return set("big", big)
}

func bigValue() string { return strings.Repeat("0123456789", bigValueSize/10) }

// upCheck reports "" when the process runs and answers "version" on a new
// connection, else what failed.
func upCheck(s *server) string {
	if !s.alive() {
		return fmt.Sprintf("exited: %v; output: %s", s.err, clip(s.out.String(), 300))
	}
	c, err := net.DialTimeout("tcp", s.addr, time.Second)
	if err != nil {
		return "dial: " + err.Error()
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte("version\r\n")); err != nil {
		return "write: " + err.Error()
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "VERSION ") {
		return fmt.Sprintf("version: got %q, %v", line, err)
	}
	return ""
}

func flagValue(args []string, name string) string {
	for i := 0; i+1 < len(args); i++ {
		if args[i] == name {
			return args[i+1]
		}
	}
	return ""
}

// hostileSanity checks the harness on the reference server: memcached must
// give the canary back the values it set (anything else is a harness bug).
func hostileSanity(t *testing.T, r *runResult) {
	if r.canary.Wrong > 0 {
		t.Errorf("%s (reference) gave the canary %d wrong replies: %s", r.server, r.canary.Wrong, r.canary.FirstErr)
	}
	if r.canary.N == 0 {
		t.Errorf("%s (reference): the canary made no round trip", r.server)
	}
}

// hostileFailures is every assertion on the candidate, the failed ones'
// messages; ref is memcached's run of the same scenario. timingOnly: every
// failure is of a timing bound (the canary's max, the writer's ratio).
func hostileFailures(sc scenario, r, ref *runResult) (failed []string, timingOnly bool) {
	fail := func(format string, args ...any) {
		failed = append(failed, fmt.Sprintf(format, args...))
	}
	if r.up != "" {
		fail("not up and answering after the clients left: %s", r.up)
	}
	c := r.canary
	if c.N == 0 {
		fail("the canary made no round trip")
	}
	if c.Wrong > 0 || c.Failed > 0 {
		fail("canary: %d wrong and %d failed round trips of %d (first: %s)", c.Wrong, c.Failed, c.N, c.FirstErr)
	}
	if r.writerErrs > 0 {
		fail("writer: %d errors (first: %s)", r.writerErrs, r.writerFirstErr)
	}
	if c.P99 > canaryBound {
		fail("canary p99 %v > %v", c.P99, canaryBound)
	}
	if c.P99 > ref.canary.P99+canaryP99Slack {
		fail("canary p99 %v > memcached's %v + %v", c.P99, ref.canary.P99, canaryP99Slack)
	}
	timing := 0 // failures of the timing bounds below (canary max, writer)
	if c.Max > canaryBound && (c.Over > canaryOutliers || ref.canary.Over == 0) {
		timing++
		fail("canary max %v > %v: %d round trips over it (memcached: %d, max %v; allowed %d when memcached has some)",
			c.Max, canaryBound, c.Over, ref.canary.Over, ref.canary.Max, canaryOutliers)
	}
	if r.afterKB > r.baseKB+memReturnSlackMB<<10 {
		fail("RSS %s %v after the clients left, %s before they came (want at most %d MB more)", mbStr(r.afterKB), hostileSettle, mbStr(r.baseKB), memReturnSlackMB)
	}
	if r.fdAfter != r.fdBase {
		fail("%d descriptors open %v after the clients left, %d before they came", r.fdAfter, hostileSettle, r.fdBase)
	}
	if ratio, want := r.writerRatio(), min(writerMinRatio, ref.writerRatio()-writerSlack); ratio < want {
		timing++
		fail("writer %.2fx its baseline (%.0f sets/s during, %.0f around; the control writer %.0f and %.0f), want ≥ %.2fx (min(%.1f, memcached's %.2f − %.1f))",
			ratio, r.writerRate, r.writerBase, r.controlRate, r.controlBase, want, writerMinRatio, ref.writerRatio(), writerSlack)
	}

	allowKB := max(int64(rssRatio*float64(ref.peakKB)), ref.peakKB+rssSlackMB<<10)
	if r.peakKB > allowKB {
		fail("peak RSS %s > %s (max(%.1f × memcached's %s, memcached's + %d MB))", mbStr(r.peakKB), mbStr(allowKB), rssRatio, mbStr(ref.peakKB), rssSlackMB)
	}
	formulaKB := int64(r.mMB)<<10 + int64(memPerConnKB*r.conns) + int64(r.heldKB) + memFixedMB<<10
	if r.peakKB > formulaKB {
		fail("peak RSS %s > formula %s (-m %d MB + %d KB × %d conns + %s held replies + %d MB)", mbStr(r.peakKB), mbStr(formulaKB), r.mMB, memPerConnKB, r.conns, mbStr(int64(r.heldKB)), memFixedMB)
	}
	if len(sc.clients) == 1 && sc.clients[0].check != nil {
		for _, msg := range sc.clients[0].check(r.outcomes[0], ref.outcomes[0]) {
			fail("%s", msg)
		}
	}
	return failed, timing > 0 && timing == len(failed)
}

func mbStr(kb int64) string { return fmt.Sprintf("%.1f MB", float64(kb)/1024) }
