//go:build interop

package interop

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestDifferentialInterleaved is TestDifferential over many connections:
// DIFF_CONNS connections to each server, and one seeded generator that
// produces a global sequence of (connection index, command). Commands are
// sent one at a time in that order, each followed by the sentinel, and the
// next is sent only once the reply is complete, so both servers see the same
// order across connections. Replies are compared per command, CAS uniques
// renumbered per server across all its connections (a unique read on one
// connection is the one a cas on another sends).
//
// Besides the single-connection generator's commands, each spread over
// random connections (a prefetching gets and its cas often on different
// ones), the stream has short scenarios whose effect crosses connections:
// one connection stores, others read, append, cas, count or delete the
// same key; two connections race a cas with the same unique; a write of
// noreply and quiet meta commands ending with its own "mn" is read back
// from another connection.
func TestDifferentialInterleaved(t *testing.T) {
	ref, wellFormed := diffReference(t)
	cand := candidateBinary(t)
	seed := diffSeed(t)
	n := envInt(t, "DIFF_N", 3000)
	conns := envInt(t, "DIFF_CONNS", 12)
	if conns < 1 {
		t.Fatalf("DIFF_CONNS=%d: want at least 1", conns)
	}
	t.Logf("DIFF_SEED=%d DIFF_N=%d DIFF_CONNS=%d candidate=%s", seed, n, conns, cand.name)

	var trace *os.File
	if path := os.Getenv("DIFF_TRACE"); path != "" {
		f, err := os.Create(path + ".interleaved")
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		trace = f
	}
	for ci, cfg := range []struct {
		name  string
		flags []string
		limit int
	}{
		{"I1m", flagsDefault, limitDefault},
		{"I2k", smallFlags(wellFormed), limitSmall},
	} {
		t.Run(cfg.name, func(t *testing.T) {
			runInterleaved(t, ref, cand, cfg.flags, cfg.limit, seed+uint64(ci), n, conns, wellFormed, trace)
		})
	}
}

// multi is one server with several connections; they share one CAS
// bookkeeping, so uniques are numbered across connections.
type multi struct {
	srv   *server
	sides []*side
}

func newMulti(t testing.TB, srv *server, conns int) *multi {
	m := &multi{srv: srv}
	norm := newCasNorm()
	for i := 0; i < conns; i++ {
		s := &side{srv: srv, norm: norm}
		s.connect(t)
		m.sides = append(m.sides, s)
	}
	t.Cleanup(func() {
		for _, s := range m.sides {
			s.cl.close()
		}
	})
	return m
}

// interleavedRun holds both servers' connections and what a failure
// message needs.
type interleavedRun struct {
	t      *testing.T
	a, b   *multi
	replay string
	recent []string // the last few exchanges, for failure messages
}

const recentSteps = 12

// do runs one step on connection s.conn of both servers (concurrently, as
// pair.do does) and returns the normalised, rendered replies. A close or a
// timeout on either side reconnects that connection on both.
func (r *interleavedRun) do(s step) (ra, rb result, na, nb string) {
	sa, sb := r.a.sides[s.conn], r.b.sides[s.conn]
	if s.writeOnly {
		ea := sa.cl.writeParts(sa.substitute(s.cmd))
		eb := sb.cl.writeParts(sb.substitute(s.cmd))
		// Give both servers the time to read the bytes, so that the next
		// steps run while this connection is halfway through a command.
		time.Sleep(pendingPause)
		if ea != nil || eb != nil {
			ra.closed, rb.closed = ea != nil, eb != nil
			sa.connect(r.t)
			sb.connect(r.t)
		}
		return ra, rb, ra.render(), rb.render()
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		ra = sa.cl.exchange(sa.substitute(s.cmd), s.cmd.waitClose, s.want, replyTimeout)
	}()
	rb = sb.cl.exchange(sb.substitute(s.cmd), s.cmd.waitClose, s.want, replyTimeout)
	<-done
	ra.data = sa.norm.normalize(ra.data)
	rb.data = sb.norm.normalize(rb.data)
	if ra.timeout || rb.timeout {
		// See pair.do: let the server notice the abandoned connection.
		sa.cl.close()
		sb.cl.close()
		time.Sleep(200 * time.Millisecond)
	}
	if ra.closed || ra.timeout || rb.closed || rb.timeout || s.cmd.waitClose {
		sa.connect(r.t)
		sb.connect(r.t)
	}
	return ra, rb, ra.render(), rb.render()
}

