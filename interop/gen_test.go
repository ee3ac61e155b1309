//go:build interop

package interop

import (
	"math/rand/v2"
	"strconv"
	"strings"
)

// command is one generated request: the bytes to write and how to read the
// reply. Everything in it is deterministic given the generator's seed.
type command struct {
	kind string // coverage label, e.g. "set", "incr", "longline"
	// parts are written in order with splitPause between them; a split
	// lets the server see a partial line first.
	parts [][]byte
	// waitClose: send no sentinel and expect the server to close the
	// connection (memcached does so on a line over 2048 bytes that has no
	// newline yet, unless it starts with get/gets).
	waitClose bool
	// casKey: each "{CAS}" in parts is replaced, per server, by the last
	// CAS unique that server reported for this key (or casUnread if none).
	casKey string
}

const casPlaceholder = "{CAS}"

// casUnread is what a placeholder becomes for a key whose unique was never
// read: far above any unique a test run hands out.
const casUnread = "999999999999"

// wire returns the command's bytes as one string (for messages).
func (c command) wire() string {
	var b strings.Builder
	for _, p := range c.parts {
		b.Write(p)
	}
	return b.String()
}

// gen produces a deterministic pseudo-random stream of text-protocol
// commands whose replies from memcached 1.6.18 depend on nothing but the
// command stream: no stats, no expiry in the future, no flush delays.
//
// Values and keys never contain 'm' or upper case, so a data line that the
// server executes as a command can never be a meta command, and "MN\r\n"
// in a reply can only come from the sentinel.
type gen struct {
	r        *rand.Rand
	limit    int  // the servers' -I in bytes
	pipeline bool // only commands that are safe to pipeline (see next)
	// wellFormed: only commands memcached 1.6.18 and 1.6.45 answer alike
	// (DIFF_REF=1.6.18, diffReference): no malformed tokens, lines or
	// meta commands, whose replies 1.6.45's new parser changed.
	wellFormed bool
	queue      []command // returned by next before anything new
}

func newGen(seed uint64, limit int, pipeline, wellFormed bool) *gen {
	return &gen{
		r:          rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		limit:      limit,
		pipeline:   pipeline,
		wellFormed: wellFormed,
	}
}

var (
	plainKeys = []string{"k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7"}
	numKeys   = []string{"n0", "n1", "n2", "n3"}
	missKeys  = []string{"zz0", "zz1", "zz2"} // never stored
	bigKeys   = []string{"big0", "big1"}      // hold the near-limit values
	key250    = strings.Repeat("q", 250)      // longest valid key
	key251    = strings.Repeat("q", 251)      // one too long
	// Keys with control and non-ASCII bytes; memcached only splits on ' '.
	oddKeys = []string{"c\x01k", "c\tk", "c\x7fk", "\xc3\xa9k", "c\rk", "c\x0bk"}
	// listKeys feed the long multi-key lines.
	listKeys     = []string{"k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7", "n0", "n1", "n2", "n3", "zz0", "zz1", "zz2"}
	pipeListKeys = []string{"k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7", "zz0", "zz1", "zz2"}

	// Values that incr/decr and their parsers find interesting.
	numericValues = []string{
		"0", "1", "9", "10", "99", "100", "999", "12345", "4294967296",
		"18446744073709551616",
		" 12", "12 ", "  1", "-0", "+5", "-1", "abc", "0x10", "007", "1 2",
		"1a", "00000000000000000000001", "1\r\n2",
	}
	// Numbers of 2^63 and more are left out of the random sequence: for
	// them memcached 1.6.18's safe_strtoull looks for a '-' with strchr,
	// which runs past the item's data into whatever stale bytes follow it
	// in the slab chunk, so its answer depends on memory history. The
	// edge-case tests cover them on a fresh server.
)

// pick returns one element of xs.
func pick[T any](g *gen, xs ...T) T { return xs[g.r.IntN(len(xs))] }

// weighted is a choice with a weight.
type weighted[T any] struct {
	w int
	v T
}

