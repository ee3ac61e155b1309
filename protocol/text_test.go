package protocol

import (
	"bytes"
	"testing"
)

func tok(line string) *Tokens {
	var t Tokens
	t.Tokenize([]byte(line))
	return &t
}

// TestParseStorage: memcached 1.6.45's storage line grammar
// (proto_parser.c's _process_request_storage and process_update_cmd_start).
func TestParseStorage(t *testing.T) {
	long := string(bytes.Repeat([]byte("k"), KeyMaxLength+1))
	for _, tc := range []struct {
		line    string
		cas     bool
		err     []byte
		want    StorageCommand
		noreply bool
		swallow bool // the error comes after the data block is discarded
	}{
		{"set k 5 -1 10", false, nil, StorageCommand{Key: []byte("k"), Flags: 5, Exptime: -1, Bytes: 10}, false, false},
		{"set k 4294967295 2592001 0 noreply", false, nil, StorageCommand{Key: []byte("k"), Flags: 1<<32 - 1, Exptime: 2592001, Noreply: true}, true, false},
		{"cas k 0 0 1 77", true, nil, StorageCommand{Key: []byte("k"), Bytes: 1, CAS: 77}, false, false},
		{"cas k 0 0 1 18446744073709551615 noreply", true, nil, StorageCommand{Key: []byte("k"), Bytes: 1, CAS: 1<<64 - 1, Noreply: true}, true, false},
		{"set k 0 0", false, ErrBadFormat, StorageCommand{}, false, false},
		{"set k 0 0 1 noreply extra", false, nil, StorageCommand{Key: []byte("k"), Bytes: 1}, false, false},
		{"set k 0 0 1 a b c d e f g", false, nil, StorageCommand{Key: []byte("k"), Bytes: 1}, false, false},
		{"cas k 0 0 1", true, ErrBadFormat, StorageCommand{}, false, true},
		{"cas k 0 0 1 noreply", true, ErrBadFormat, StorageCommand{}, true, true},
		{"set " + long + " 0 0 1 noreply", false, ErrBadFormat, StorageCommand{}, true, true},
		{"set k x 0 1", false, ErrBadFormat, StorageCommand{}, false, true},
		{"set k 4294967298 0 1", false, nil, StorageCommand{Key: []byte("k"), Flags: 2, Bytes: 1}, false, false}, // truncated, as memcached
		{"set k 0 x 1", false, ErrBadFormat, StorageCommand{}, false, true},
		{"set k 0 0 x", false, ErrBadFormat, StorageCommand{}, false, false},
		{"set k 0 0 +1", false, ErrBadFormat, StorageCommand{}, false, false},
		{"set k 0 0 -1", false, ErrBadFormat, StorageCommand{}, false, false},
		{"set k 0 0 -1 noreply", false, ErrBadFormat, StorageCommand{}, false, false},
		{"set k 0 0 2147483646", false, ErrBadFormat, StorageCommand{}, false, false},
		{"set k 0 0 2147483645", false, nil, StorageCommand{Key: []byte("k"), Bytes: 2147483645}, false, false},
		{"cas k 0 0 1 -1", true, ErrBadFormat, StorageCommand{}, false, true},
		{"cas k 0 0 1 +1", true, ErrBadFormat, StorageCommand{}, false, true},
		{"cas k 0 0 1 x noreply", true, ErrBadFormat, StorageCommand{}, true, true},
	} {
		var c StorageCommand
		err := ParseStorage(tok(tc.line), tc.cas, &c)
		if !bytes.Equal(err, tc.err) || c.Noreply != tc.noreply || c.Swallow != tc.swallow {
			t.Errorf("ParseStorage(%q) = %q noreply %v swallow %v; want %q noreply %v swallow %v",
				tc.line, err, c.Noreply, c.Swallow, tc.err, tc.noreply, tc.swallow)
			continue
		}
		if err == nil && (string(c.Key) != string(tc.want.Key) || c.Flags != tc.want.Flags || c.Exptime != tc.want.Exptime ||
			c.Bytes != tc.want.Bytes || c.CAS != tc.want.CAS) {
			t.Errorf("ParseStorage(%q) = %+v, want %+v", tc.line, c, tc.want)
		}
	}
}

// TestTokNumbers: mcmc's strict number tokens (memcached 1.6.45).
func TestTokNumbers(t *testing.T) {
	for _, tc := range []struct {
		in    string
		u64   uint64
		u64ok bool
		i32   int32
		i32ok bool
	}{
		{"0", 0, true, 0, true},
		{"", 0, true, 0, true},
		{"12", 12, true, 12, true},
		{"+1", 0, false, 0, false},
		{" 1", 0, false, 0, false},
		{"-1", 0, false, -1, true},
		{"1x", 0, false, 0, false},
		{"2147483647", 2147483647, true, 2147483647, true},
		{"2147483648", 2147483648, true, 0, false},
		{"-2147483648", 0, false, -2147483648, true},
		{"-2147483649", 0, false, 0, false},
		{"18446744073709551615", 1<<64 - 1, true, 0, false},
		{"18446744073709551616", 0, false, 0, false},
		{"0000000000000000000001", 1, true, 0, false},
		{"00000000000000000000001", 0, false, 0, false},
	} {
		u, uok := TokUint64([]byte(tc.in))
		i, iok := TokInt32([]byte(tc.in))
		if u != tc.u64 || uok != tc.u64ok || i != tc.i32 || iok != tc.i32ok {
			t.Errorf("%q: TokUint64 %d %v, TokInt32 %d %v; want %d %v, %d %v", tc.in, u, uok, i, iok, tc.u64, tc.u64ok, tc.i32, tc.i32ok)
		}
	}
}

