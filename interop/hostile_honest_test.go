//go:build interop && reliability && linux

package interop

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The honest clients of TestHostile, each on its own connection opened
// before the hostile clients start: the canary, whose every round trip is
// timed and checked, and the writer, whose throughput during the hostile
// window is compared with its own around it. They run in a process of
// their own (this test binary again, see TestMain), so that neither the
// hostile clients' goroutines nor this process's garbage collector delay
// them: what they measure is the server.
//
// The machine is shared: other work takes a varying part of its two
// cores, enough to move a 3-second throughput by a third either way. So a
// second writer runs at the same time against a control server (the same
// binary and flags, which no hostile client touches), and the writer's
// ratio is divided by the control writer's over the same spans: what the
// machine did to both cancels, what the attacked server did to its own
// writer stays.

// honestEnv and controlEnv name the server addresses when the test binary
// is started as the honest clients' process.
const (
	honestEnv  = "HOSTILE_HONEST_ADDR"
	controlEnv = "HOSTILE_CONTROL_ADDR"
)

// TestMain runs the package's tests, or, with $HOSTILE_HONEST_ADDR set, the
// honest clients' process (honestMain).
func TestMain(m *testing.M) {
	if addr := os.Getenv(honestEnv); addr != "" {
		os.Exit(honestMain(addr, os.Getenv(controlEnv)))
	}
	os.Exit(m.Run())
}

// honestMain starts the canary and the writer against addr and the
// control writer against control, and samples the writers' counts every
// 100 ms; "finish" on stdin stops them and prints an honestReport as JSON.
func honestMain(addr, control string) int {
	can := startCanary(addr)
	wr := startWriter(addr)
	wc := startWriter(control)
	fmt.Println("ready") // both connected (or failed, which they count)
	var rep honestReport
	var mu sync.Mutex
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(writerBucket)
		defer tick.Stop()
		for {
			mu.Lock()
			rep.T = append(rep.T, time.Now().UnixNano())
			rep.N = append(rep.N, wr.n.Load())
			rep.C = append(rep.C, wc.n.Load())
			mu.Unlock()
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() && sc.Text() != "finish" {
	}
	close(stop)
	<-sampled
	wr.close()
	wc.close()
	c := can.finish()
	rep.Canary = c
	rep.WriterErrs = wr.errs.Load()
	rep.WriterFirstErr = wr.firstErr
	if err := json.NewEncoder(os.Stdout).Encode(&rep); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// honestReport is what the honest clients' process reports.
type honestReport struct {
	Canary         canaryStats
	T              []int64 // sample times, Unix ns, every writerBucket
	N              []int64 // the writer's sets answered by then
	C              []int64 // the control writer's
	WriterErrs     int64
	WriterFirstErr string
}

// honest is the parent's handle on the honest clients' process.
type honest struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *bufio.Reader
	stderr *tailBuffer
	done   chan error
}

func startHonest(addr, control string) (*honest, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	h := &honest{stderr: &tailBuffer{max: 8 << 10}, done: make(chan error, 1)}
	h.cmd = exec.Command(exe, "-test.run=^$")
	h.cmd.Env = append(os.Environ(), honestEnv+"="+addr, controlEnv+"="+control)
	h.cmd.Stderr = h.stderr
	h.cmd.SysProcAttr = childAttr()
	if h.stdin, err = h.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	out, err := h.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	h.stdout = bufio.NewReader(out)
	if err := h.cmd.Start(); err != nil {
		return nil, err
	}
	return h, nil
}

// ready waits until the canary and the writer have connected.
func (h *honest) ready() error {
	got := make(chan string, 1)
	go func() {
		line, _ := h.stdout.ReadString('\n')
		got <- line
	}()
	select {
	case line := <-got:
		if line != "ready\n" {
			return fmt.Errorf("honest clients said %q; stderr: %s", line, h.stderr.String())
		}
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("honest clients not ready after 10 s; stderr: %s", h.stderr.String())
	}
}

// finish stops the honest clients and returns their report.
func (h *honest) finish() (*honestReport, error) {
	_, _ = io.WriteString(h.stdin, "finish\n")
	h.stdin.Close()
	out := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(h.stdout)
		out <- b
	}()
	var b []byte
	select {
	case b = <-out:
	case <-time.After(3 * canaryTimeout):
		_ = h.cmd.Process.Kill()
		b = <-out
	}
	go func() { h.done <- h.cmd.Wait() }()
	if err := <-h.done; err != nil {
		return nil, fmt.Errorf("%v; stderr: %s", err, h.stderr.String())
	}
	var rep honestReport
	if err := json.Unmarshal(b, &rep); err != nil {
		return nil, fmt.Errorf("report %q: %v", clip(string(b), 200), err)
	}
	return &rep, nil
}

