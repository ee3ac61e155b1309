package server

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gocached/gocached/protocol"
)

// The expected replies below are memcached 1.6.18's, checked against the
// real daemon (see interop/binary_test.go for the differential test).

const (
	opGet, opSet, opAdd, opReplace, opDelete, opIncr, opDecr = 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06
	opQuit, opFlush, opGetQ, opNoop, opVersion, opGetK       = 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c
	opGetKQ, opAppend, opPrepend, opStat, opSetQ, opAddQ     = 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12
	opReplaceQ, opDeleteQ, opIncrQ, opDecrQ, opQuitQ         = 0x13, 0x14, 0x15, 0x16, 0x17
	opFlushQ, opAppendQ, opPrependQ, opTouch, opGAT, opGATQ  = 0x18, 0x19, 0x1a, 0x1c, 0x1d, 0x1e
	opSASLList, opSASLAuth, opSASLStep, opGATK, opGATKQ      = 0x20, 0x21, 0x22, 0x23, 0x24
)

const noCreate = 0xffffffff

func TestBinaryCommands(t *testing.T) {
	s := testServer(t, nil)
	c := bdial(t, s)
	runSteps(t, c, []step{
		{"set", bstore(opSet, "a", "hello", 5, 0, 7, 0), []string{`01 OK o=7 c=#1`}},
		{"get, getk, getq miss, getkq miss and hit", cat(bget(opGet, "a", 8), bget(opGetK, "a", 0), bget(opGetQ, "zz", 0), bget(opGetKQ, "zz", 0), bget(opGetKQ, "a", 0)), []string{
			`00 OK o=8 c=#1 e=00000005 v="hello"`,
			`0c OK c=#1 e=00000005 k="a" v="hello"`,
			`0d OK c=#1 e=00000005 k="a" v="hello"`,
		}},
		{"misses", cat(bget(opGet, "miss", 1), bget(opGetK, "miss", 2), btouch(opGATK, "miss", 5, 3), btouch(opGAT, "miss", 5, 4), btouch(opTouch, "miss", 5, 5)), []string{
			`00 NOT_FOUND o=1 v="Not found"`,
			`0c NOT_FOUND o=2 k="miss"`,
			`23 NOT_FOUND o=3 k="miss"`,
			`1d NOT_FOUND o=4 v="Not found"`,
			`1c NOT_FOUND o=5 v="Not found"`,
		}},
		{"add existing", bstore(opAdd, "a", "x", 0, 0, 0, 0), []string{`02 EXISTS v="Data exists for key."`}},
		{"replace missing", bstore(opReplace, "nokey", "x", 0, 0, 0, 0), []string{`03 NOT_FOUND v="Not found"`}},
		{"add new", bstore(opAdd, "b", "bee", 0, 0, 0, 0), []string{`02 OK c=#2`}},
		{"replace existing", bstore(opReplace, "b", "bee2", 0, 0, 0, 0), []string{`03 OK c=#3`}},
		{"append, prepend", cat(breq(opAppend, "b", "", ">", 0, 0), breq(opPrepend, "b", "", "<", 0, 0), breq(opAppend, "nokey", "", "x", 0, 0), bget(opGet, "b", 0)), []string{
			`0e OK c=#4`, `0f OK c=#5`, `0e NOT_STORED v="Not stored."`, `00 OK c=#5 e=00000000 v="<bee2>"`,
		}},
		{"delete", cat(bget(opDelete, "b", 0), bget(opDelete, "b", 0)), []string{`04 OK`, `04 NOT_FOUND v="Not found"`}},
		{"incr creates, incr, no-create miss, decr to 0", cat(barith(opIncr, "n", 1, 10, 0, 0, 0), barith(opIncr, "n", 1, 10, 0, 0, 0), barith(opIncr, "m", 1, 10, noCreate, 0, 0), barith(opDecr, "n", 100, 0, 0, 0, 0)), []string{
			`05 OK c=#6 v="\x00\x00\x00\x00\x00\x00\x00\n"`,
			`05 OK c=#7 v="\x00\x00\x00\x00\x00\x00\x00\v"`,
			`05 NOT_FOUND v="Not found"`,
			`06 OK c=#8 v="\x00\x00\x00\x00\x00\x00\x00\x00"`,
		}},
		{"created counter has flags 0", bget(opGet, "n", 0), []string{`00 OK c=#8 e=00000000 v="0 "`}},
		{"incr wraps, decr pads in place", cat(bstore(opSet, "p", "100", 0, 0, 0, 0), barith(opDecr, "p", 95, 0, 0, 0, 0), bget(opGet, "p", 0), barith(opIncr, "p", ^uint64(0), 0, 0, 0, 0)), []string{
			`01 OK c=#9`, `06 OK c=#10 v="\x00\x00\x00\x00\x00\x00\x00\x05"`, `00 OK c=#10 e=00000000 v="5  "`, `05 OK c=#11 v="\x00\x00\x00\x00\x00\x00\x00\x04"`,
		}},
		{"decr after an unwritten get reply makes a new item, as memcached", cat(bstore(opSet, "pn", "86", 0, 0, 0, 0), bget(opGetQ, "pn", 0), barith(opDecrQ, "pn", 86, 0, 0, 0, 0), bget(opNoop, "", 1)), []string{
			`01 OK c=#12`, `09 OK c=#12 e=00000000 v="86"`, `0a OK o=1`,
		}},
		{"so its value is not padded", bget(opGet, "pn", 0), []string{`00 OK c=#13 e=00000000 v="0"`}},
		{"incr non-numeric", cat(bstore(opSet, "s", "abc", 0, 0, 0, 0), barith(opIncr, "s", 1, 0, 0, 0, 0)), []string{
			`01 OK c=#14`, `05 BADVAL v="Non-numeric server-side value for incr or decr"`,
		}},
		{"incr of a missing key returns initial", cat(barith(opDecr, "big", 7, ^uint64(0), 0, 0, 0), bget(opGet, "big", 0)), []string{
			`06 OK c=#15 v="\xff\xff\xff\xff\xff\xff\xff\xff"`, `00 OK c=#15 e=00000000 v="18446744073709551615"`,
		}},
		{"touch, gat, gatk", cat(btouch(opTouch, "a", 100, 1), btouch(opGAT, "a", 100, 2), btouch(opGATK, "a", 100, 3)), []string{
			`1c OK o=1 c=#1 e=00000005`, `1d OK o=2 c=#1 e=00000005 v="hello"`, `23 OK o=3 c=#1 e=00000005 k="a" v="hello"`,
		}},
		{"exptime 0xffffffff is an absolute time far ahead", cat(bstore(opSet, "far", "v", 0, 0xffffffff, 0, 0), bget(opGet, "far", 0)), []string{
			`01 OK c=#16`, `00 OK c=#16 e=00000000 v="v"`,
		}},
		{"version", bget(opVersion, "", 0), []string{`0b OK v="1.6.45"`}},
		{"noop", bget(opNoop, "", 9), []string{`0a OK o=9`}},
		{"datatype and vbucket are ignored", cat(braw(0x80, opNoop, 0, 0, 0, "")[:5], []byte{5, 0, 7}, braw(0x80, opNoop, 0, 0, 0, "")[8:]), []string{`0a OK`}},
		{"flush", cat(bget(opFlush, "", 0), bget(opGet, "a", 0)), []string{`08 OK`, `00 NOT_FOUND v="Not found"`}},
		{"flush with a delay", cat(breq(opFlush, "", "\x00\x00\x00\x64", "", 0, 0), bstore(opSet, "d", "v", 0, 0, 0, 0), bget(opGet, "d", 0)), []string{
			`08 OK`, `01 OK c=#17`, `00 OK c=#17 e=00000000 v="v"`,
		}},
		{"unknown opcodes", cat(bget(0x1b, "", 27), bget(0x30, "", 48), bget(0xff, "", 255)), []string{
			`1b UNKNOWN o=27 v="Unknown command"`, `30 UNKNOWN o=48 v="Unknown command"`, `ff UNKNOWN o=255 v="Unknown command"`,
		}},
		{"unknown opcode swallows its body", cat(breq(0x40, "", "", "vvvv", 0, 0), bget(opNoop, "", 5)), []string{`40 UNKNOWN v="Unknown command"`, `0a OK o=5`}},
		{"SASL without -S", cat(bget(opSASLList, "", 0), breq(opSASLAuth, "PLAIN", "", "\x00u\x00p", 0, 0)), []string{
			`20 UNKNOWN v="Unknown command"`, `21 UNKNOWN v="Unknown command"`,
		}},
		{"stat sizes", bget(opStat, "sizes", 3), []string{`10 OK o=3 k="sizes_status" v=*`, `10 OK o=3`}},
		{"stat sizes_disable is unknown (1.6.45)", bget(opStat, "sizes_disable", 3), []string{`10 NOT_FOUND o=3 v="Not found"`}},
		{"stat detail", cat(bget(opStat, "detail on", 0), bget(opStat, "detail dump", 0), bget(opStat, "detail", 0)), []string{
			`10 OK`, `10 OK k="detailed" v=*`, `10 OK`, `10 NOT_FOUND v="Not found"`,
		}},
		{"stat unknown groups", cat(bget(opStat, "conns", 0), bget(opStat, "bogus", 0), bget(opStat, "cachedump 1 1", 0)), []string{
			`10 NOT_FOUND v="Not found"`, `10 NOT_FOUND v="Not found"`, `10 NOT_FOUND v="Not found"`,
		}},
		{"stat reset by prefix", bget(opStat, "resetX", 0), []string{`10 OK`}},
		{"stat with a body: the body is the next request", breq(opStat, "sizes", "", string(bget(opNoop, "", 7)), 0, 0), []string{
			`10 OK k="sizes_status" v=*`, `10 OK`, `0a OK o=7`,
		}},
		{"quit", bget(opQuit, "", 3), []string{`07 OK o=3`, `<closed>`}},
	})
}