// TestParseKeyCommands: memcached 1.6.45's incr, decr, touch and delete
// lines.
func TestParseKeyCommands(t *testing.T) {
	long := string(bytes.Repeat([]byte("k"), KeyMaxLength+1))
	parsers := map[string]func(*Tokens, *KeyCommand) []byte{"incr": ParseArith, "touch": ParseTouch, "delete": ParseDelete}
	for _, tc := range []struct {
		line    string
		err     []byte
		key     string
		delta   uint64
		exptime int32
		noreply bool
	}{
		{"incr k 5", nil, "k", 5, 0, false},
		{"incr k 18446744073709551615 noreply", nil, "k", 1<<64 - 1, 0, true},
		{"incr k", ErrBadFormat, "", 0, 0, false},
		{"incr k 1 noreply x", nil, "k", 1, 0, false},
		{"incr k -1", ErrBadDelta, "", 0, 0, false},
		{"incr k +1", ErrBadDelta, "", 0, 0, false},
		{"incr k -0", ErrBadDelta, "", 0, 0, false},
		{"incr k x noreply", ErrBadDelta, "", 0, 0, true},
		{"incr " + long + " 1", ErrBadFormat, "", 0, 0, false},
		{"touch k -5", nil, "k", 0, -5, false},
		{"touch k x", ErrBadExptime, "", 0, 0, false},
		{"touch k 2147483648", ErrBadExptime, "", 0, 0, false},
		{"touch k", ErrBadFormat, "", 0, 0, false},
		{"touch k 1 2", nil, "k", 0, 1, false},
		{"delete k", nil, "k", 0, 0, false},
		{"delete k 0", nil, "k", 0, 0, false},
		{"delete k noreply", nil, "k", 0, 0, true},
		{"delete k 0 noreply", nil, "k", 0, 0, true},
		{"delete k 5", nil, "k", 0, 0, false},
		{"delete k 5 noreply", nil, "k", 0, 0, true},
		{"delete k noreply 0", nil, "k", 0, 0, false},
		{"delete", ErrBadFormat, "", 0, 0, false},
		{"delete k 0 noreply x", nil, "k", 0, 0, false},
		{"delete " + long, ErrBadFormat, "", 0, 0, false},
		{"delete " + long + " noreply", ErrBadFormat, "", 0, 0, true},
	} {
		tk := tok(tc.line)
		var c KeyCommand
		err := parsers[string(tk.T[0])](tk, &c)
		if !bytes.Equal(err, tc.err) || c.Noreply != tc.noreply {
			t.Errorf("%q: error %q noreply %v; want %q noreply %v", tc.line, err, c.Noreply, tc.err, tc.noreply)
			continue
		}
		if err == nil && (string(c.Key) != tc.key || c.Delta != tc.delta || c.Exptime != tc.exptime) {
			t.Errorf("%q: %+v", tc.line, c)
		}
	}
}

// TestParseFlushAllAndVerbosity: memcached 1.6.45's flush_all and
// verbosity lines.
func TestParseFlushAllAndVerbosity(t *testing.T) {
	for _, tc := range []struct {
		line    string
		delay   int32
		noreply bool
		err     []byte
	}{
		{"flush_all", 0, false, nil},
		{"flush_all 10", 10, false, nil},
		{"flush_all noreply", 0, true, nil},
		{"flush_all -1 noreply", -1, true, nil},
		{"flush_all x", 0, false, ErrBadExptime},
		{"flush_all x noreply", 0, true, ErrBadExptime},
		{"flush_all 1 noreply x", 1, false, nil},
		{"flush_all a b c", 0, false, ErrBadExptime},
		{"flush_all +1", 0, false, ErrBadExptime},
		{"flush_all 0 0 0 0", 0, false, nil},
	} {
		d, nr, err := ParseFlushAll(tok(tc.line))
		if d != tc.delay || nr != tc.noreply || !bytes.Equal(err, tc.err) {
			t.Errorf("ParseFlushAll(%q) = %d, %v, %q", tc.line, d, nr, err)
		}
	}
	for _, tc := range []struct {
		line    string
		level   uint32
		noreply bool
		err     []byte
	}{
		{"verbosity 1", 1, false, nil},
		{"verbosity 9 noreply", 2, true, nil},
		{"verbosity", 0, false, ErrBadFormat},
		{"verbosity x", 0, false, ErrBadFormat},
		{"verbosity noreply", 0, true, ErrBadFormat},
		{"verbosity +1", 0, false, ErrBadFormat},
		{"verbosity -1", 0, false, ErrBadFormat},
		{"verbosity 4294967296", 0, false, ErrBadFormat},
		{"verbosity 1 noreply x", 1, false, nil},
		{"verbosity 5 6 7", 2, false, nil},
	} {
		l, nr, err := ParseVerbosity(tok(tc.line))
		if l != tc.level || nr != tc.noreply || !bytes.Equal(err, tc.err) {
			t.Errorf("ParseVerbosity(%q) = %d, %v, %q", tc.line, l, nr, err)
		}
	}
}