// kill ends the process if finish did not run (test cleanup).
func (h *honest) kill() {
	if h.cmd.ProcessState == nil {
		_ = h.cmd.Process.Kill()
		_ = h.cmd.Wait()
	}
}

// writerRate is a writer's sets/s (n: N or C) over the spans given (Unix
// ns, from to): the mean of its 100 ms buckets that lie inside them, less
// the lowest and highest tenth (bursts of the shared machine either way).
func (r *honestReport) writerRate(n []int64, spans ...[2]int64) float64 {
	var rates []float64
	for i := 0; i+1 < len(r.T) && i+1 < len(n); i++ {
		for _, s := range spans {
			if r.T[i] >= s[0] && r.T[i+1] <= s[1] {
				rates = append(rates, float64(n[i+1]-n[i])/(float64(r.T[i+1]-r.T[i])/1e9))
			}
		}
	}
	if len(rates) == 0 {
		return 0
	}
	slices.Sort(rates)
	cut := len(rates) / 10
	rates = rates[cut : len(rates)-cut]
	var sum float64
	for _, x := range rates {
		sum += x
	}
	return sum / float64(len(rates))
}

const (
	canaryEvery   = 10 * time.Millisecond // one set and one get per tick
	canaryTimeout = 2 * time.Second       // a round trip slower than this failed
	writerValue   = 100                   // bytes per set
	writerKeys    = 10000                 // keys the writer cycles through (~1.5 MB of items)
	writerBucket  = 100 * time.Millisecond
)

// canary sets a known value and reads it back every canaryEvery.
type canary struct {
	addr string
	stop chan struct{}
	done chan struct{}

	// Owned by the loop until done is closed.
	rtts     []time.Duration // every round trip, failed ones included (their time until failure)
	wrong    int             // replies that were not the value just set
	failed   int             // round trips that timed out, or found the connection closed
	firstErr string
	conn     net.Conn
}

func startCanary(addr string) *canary {
	c := &canary{addr: addr, stop: make(chan struct{}), done: make(chan struct{})}
	var br *bufio.Reader
	if conn, err := net.DialTimeout("tcp", addr, canaryTimeout); err == nil {
		c.conn, br = conn, bufio.NewReader(conn)
	}
	go c.loop(br)
	return c
}

func (c *canary) loop(br *bufio.Reader) {
	defer close(c.done)
	tick := time.NewTicker(canaryEvery)
	defer tick.Stop()
	for n := 0; ; n++ {
		select {
		case <-c.stop:
			return
		case <-tick.C:
		}
		if c.conn == nil {
			conn, err := net.DialTimeout("tcp", c.addr, canaryTimeout)
			if err != nil {
				c.fail(false, "dial: "+err.Error())
				continue
			}
			c.conn, br = conn, bufio.NewReader(conn)
		}
		key := "canary:" + strconv.Itoa(n%64)
		val := fmt.Sprintf("%d-%08x", n, uint32(n)*2654435761)
		set := fmt.Sprintf("set %s 0 0 %d\r\n%s\r\n", key, len(val), val)
		if !c.roundTrip(br, set, "STORED\r\n") {
			continue
		}
		c.roundTrip(br, "get "+key+"\r\n", fmt.Sprintf("VALUE %s 0 %d\r\n%s\r\nEND\r\n", key, len(val), val))
	}
}

// roundTrip sends req and reads a reply of want's shape (line by line, a
// data block by its length), recording the time taken. A wrong or failed
// reply drops the connection, so that the next tick starts afresh.
func (c *canary) roundTrip(br *bufio.Reader, req, want string) bool {
	start := time.Now()
	_ = c.conn.SetDeadline(start.Add(canaryTimeout))
	got, err := c.exchange(br, req, want)
	c.rtts = append(c.rtts, time.Since(start))
	switch {
	case err != nil:
		c.fail(false, fmt.Sprintf("%q: %v (got %q)", req, err, clip(string(got), 80)))
	case string(got) != want:
		c.fail(true, fmt.Sprintf("%q: got %q, want %q", req, clip(string(got), 80), want))
	default:
		return true
	}
	return false
}

