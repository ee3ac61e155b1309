package protocol

import (
	"bytes"
	"strings"
	"testing"
)

func TestLine(t *testing.T) {
	tests := []struct {
		in   string
		line string
		n    int
		ok   bool
	}{
		{"get a\r\nrest", "get a", 7, true},
		{"get a\nrest", "get a", 6, true},
		{"get a\r\r\n", "get a\r", 8, true},
		{"\r\n", "", 2, true},
		{"\n", "", 1, true},
		{"get a", "", 0, false},
		{"get a\r", "", 0, false},
	}
	for _, tc := range tests {
		line, n, ok := Line([]byte(tc.in))
		if string(line) != tc.line || n != tc.n || ok != tc.ok {
			t.Errorf("Line(%q) = %q, %d, %v; want %q, %d, %v", tc.in, line, n, ok, tc.line, tc.n, tc.ok)
		}
	}
}

func TestTokenize(t *testing.T) {
	many := strings.Repeat("k ", 30)
	// ntokens is memcached's count for the line, the terminal token
	// included, as its commands compare it (tokenize_command's return).
	tests := []struct {
		in      string
		want    []string
		rest    string
		ntokens int
	}{
		{"get a b", []string{"get", "a", "b"}, "", 4},
		{"  get   a  ", []string{"get", "a"}, "", 3},
		{"", nil, "", 1},
		{"   ", nil, "", 1},
		{"set a\x00 b", []string{"set", "a\x00", "b"}, "", 4}, // 1.6.45: a NUL is part of its token
		{"a\tb c", []string{"a\tb", "c"}, "", 3},
		{"get " + many, append([]string{"get"}, strings.Fields(strings.Repeat("k ", 22))...), strings.Repeat("k ", 8), 24},
	}
	for _, tc := range tests {
		var tk Tokens
		tk.Tokenize([]byte(tc.in))
		var got []string
		for i := 0; i < tk.N; i++ {
			got = append(got, string(tk.T[i]))
		}
		if strings.Join(got, "|") != strings.Join(tc.want, "|") || string(tk.Rest) != tc.rest {
			t.Errorf("Tokenize(%q) = %q rest %q; want %q rest %q", tc.in, got, tk.Rest, tc.want, tc.rest)
		}
		if tk.Count() != tc.ntokens {
			t.Errorf("Tokenize(%q).Count() = %d, want %d", tc.in, tk.Count(), tc.ntokens)
		}
	}
}

func TestNextKey(t *testing.T) {
	var keys []string
	for rest := []byte("  a bb  ccc "); len(rest) > 0; {
		var k []byte
		k, rest = NextKey(rest)
		if len(k) > 0 {
			keys = append(keys, string(k))
		}
	}
	if strings.Join(keys, ",") != "a,bb,ccc" {
		t.Fatalf("keys %q", keys)
	}
}

func TestLineMayGrow(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"get a b c", true}, {"gets a", true}, {"   get a", true}, {strings.Repeat(" ", 100) + "get a", true},
		{strings.Repeat(" ", 101) + "get a", false}, {"gat 0 a", false}, {"set a 0 0 1", false}, {"get", false}, {"getx a", false},
	} {
		if got := LineMayGrow([]byte(tc.in)); got != tc.want {
			t.Errorf("LineMayGrow(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// TestCheckLine: what memcached 1.6.45's process_request answers before a
// command runs.
func TestCheckLine(t *testing.T) {
	for _, tc := range []struct {
		line  string // terminator included
		err   []byte
		known bool
	}{
		{"\r\n", ErrBadFormat, true},
		{" \n", ErrBadFormat, true},
		{"x\r\n", ErrBadFormat, true},
		{"mn\n", ErrBadFormat, true},
		{"mn\r\n", nil, true},
		{"    \r\n", Error, false},
		{" get a\r\n", Error, false},
		{"g noreply\r\n", Error, false},
		{"get\r\n", ErrBadFormat, true},
		{"get \r\n", ErrBadFormat, true},
		{"get a\r\n", nil, true},
		{"gat 1\r\n", ErrBadFormat, true},
		{"incr a\r\n", ErrBadFormat, true},
		{"touch a\r\n", ErrBadFormat, true},
		{"delete\r\n", ErrBadFormat, true},
		{"set k 0 0\r\n", ErrBadFormat, true},
		{"cas k 0 0 1\r\n", nil, true},
		{"mg\r\n", ErrBadFormat, true},
		{"ms a\r\n", ErrBadFormat, true},
		{"mx\r\n", nil, true},
		{"version\r\n", nil, true},
		{"bogus\r\n", nil, true}, // unknown, but that is the dispatcher's to find
	} {
		line, n, _ := Line([]byte(tc.line))
		err, known := CheckLine(line, n, tok(string(line)))
		if !bytes.Equal(err, tc.err) || known != tc.known {
			t.Errorf("CheckLine(%q) = %q, %v; want %q, %v", tc.line, err, known, tc.err, tc.known)
		}
	}
}