func TestBinaryStatGroups(t *testing.T) {
	s := testServer(t, nil)
	c := bdial(t, s)
	c.do(bstore(opSet, "a", "v", 0, 0, 0, 0), bget(opGet, "a", 0), bget(opGet, "zz", 0))
	out, _ := c.raw(bget(opStat, "", 0))
	lines := renderBinary(out, casOrder{}, true)
	var names []string
	for _, l := range lines[:len(lines)-1] {
		f := strings.Fields(l)
		names = append(names, strings.Trim(strings.TrimPrefix(f[2], "k="), `"`))
	}
	if lines[len(lines)-1] != "10 OK" {
		t.Fatalf("stats do not end with an empty packet: %q", lines[len(lines)-1])
	}
	// The same names, in the same order, as the text protocol's stats.
	text := statNames(dial(t, s).reply("stats\r\n"))
	if strings.Join(names, " ") != strings.Join(text, " ") {
		t.Fatalf("binary stat names differ from text:\n bin %v\ntext %v", names, text)
	}
	for _, want := range []string{`k="get_hits" v="1"`, `k="get_misses" v="1"`, `k="version" v="1.6.45"`} {
		if !strings.Contains(strings.Join(lines, "\n"), want) {
			t.Errorf("stats lack %s", want)
		}
	}
	for _, group := range []string{"settings", "items", "slabs"} {
		out, _ := c.raw(bget(opStat, group, 0))
		lines := renderBinary(out, casOrder{}, true)
		text := statNames(dial(t, s).reply("stats " + group + "\r\n"))
		if len(lines) != len(text)+1 || lines[len(lines)-1] != "10 OK" {
			t.Errorf("stat %s: %d packets for %d text lines", group, len(lines), len(text))
		}
	}
}

