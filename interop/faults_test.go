//go:build interop

package interop

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	gcclient "github.com/gocached/gocached/client"
)

// The client's settings in TestClientFaults, short so that a fault's
// ejection and readmission fit in a few seconds. With a 200ms ReadTimeout
// a loaded machine's scheduling stalls alone timed out calls on healthy
// nodes in a quarter of the runs (load average 11 on 2 cores); 300ms makes
// that rarer, and what is left is told apart (see TestClientFaults).
const (
	faultDial         = 200 * time.Millisecond
	faultReadTimeout  = 300 * time.Millisecond
	faultWriteTimeout = 300 * time.Millisecond
	faultRetry        = 500 * time.Millisecond
	faultLimit        = 2
)

// The load and the bounds TestClientFaults holds it to.
const (
	faultWriters = 8
	faultKeys    = 32     // per writer
	faultMaxOps  = 30_000 // per writer, besides the time bound
	faultMaxLoad = 30 * time.Second
	faultPace    = time.Millisecond // pause between one writer's calls

	// faultSlack is scheduling slack on a shared 2-core machine.
	faultSlack = 300 * time.Millisecond
	// faultAttempt is the longest one attempt of a call on one node can
	// take: a dial and one request's timeout (the stale-connection retry
	// before them fails at once, without a timeout).
	faultAttempt = faultDial + max(faultReadTimeout, faultWriteTimeout)
	// faultCallBound bounds every call but those failing on a stalled
	// healthy node: one attempt on the faulty node, then its retry on a
	// healthy one.
	faultCallBound = faultAttempt + faultSlack
	// faultStallCallBound bounds a call that failed on a healthy node the
	// machine stalled: its first attempt may have timed out on the faulty
	// node (or another stalled one) before.
	faultStallCallBound = 2*faultAttempt + faultSlack
	// faultProbeCycle is RetryTimeout and one probe (DialTimeout +
	// ReadTimeout): once a node is repaired it is readmitted within one
	// cycle, or two when the machine stalled the probe.
	faultProbeCycle = faultRetry + faultDial + faultReadTimeout
	// faultProxyDelay is what the slow node's proxy adds to every chunk
	// the server sends: more than ReadTimeout, so every request times out.
	faultProxyDelay = 500 * time.Millisecond
	// faultSettle is how long after a fault is undone (or after a failed
	// call, whichever is later) a request that failed may still take
	// effect on its server: a SIGSTOPped server runs what was left in its
	// socket buffers only when it is continued, a stalled one when it runs.
	faultSettle = 500 * time.Millisecond
)