func pickW[T any](g *gen, xs ...weighted[T]) T {
	total := 0
	for _, x := range xs {
		total += x.w
	}
	n := g.r.IntN(total)
	for _, x := range xs {
		if n < x.w {
			return x.v
		}
		n -= x.w
	}
	return xs[len(xs)-1].v
}

func w[T any](weight int, v T) weighted[T] { return weighted[T]{weight, v} }

// next returns the next command.
func (g *gen) next() command {
	if len(g.queue) > 0 {
		c := g.queue[0]
		g.queue = g.queue[1:]
		return c
	}
	choices := []weighted[func() command]{
		w(300, g.storage),
		w(30, g.threshold),
		w(220, g.retrieval),
		w(50, g.touch),
		w(60, g.delete),
		w(120, g.arith),
		w(4, g.flush),
		w(10, g.version),
		w(10, g.verbosity),
		w(40, g.junk),
	}
	if g.wellFormed {
		choices = choices[:len(choices)-2] // no verbosity, no junk
	}
	if !g.pipeline && !g.wellFormed {
		choices = append(choices, w(10, g.longLine), w(5, g.quit), w(200, g.meta))
	}
	if g.limit <= 4096 {
		choices[1].w = 80 // near-limit values are cheap with a small -I
	}
	return pickW(g, choices...)()
}

// eol ends a command line: mostly "\r\n", sometimes a bare "\n", which
// memcached accepts for command lines (not for data blocks).
func (g *gen) eol() string {
	if g.r.IntN(100) < 5 {
		return "\n"
	}
	return "\r\n"
}

func (g *gen) word(minLen, maxLen int) string {
	const alphabet = "abcdefghijklopqrstuvwxyz0123456789 " // no 'm'
	n := minLen + g.r.IntN(maxLen-minLen+1)
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[g.r.IntN(len(alphabet))]
	}
	return string(b)
}

// storeKey is a key for a storage command.
func (g *gen) storeKey() string {
	if g.wellFormed {
		return pickW(g, w(55, pick(g, plainKeys...)), w(30, pick(g, numKeys...)), w(4, key250))
	}
	return pickW(g,
		w(55, pick(g, plainKeys...)),
		w(30, pick(g, numKeys...)),
		w(4, key250),
		w(3, key251),
		w(5, pick(g, oddKeys...)),
	)
}

// readKey is a key for a retrieval, touch or delete. Pipelines leave out
//   - too-long keys: on one, memcached 1.6.18 drops the replies of earlier
//     commands still queued from the same read;
//   - the numeric keys: incr/decr rewrites a value in place (space-padded
//     to its old length) only when no queued get reply still references
//     the item, and allocates an exact-length item otherwise, so in a
//     pipeline memcached's result depends on write timing.
func (g *gen) readKey() string {
	choices := []weighted[string]{
		w(55, pick(g, plainKeys...)),
		w(15, pick(g, missKeys...)),
		w(2, pick(g, bigKeys...)),
		w(3, key250),
		w(4, pick(g, oddKeys...)),
	}
	if !g.pipeline {
		choices = append(choices, w(12, pick(g, numKeys...)))
		if !g.wellFormed {
			choices = append(choices, w(2, key251))
		}
	}
	return pickW(g, choices...)
}

func (g *gen) flags() string {
	if g.wellFormed {
		return pickW(g, w(50, "0"), w(20, strconv.Itoa(1+g.r.IntN(65535))), w(4, "4294967295"))
	}
	return pickW(g,
		w(50, "0"),
		w(20, strconv.Itoa(1+g.r.IntN(65535))),
		w(4, "4294967295"),
		w(3, "4294967296"), // truncated to 0 by memcached
		w(2, "4294967297"), // truncated to 1
		w(1, "18446744073709551615"),
		w(2, "18446744073709551616"), // out of range: error
		w(3, "-1"),
		w(3, "abc"),
		w(1, "+5"),
		w(1, "-0"),
		w(1, "007"),
		w(1, "1x"),
	)
}