func (c *canary) exchange(br *bufio.Reader, req, want string) ([]byte, error) {
	if _, err := io.WriteString(c.conn, req); err != nil {
		return nil, err
	}
	var got []byte
	for len(got) < len(want) {
		line, err := br.ReadSlice('\n')
		got = append(got, line...)
		if err != nil {
			return got, err
		}
		if !bytes.HasPrefix([]byte(want), got) {
			return got, nil // wrong: no need to wait for the rest
		}
		if f := bytes.Fields(line); len(f) == 4 && string(f[0]) == "VALUE" {
			n, _ := strconv.Atoi(string(f[3]))
			block := make([]byte, n+2)
			if _, err := io.ReadFull(br, block); err != nil {
				return append(got, block...), err
			}
			got = append(got, block...)
		}
	}
	return got, nil
}

func (c *canary) fail(wrong bool, msg string) {
	if wrong {
		c.wrong++
	} else {
		c.failed++
	}
	if c.firstErr == "" {
		c.firstErr = msg
	}
	if c.conn != nil {
		c.conn.Close()
		c.conn = nil
	}
}

// finish stops the canary, closes its connection and summarises it.
func (c *canary) finish() canaryStats {
	select {
	case <-c.stop:
	default:
		close(c.stop)
	}
	<-c.done
	if c.conn != nil {
		c.conn.Close()
		c.conn = nil
	}
	s := canaryStats{N: len(c.rtts), Wrong: c.wrong, Failed: c.failed, FirstErr: c.firstErr}
	if len(c.rtts) > 0 {
		d := slices.Clone(c.rtts)
		slices.Sort(d)
		s.P99 = d[(len(d)*99+99)/100-1]
		s.Max = d[len(d)-1]
		for _, x := range d {
			if x > canaryBound {
				s.Over++
			}
		}
	}
	return s
}

// canaryStats is what the canary saw over the whole run of one server.
type canaryStats struct {
	N             int // round trips
	Wrong, Failed int
	FirstErr      string
	P99, Max      time.Duration
	Over          int // round trips slower than canaryBound
}

// writer sets 100-byte values, one round trip at a time, as fast as the
// server answers; its count over a window is its throughput.
type writer struct {
	addr     string
	n        atomic.Int64 // sets answered STORED
	errs     atomic.Int64
	stopping atomic.Bool
	done     chan struct{}
	mu       sync.Mutex
	firstErr string
	conn     net.Conn
}

func startWriter(addr string) *writer {
	w := &writer{addr: addr, done: make(chan struct{})}
	var br *bufio.Reader
	if c, err := net.DialTimeout("tcp", addr, canaryTimeout); err == nil {
		w.conn, br = c, bufio.NewReader(c)
	}
	go w.loop(br)
	return w
}

func (w *writer) loop(br *bufio.Reader) {
	defer close(w.done)
	value := bytes.Repeat([]byte{'w'}, writerValue)
	var req []byte
	for i := 0; !w.stopping.Load(); i++ {
		if w.conn == nil {
			c, err := net.DialTimeout("tcp", w.addr, canaryTimeout)
			if err != nil {
				w.fail("dial: " + err.Error())
				time.Sleep(10 * time.Millisecond)
				continue
			}
			w.conn, br = c, bufio.NewReader(c)
		}
		req = append(req[:0], "set w:"...)
		req = strconv.AppendInt(req, int64(i%writerKeys), 10)
		req = append(req, " 0 0 "...)
		req = strconv.AppendInt(req, writerValue, 10)
		req = append(req, "\r\n"...)
		req = append(req, value...)
		req = append(req, "\r\n"...)
		_ = w.conn.SetDeadline(time.Now().Add(canaryTimeout))
		if _, err := w.conn.Write(req); err != nil {
			w.fail(err.Error())
			continue
		}
		line, err := br.ReadSlice('\n')
		if err != nil || string(line) != "STORED\r\n" {
			w.fail(fmt.Sprintf("got %q, %v", line, err))
			continue
		}
		w.n.Add(1)
	}
}

func (w *writer) fail(msg string) {
	w.errs.Add(1)
	w.mu.Lock()
	if w.firstErr == "" {
		w.firstErr = msg
	}
	w.mu.Unlock()
	if w.conn != nil {
		w.conn.Close()
		w.conn = nil
	}
}

func (w *writer) close() {
	w.stopping.Store(true)
	<-w.done
	if w.conn != nil {
		w.conn.Close()
		w.conn = nil
	}
}
