package protocol

import (
	"bytes"
	"testing"
)

func TestParseSlabs(t *testing.T) {
	for _, tc := range []struct {
		line string
		want SlabsCommand
		err  []byte
	}{
		{"slabs reassign 1 2", SlabsCommand{Sub: SlabsReassign, Src: 1, Dst: 2}, nil},
		{"slabs reassign -1 2", SlabsCommand{Sub: SlabsReassign, Src: -1, Dst: 2}, nil},
		{"slabs reassign x 2", SlabsCommand{Sub: SlabsReassign}, ErrBadFormat},
		{"slabs reassign 1", SlabsCommand{}, Error},
		{"slabs reassign 1 2 3", SlabsCommand{}, Error},
		{"slabs automove 1", SlabsCommand{Sub: SlabsAutomove, Level: 1}, nil},
		{"slabs automove 2 noreply", SlabsCommand{Sub: SlabsAutomove, Level: 2, Noreply: true}, nil},
		{"slabs automove 3", SlabsCommand{Sub: SlabsAutomove, Level: 3}, Error},
		{"slabs automove x noreply", SlabsCommand{Sub: SlabsAutomove, Noreply: true}, ErrBadFormat},
		{"slabs automove", SlabsCommand{}, Error},
		{"slabs bogus 1 2", SlabsCommand{}, Error},
	} {
		var tk Tokens
		tk.Tokenize([]byte(tc.line))
		var c SlabsCommand
		err := ParseSlabs(&tk, &c)
		if !bytes.Equal(err, tc.err) || c.Sub != tc.want.Sub || c.Noreply != tc.want.Noreply ||
			(err == nil && c != tc.want) {
			t.Errorf("ParseSlabs(%q) = %+v, %q; want %+v, %q", tc.line, c, err, tc.want, tc.err)
		}
	}
}

func TestParseCacheDump(t *testing.T) {
	for _, tc := range []struct {
		line         string
		class, limit uint32
		err          []byte
	}{
		{"stats cachedump 1 0", 1, 0, nil},
		{"stats cachedump 63 10", 63, 10, nil},
		{"stats cachedump 64 10", 0, 0, ErrIllegalSlab},
		{"stats cachedump 1", 0, 0, ErrCacheDumpUsage},
		{"stats cachedump x 1", 0, 0, ErrBadFormat},
	} {
		var tk Tokens
		tk.Tokenize([]byte(tc.line))
		class, limit, err := ParseCacheDump(&tk)
		if class != tc.class || limit != tc.limit || !bytes.Equal(err, tc.err) {
			t.Errorf("ParseCacheDump(%q) = %d, %d, %q", tc.line, class, limit, err)
		}
	}
}

// TestParseDebugTime: memcached-debug 1.6.45's debugtime replies.
func TestParseDebugTime(t *testing.T) {
	for _, tc := range []struct {
		line string
		want DebugTime
		err  []byte
	}{
		{"debugtime", DebugTime{}, Error},
		{"debugtime x", DebugTime{}, Error},
		{"debugtime 5x", DebugTime{}, Error},
		{"debugtime 5", DebugTime{Seconds: 5}, nil},
		{"debugtime -5", DebugTime{Seconds: -5}, nil},
		{"debugtime 5 6", DebugTime{Seconds: 5}, nil},
		{"debugtime 4294967296", DebugTime{Seconds: 1 << 32}, nil},
		{"debugtime p", DebugTime{Pause: true}, nil},
		{"debugtime r", DebugTime{Resume: true}, nil},
	} {
		var d DebugTime
		if err := ParseDebugTime(tok(tc.line), &d); !bytes.Equal(err, tc.err) || d != tc.want {
			t.Errorf("ParseDebugTime(%q) = %+v, %q; want %+v, %q", tc.line, d, err, tc.want, tc.err)
		}
	}
}
