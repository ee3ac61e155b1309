//go:build interop

package interop

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestPipeline writes many commands in a single write and compares the
// replies of memcached and the candidate.
//
//   - interleaved: every command is followed by the sentinel, all in one
//     write, so replies can still be compared (and reported) per command;
//   - stream: the commands back to back with one sentinel at the end; the
//     whole reply stream is compared.
//
// The generator runs in pipeline mode: no CAS uniques read back from
// earlier replies, no connection-closing commands, no over-long get keys
// (memcached 1.6.18 then discards the replies of earlier commands in the
// same read batch, which a reimplementation need not copy).
func TestPipeline(t *testing.T) {
	ref := memcachedBinary(t)
	cand := candidateBinary(t)
	seed := diffSeed(t)
	n := min(envInt(t, "DIFF_N", 3000)/5, 1000)
	t.Logf("DIFF_SEED=%d commands per pipeline=%d candidate=%s", seed, n, cand.name)

	for _, cfg := range []struct {
		name  string
		flags []string
		limit int
	}{
		{"I1m", flagsDefault, limitDefault},
		{"I2k", flagsSmall, limitSmall},
	} {
		t.Run(cfg.name, func(t *testing.T) {
			p := newPair(t, ref, cand, cfg.flags)
			g := newGen(seed, cfg.limit, true)
			t.Run("interleaved", func(t *testing.T) {
				cmds := make([]command, n)
				var buf bytes.Buffer
				for i := range cmds {
					cmds[i] = g.next()
					buf.WriteString(cmds[i].wire())
					buf.WriteString(sentinel)
				}
				ra, rb, _, _ := p.do(command{kind: "pipeline", parts: [][]byte{buf.Bytes()}}, n+1, 20*time.Second)
				if ra.closed || ra.timeout {
					t.Fatalf("reference memcached: closed=%v timeout=%v after %d bytes (harness bug?)", ra.closed, ra.timeout, len(ra.data))
				}
				as := splitReplies(ra.data)
				bs := splitReplies(rb.data)
				mismatches := 0
				for i := range cmds {
					var a, b string
					if i < len(as) {
						a = as[i]
					}
					if i < len(bs) {
						b = bs[i]
					} else {
						b = rb.render()[len(rb.data):] // <CLOSED> / <TIMEOUT>, or nothing
					}
					if a != b {
						mismatches++
						t.Errorf("pipelined mismatch %d: index %d, kind %s (rerun: DIFF_SEED=%d -run '%s')\ncommand:   %q\nmemcached: %q\n%s: %q",
							mismatches, i, cmds[i].kind, seed, t.Name(), clip(cmds[i].wire(), 400), clip(a, 600), p.b.srv.name, clip(b, 600))
						if mismatches >= maxMismatches {
							break
						}
					}
				}
				if rb.closed || rb.timeout {
					t.Errorf("%s: closed=%v timeout=%v after %d of %d replies", p.b.srv.name, rb.closed, rb.timeout, len(bs), n+1)
				}
				t.Logf("%d commands, %d reply bytes from memcached", n, len(ra.data))
			})
			t.Run("stream", func(t *testing.T) {
				cmds := make([]command, n)
				var buf bytes.Buffer
				for i := range cmds {
					cmds[i] = g.next()
					buf.WriteString(cmds[i].wire())
				}
				_, _, na, nb := p.do(command{kind: "pipeline", parts: [][]byte{buf.Bytes()}}, 1, 20*time.Second)
				if strings.HasSuffix(na, "<TIMEOUT>") || strings.HasSuffix(na, "<CLOSED>") {
					t.Fatalf("reference memcached gave no complete reply (harness bug?): ...%q", clip(na, 300))
				}
				if na != nb {
					off := firstDiff(na, nb)
					t.Errorf("pipelined stream differs at reply byte %d of %d/%d (rerun: DIFF_SEED=%d -run '%s'):\nmemcached: %q\n%s: %q",
						off, len(na), len(nb), seed, t.Name(), around(na, off), p.b.srv.name, around(nb, off))
				}
				t.Logf("%d commands, %d reply bytes from memcached", n, len(na))
			})
		})
	}
}

// splitReplies cuts a reply stream after each sentinel reply; each part
// keeps its trailing "MN\r\n".
func splitReplies(data []byte) []string {
	var out []string
	for len(data) > 0 {
		i := bytes.Index(data, []byte(sentinelReply))
		if i < 0 {
			out = append(out, string(data))
			break
		}
		out = append(out, string(data[:i+len(sentinelReply)]))
		data = data[i+len(sentinelReply):]
	}
	return out
}

func firstDiff(a, b string) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

// around shows s near off.
func around(s string, off int) string {
	lo := max(0, off-200)
	hi := min(len(s), off+200)
	return fmt.Sprintf("...%s...", s[lo:hi])
}