// exptime for storage commands: never a positive time that could run out
// during the test.
func (g *gen) exptime() string {
	if g.wellFormed {
		return pickW(g, w(60, "0"), w(15, strconv.Itoa(10000+g.r.IntN(1000000))), w(6, "-1"),
			w(2, "2592000"), w(3, "2592001"), w(2, "2000000000"))
	}
	return pickW(g,
		w(60, "0"),
		w(15, strconv.Itoa(10000+g.r.IntN(1000000))),
		w(6, "-1"),
		w(2, "2592000"),    // 30 days: still relative
		w(3, "2592001"),    // absolute, long past: expired at once
		w(2, "2000000000"), // absolute, 2033
		w(3, "abc"),
		w(1, "2147483648"), // memcached truncates to int32: negative
		w(1, "4294967296"), // truncates to 0
		w(1, "+0"),
		w(1, "1x"),
	)
}

func (g *gen) touchExp() string {
	if g.wellFormed {
		return pickW(g, w(40, "0"), w(25, strconv.Itoa(10000+g.r.IntN(1000000))), w(8, "-1"),
			w(5, "2592001"), w(3, "2592000"))
	}
	return pickW(g,
		w(40, "0"),
		w(25, strconv.Itoa(10000+g.r.IntN(1000000))),
		w(8, "-1"),
		w(5, "2592001"),
		w(3, "2592000"),
		w(5, "abc"),
		w(2, "2147483648"),
		w(2, "4294967296"),
		w(2, "1x"),
		w(2, "+0"),
	)
}

func (g *gen) value(key string) string {
	v := g.rawValue(key)
	if v != "" && strings.TrimLeft(v, " \t\r\n\v\f") == "" {
		// A value of only whitespace makes memcached's incr/decr run
		// strtoull past the end of the item into whatever memory follows
		// (undefined behaviour: it returns leftovers of older items).
		// gocached answers non-numeric; keep such values out.
		v = "x" + v
	}
	return v
}

func (g *gen) rawValue(key string) string {
	if strings.HasPrefix(key, "n") && g.r.IntN(10) < 7 {
		return pick(g, numericValues...)
	}
	switch n := g.r.IntN(100); {
	case n < 8:
		return ""
	case n < 60:
		return g.word(1, 20)
	case n < 78:
		return g.word(21, 200)
	case n < 88:
		// "\r\n" inside the data block
		return pick(g,
			g.word(1, 10)+"\r\n"+g.word(1, 10),
			"\r\n",
			"\r\n"+g.word(1, 5),
			g.word(1, 5)+"\r\n",
			g.word(1, 5)+"\r\n\r\n"+g.word(1, 5),
			"\r",
			"\n",
			g.word(1, 5)+"\n"+g.word(1, 5),
		)
	case n < 95:
		return pick(g, numericValues...)
	default:
		return g.word(300, min(1500, g.limit/2))
	}
}

// effLen is the data length memcached will read for a length token:
// strtol, then truncation to int32; -1 when the token is rejected (the
// data then is parsed as command lines).
func effLen(tok string) int {
	v, err := strconv.ParseInt(tok, 10, 64)
	if err != nil {
		return -1
	}
	n := int32(v)
	if n < 0 || int64(n) > (1<<31-1)-2 {
		return -1
	}
	return int(n)
}

// effFlagsNonZero tells whether memcached stores non-zero flags for the
// token (strtoull, then truncation to uint32).
func effFlagsNonZero(tok string) bool {
	v, err := strconv.ParseUint(strings.TrimPrefix(tok, "+"), 10, 64)
	return err == nil && uint32(v) != 0
}