func TestBinaryQuiet(t *testing.T) {
	s := testServer(t, nil)
	c := bdial(t, s)
	runSteps(t, c, []step{
		{"quiet successes are silent, errors are not", cat(
			bstore(opSetQ, "q1", "v1", 0, 0, 1, 0),
			bstore(opAddQ, "q1", "v", 0, 0, 2, 0),
			bstore(opReplaceQ, "nokey", "v", 0, 0, 3, 0),
			bstore(opAddQ, "q2", "v2", 0, 0, 4, 0),
			bstore(opReplaceQ, "q2", "v22", 0, 0, 5, 0),
			breq(opAppendQ, "q2", "", "A", 6, 0),
			breq(opPrependQ, "q2", "", "P", 7, 0),
			breq(opAppendQ, "nokey", "", "A", 8, 0),
			bget(opDeleteQ, "q1", 9),
			bget(opDeleteQ, "q1", 10),
			barith(opIncrQ, "c", 1, 5, 0, 11, 0),
			barith(opDecrQ, "c", 1, 5, 0, 12, 0),
			barith(opIncrQ, "q2", 1, 5, 0, 13, 0),
			barith(opIncrQ, "nokey", 1, 5, noCreate, 14, 0),
			bget(opNoop, "", 17),
		), []string{
			`12 EXISTS o=2 v="Data exists for key."`,
			`13 NOT_FOUND o=3 v="Not found"`,
			`19 NOT_STORED o=8 v="Not stored."`,
			`14 NOT_FOUND o=10 v="Not found"`,
			`15 BADVAL o=13 v="Non-numeric server-side value for incr or decr"`,
			`15 NOT_FOUND o=14 v="Not found"`,
			`0a OK o=17`,
		}},
		{"quiet gets: hits sent, misses not", cat(
			bget(opGetQ, "q2", 1), bget(opGetKQ, "q2", 2), btouch(opGATQ, "q2", 0, 3), btouch(opGATKQ, "q2", 0, 4),
			bget(opGetQ, "no", 5), bget(opGetKQ, "no", 6), btouch(opGATQ, "no", 0, 7), btouch(opGATKQ, "no", 0, 8),
			bget(opGet, "c", 9),
		), []string{
			`09 OK o=1 c=#1 e=00000000 v="Pv22A"`,
			`0d OK o=2 c=#1 e=00000000 k="q2" v="Pv22A"`,
			`1e OK o=3 c=#1 e=00000000 v="Pv22A"`,
			`24 OK o=4 c=#1 e=00000000 k="q2" v="Pv22A"`,
			`00 OK o=9 c=#2 e=00000000 v="4"`,
		}},
		{"flushq is silent", cat(bget(opFlushQ, "", 1), bget(opGetQ, "q2", 2)), nil},
		{"quitq closes without a reply", bget(opQuitQ, "", 1), []string{"<closed>"}},
	})
}

// casOf returns the CAS of the one reply in b.
func casOf(t *testing.T, b []byte) uint64 {
	t.Helper()
	p, _, ok := protocol.ParseBinaryPacket(b)
	if !ok {
		t.Fatalf("no reply in %q", b)
	}
	return p.CAS
}

