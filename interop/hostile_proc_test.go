//go:build interop && reliability && linux

package interop

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// What TestHostile reads about a server process: /proc/PID/status for
// resident memory (VmRSS now, VmHWM its peak since the process started) and
// /proc/PID/fd for its open descriptors.

// procKB returns a "Field:  N kB" line of /proc/PID/status, in KiB.
func procKB(pid int, field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			if f := strings.Fields(rest); len(f) > 0 {
				return strconv.ParseInt(f[0], 10, 64)
			}
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

// rssKB is the process's resident set now; 0 when it cannot be read (the
// process is gone, which the up check reports).
func rssKB(pid int) int64 {
	n, _ := procKB(pid, "VmRSS")
	return n
}

// peakKB is the process's peak resident set since it started.
func peakKB(pid int) int64 {
	n, _ := procKB(pid, "VmHWM")
	return n
}

// fdCount is the number of open descriptors of the process, -1 when
// /proc/PID/fd cannot be read.
func fdCount(pid int) int {
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return -1
	}
	return len(ents)
}

// sampler records the most descriptors a process had open while it ran
// (every 100 ms); VmHWM already keeps the memory peak.
type sampler struct {
	stop   chan struct{}
	done   chan struct{}
	mu     sync.Mutex
	maxFDs int
}

func startSampler(pid int) *sampler {
	s := &sampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			n := fdCount(pid)
			s.mu.Lock()
			s.maxFDs = max(s.maxFDs, n)
			s.mu.Unlock()
			select {
			case <-s.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

// finish stops the sampler and returns the most descriptors seen.
func (s *sampler) finish() int {
	close(s.stop)
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxFDs
}