// storage builds set/add/replace/append/prepend/cas with assorted
// malformations.
func (g *gen) storage() command {
	verb := pickW(g, w(40, "set"), w(10, "add"), w(10, "replace"),
		w(10, "append"), w(10, "prepend"), w(20, "cas"))
	key := g.storeKey()
	val := g.value(key)
	toks := []string{verb, key, g.flags(), g.exptime(), strconv.Itoa(len(val))}
	cmd := command{kind: verb}
	if verb == "cas" {
		var ctok string
		if g.wellFormed && g.pipeline {
			ctok = pick(g, "0", "999999999999")
		} else if g.wellFormed {
			ctok = pickW(g, w(80, casPlaceholder), w(10, "0"), w(10, "999999999999"))
		} else if g.pipeline {
			// CAS uniques from replies in the same write are unknown.
			ctok = pick(g, "0", "999999999999", "abc", "-1", "18446744073709551616")
		} else {
			ctok = pickW(g, w(70, casPlaceholder), w(8, "0"), w(8, "999999999999"),
				w(5, "abc"), w(5, "-1"), w(4, "18446744073709551616"))
		}
		if ctok == casPlaceholder {
			cmd.casKey = key
		}
		toks = append(toks, ctok)
	}
	// Often read the key first, so that the cas can succeed.
	prefetch := cmd.casKey != "" && g.r.IntN(2) == 0
	lenIdx := 4
	switch n := g.r.IntN(100); {
	case n < 12:
		toks = append(toks, "noreply")
	case g.wellFormed:
	case n < 14:
		toks = append(toks, "junk") // an ignored extra token
	case n < 16:
		toks = append(toks, "noreply", "junk") // too many tokens
		cmd.kind += "/toomany"
	case n < 18 && !g.pipeline:
		// Too few tokens. Not in pipelines: memcached 1.6.45 swallows a
		// data block after such a line by what it takes for its length,
		// which can take the sentinel after a short block with it.
		toks = toks[:1+g.r.IntN(len(toks)-1)]
		cmd.kind += "/toofew"
	case n < 23:
		d := pick(g, -2, -1, 1, 2, 5)
		toks[lenIdx] = strconv.Itoa(max(0, len(val)+d))
		cmd.kind += "/badlen"
	case n < 25:
		toks[lenIdx] = pick(g, "-1", "abc", "+"+strconv.Itoa(len(val)), "2147483647", "4294967296", "-0")
		cmd.kind += "/lentoken"
	}
	body := val + "\r\n"
	if len(toks) > lenIdx {
		if n := effLen(toks[lenIdx]); n >= 0 && n+2 > len(body) {
			// The server will read n+2 bytes: supply them, so the
			// sentinel is never eaten as data. Pad with 'x', not with
			// whitespace, so the value never turns all-whitespace (see
			// value).
			body = val + strings.Repeat("x", n-len(val)) + "\r\n"
		}
	}
	cmd.parts = [][]byte{[]byte(strings.Join(toks, " ") + g.eol() + body)}
	if prefetch {
		g.queue = append(g.queue, cmd)
		return command{kind: "gets", parts: [][]byte{[]byte("gets " + key + "\r\n")}}
	}
	return cmd
}

// threshold stores a value on either side of the -I limit. memcached's item
// size is 48 (header) + 8 (CAS) + key+1 + (4 if flags != 0) + data+2, and it
// refuses items larger than -I.
func (g *gen) threshold() command {
	verb := pickW(g, w(60, "set"), w(10, "add"), w(10, "replace"),
		w(10, "append"), w(5, "prepend"), w(5, "cas"))
	key := pick(g, bigKeys[0], bigKeys[1], key250)
	flagTok := pick(g, "0", "1", "4294967296", "4294967295", "65536")
	extra := 0
	if effFlagsNonZero(flagTok) {
		extra = 4
	}
	base := g.limit - (48 + 8 + len(key) + 1 + extra + 2)
	n := base + pickW(g, w(30, -1), w(30, 0), w(30, 1), w(3, -2), w(3, 2), w(2, 100), w(2, -100))
	toks := []string{verb, key, flagTok, "0", strconv.Itoa(n)}
	cmd := command{kind: "threshold/" + verb}
	if verb == "cas" {
		if g.pipeline {
			toks = append(toks, "0")
		} else {
			toks = append(toks, casPlaceholder)
			cmd.casKey = key
		}
	}
	if g.r.IntN(10) == 0 {
		toks = append(toks, "noreply")
	}
	data := strings.Repeat("z", n)
	cmd.parts = [][]byte{[]byte(strings.Join(toks, " ") + "\r\n" + data + "\r\n")}
	return cmd
}

