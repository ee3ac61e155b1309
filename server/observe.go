package server

import (
	"strconv"
	"strings"

	"github.com/gocached/gocached/internal/hotkeys"
	"github.com/gocached/gocached/protocol"
)

// The connection's side of observability: hot-key sampling (the Tracker
// and its Sampler are internal/hotkeys) and `stats hotkeys`. Latency is
// latency.go; the Prometheus endpoint metrics.go.

// hotTopN is how many keys `stats hotkeys` and /metrics show per window
// and ranking by default.
const hotTopN = 10

// hot samples one request for key that moved n value bytes (stored or
// returned): one decrement for the requests that are not sampled.
func (c *conn) hot(key []byte, n int) {
	if c.s.hot != nil && c.hotS.Sample(c.s.hotRate) {
		c.s.hot.Add(key, n, nanotime())
	}
}

// writeHotKeys is `stats hotkeys [N]` (gocached only): for each window,
// the N (default 10) keys with the most requests, then with the most
// bytes, as "STAT <window>:<requests|bytes>:<rank> <key> <estimate>
// <per second>"; estimates are the sampled counts times the sample rate.
func (s *Server) writeHotKeys(w *statWriter, t *protocol.Tokens) {
	if s.hot == nil {
		w.str("hotkeys_status", "disabled")
		return
	}
	n := hotTopN
	if t.Count() > 3 {
		if v, err := strconv.Atoi(string(t.T[2])); err == nil && v > 0 && v <= hotkeys.DefaultCapacity {
			n = v
		}
	}
	now := nanotime()
	w.i("sample_rate", int64(s.hot.SampleRate()))
	w.i("memory_bytes", int64(s.hot.Bytes()))
	for wi, win := range s.hot.Windows() {
		for _, r := range []hotkeys.Ranking{hotkeys.ByRequests, hotkeys.ByBytes} {
			for rank, e := range s.hot.Top(wi, r, n, now) {
				w.str(win.Name+":"+r.String()+":"+strconv.Itoa(rank+1), displayKey(e.Key)+" "+strconv.FormatUint(e.Count, 10)+" "+strconv.FormatFloat(e.PerSecond, 'f', 1, 64))
			}
		}
	}
}

// displayKey is a key as stats lines and metric labels show it: as it is
// when it is printable ASCII without spaces (every text protocol key), else
// Go-quoted in ASCII with spaces escaped, so that a binary protocol key
// cannot break a STAT line or a label.
func displayKey(k string) string {
	for i := 0; i < len(k); i++ {
		if k[i] <= ' ' || k[i] >= 0x7f || k[i] == '"' {
			return strings.ReplaceAll(strconv.QuoteToASCII(k), " ", `\x20`)
		}
	}
	return k
}