func TestBinaryCAS(t *testing.T) {
	s := testServer(t, nil)
	c := bdial(t, s)
	out, _ := c.raw(bstore(opSet, "k", "v", 0, 0, 0, 0))
	cas := casOf(t, out)
	step := func(name string, req []byte, want string) uint64 {
		t.Helper()
		out, _ := c.raw(req)
		got := renderBinary(out, casOrder{}, false)
		if len(got) != 1 || !strings.HasPrefix(got[0], want) {
			t.Fatalf("%s: got %q, want %q...", name, got, want)
		}
		return casOf(t, out)
	}
	step("set, stale cas", bstore(opSet, "k", "v", 0, 0, 0, cas+1), `01 EXISTS v="Data exists for key."`)
	step("set, cas, missing key", bstore(opSet, "nok", "v", 0, 0, 0, cas), `01 NOT_FOUND v="Not found"`)
	step("add with a cas is a cas: stale", bstore(opAdd, "k", "v", 0, 0, 0, cas+1), `02 EXISTS`)
	cas = step("add with a cas is a cas: matching", bstore(opAdd, "k", "v2", 0, 0, 0, cas), `02 OK c=#1`)
	step("replace, cas, missing", bstore(opReplace, "nok", "v", 0, 0, 0, cas), `03 NOT_FOUND`)
	cas = step("replace, matching cas", bstore(opReplace, "k", "v3", 0, 0, 0, cas), `03 OK c=#1`)
	step("append, stale cas", breq(opAppend, "k", "", "x", 0, cas+1), `0e EXISTS`)
	cas = step("append, matching cas", breq(opAppend, "k", "", "x", 0, cas), `0e OK c=#1`)
	step("prepend, stale cas", breq(opPrepend, "k", "", "x", 0, cas-1), `0f EXISTS`)
	step("incr, stale cas", barith(opIncr, "k", 1, 0, 0, 0, cas+1), `05 EXISTS`)
	step("delete, stale cas", breq(opDelete, "k", "", "", 0, cas+1), `04 EXISTS v="Data exists for key."`)
	if got := step("get", bget(opGet, "k", 0), `00 OK c=#1 e=00000000 v="v3x"`); got != cas {
		t.Fatalf("get cas %d, want %d", got, cas)
	}
	step("delete, matching cas", breq(opDelete, "k", "", "", 0, cas), `04 OK`)
	out, _ = c.raw(bstore(opSet, "n", "1", 0, 0, 0, 0))
	cas = casOf(t, out)
	if got := step("incr, matching cas", barith(opIncr, "n", 1, 0, 0, 0, cas), `05 OK c=#1 v="\x00\x00\x00\x00\x00\x00\x00\x02"`); got == cas {
		t.Fatal("incr kept the cas")
	}
}

// TestBinaryNoCAS checks -C: storage commands ignore a request's CAS
// (memcached's items have no room for it), delete and incr still compare
// it with the item's, which is 0.
func TestBinaryNoCAS(t *testing.T) {
	s := testServer(t, func(c *Config) { c.NoCAS = true })
	c := bdial(t, s)
	runSteps(t, c, []step{
		{"storage commands ignore the cas", cat(
			bstore(opSet, "k", "v", 5, 0, 1, 0), bstore(opSet, "k", "v2", 5, 0, 2, 99), bstore(opAdd, "k", "v3", 5, 0, 3, 99),
			bstore(opReplace, "k", "v4", 5, 0, 4, 99), breq(opAppend, "k", "", "A", 5, 99), bstore(opSet, "nok", "v", 0, 0, 6, 99),
		), []string{`01 OK o=1`, `01 OK o=2`, `02 EXISTS o=3 v="Data exists for key."`, `03 OK o=4`, `0e OK o=5`, `01 OK o=6`}},
		{"incr and delete compare it", cat(barith(opIncr, "k", 1, 0, 0, 7, 99), breq(opDelete, "k", "", "", 8, 99), bget(opGet, "k", 9)), []string{
			`05 EXISTS o=7 v="Data exists for key."`, `04 EXISTS o=8 v="Data exists for key."`, `00 OK o=9 e=00000005 v="v4A"`,
		}},
	})
}