func (g *gen) retrieval() command {
	verb := pickW(g, w(40, "get"), w(30, "gets"), w(15, "gat"), w(15, "gats"))
	toks := []string{verb}
	if verb == "gat" || verb == "gats" {
		toks = append(toks, g.touchExp())
	}
	var nk int
	switch n := g.r.IntN(100); {
	case n < 3 && !g.wellFormed:
		nk = 0
	case n < 73:
		nk = 1 + g.r.IntN(4)
	case n < 93:
		nk = 5 + g.r.IntN(6)
	default:
		nk = 20 + g.r.IntN(21) // more than memcached's 24 tokens per pass
	}
	for i := 0; i < nk; i++ {
		if nk > 10 {
			if g.pipeline {
				toks = append(toks, pick(g, pipeListKeys...))
			} else {
				toks = append(toks, pick(g, listKeys...))
			}
		} else {
			toks = append(toks, g.readKey())
		}
	}
	if nk > 0 && g.r.IntN(30) == 0 && !g.wellFormed {
		toks = append(toks, "noreply") // just another key to get
	}
	sep := " "
	lead := ""
	switch g.r.IntN(40) {
	case 0:
		sep = "  "
	case 1:
		lead = "   "
	}
	if g.wellFormed {
		sep, lead = " ", ""
	}
	return command{kind: verb, parts: [][]byte{[]byte(lead + strings.Join(toks, sep) + g.eol())}}
}

func (g *gen) touch() command {
	toks := []string{"touch", g.readKey(), g.touchExp()}
	kind := "touch"
	switch n := g.r.IntN(100); {
	case n < 10:
		toks = append(toks, "noreply")
	case g.wellFormed:
	case n < 13:
		toks = append(toks, "junk")
	case n < 16:
		toks = toks[:2]
		kind += "/toofew"
	case n < 18:
		toks = append(toks, "a", "b")
		kind += "/toomany"
	}
	return command{kind: kind, parts: [][]byte{[]byte(strings.Join(toks, " ") + g.eol())}}
}

func (g *gen) delete() command {
	k := g.readKey()
	if g.wellFormed {
		line := pickW(g, w(40, "delete "+k), w(8, "delete "+k+" noreply"))
		return command{kind: "delete", parts: [][]byte{[]byte(line + g.eol())}}
	}
	line := pickW(g,
		w(40, "delete "+k),
		w(8, "delete "+k+" 0"),
		w(8, "delete "+k+" noreply"),
		w(5, "delete "+k+" 0 noreply"),
		w(4, "delete "+k+" 1"),
		w(4, "delete "+k+" noreply junk"),
		w(3, "delete "+k+" junk noreply"),
		w(3, "delete "+k+" junk"),
		w(3, "delete "+k+" 0 0"),
		w(2, "delete "+k+" 0 0 0"),
		w(2, "delete "+k+" 00"),
		w(2, "delete"),
	)
	return command{kind: "delete", parts: [][]byte{[]byte(line + g.eol())}}
}