func (r *interleavedRun) remember(i int, s step, na, nb string) {
	line := fmt.Sprintf("  #%d conn %d %s: %q -> %q", i, s.conn, s.cmd.kind, clip(s.cmd.wire(), 160), clip(na, 160))
	if na != nb {
		line += fmt.Sprintf(" (%s: %q)", r.b.srv.name, clip(nb, 160))
	}
	r.recent = append(r.recent, line)
	if len(r.recent) > recentSteps {
		r.recent = r.recent[1:]
	}
}

func runInterleaved(t *testing.T, ref, cand binary, flags []string, limit int, seed uint64, n, conns int, wellFormed bool, trace *os.File) {
	sa, sb := startServer(t, ref, flags...), startServer(t, cand, flags...)
	requireSentinel(t, sa)
	requireSentinel(t, sb)
	r := &interleavedRun{t: t, a: newMulti(t, sa, conns), b: newMulti(t, sb, conns),
		replay: fmt.Sprintf("GOCACHED_BIN=$PWD/bin/gocached DIFF_SEED=%d DIFF_N=%d DIFF_CONNS=%d go test -tags interop -count=1 -v -run '%s' ./interop/",
			seed-seedOffset(t), n, conns, t.Name())}
	g := newIGen(seed, limit, conns, wellFormed)
	kinds := map[string]int{}
	var stops diffStops
	start := time.Now()
	budget := 3*time.Minute + time.Duration(n)*time.Millisecond
	i := 0
	for ; i < n; i++ {
		if time.Since(start) > budget {
			t.Errorf("seed %d: time budget %v used up after %d of %d steps (replay: %s)", seed, budget, i, n, r.replay)
			break
		}
		s := g.next()
		kinds[s.cmd.kind]++
		ra, rb, na, nb := r.do(s)
		if trace != nil {
			fmt.Fprintf(trace, "#%d conn %d %s\n> %q\nA %q\nB %q\n", i, s.conn, s.cmd.kind, s.cmd.wire(), na, nb)
		}
		history := strings.Join(r.recent, "\n")
		r.remember(i, s, na, nb)
		refMissing := func() string {
			return fmt.Sprintf("seed %d step %d conn %d: reference memcached gave no complete reply to %q (harness bug?): %q\nreplay: %s",
				seed, i, s.conn, clip(s.cmd.wire(), 300), clip(na, 300), r.replay)
		}
		describe := func(m int) string {
			return fmt.Sprintf("mismatch %d: step %d, conn %d of %d, kind %s, generator seed %d\nreplay: %s\ncommand:   %q\nmemcached: %q\n%s: %q\nprevious steps (conn, command -> memcached's reply):\n%s",
				m, i, s.conn, conns, s.cmd.kind, seed, r.replay, clip(s.cmd.wire(), 400),
				clip(na, 600), sb.name, clip(nb, 600), history)
		}
		if stops.check(t, ra, rb, na, nb, sb.name, " (replay: "+r.replay+")", refMissing, describe) {
			break
		}
		if !sb.alive() {
			t.Fatalf("%s died at step %d (conn %d, %q); replay: %s\noutput:\n%s", sb.name, i, s.conn, clip(s.cmd.wire(), 300), r.replay, sb.out.String())
		}
	}
	t.Logf("%d steps over %d connections in %v, %d mismatches; coverage: %s",
		i, conns, time.Since(start).Round(time.Millisecond), stops.mismatches, coverage(kinds))
}

// step is one command of the interleaved stream and the connection it is
// sent on. want is how many sentinel replies end its reply: 1 for the
// harness's own sentinel, plus one per "mn" inside the command. A
// writeOnly step is the first part of a command: its bytes are written
// with no sentinel and nothing is read; a later step on the same
// connection completes the command and reads the reply.
type step struct {
	conn      int
	cmd       command
	want      int
	writeOnly bool
}