func TestBinaryProtocolErrors(t *testing.T) {
	s := testServer(t, func(c *Config) { c.Protocol = "binary" })
	noop := func(opaque uint32) []byte { return bget(opNoop, "", opaque) }
	einval := func(op string) []string { return []string{op + ` EINVAL v="Invalid arguments"`, "<closed>"} }
	tests := []struct {
		name string
		req  []byte
		want []string
	}{
		{"bad magic", braw(0x81, opNoop, 0, 0, 0, ""), []string{"<closed>"}},
		{"bad magic after noop", cat(noop(1), braw(0x00, opNoop, 0, 0, 0, "")), []string{`0a OK o=1`, "<closed>"}},
		{"bad magic drops what was not written yet", cat(bget(opGetK, "miss", 1), bstore(opSet, "k", "v", 0, 0, 2, 0), braw(0x00, opNoop, 0, 0, 0, "")), []string{"<closed>"}},
		{"key over 250", cat(bget(opGet, strings.Repeat("k", 251), 0), noop(1)), einval("00")},
		{"key over 250 on an unknown opcode", cat(bget(0x40, strings.Repeat("k", 251), 0), noop(1)), einval("40")},
		{"extras and key longer than the body", cat(braw(0x80, opGet, 3, 0, 2, "abc"), noop(1)), []string{`00 UNKNOWN v="Unknown command"`, "<closed>"}},
		{"get with extras", cat(breq(opGet, "k", "e", "", 0, 0), noop(1)), einval("00")},
		{"get without key", cat(bget(opGet, "", 0), noop(1)), einval("00")},
		{"get with a value", cat(breq(opGetK, "k", "", "v", 0, 0), noop(1)), einval("0c")},
		{"set with 4 bytes of extras", cat(breq(opSet, "abc", "1234", "v", 0, 0), noop(1)), einval("01")},
		{"set without key", cat(bstore(opSet, "", "v", 0, 0, 0, 0), noop(1)), einval("01")},
		{"add without extras", cat(breq(opAdd, "k", "", "v", 0, 0), noop(1)), einval("02")},
		{"append with extras", cat(breq(opAppend, "k", "12345678", "v", 0, 0), noop(1)), einval("0e")},
		{"prepend without key", cat(breq(opPrepend, "", "", "v", 0, 0), noop(1)), einval("0f")},
		{"delete with a value", cat(breq(opDelete, "k", "", "v", 0, 0), noop(1)), einval("04")},
		{"delete with extras", cat(breq(opDelete, "k", "1234", "", 0, 0), noop(1)), einval("04")},
		{"incr with 8 bytes of extras", cat(breq(opIncr, "k", "12345678", "", 0, 0), noop(1)), einval("05")},
		{"incr with a value", cat(breq(opIncr, "k", strings.Repeat("\x00", 20), "v", 0, 0), noop(1)), einval("05")},
		{"touch without extras", cat(bget(opTouch, "k", 0), noop(1)), einval("1c")},
		{"gat without key", cat(breq(opGAT, "", "1234", "", 0, 0), noop(1)), einval("1d")},
		{"noop with a body", cat(breq(opNoop, "", "", "x", 0, 0), noop(1)), einval("0a")},
		{"version with a key", cat(bget(opVersion, "x", 0), noop(1)), einval("0b")},
		{"quit with a body", breq(opQuit, "", "", "x", 0, 0), einval("07")},
		{"flush with a key", cat(breq(opFlush, "k", "1234", "", 0, 0), noop(1)), einval("08")},
		{"flush with 2 bytes of extras", cat(breq(opFlush, "", "12", "", 0, 0), noop(1)), einval("08")},
		{"stat with extras", cat(breq(opStat, "", "1234", "", 0, 0), noop(1)), einval("10")},
		{"sasl list with a key", cat(bget(opSASLList, "k", 0), noop(1)), einval("20")},
		{"sasl auth without key", cat(bget(opSASLAuth, "", 0), noop(1)), einval("21")},
		{"sasl step without key", cat(bget(opSASLStep, "", 0), noop(1)), einval("22")},
		{"key fills the read buffer", cat(bget(opGet, strings.Repeat("k", 16360), 0), noop(1)), einval("00")},
		{"key past the read buffer", cat(bget(opGet, strings.Repeat("k", 16361), 0), noop(1)), []string{"<closed>"}},
		{"unknown opcode: swallows body length after the key", cat(bget(0x40, "kk", 0), noop(5)), []string{"<closed>"}},
		// A body past 1 GiB, whatever the opcode: EINVAL and close (1.6.45).
		{"unknown opcode: body length past 1 GiB", cat(braw(0x80, 0x40, 3, 0, 0x80000010, "big"), noop(6)), []string{`40 EINVAL v="Invalid arguments"`, "<closed>"}},
		{"unknown opcode: 255 bytes of extras", cat(breq(0x40, "", strings.Repeat("e", 255), "", 0, 0), bytes.Repeat([]byte("x"), 255), noop(9)), []string{`40 UNKNOWN v="Unknown command"`, `0a OK o=9`}},
		{"set body past 1 GiB", cat(braw(0x80, opSet, 3, 8, 0x40000001, "\x00\x00\x00\x00\x00\x00\x00\x00big"), noop(6)), []string{`01 EINVAL v="Invalid arguments"`, "<closed>"}},
		{"append body 0xffffffff", cat(braw(0x80, opAppend, 3, 0, 0xffffffff, "big"), noop(6)), []string{`0e EINVAL v="Invalid arguments"`, "<closed>"}},
		{"gat with a body: the body is the next request", breq(opGAT, "gatkey", "\x00\x00\x00\x00", string(noop(7)), 0, 0), []string{`1d NOT_FOUND v="Not found"`, `0a OK o=7`}},
	}
	for _, tc := range tests {
		c := bdial(t, s)
		got := c.do(tc.req)
		if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
	// The set before the bad magic was done, though its reply was dropped.
	if got := bdial(t, s).do(bget(opGet, "k", 0)); len(got) != 1 || !strings.HasSuffix(got[0], `v="v"`) {
		t.Fatalf("set before a bad magic: %q", got)
	}
}

func TestBinaryTooLarge(t *testing.T) {
	s := testServer(t, func(c *Config) { c.MaxItemSize = 1024 })
	c := bdial(t, s)
	big := strings.Repeat("x", 2000)
	runSteps(t, c, []step{
		{"set", bstore(opSet, "big", "old", 0, 0, 0, 0), []string{`01 OK c=#1`}},
		{"too large: body swallowed, old value removed", cat(bstore(opSet, "big", big, 0, 0, 4, 0), bget(opGet, "big", 5)), []string{
			`01 TOO_LARGE o=4 v="Too large."`, `00 NOT_FOUND o=5 v="Not found"`,
		}},
		{"quiet set too large is not quiet", bstore(opSetQ, "big", big, 0, 0, 6, 0), []string{`11 TOO_LARGE o=6 v="Too large."`}},
		{"append too large keeps the item", cat(bstore(opSet, "a", "v", 0, 0, 0, 0), breq(opAppend, "a", "", big, 0, 0), bget(opGet, "a", 0)), []string{
			`01 OK c=#2`, `0e TOO_LARGE v="Too large."`, `00 OK c=#2 e=00000000 v="v"`,
		}},
		{"add too large keeps the item", cat(bstore(opAdd, "a", big, 0, 0, 0, 0), bget(opGet, "a", 0)), []string{
			`02 TOO_LARGE v="Too large."`, `00 OK c=#2 e=00000000 v="v"`,
		}},
		{"append past the limit", cat(bstore(opSet, "c", strings.Repeat("c", 500), 0, 0, 0, 0), breq(opAppend, "c", "", strings.Repeat("y", 500), 0, 0)), []string{
			`01 OK c=#3`, `0e NOT_STORED v="Not stored."`,
		}},
	})
}

func TestBinaryLargeValue(t *testing.T) {
	s := testServer(t, nil)
	c := bdial(t, s)
	val := strings.Repeat("0123456789", 50000)
	runSteps(t, c, []step{
		{"set 500 KB", bstore(opSet, "v", val, 1, 0, 0, 0), []string{`01 OK c=#1`}},
		{"get 500 KB", bget(opGetK, "v", 0), []string{`0c OK c=#1 e=00000001 k="v" v="0123456789012345"...(500000)`}},
	})
}

// TestBinaryGetKQBatch is libmemcached's multi-get: GETKQ per key, then a
// noop; only the hits come back, in order, answered in one write.
func TestBinaryGetKQBatch(t *testing.T) {
	s := testServer(t, nil)
	c := bdial(t, s)
	var sets, gets []byte
	var want []string
	for i := 0; i < 200; i++ {
		k := "key" + itoa(uint64(i))
		if i%2 == 0 {
			sets = append(sets, bstore(opSetQ, k, "v"+k, uint32(i), 0, 0, 0)...)
			want = append(want, `0d OK o=`+itoa(uint64(i+1))+` c=#`+itoa(uint64(len(want)+1))+` e=`+hex32(uint32(i))+` k="`+k+`" v="v`+k+`"`)
		}
		gets = append(gets, bget(opGetKQ, k, uint32(i+1))...)
	}
	if got := c.do(sets); len(got) != 0 {
		t.Fatalf("quiet sets answered %q", got)
	}
	time.Sleep(10 * time.Millisecond)
	before := s.stats.writes.Load()
	got := c.do(cat(gets, bget(opNoop, "", 999)))
	want = append(want, `0a OK o=999`)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("batch:\n got %d replies %q...\nwant %d", len(got), got[:3], len(want))
	}
	time.Sleep(10 * time.Millisecond)
	if w := s.stats.writes.Load() - before; w > 3 {
		t.Fatalf("%d writes for one batch", w)
	}
}

