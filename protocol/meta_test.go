package protocol

import (
	"strings"
	"testing"
)

// TestParseMetaFlags: memcached 1.6.45's _meta_flag_preparse.
func TestParseMetaFlags(t *testing.T) {
	long := strings.Repeat("k", KeyMaxLength+1)
	for _, tc := range []struct {
		line  string
		err   string
		check func(*MetaFlags) bool
	}{
		{"mg k s v f c k", "", func(f *MetaFlags) bool {
			return f.Value && f.Has('s') && f.Has('k') && !f.Has('t') && string(f.Key) == "k"
		}},
		{"mg k T30 N60", "", func(f *MetaFlags) bool {
			return f.TTL == 30 && f.VivifyTTL == 60 && f.Vivify && f.NewTTL && !f.TTLAfterVivify()
		}},
		{"mg k N60 T30", "", func(f *MetaFlags) bool { return f.TTLAfterVivify() }},
		{"mg k T30 R10", "", func(f *MetaFlags) bool { return f.Recache == 10 && f.TTLBeforeRecache() }},
		{"mg k R10 T30", "", func(f *MetaFlags) bool { return !f.TTLBeforeRecache() }},
		{"mg k T-1", "", func(f *MetaFlags) bool { return f.TTL == -1 }},
		{"ma k D7 J5 MD q", "", func(f *MetaFlags) bool { return f.Delta == 7 && f.Initial == 5 && f.Mode == 'D' && f.NoReply }},
		{"ma k", "", func(f *MetaFlags) bool { return f.Delta == 1 }},
		{"ms k C99 F7 I u", "", func(f *MetaFlags) bool {
			return f.HasCAS && f.CAS == 99 && f.ClientFlags == 7 && f.SetStale && f.NoUpdate
		}},
		{"mg Zm9v b", "", func(f *MetaFlags) bool { return string(f.Key) == "foo" && f.KeyBinary }},
		{"mg !! b", MetaErrDecodeKey, nil},
		{"mg k s s", MetaErrDuplicate, nil},
		{"mg k T1 T2", MetaErrDuplicate, nil},
		{"mg k Z", MetaErrInvalid, nil},
		{"md k x", "", func(f *MetaFlags) bool { return f.RemoveValue }},
		{"ms k E5", "", func(f *MetaFlags) bool { return f.HasNewCAS && f.NewCAS == 5 }},
		{"ms k E", MetaErrBadToken, nil},
		{"ms k Ex", MetaErrBadToken, nil},
		{"mg k T", MetaErrBadToken, nil},
		{"mg k T+1", MetaErrBadToken, nil},
		{"mg k T 1", MetaErrInvalid, nil},
		{"mg k F4294967296", MetaErrBadFormat, nil},
		{"mg k F4294967295", "", func(f *MetaFlags) bool { return f.ClientFlags == 1<<32-1 }},
		{"mg " + long + " v", MetaErrBadFormat, nil},
		{"mg k" + strings.Repeat(" O", MetaMaxTokens-2), MetaErrDuplicate, nil},
		{"mg k" + strings.Repeat(" O", MetaMaxTokens-1), MetaErrFlagsLong, nil},
		{"mg k \x7f", MetaErrDuplicate, nil},
		{"mg k Tabc", MetaErrBadToken, nil},
		{"mg k Nabc", MetaErrBadToken, nil},
		{"mg k C-1", MetaErrBadToken, nil},
		{"mg k Fx", MetaErrBadFormat, nil},
		{"mg k MSS", "", func(f *MetaFlags) bool { return f.Mode == 'S' }},
		{"ms k M", "", func(f *MetaFlags) bool { return f.Mode == ' ' }},
		{"mg k Jx", MetaErrInitial, nil},
		{"mg k Dx", MetaErrDelta, nil},
		// The scan goes on after a numeric error: the last error text set
		// wins, and a later invalid or duplicate flag replaces it.
		{"mg k Tabc Dx", MetaErrDelta, nil},
		{"mg k Tabc Z", MetaErrInvalid, nil},
		{"mg k Tabc T1", MetaErrDuplicate, nil},
		{"mg k Fx Tabc", MetaErrBadToken, nil},
		{"mg k Tabc Fx", MetaErrBadToken, nil},
	} {
		var tk Tokens
		tk.Tokenize([]byte(tc.line))
		var f MetaFlags
		var buf [KeyMaxLength]byte
		got := ParseMetaFlags(&tk, 2, buf[:], &f)
		if got != tc.err {
			t.Errorf("ParseMetaFlags(%q) = %q, want %q", tc.line, got, tc.err)
			continue
		}
		if tc.check != nil && !tc.check(&f) {
			t.Errorf("ParseMetaFlags(%q) = %+v", tc.line, f)
		}
	}
}