// pendingPause follows a writeOnly step.
const pendingPause = 5 * time.Millisecond

// writeParts writes parts with no sentinel and reads nothing.
func (c *client) writeParts(parts [][]byte) error {
	for _, p := range parts {
		if err := c.writeAll(p, replyTimeout); err != nil {
			return err
		}
	}
	return nil
}

// igen produces the interleaved stream. It draws from the single-connection
// generator (same random source) and adds cross-connection scenarios.
type igen struct {
	g     *gen
	r     *rand.Rand
	conns int
	prev  int // connection of the last step
	queue []step
}

func newIGen(seed uint64, limit, conns int, wellFormed bool) *igen {
	g := newGen(seed, limit, false, wellFormed)
	return &igen{g: g, r: g.r, conns: conns}
}

func (ig *igen) next() step {
	if len(ig.queue) == 0 {
		switch {
		case len(ig.g.queue) > 0:
			// The generator's follow-up (a cas after its gets, an incr
			// after its set): as often on another connection as on the
			// same one.
			conn := ig.prev
			if ig.r.IntN(2) == 0 {
				conn = ig.other(conn)
			}
			ig.queue = []step{{conn: conn, cmd: ig.g.next(), want: 1}}
		case ig.conns > 1 && ig.r.IntN(100) < 20 && !ig.g.wellFormed: // scenarios use meta commands
			ig.queue = ig.scenario()
		default:
			ig.queue = []step{{conn: ig.r.IntN(ig.conns), cmd: ig.g.next(), want: 1}}
		}
	}
	s := ig.queue[0]
	ig.queue = ig.queue[1:]
	ig.prev = s.conn
	return s
}

// other returns a connection other than c (c itself when there is one).
func (ig *igen) other(c int) int {
	if ig.conns == 1 {
		return 0
	}
	return (c + 1 + ig.r.IntN(ig.conns-1)) % ig.conns
}

// three returns three connections, distinct when there are enough.
func (ig *igen) three() (a, b, c int) {
	p := ig.r.Perm(ig.conns)
	return p[0], p[1%len(p)], p[2%len(p)]
}

// noreply returns " noreply" with the given percentage.
func (ig *igen) noreply(percent int) string {
	if ig.r.IntN(100) < percent {
		return " noreply"
	}
	return ""
}

// store is a storage command line and its data block.
func store(kind, verb, key, flags, exp, val, suffix string) command {
	return command{kind: kind, parts: [][]byte{[]byte(
		verb + " " + key + " " + flags + " " + exp + " " + strconv.Itoa(len(val)) + suffix + "\r\n" + val + "\r\n")}}
}

func line(kind, s string) command { return command{kind: kind, parts: [][]byte{[]byte(s + "\r\n")}} }

// casStore is a cas command whose unique is the last one this server
// reported for key (on any connection).
func casStore(kind, key, val, suffix string) command {
	c := store(kind, "cas", key, "0", "0", val, " "+casPlaceholder+suffix)
	c.casKey = key
	return c
}

// smallValue is a plain value for the scenarios (no 'm', no upper case),
// never only spaces (see gen.value).
func (ig *igen) smallValue() string {
	v := ig.g.word(1, 12)
	if strings.TrimLeft(v, " ") == "" {
		v = "x" + v
	}
	return v
}

// read is a retrieval of key in one of the text or meta forms.
func (ig *igen) read(kind, key string) command {
	return line(kind, pick(ig.g, "get "+key, "gets "+key, "gat 0 "+key, "gats 0 "+key,
		"mg "+key+" v f c", "mg "+key+" s v k", "mg "+key+" v q", "mg "+key+" k c q"))
}