func TestTextParsersDoNotAllocate(t *testing.T) {
	set, incr := tok("set user:12345:profile 0 3600 100 noreply"), tok("incr counter 1")
	var sc StorageCommand
	var kc KeyCommand
	var line Tokens
	raw := []byte("get user:12345:profile user:12345:friends\r\n")
	if n := testing.AllocsPerRun(1000, func() {
		l, _, _ := Line(raw)
		line.Tokenize(l)
		_ = ParseStorage(set, false, &sc)
		_ = ParseArith(incr, &kc)
	}); n != 0 {
		t.Fatalf("%v allocations per line", n)
	}
}

func BenchmarkParseStorage(b *testing.B) {
	raw := []byte("set user:12345:profile 0 3600 100\r\n")
	var t Tokens
	var c StorageCommand
	b.ReportAllocs()
	for b.Loop() {
		l, _, _ := Line(raw)
		t.Tokenize(l)
		if ParseStorage(&t, false, &c) != nil {
			b.Fatal("bad line")
		}
	}
}

// FuzzTextLine runs every line parser over any line: none panics, every
// error is one of memcached's replies, and a parsed key is a token of the
// line within the length limit (a NUL byte may be part of it, as in 1.6.45).
func FuzzTextLine(f *testing.F) {
	for _, s := range []string{"set k 0 0 1", "cas k 0 0 1 2 noreply", "incr k 1", "touch k 1", "delete k 0 noreply", "flush_all 1", "verbosity 1"} {
		f.Add([]byte(s))
	}
	known := [][]byte{Error, ErrBadFormat, ErrBadDelta, ErrBadExptime}
	check := func(t *testing.T, what string, err, key []byte) {
		if err == nil {
			if len(key) > KeyMaxLength || bytes.ContainsAny(key, " ") {
				t.Fatalf("%s: key %q", what, key)
			}
			return
		}
		for _, k := range known {
			if bytes.Equal(err, k) {
				return
			}
		}
		t.Fatalf("%s: unknown error %q", what, err)
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		var tk Tokens
		tk.Tokenize(line)
		var sc StorageCommand
		var kc KeyCommand
		check(t, "storage", ParseStorage(&tk, false, &sc), sc.Key)
		check(t, "cas", ParseStorage(&tk, true, &sc), sc.Key)
		check(t, "arith", ParseArith(&tk, &kc), kc.Key)
		check(t, "touch", ParseTouch(&tk, &kc), kc.Key)
		check(t, "delete", ParseDelete(&tk, &kc), kc.Key)
		_, _, err := ParseFlushAll(&tk)
		check(t, "flush_all", err, nil)
		_, _, err = ParseVerbosity(&tk)
		check(t, "verbosity", err, nil)
	})
}

func TestParseGATAndShutdown(t *testing.T) {
	if e, err := ParseGATExptime(tok("gat -5 k")); e != -5 || err != nil {
		t.Errorf("gat -5: %d %q", e, err)
	}
	if _, err := ParseGATExptime(tok("gat x k")); !bytes.Equal(err, ErrBadExptime) {
		t.Errorf("gat x: %q", err)
	}
	for _, tc := range []struct{ line, mode string }{
		{"shutdown", "shutdown"}, {"shutdown graceful", "graceful"}, {"shutdown now", ""}, {"shutdown graceful x", ""},
	} {
		mode, err := ParseShutdown(tok(tc.line))
		if mode != tc.mode || (mode == "") != bytes.Equal(err, ErrShutdownMode) {
			t.Errorf("ParseShutdown(%q) = %q, %q", tc.line, mode, err)
		}
	}
}

func TestParseAuthSetLine(t *testing.T) {
	for _, tc := range []struct {
		line string
		n    int64
		ok   bool
	}{
		{"set k 0 0 11", 13, true}, {"set k 0 0 11\r", 13, true}, {"set k 0 0 11 noreply", 13, true},
		{"set k 0 0", 0, false}, {"get k", 0, false}, {"settle k 0 0 1", 3, true}, {" set k 0 0 1", 0, false}, {"set k 0 0 x", 0, false}, {"", 0, false},
	} {
		n, ok := ParseAuthSetLine([]byte(tc.line))
		if ok != tc.ok || (ok && n != tc.n) {
			t.Errorf("ParseAuthSetLine(%q) = %d, %v", tc.line, n, ok)
		}
	}
}