func hex32(v uint32) string {
	const digits = "0123456789abcdef"
	var b [8]byte
	for i := 7; i >= 0; i-- {
		b[i] = digits[v&15]
		v >>= 4
	}
	return string(b[:])
}

// binaryScript mixes every kind of binary request that keeps the
// connection open, including bodies that are swallowed.
func binaryScript() []byte {
	return cat(
		bget(opFlush, "", 0),
		bstore(opSet, "a", "abc", 1, 0, 1, 0),
		bget(opGetK, "a", 2),
		bget(opGetQ, "nope", 3),
		bstore(opSetQ, "b", "x\r\ny", 0, 0, 4, 0),
		breq(opAppend, "a", "", "de", 5, 0),
		barith(opIncr, "n", 1, 7, 0, 6, 0),
		barith(opIncr, "n", 3, 7, 0, 7, 0),
		barith(opDecrQ, "n", 1, 0, 0, 8, 0),
		bstore(opSet, "c", strings.Repeat("t", 1100), 0, 0, 9, 0),
		breq(0x40, "", "", "swallowed", 10, 0),
		bget(opDelete, "a", 11),
		bget(opGetKQ, "b", 12),
		bget(opGetKQ, "n", 13),
		btouch(opGAT, "n", 100, 14),
		bget(opStat, "sizes", 15),
		bstore(opAdd, "b", "z", 0, 0, 16, 0),
		bget(opVersion, "", 17),
		bget(opNoop, "", 18),
	)
}

func TestBinarySplitAtEveryByte(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MemoryLimitMB = 4
	cfg.HashPower = 8
	cfg.MaxItemSize = 1024
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.store.Close)
	script := binaryScript()
	run := func(pieces ...[]byte) string {
		cli, finish := binPipe(t, s)
		for _, p := range pieces {
			if _, err := cli.Write(p); err != nil {
				t.Fatal(err)
			}
		}
		return strings.Join(renderBinary(finish(), casOrder{}, false), "\n")
	}
	whole := run(script)
	for _, want := range []string{`01 TOO_LARGE o=9`, `40 UNKNOWN o=10`, `0b OK o=17`, `0d OK o=13`} {
		if !strings.Contains(whole, want) {
			t.Fatalf("whole script reply lacks %q:\n%s", want, whole)
		}
	}
	for i := 1; i < len(script); i++ {
		if got := run(script[:i], script[i:]); got != whole {
			t.Fatalf("split at byte %d:\n got %s\nwant %s", i, got, whole)
		}
	}
	var oneByOne [][]byte
	for i := range script {
		oneByOne = append(oneByOne, script[i:i+1])
	}
	if got := run(oneByOne...); got != whole {
		t.Fatalf("byte by byte:\n got %s\nwant %s", got, whole)
	}
}