// scenario returns a short sequence of steps whose effects cross
// connections.
func (ig *igen) scenario() []step {
	a, b, c := ig.three()
	k := pick(ig.g, plainKeys...)
	n := pick(ig.g, numKeys...)
	one := func(conn int, cmd command) step { return step{conn: conn, cmd: cmd, want: 1} }
	switch ig.r.IntN(8) {
	case 0: // store on one connection, read, modify and delete on others
		return []step{
			one(a, store("x/handoff/set", "set", k, pick(ig.g, "0", "7"), "0", ig.smallValue(), ig.noreply(40))),
			one(b, ig.read("x/handoff/read", k)),
			one(c, store("x/handoff/append", pick(ig.g, "append", "prepend"), k, "0", "0", ig.smallValue(), ig.noreply(40))),
			one(a, line("x/handoff/gets", "gets "+k)),
			one(b, line("x/handoff/delete", pick(ig.g, "delete "+k+ig.noreply(40), "md "+k+pick(ig.g, "", " q", " k")))),
			one(c, ig.read("x/handoff/read", k)),
		}
	case 1: // two connections read the same unique; the first cas wins
		steps := []step{}
		if ig.r.IntN(3) > 0 {
			steps = append(steps, one(c, store("x/casrace/set", "set", k, "0", "0", ig.smallValue(), ig.noreply(30))))
		}
		steps = append(steps,
			one(a, line("x/casrace/gets", pick(ig.g, "gets "+k, "mg "+k+" c"))),
			one(b, line("x/casrace/gets", pick(ig.g, "gets "+k, "mg "+k+" c v"))),
			one(a, casStore("x/casrace/cas", k, ig.smallValue(), ig.noreply(25))))
		second := casStore("x/casrace/cas2", k, ig.smallValue(), "")
		if ig.r.IntN(2) == 0 {
			v := ig.smallValue()
			second = command{kind: "x/casrace/ms", casKey: k, parts: [][]byte{[]byte(
				"ms " + k + " " + strconv.Itoa(len(v)) + " C" + casPlaceholder + pick(ig.g, "", " q", " c") + "\r\n" + v + "\r\n")}}
		}
		return append(steps, one(b, second), one(c, line("x/casrace/gets", "gets "+k)))
	case 2: // one counter, counted from several connections
		// No value or result of 2^63 or more: see numericValues.
		v := pick(ig.g, "0", "1", "5", "99", "100", "4294967295", pick(ig.g, numericValues...))
		big := ig.g.limit >= limitDefault && ig.r.IntN(8) == 0
		if big {
			// A number of about 512 KB: memcached keeps an item over
			// slab_chunk_max (524288 bytes of 48 + 8 + key+1 + value+2)
			// in chunks, and incr/decr call a chunked value non-numeric.
			size := 524288 - (48 + 8 + len(n) + 1 + 2) + pick(ig.g, -1, 0, 1)
			v = strings.Repeat("0", size-2) + pick(ig.g, "41", "99", "10")
		}
		steps := []step{one(a, store("x/counter/set", "set", n, "0", "0", v, ig.noreply(30)))}
		for i := 1 + ig.r.IntN(5); i > 0; i-- {
			conn := ig.r.IntN(ig.conns)
			d := pick(ig.g, "1", "2", "10", "1000")
			cmd := pickW(ig.g,
				w(40, line("x/counter/incr", "incr "+n+" "+d+ig.noreply(25))),
				w(30, line("x/counter/decr", "decr "+n+" "+pick(ig.g, d, "18446744073709551615")+ig.noreply(25))),
				w(30, line("x/counter/ma", "ma "+n+pick(ig.g, "", " MI", " MD", " M+", " M-")+pick(ig.g, "", " D"+d)+pick(ig.g, "", " v", " q", " v c", " N0 J7"))),
			)
			steps = append(steps, one(conn, cmd))
		}
		steps = append(steps, one(ig.r.IntN(ig.conns), line("x/counter/get", pick(ig.g, "get "+n, "gets "+n, "mg "+n+" v c"))))
		if big {
			// Out of the way of the generator's long multi-key gets,
			// whose replies would run to hundreds of megabytes.
			steps = append(steps, one(ig.r.IntN(ig.conns), line("x/counter/delete", "delete "+n)))
		}
		return steps
	case 3: // delete on one connection, add and replace on others
		return []step{
			one(a, store("x/readd/set", "set", k, "0", "0", ig.smallValue(), ig.noreply(30))),
			one(b, line("x/readd/delete", "delete "+k+ig.noreply(50))),
			one(c, store("x/readd/add", "add", k, "3", "0", ig.smallValue(), ig.noreply(30))),
			one(a, store("x/readd/add2", "add", k, "4", "0", ig.smallValue(), "")),
			one(b, store("x/readd/replace", "replace", k, "5", "0", ig.smallValue(), ig.noreply(30))),
			one(c, line("x/readd/mg", "mg "+k+" v f c k")),
		}
	case 4: // store, then touch and gat from other connections
		return []step{
			one(a, store("x/touch/set", "set", k, "0", ig.g.exptime(), ig.smallValue(), ig.noreply(30))),
			one(b, line("x/touch/touch", "touch "+k+" "+ig.g.touchExp()+ig.noreply(30))),
			one(c, line("x/touch/gat", pick(ig.g, "gat", "gats")+" "+ig.g.touchExp()+" "+k)),
			one(a, line("x/touch/mg", "mg "+k+" v f")),
		}
	case 5: // flush_all on one connection while others store and read
		return []step{
			one(a, store("x/flush/set", "set", k, "0", "0", ig.smallValue(), ig.noreply(30))),
			one(b, line("x/flush/flush", pick(ig.g, "flush_all", "flush_all 0", "flush_all noreply", "flush_all 0 noreply"))),
			one(c, line("x/flush/get", "get "+k)),
			one(a, store("x/flush/add", "add", k, "0", "0", ig.smallValue(), "")),
			one(b, line("x/flush/gets", "gets "+k)),
		}
	case 6: // a command left halfway on one connection while others change its key
		return ig.pending(a, b, c, k, n)
	default: // a write of noreply and quiet commands ending in its own mn
		return []step{ig.quietBatch(a), one(b, line("x/quiet/get", "get "+strings.Join(plainKeys, " ")))}
	}
}