// TestClientFaults: three gocached processes, the third behind a delaying
// TCP proxy, and the Go client under a bounded load: 8 writers, each
// setting, getting and deleting its own 32 keys with values that encode
// key, writer and sequence number, paced at 1ms, through a context with no
// deadline (so only the client's own timeouts bound a call). Three faults
// follow one another, each on its own node:
//
//   - sigkill: node 0 is killed and, after 1s, started again on its port
//     (restartServer retries while the port is taken);
//   - sigstop: node 1 is stopped for 2.5s, then continued; the kernel
//     still accepts connections and buffers requests, so only the read
//     timeout notices;
//   - slow: the proxy in front of node 2 delays every reply chunk by
//     500ms for 2s, beyond the 300ms ReadTimeout.
//
// It requires:
//
//   - no call takes longer than faultCallBound (DialTimeout + the longer
//     of ReadTimeout and WriteTimeout + 300ms slack), faults or not,
//     leaving out the time the test process was stalled (below);
//   - the faulty node is ejected within 2s of the fault, with at least
//     FailureLimit failures counted, and stays out while the fault lasts
//     (its probes fail);
//   - it is readmitted once the fault is undone, no sooner than
//     RetryTimeout after its ejection, within faultProbeCycle (two when
//     the machine stalled) of the repair;
//   - calls fail on the faulty node only if they started before its
//     ejection: once it is out, errors stop;
//   - no read returns a value its writer did not store for that key (the
//     rule is at checkFaultHistory);
//   - once the client is closed and the proxy stopped, every goroutine
//     the test started has ended (runtime.NumGoroutine, as goleak is not a
//     dependency).
//
// The machine's stalls. On a loaded machine a healthy server, or the test
// process, can go unscheduled for longer than ReadTimeout (the test process
// was measured not running for up to 1.2s at load average 11-15 on 2
// cores); the client then rightly times out on a healthy node, and may
// eject it. That is not the client's fault and is tolerated, within
// bounds, as "stall noise", logged: a call on a node not faulty at the time
// may fail only with a timeout, or with ErrNoServers while every node was
// out of the ring (any other error fails the test), such a
// call may take two attempts (faultStallCallBound), at most 1% of the
// calls may be such, and a node ejected for them must stay out for at
// least RetryTimeout, like any other. A stall meter records when the test
// process itself did not run (a 5ms sleep overrunning by 50ms or more);
// that time is not charged to the client's call latency or readmission
// delay. After a timeout on any node a background check times a fresh
// connection's "version" to that server, so that the log tells a stalled
// server from a client that gave up on one that was answering.
func TestClientFaults(t *testing.T) {
	cand := candidateBinary(t)
	var srvs []*server
	for i := 0; i < 3; i++ {
		srvs = append(srvs, startServer(t, cand, flagsDefault...))
	}
	baseline := runtime.NumGoroutine()
	t0 := time.Now()
	since := func() time.Duration { return time.Since(t0) }

	proxy := startDelayProxy(t, srvs[2].addr)
	names := []string{srvs[0].addr, srvs[1].addr, proxy.addr()} // as the ring names them
	nodeIndex := map[string]int{}
	for i, a := range names {
		nodeIndex[a] = i
	}
	c, err := gcclient.New(gcclient.Config{Servers: names, FailureLimit: faultLimit, RetryTimeout: faultRetry,
		DialTimeout: faultDial, ReadTimeout: faultReadTimeout, WriteTimeout: faultWriteTimeout})
	if err != nil {
		t.Fatal(err)
	}
	clientClosed := false
	defer func() {
		if !clientClosed {
			c.Close()
		}
	}()
	mon := startRingMonitor(c, nodeIndex, since)
	defer mon.close()
	stalls := startStallMeter(since)
	defer stalls.close()

	recheck := &timeoutRecheck{got: map[[2]int]time.Duration{}}
	// The load. ctx has no deadline; it is cancelled only to free calls
	// that hang far beyond the bounds (which fails the test anyway).
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	var (
		stop    atomic.Bool
		wg      sync.WaitGroup
		history = make([][]faultOp, faultWriters)
	)
	for w := 0; w < faultWriters; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			history[w] = runFaultWriter(ctx, c, w, rand.New(rand.NewPCG(seed, uint64(w))), nodeIndex, since, &stop, recheck)
		}()
	}
	loadDone := make(chan struct{})
	go func() { wg.Wait(); close(loadDone) }()
	stopLoad := func() {
		stop.Store(true)
		select {
		case <-loadDone:
		case <-time.After(faultStallCallBound + 3*time.Second):
			var b strings.Builder
			_ = pprof.Lookup("goroutine").WriteTo(&b, 1)
			cancel()
			<-loadDone
			t.Fatalf("the writers did not stop within %v of being told to: a call hangs\n%s",
				faultStallCallBound+3*time.Second, b.String())
		}
	}
	defer stopLoad()

	// The faults, one after another.
	var phases []*faultPhase
	sleepUntil := func(d time.Duration) { time.Sleep(d - since()) }
	runPhase := func(ph *faultPhase, hold time.Duration, inject, undo func()) {
		t.Helper()
		// A node the machine's stall ejected comes back first.
		for deadline := time.Now().Add(2 * faultProbeCycle); ; time.Sleep(5 * time.Millisecond) {
			out := 0
			for _, s := range c.Servers() {
				if s.Ejected {
					out++
				}
			}
			if out == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d nodes still out of the ring before the fault; ring events %v", ph.name, out, mon.snapshot())
			}
		}
		phases = append(phases, ph)
		ph.fault = since()
		inject()
		ph.eject = mon.waitFor(ph.node, true, ph.fault, 2*time.Second)
		if ph.eject == nil {
			undo()
			t.Fatalf("%s: node %d (%s) not ejected within 2s; ring events %v", ph.name, ph.node, names[ph.node], mon.snapshot())
		}
		sleepUntil(ph.fault + hold)
		ph.heal = since()
		undo()
		ph.healed = since()
		ph.readmit = mon.waitFor(ph.node, false, ph.eject.at, 3*time.Second)
		if ph.readmit == nil {
			t.Fatalf("%s: node %d (%s) not readmitted within 3s of its repair; ring events %v", ph.name, ph.node, names[ph.node], mon.snapshot())
		}
		time.Sleep(700 * time.Millisecond) // the load runs on the full ring again
		ph.end = since()
	}
	time.Sleep(800 * time.Millisecond) // warm up: every key written, all nodes healthy
	runPhase(&faultPhase{name: "sigkill", node: 0}, time.Second,
		func() { srvs[0].stop() }, // SIGKILL and reap
		func() { srvs[0] = restartServer(t, cand, srvs[0]) })
	runPhase(&faultPhase{name: "sigstop", node: 1}, 2500*time.Millisecond,
		func() {
			if err := srvs[1].cmd.Process.Signal(syscall.SIGSTOP); err != nil {
				t.Fatal(err)
			}
		},
		func() {
			if err := srvs[1].cmd.Process.Signal(syscall.SIGCONT); err != nil {
				t.Fatal(err)
			}
		})
	runPhase(&faultPhase{name: "slow", node: 2}, 2*time.Second,
		func() { proxy.delay.Store(int64(faultProxyDelay)) },
		func() { proxy.delay.Store(0) })
	loadEnd := since()
	stopLoad()
	mon.close()
	events := mon.snapshot()
	stalls.close()
	c.Close()
	clientClosed = true
	proxy.close()
	recheck.wg.Wait()
	checkGoroutines(t, baseline)

	var bad, noise []string
	// The ring: each fault's node leaves after FailureLimit failures and
	// comes back after its repair; every readmission, of any node, comes
	// RetryTimeout or more after its ejection; other ejections are noise.
	outAt := map[int]ringEvent{}
	for _, e := range events {
		if e.ejected {
			outAt[e.node] = e
			if ph := phaseOf(phases, e.node, e.at); ph == nil || e != *ph.eject {
				noise = append(noise, fmt.Sprintf("%v, not during its fault", e))
			} else if e.failures < faultLimit {
				// (Only a faulty node's count is sure to stand until the
				// monitor reads it: a call in flight on a healthy node
				// ejected by a stall may succeed and reset it.)
				bad = append(bad, fmt.Sprintf("%v: fewer failures than FailureLimit %d", e, faultLimit))
			}
			continue
		}
		if d := e.at - outAt[e.node].after; d < faultRetry {
			bad = append(bad, fmt.Sprintf("%v: %v after its ejection, RetryTimeout is %v", e, d, faultRetry))
		}
	}
	for _, ph := range phases {
		if ph.readmit.at < ph.heal {
			bad = append(bad, fmt.Sprintf("%s: node %d readmitted at %v, before the repair at %v", ph.name, ph.node, ph.readmit.at, ph.heal))
		}
		switch d := ph.readmit.at - ph.healed - stalls.within(ph.healed, ph.readmit.at); {
		case d > 2*faultProbeCycle+faultSlack:
			bad = append(bad, fmt.Sprintf("%s: node %d readmitted %v after the repair, bound %v", ph.name, ph.node, d, 2*faultProbeCycle+faultSlack))
		case d > faultProbeCycle+faultSlack:
			noise = append(noise, fmt.Sprintf("%s: node %d readmitted %v after the repair, more than one probe cycle", ph.name, ph.node, d))
		}
	}

	// The calls.
	var (
		total, failed, stallFailed, overStalled int
		maxLat                                  time.Duration
		perPhase                                = make([]struct{ ops, errs int }, len(phases))
	)
	for w, ops := range history {
		for _, op := range ops {
			total++
			for i, ph := range phases {
				if op.start >= ph.fault && op.start < ph.end {
					perPhase[i].ops++
				}
			}
			bound := faultCallBound
			if op.outcome == outFailed {
				failed++
				var faulty *faultPhase // the phase whose node op failed on, during its fault
				for _, ph := range phases {
					if op.node == ph.node && op.end >= ph.fault && op.start <= ph.healed {
						faulty = ph
					}
				}
				switch {
				case faulty != nil && op.start <= faulty.eject.at:
					perPhase[slices.Index(phases, faulty)].errs++
				case faulty != nil:
					bad = append(bad, fmt.Sprintf("writer %d: %s failed on node %d after its ejection at %v: %v", w, op, op.node, faulty.eject.at, op.err))
				case op.node < 0 && errors.Is(op.err, gcclient.ErrNoServers) && allOut(events, len(names), op.start, op.end):
					noise = append(noise, fmt.Sprintf("writer %d: %s found every node out of the ring", w, op))
				case op.node >= 0 && isTimeoutErr(op.err):
					stallFailed++
					bound = faultStallCallBound
					noise = append(noise, fmt.Sprintf("writer %d: %s timed out on node %d, not faulty then (%s)", w, op, op.node, recheck.String(w, op.seq)))
				default:
					bad = append(bad, fmt.Sprintf("writer %d: %s failed on node %d, not faulty then: %v", w, op, op.node, op.err))
				}
			}
			lat := op.end - op.start
			maxLat = max(maxLat, lat)
			if lat > bound {
				// The time the test process did not run is not the client's.
				if stalled := stalls.within(op.start, op.end); lat-stalled > bound {
					bad = append(bad, fmt.Sprintf("writer %d: %s took %v, %v of it with the test process stalled (bound %v)",
						w, op, lat, stalled, bound))
				} else {
					overStalled++
				}
			}
		}
	}
	if stallFailed > total/100 {
		bad = append(bad, fmt.Sprintf("%d of %d calls timed out on nodes not faulty then (more than 1%%)", stallFailed, total))
	}
	var reads readStats
	for w, ops := range history {
		b, st := checkFaultHistory(w, ops, events, phases)
		bad = append(bad, b...)
		reads.clean += st.clean
		reads.lostMiss += st.lostMiss
		reads.stale += st.stale
	}
	for i, ph := range phases {
		t.Logf("%s on node %d: ejected %v after the fault (%d failures counted), repaired after %v (in %v), readmitted %v after the repair; %d calls, %d failed",
			ph.name, ph.node, ph.eject.at-ph.fault, ph.eject.failures, ph.heal-ph.fault, ph.healed-ph.heal, ph.readmit.at-ph.healed,
			perPhase[i].ops, perPhase[i].errs)
	}
	t.Logf("%d calls in %v, %d failed, longest %v (bound %v); %d reads held to exactness, and after a ring change or a failed write %d stale and %d misses of an acknowledged value",
		total, loadEnd, failed, maxLat, faultCallBound, reads.clean, reads.stale, reads.lostMiss)
	t.Logf("test process stalls of 50ms or more: %v; %d calls over their bound only with them", stalls.list, overStalled)
	if len(noise) > 0 {
		t.Logf("stall noise, tolerated (%d):\n%s", len(noise), strings.Join(noise, "\n"))
	}
	for i, p := range perPhase {
		if p.ops < 100 {
			bad = append(bad, fmt.Sprintf("%s: only %d calls during the fault; the load stopped early", phases[i].name, p.ops))
		}
	}
	if len(bad) > 0 {
		n := len(bad)
		if n > 30 {
			bad = bad[:30]
		}
		t.Errorf("%d violations:\n%s", n, strings.Join(bad, "\n"))
	}
}

// allOut reports whether, as far as the ring monitor's events tell, every
// one of n nodes may have been out of the ring at one moment of [from, to].
func allOut(events []ringEvent, n int, from, to time.Duration) bool {
	// Each node's out intervals, taken wide: from the poll before its
	// ejection was seen to the poll that saw its readmission.
	out := make([][][2]time.Duration, n)
	for _, e := range events {
		if e.ejected {
			out[e.node] = append(out[e.node], [2]time.Duration{e.after, 1 << 62})
		} else if k := len(out[e.node]); k > 0 {
			out[e.node][k-1][1] = e.at
		}
	}
	var meet func(i int, lo, hi time.Duration) bool
	meet = func(i int, lo, hi time.Duration) bool {
		if lo > hi {
			return false
		}
		if i == n {
			return true
		}
		for _, iv := range out[i] {
			if meet(i+1, max(lo, iv[0]), min(hi, iv[1])) {
				return true
			}
		}
		return false
	}
	return meet(0, from, to)
}

// isTimeoutErr reports whether err is a timeout (the client's read or
// write deadline).
func isTimeoutErr(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