func (g *gen) arith() command {
	verb := pick(g, "incr", "decr")
	key := pickW(g, w(70, pick(g, numKeys...)), w(18, pick(g, plainKeys...)),
		w(7, pick(g, missKeys...)), w(3, key251), w(2, pick(g, oddKeys...)))
	if g.pipeline || g.wellFormed { // see readKey
		key = pickW(g, w(90, pick(g, numKeys...)), w(10, pick(g, missKeys...)))
	}
	if g.wellFormed {
		return g.wellFormedArith(verb, key)
	}
	delta := pickW(g,
		w(30, "1"),
		w(5, "0"),
		w(20, strconv.Itoa(1+g.r.IntN(1000))),
		w(4, "18446744073709551616"),
		w(5, "-1"),
		w(4, "abc"),
		w(2, "+3"),
		w(2, "-0"),
		w(2, "1a"),
		w(1, "-18446744073709551615"), // strtoull wraps it to 1
	)
	if verb == "decr" && g.r.IntN(5) == 0 {
		// decr clamps at 0, so huge deltas cannot push a value to 2^63.
		delta = pick(g, "18446744073709551615", "9223372036854775808")
	}
	toks := []string{verb, key, delta}
	kind := verb
	switch n := g.r.IntN(100); {
	case n < 10:
		toks = append(toks, "noreply")
	case n < 13:
		toks = append(toks, "junk")
	case n < 16:
		toks = toks[:2]
		kind += "/toofew"
	case n < 18:
		toks = append(toks, "a", "b")
		kind += "/toomany"
	}
	cmd := command{kind: kind, parts: [][]byte{[]byte(strings.Join(toks, " ") + g.eol())}}
	if g.r.IntN(4) == 0 {
		// Store a number first, so that the arithmetic has one to work on.
		v := pick(g, numericValues...)
		g.queue = append(g.queue, cmd)
		return command{kind: "set", parts: [][]byte{[]byte(
			"set " + key + " " + pick(g, "0", "5") + " 0 " + strconv.Itoa(len(v)) + "\r\n" + v + "\r\n")}}
	}
	return cmd
}

// wellFormedArith is incr/decr with a valid delta on a number it stores
// first (DIFF_REF=1.6.18: the two memcached versions agree on these).
func (g *gen) wellFormedArith(verb, key string) command {
	delta := pickW(g, w(30, "1"), w(5, "0"), w(20, strconv.Itoa(1+g.r.IntN(1000))))
	line := verb + " " + key + " " + delta
	if g.r.IntN(10) == 0 {
		line += " noreply"
	}
	g.queue = append(g.queue, command{kind: verb, parts: [][]byte{[]byte(line + g.eol())}})
	v := pick(g, "0", "1", "9", "10", "99", "100", "999", "12345", "4294967296", "007")
	return command{kind: "set", parts: [][]byte{[]byte(
		"set " + key + " " + pick(g, "0", "5") + " 0 " + strconv.Itoa(len(v)) + "\r\n" + v + "\r\n")}}
}

func (g *gen) flush() command {
	if g.wellFormed {
		line := pick(g, "flush_all", "flush_all 0", "flush_all noreply", "flush_all 0 noreply")
		return command{kind: "flush_all", parts: [][]byte{[]byte(line + g.eol())}}
	}
	line := pickW(g,
		w(30, "flush_all"),
		w(20, "flush_all 0"),
		w(10, "flush_all noreply"),
		w(10, "flush_all 0 noreply"),
		w(5, "flush_all -1"),
		w(5, "flush_all abc"),
		w(3, "flush_all abc noreply"),
		w(3, "flush_all 0 0"),
		w(3, "flush_all 0 0 0"),
		w(2, "flush_all +0"),
		w(2, "flush_all 99999999999999999999"),
	)
	return command{kind: "flush_all", parts: [][]byte{[]byte(line + g.eol())}}
}

func (g *gen) version() command {
	v := pick(g, "version", "version x")
	if g.wellFormed {
		v = "version"
	}
	return command{kind: "version", parts: [][]byte{[]byte(v + g.eol())}}
}

func (g *gen) verbosity() command {
	line := pick(g, "verbosity", "verbosity 0", "verbosity 1", "verbosity abc",
		"verbosity -1", "verbosity 0 noreply", "verbosity noreply", "verbosity 1 2",
		"verbosity 1 2 3", "verbosity 4294967296", "verbosity 0")
	return command{kind: "verbosity", parts: [][]byte{[]byte(line + g.eol())}}
}