func TestMetaLines(t *testing.T) {
	long := strings.Repeat("k", KeyMaxLength+1)
	for _, tc := range []struct {
		line string
		vlen int32
		want string
	}{
		{"ms k 5 T1", 5, ""}, {"ms k 0", 0, ""}, {"ms", 0, MetaErrBadFormat}, {"ms k", 0, MetaErrBadFormat},
		// The key and the flags are the flag parser's (their errors come
		// once the data block is swallowed).
		{"ms " + long + " 5", 5, ""}, {"ms k x", 0, MetaErrBadFormat}, {"ms k -1", 0, MetaErrBadFormat},
		{"ms k +1", 0, MetaErrBadFormat}, {"ms k 2147483646", 0, MetaErrBadFormat},
		{"ms k 1" + strings.Repeat(" T1", MetaMaxTokens), 1, ""},
	} {
		var tk Tokens
		tk.Tokenize([]byte(tc.line))
		vlen, got := ParseMetaSetLine(&tk)
		if got != tc.want || (got == "" && vlen != tc.vlen) {
			t.Errorf("ParseMetaSetLine(%q) = %d, %q; want %d, %q", tc.line, vlen, got, tc.vlen, tc.want)
		}
	}
	var tk Tokens
	tk.Tokenize([]byte("ms k 1 O" + strings.Repeat("o", MetaMaxOpaque)))
	if !MetaOpaqueTooLong(&tk, 3) {
		t.Error("33-byte opaque not too long")
	}
	tk.Tokenize([]byte("ms k 1 O" + strings.Repeat("o", MetaMaxOpaque-1)))
	if MetaOpaqueTooLong(&tk, 3) {
		t.Error("32-byte opaque too long")
	}
}

func TestParseMetaFlagsDoesNotAllocate(t *testing.T) {
	var tk Tokens
	tk.Tokenize([]byte("mg user:12345:profile s v f c k T30 N60 R10 Oabc b"))
	var f MetaFlags
	var buf [KeyMaxLength]byte
	if n := testing.AllocsPerRun(1000, func() { ParseMetaFlags(&tk, 2, buf[:], &f) }); n != 0 {
		t.Fatalf("%v allocations per parse", n)
	}
}

func BenchmarkParseMetaFlags(b *testing.B) {
	var tk Tokens
	tk.Tokenize([]byte("mg user:12345:profile s v f c k T30"))
	var f MetaFlags
	var buf [KeyMaxLength]byte
	b.ReportAllocs()
	for b.Loop() {
		if ParseMetaFlags(&tk, 2, buf[:], &f) != "" {
			b.Fatal("bad flags")
		}
	}
}

// FuzzMetaFlags: any line parses without panic into one of memcached's
// errors or flags consistent with the tokens.
func FuzzMetaFlags(f *testing.F) {
	for _, s := range []string{"mg k s v T30 N60 R10", "ms k 5 C1 F2 I", "ma k D1 J2 MI", "mg Zm9v b k", "mg k Tabc x"} {
		f.Add([]byte(s))
	}
	known := map[string]bool{"": true, MetaErrBadFormat: true, MetaErrBadToken: true, MetaErrDuplicate: true, MetaErrInvalid: true,
		MetaErrDecodeKey: true, MetaErrInitial: true, MetaErrDelta: true, MetaErrFlagsLong: true}
	f.Fuzz(func(t *testing.T, line []byte) {
		var tk Tokens
		tk.Tokenize(line)
		if tk.N < 2 {
			return
		}
		var mf MetaFlags
		var buf [KeyMaxLength]byte
		e := ParseMetaFlags(&tk, 2, buf[:], &mf)
		if !known[e] {
			t.Fatalf("unknown error %q", e)
		}
		if e != "" {
			return
		}
		for i := 2; i < tk.N; i++ {
			if !mf.Has(tk.T[i][0]) {
				t.Fatalf("flag %q not recorded", tk.T[i])
			}
		}
		if len(mf.Key) > KeyMaxLength || mf.Vivify != mf.Has('N') || mf.Value != mf.Has('v') || mf.HasCAS != mf.Has('C') {
			t.Fatalf("flags %+v for %q", mf, line)
		}
	})
}

func TestParseMetaDebugKey(t *testing.T) {
	var buf [KeyMaxLength]byte
	for _, tc := range []struct{ line, key, err string }{
		// memcached 1.6.45 decodes only when a token follows the b.
		{"me k", "k", ""}, {"me Zm9v b x", "foo", ""}, {"me Zm9v b", "Zm9v", ""}, {"me Zm9v", "Zm9v", ""},
		{"me !! b x", "", MetaErrBadFormat}, {"me !! b", "!!", ""},
		{"me", "", MetaErrBadFormat}, {"me " + strings.Repeat("k", KeyMaxLength+1), "", MetaErrBadFormat},
	} {
		var tk Tokens
		tk.Tokenize([]byte(tc.line))
		key, err := ParseMetaDebugKey(&tk, buf[:])
		if string(key) != tc.key || err != tc.err {
			t.Errorf("ParseMetaDebugKey(%q) = %q, %q", tc.line, key, err)
		}
	}
}