// TestBinaryDetection checks that -B auto picks the protocol per
// connection and -B ascii refuses binary.
func TestBinaryDetection(t *testing.T) {
	s := testServer(t, nil)
	if got := dial(t, s).reply("version\r\n"); got != "VERSION 1.6.45\r\n" {
		t.Fatalf("text connection: %q", got)
	}
	if got := bdial(t, s).do(bget(opVersion, "", 1)); len(got) != 1 || got[0] != `0b OK o=1 v="1.6.45"` {
		t.Fatalf("binary connection: %q", got)
	}
}

func writePassFile(t *testing.T, content string) string {
	p := filepath.Join(t.TempDir(), "pwdb")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func saslServer(t *testing.T) *Server {
	pw := writePassFile(t, "# users\nalice:secret\n\nbob:pa:ss\n")
	return testServer(t, func(c *Config) { c.SASL = true; c.SASLPassFile = pw })
}

func plain(authzid, user, pass string) string { return authzid + "\x00" + user + "\x00" + pass }

func TestBinarySASL(t *testing.T) {
	s := saslServer(t)
	auth := breq(opSASLAuth, "PLAIN", "", plain("", "alice", "secret"), 4, 0)
	// The test client's closing noop, refused when not authenticated.
	refused := []string{`0a AUTH_ERROR o=4277009102 v="Auth failure."`, "<closed>"}
	fail := append([]string{`21 AUTH_ERROR o=4 v="Auth failure."`}, refused...)
	tests := []struct {
		name string
		req  []byte
		want []string
	}{
		{"list mechs and version need no auth", cat(bget(opSASLList, "", 1), bget(opVersion, "", 2)), append([]string{`20 OK o=1 v="PLAIN"`, `0b OK o=2 v="1.6.45"`}, refused...)},
		{"get before auth", bget(opGet, "a", 3), []string{`00 AUTH_ERROR o=3 v="Auth failure."`, "<closed>"}},
		{"quiet get before auth", bget(opGetQ, "a", 3), []string{`09 AUTH_ERROR o=3 v="Auth failure."`, "<closed>"}},
		{"noop before auth", bget(opNoop, "", 3), []string{`0a AUTH_ERROR o=3 v="Auth failure."`, "<closed>"}},
		{"unknown opcode before auth", bget(0x40, "", 3), []string{`40 AUTH_ERROR o=3 v="Auth failure."`, "<closed>"}},
		{"bad lengths before auth", braw(0x80, opGet, 3, 0, 1, "abc"), []string{`00 UNKNOWN v="Unknown command"`, "<closed>"}},
		{"auth, then commands", cat(auth, bstore(opSet, "k", "v", 0, 0, 5, 0), bget(opGet, "k", 6)), []string{
			`21 OK o=4 v="Authenticated"`, `01 OK o=5 c=#1`, `00 OK o=6 c=#1 e=00000000 v="v"`,
		}},
		{"authzid equal to the user", cat(breq(opSASLAuth, "PLAIN", "", plain("alice", "alice", "secret"), 4, 0), bget(opNoop, "", 1)), []string{`21 OK o=4 v="Authenticated"`, `0a OK o=1`}},
		{"lower-case mechanism, NUL-terminated", cat(breq(opSASLAuth, "plain\x00", "", plain("", "alice", "secret"), 4, 0), bget(opNoop, "", 1)), []string{`21 OK o=4 v="Authenticated"`, `0a OK o=1`}},
		{"password with a colon", cat(breq(opSASLAuth, "PLAIN", "", plain("", "bob", "pa:ss"), 4, 0), bget(opNoop, "", 1)), []string{`21 OK o=4 v="Authenticated"`, `0a OK o=1`}},
		{"wrong password, then a command", cat(breq(opSASLAuth, "PLAIN", "", plain("", "alice", "wrong"), 4, 0), bget(opGet, "k", 6)), []string{`21 AUTH_ERROR o=4 v="Auth failure."`, `00 AUTH_ERROR o=6 v="Auth failure."`, "<closed>"}},
		{"wrong password, then retry", cat(breq(opSASLAuth, "PLAIN", "", plain("", "alice", "wrong"), 4, 0), auth, bget(opNoop, "", 1)), []string{`21 AUTH_ERROR o=4 v="Auth failure."`, `21 OK o=4 v="Authenticated"`, `0a OK o=1`}},
		{"unknown user", breq(opSASLAuth, "PLAIN", "", plain("", "carol", "secret"), 4, 0), fail},
		{"other authzid", breq(opSASLAuth, "PLAIN", "", plain("bob", "alice", "secret"), 4, 0), fail},
		{"no NUL", breq(opSASLAuth, "PLAIN", "", "alicesecret", 4, 0), fail},
		{"one NUL", breq(opSASLAuth, "PLAIN", "", "alice\x00secret", 4, 0), fail},
		{"trailing NUL", breq(opSASLAuth, "PLAIN", "", plain("", "alice", "secret\x00"), 4, 0), fail},
		{"empty user", breq(opSASLAuth, "PLAIN", "", plain("", "", "secret"), 4, 0), fail},
		{"unknown mechanism", breq(opSASLAuth, "CRAM-MD5", "", "", 4, 0), fail},
		{"mechanism with a trailing space", breq(opSASLAuth, "PLAIN ", "", plain("", "alice", "secret"), 4, 0), fail},
		{"mechanism too long", cat(breq(opSASLAuth, strings.Repeat("P", 33), "", plain("", "alice", "secret"), 4, 0), bget(opNoop, "", 1)), []string{
			`21 EINVAL o=4 v="Invalid arguments"`, `0a AUTH_ERROR o=1 v="Auth failure."`, "<closed>",
		}},
		{"auth with extras", breq(opSASLAuth, "PLAIN", "1234", plain("", "alice", "secret"), 4, 0), []string{`21 EINVAL o=4 v="Invalid arguments"`, "<closed>"}},
		{"step without auth", breq(opSASLStep, "PLAIN", "", plain("", "alice", "secret"), 4, 0), append([]string{`22 AUTH_ERROR o=4 v="Auth failure."`}, refused...)},
		{"empty auth continues, step completes", cat(breq(opSASLAuth, "PLAIN", "", "", 3, 0), breq(opSASLStep, "PLAIN", "", "", 5, 0), breq(opSASLStep, "XX", "", plain("", "alice", "secret"), 6, 0), bget(opNoop, "", 7)), []string{
			`21 AUTH_CONTINUE o=3`, `22 AUTH_ERROR o=5 v="Auth failure."`, `22 OK o=6 v="Authenticated"`, `0a OK o=7`,
		}},
		{"step after success fails and drops the authentication", cat(auth, breq(opSASLStep, "PLAIN", "", plain("", "alice", "secret"), 5, 0), bget(opNoop, "", 6)), []string{
			`21 OK o=4 v="Authenticated"`, `22 AUTH_ERROR o=5 v="Auth failure."`, `0a AUTH_ERROR o=6 v="Auth failure."`, "<closed>",
		}},
		{"list mechs drops the authentication", cat(auth, bget(opSASLList, "", 5), bget(opNoop, "", 6)), []string{
			`21 OK o=4 v="Authenticated"`, `20 OK o=5 v="PLAIN"`, `0a AUTH_ERROR o=6 v="Auth failure."`, "<closed>",
		}},
		// Past 1 GiB: EINVAL before the SASL check (1.6.45).
		{"data past 1 GiB", cat(braw(0x80, opSASLAuth, 5, 0, 0x80000010, "PLAIN"), bget(opNoop, "", 7)), []string{
			`21 EINVAL v="Invalid arguments"`, "<closed>",
		}},
	}
	for _, tc := range tests {
		c := bdial(t, s)
		if got := c.do(tc.req); strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}

	// A text client on a -S server is parsed as binary: bad magic, closed.
	c := dial(t, s)
	c.send("get a\r\nget b\r\nget c\r\nget d\r\n")
	if !c.closed() {
		t.Fatal("text request on a SASL server not refused")
	}

	// Counters and settings.
	b := bdial(t, s)
	before := s.stats.authCmds.Load()
	b.do(breq(opSASLAuth, "PLAIN", "", plain("", "alice", "nope"), 0, 0), auth)
	if got := s.stats.authCmds.Load() - before; got != 2 {
		t.Fatalf("auth_cmds grew by %d, want 2", got)
	}
	out, _ := b.raw(bget(opStat, "", 0))
	all := strings.Join(renderBinary(out, casOrder{}, true), "\n")
	if !strings.Contains(all, `k="auth_cmds" v="`+itoa(s.stats.authCmds.Load())+`"`) || !strings.Contains(all, `k="auth_errors" v="`+itoa(s.stats.authErrors.Load())+`"`) {
		t.Fatalf("stats lack the auth counters:\n%s", all)
	}
	out, _ = b.raw(bget(opStat, "settings", 0))
	if !strings.Contains(strings.Join(renderBinary(out, casOrder{}, true), "\n"), `k="auth_enabled_sasl" v="yes"`) {
		t.Fatal("settings do not say auth_enabled_sasl yes")
	}
}

// TestBinaryRequestsPerEvent checks that a long pipeline yields every -R
// requests (counted in conn_yields) and still answers everything.
func TestBinaryRequestsPerEvent(t *testing.T) {
	s := testServer(t, func(c *Config) { c.ReqsPerEvent = 5 })
	c := bdial(t, s)
	var req []byte
	for i := 0; i < 50; i++ {
		req = append(req, bget(opGet, "miss", uint32(i))...)
	}
	before := s.stats.connYields.Load()
	if got := c.do(req); len(got) != 50 {
		t.Fatalf("%d replies to 50 gets", len(got))
	}
	if s.stats.connYields.Load() == before {
		t.Fatal("no yield in a 50-request pipeline with -R 5")
	}
}