// junk: empty lines, unknown commands, wrong case, NUL bytes, shutdown
// without -A.
func (g *gen) junk() command {
	line := pick(g,
		"", " ", "   ", "foo", "foo bar baz", "GET k0", "Set k0 0 0 1", "gett k0",
		"getx", "sets", "incrx n0 1", "deletex k0", "touchx k0 0", "x",
		"shutdown", "shutdown graceful",
		"get a\x00b", "get k1\x00 k2", "set a\x00b 0 0 1\r\nx",
		"get", "gets", "gat", "gats", "gat 0", "incr", "decr n0", "touch",
		"set", "add k0", "replace k0 0", "append k0 0 0", "prepend", "cas k0 0 0 1",
		"cas k0 0 0 1\r\nx",
	)
	return command{kind: "junk", parts: [][]byte{[]byte(line + g.eol())}}
}

func (g *gen) quit() command {
	return command{kind: "quit", parts: [][]byte{[]byte(pick(g, "quit", "quit now") + "\r\n")}}
}

// keyList returns "k0 k1 ..." of at least n bytes (no trailing space).
func (g *gen) keyList(n int) string {
	var b strings.Builder
	for b.Len() < n {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(pick(g, listKeys...))
	}
	return b.String()
}

// longLine probes memcached's line-length rule: with no newline among more
// than 2048 unprocessed bytes it closes the connection unless the line
// starts (after at most 100 spaces) with "get " or "gets "; a complete
// line up to its 16 KiB read buffer is processed whatever its length.
func (g *gen) longLine() command {
	switch g.r.IntN(10) {
	case 0: // 2049+ bytes, no newline: closed
		return command{kind: "longline/close", waitClose: true,
			parts: [][]byte{[]byte(strings.Repeat("x", pick(g, 2049, 3000, 5000)))}}
	case 1: // exactly 2048 bytes, then the newline: a (bad) command
		return command{kind: "longline/2048", parts: [][]byte{
			[]byte(strings.Repeat("x", 2048)), []byte("\r\n")}}
	case 2: // long get split before its newline: served
		v := pick(g, "get ", "gets ", "    get ")
		return command{kind: "longline/get", parts: [][]byte{
			[]byte(v + g.keyList(3000)), []byte(" k1\r\n")}}
	case 3: // long gat, no newline: closed
		return command{kind: "longline/gat", waitClose: true,
			parts: [][]byte{[]byte("gat 0 " + g.keyList(3000))}}
	case 4: // more than 100 spaces before get: closed
		return command{kind: "longline/spaces", waitClose: true,
			parts: [][]byte{[]byte(strings.Repeat(" ", 101) + "get " + g.keyList(3000))}}
	case 5: // complete 3000-8000 byte junk line in one write: ERROR
		return command{kind: "longline/complete", parts: [][]byte{
			[]byte(strings.Repeat("x", 3000+g.r.IntN(5000)) + "\r\n")}}
	case 6: // complete line with a 3000-byte key
		return command{kind: "longline/bigkey", parts: [][]byte{
			[]byte(pick(g, "get ", "set ", "delete ", "incr ") + strings.Repeat("q", 3000) +
				pick(g, "", " 0 0 1\r\nx", " 1") + "\r\n")}}
	case 7: // 20000-byte line: over the 16 KiB buffer, closed
		return command{kind: "longline/huge", waitClose: true,
			parts: [][]byte{[]byte(strings.Repeat("x", 20000) + "\r\n")}}
	case 8: // 20000-byte get in one write: served
		return command{kind: "longline/hugeget", parts: [][]byte{
			[]byte("get " + g.keyList(20000) + "\r\n")}}
	default: // long line in one write whose tokens are fine after spaces
		return command{kind: "longline/spacy", parts: [][]byte{
			[]byte("set k1" + strings.Repeat(" ", 3000) + "0 0 1\r\nx\r\n")}}
	}
}