// quietBatch is one write of noreply text commands and quiet meta commands
// on plain keys, then "mn". Pipelining them is safe: no incr/decr (whose
// padding depends on unwritten replies), no over-long keys.
func (ig *igen) quietBatch(conn int) step {
	var b strings.Builder
	for i := 2 + ig.r.IntN(6); i > 0; i-- {
		k := pick(ig.g, plainKeys...)
		v := ig.smallValue()
		switch ig.r.IntN(8) {
		case 0:
			fmt.Fprintf(&b, "set %s 0 0 %d noreply\r\n%s\r\n", k, len(v), v)
		case 1:
			fmt.Fprintf(&b, "%s %s 0 0 %d noreply\r\n%s\r\n", pick(ig.g, "add", "replace", "append", "prepend"), k, len(v), v)
		case 2:
			fmt.Fprintf(&b, "ms %s %d q%s\r\n%s\r\n", k, len(v), pick(ig.g, "", " F9", " MA", " MP", " ME", " T0"), v)
		case 3:
			fmt.Fprintf(&b, "mg %s v q%s\r\n", k, pick(ig.g, "", " k", " f", " s"))
		case 4:
			fmt.Fprintf(&b, "%s\r\n", pick(ig.g, "delete "+k+" noreply", "md "+k+" q"))
		case 5:
			fmt.Fprintf(&b, "touch %s 0 noreply\r\n", k)
		case 6:
			fmt.Fprintf(&b, "mn\r\n")
		default:
			fmt.Fprintf(&b, "get %s\r\n", k)
		}
	}
	b.WriteString("mn\r\n")
	s := b.String()
	return step{conn: conn, cmd: command{kind: "x/quiet/batch", parts: [][]byte{[]byte(s)}}, want: 1 + strings.Count(s, "mn\r\n")}
}