// meta builds mg, ms, md and ma commands with random flag sets. Flags whose
// replies depend on the clock (t, l, and me altogether) are left out: the
// two servers' clocks tick at different instants.
func (g *gen) meta() command {
	key := pickW(g, w(60, pick(g, plainKeys...)), w(25, pick(g, numKeys...)),
		w(10, pick(g, missKeys...)), w(2, key251), w(3, pick(g, "Zm9v", "azA=", "!!")))
	binary := g.r.IntN(10) == 0
	switch g.r.IntN(100) {
	case 0:
		return command{kind: "meta/bare", parts: [][]byte{[]byte(pick(g, "mg", "ms", "md", "ma", "mz k0", "me") + "\r\n")}}
	}
	verb := pickW(g, w(40, "mg"), w(30, "ms"), w(12, "md"), w(18, "ma"))
	var pool []string
	switch verb {
	case "mg":
		pool = []string{"s", "v", "f", "c", "k", "h", "q", "u", g.opaque(), "T" + g.ttl(),
			"N" + g.ttl(), "R" + pick(g, "30", "1000")}
	case "ms":
		pool = []string{"T" + g.ttl(), "F" + g.flags(), "C" + pick(g, casPlaceholder, casPlaceholder, "0", "99999"), "I", "q",
			g.opaque(), "k", "c", "M" + pick(g, "E", "A", "P", "R", "S", "x", "SS")}
	case "md":
		pool = []string{"q", "C" + pick(g, casPlaceholder, "1"), "I", "T" + g.ttl(), "k", g.opaque()}
	case "ma":
		// No J of 2^63 or more: see numericValues.
		pool = []string{"N" + g.ttl(), "J" + pick(g, "0", "5", "4294967296"), "D" + pick(g, "1", "7", "100", "x"),
			"M" + pick(g, "I", "D", "+", "-", "X"), "q", "v", "c", "k", g.opaque(), "C" + pick(g, casPlaceholder, "1"), "T" + g.ttl()}
	}
	var flags []string
	for _, f := range pool {
		if g.r.IntN(3) == 0 {
			flags = append(flags, f)
		}
	}
	g.r.Shuffle(len(flags), func(i, j int) { flags[i], flags[j] = flags[j], flags[i] })
	if binary {
		flags = append(flags, "b")
	}
	if g.r.IntN(25) == 0 {
		flags = append(flags, pick(g, "E1", "x", "v", "Tabc", "N", "O"+strings.Repeat("o", 40)))
	}
	cmd := command{kind: "meta/" + verb}
	for _, f := range flags {
		if strings.Contains(f, casPlaceholder) {
			cmd.casKey = key
		}
	}
	toks := append([]string{verb, key}, flags...)
	if verb == "ms" {
		val := g.value(key)
		n := len(val)
		if g.r.IntN(20) == 0 {
			n += pick(g, -1, 1)
			cmd.kind += "/badlen"
		}
		if n < 0 {
			n = 0
		}
		toks = append([]string{verb, key, strconv.Itoa(n)}, flags...)
		body := val + "\r\n"
		if n+2 > len(body) {
			body = val + strings.Repeat("x", n-len(val)) + "\r\n"
		}
		cmd.parts = [][]byte{[]byte(strings.Join(toks, " ") + "\r\n" + body)}
	} else {
		cmd.parts = [][]byte{[]byte(strings.Join(toks, " ") + "\r\n")}
	}
	if cmd.casKey != "" && g.r.IntN(2) == 0 {
		// Read the CAS first so the compare can succeed.
		g.queue = append(g.queue, cmd)
		return command{kind: "meta/mg", parts: [][]byte{[]byte("mg " + key + " c k\r\n")}}
	}
	return cmd
}

// ttl is a meta TTL token value: never, expired, or far enough ahead that
// no clock tick during a run matters.
func (g *gen) ttl() string { return pick(g, "0", "-1", "100", "3600", "500") }

// opaque is a meta O flag. Its word has no spaces: one would split off
// the rest as more flags, such as t or l, whose values depend on the clock.
func (g *gen) opaque() string { return "O" + strings.ReplaceAll(g.word(1, 6), " ", "o") }