// pending leaves a storage, retrieval or arithmetic command half written on
// connection a (its line without the newline, or its data block cut short)
// while b changes the key, then c reads it, then a completes the command:
// memcached decides NOT_STORED, EXISTS, NOT_FOUND and the value at the end
// of the command, not when its line arrives.
func (ig *igen) pending(a, b, c int, k, n string) []step {
	v := ig.smallValue()
	var head, rest string
	kind := "x/pending/"
	casKey := ""
	key := k
	switch ig.r.IntN(7) {
	case 0, 1: // a storage command cut inside its data block
		verb := pickW(ig.g, w(3, "set"), w(3, "add"), w(3, "replace"), w(2, "append"), w(2, "prepend"), w(4, "cas"))
		kind += verb
		toks := verb + " " + k + " 0 0 " + strconv.Itoa(len(v))
		if verb == "cas" {
			toks += " " + casPlaceholder
			casKey = k
		}
		cut := ig.r.IntN(len(v) + 1)
		head, rest = toks+ig.noreply(20)+"\r\n"+v[:cut], v[cut:]+"\r\n"
	case 2: // a storage line without its newline
		verb := pick(ig.g, "set", "add", "replace", "append")
		kind += verb + "/line"
		head, rest = verb+" "+k+" 0 0 "+strconv.Itoa(len(v)), "\r\n"+v+"\r\n"
	case 3: // ms cut inside its data block, with or without a compare
		kind += "ms"
		flags := pick(ig.g, "", " C"+casPlaceholder, " MA", " ME", " MR", " c", " q")
		if strings.Contains(flags, casPlaceholder) {
			casKey = k
		}
		cut := ig.r.IntN(len(v) + 1)
		head, rest = "ms "+k+" "+strconv.Itoa(len(v))+flags+"\r\n"+v[:cut], v[cut:]+"\r\n"
	case 4: // a retrieval line without its newline
		kind += "get"
		verb := pick(ig.g, "get", "gets", "mg", "gat 0")
		head, rest = verb+" "+k, "\r\n"
		if verb == "mg" {
			rest = pick(ig.g, " v c", " s f", " k v q") + rest
		}
	case 5: // incr/decr/ma without the newline
		kind += "arith"
		key = n
		head, rest = pick(ig.g, "incr ", "decr ", "ma ")+n, pick(ig.g, " 3", " 1")+"\r\n"
		if strings.HasPrefix(head, "ma") {
			rest = pick(ig.g, " v", " MD v", " D3 v") + "\r\n"
		}
	default: // delete/touch/md without the newline
		kind += "delete"
		head, rest = pick(ig.g, "delete "+k, "touch "+k+" 0", "md "+k, "md "+k+" C"+casPlaceholder), "\r\n"
		if strings.Contains(head, casPlaceholder) {
			casKey = k
		}
	}
	first := command{kind: kind + "/head", parts: [][]byte{[]byte(head)}, casKey: casKey}
	second := command{kind: kind + "/rest", parts: [][]byte{[]byte(rest)}}
	var other command
	if key == n {
		x := pick(ig.g, "0", "7", "41", "abc")
		other = pick(ig.g,
			store("x/pending/other", "set", n, "0", "0", x, ""),
			line("x/pending/other", "delete "+n),
			line("x/pending/other", "incr "+n+" 2"))
	} else {
		other = pick(ig.g,
			store("x/pending/other", "set", k, "0", "0", ig.smallValue(), ig.noreply(30)),
			store("x/pending/other", "add", k, "0", "0", ig.smallValue(), ""),
			store("x/pending/other", "append", k, "0", "0", ig.smallValue(), ""),
			line("x/pending/other", "delete "+k+ig.noreply(30)),
			line("x/pending/other", "flush_all"),
			line("x/pending/other", "touch "+k+" 0"),
			line("x/pending/other", "mg "+k+" v c"))
	}
	steps := []step{}
	if casKey != "" {
		// Read the unique first, so that the compare can succeed.
		steps = append(steps, step{conn: c, cmd: line("x/pending/gets", "gets "+k), want: 1})
	}
	steps = append(steps, step{conn: a, cmd: first, writeOnly: true})
	if ig.r.IntN(4) > 0 {
		steps = append(steps, step{conn: b, cmd: other, want: 1})
	}
	steps = append(steps,
		step{conn: c, cmd: line("x/pending/read", "gets "+key), want: 1},
		step{conn: a, cmd: second, want: 1},
		step{conn: b, cmd: line("x/pending/read", "gets "+key), want: 1})
	return steps
}
