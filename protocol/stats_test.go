package protocol

import (
	"bytes"
	"testing"
)

func TestAppendStat(t *testing.T) {
	for _, tc := range []struct{ name, value, want string }{
		{"pid", "42", "STAT pid 42\r\n"},
		{"version", "1.6.45", "STAT version 1.6.45\r\n"},
		{"memory_file", "(null)", "STAT memory_file (null)\r\n"},
	} {
		if got := string(AppendStat([]byte("x"), tc.name, tc.value)); got != "x"+tc.want {
			t.Errorf("AppendStat(%q, %q) = %q, want %q", tc.name, tc.value, got, "x"+tc.want)
		}
	}
}

func TestAppendBinaryStat(t *testing.T) {
	for _, tc := range []struct{ name, value string }{{"pid", "42"}, {"", ""}} {
		b := AppendBinaryStat(nil, 0xdeadbeef, tc.name, tc.value)
		h, ok := ParseBinaryHeader(b)
		if !ok {
			t.Fatalf("%q: header does not parse", tc.name)
		}
		if b[0] != BinaryResponseMagic || h.Opcode != OpStat || h.Opaque != 0xdeadbeef ||
			int(h.KeyLen) != len(tc.name) || int(h.BodyLen) != len(tc.name)+len(tc.value) ||
			!bytes.Equal(b[BinaryHeaderLen:], []byte(tc.name+tc.value)) {
			t.Errorf("%q=%q: packet %x", tc.name, tc.value, b)
		}
	}
}

func TestAppendCacheDumpItem(t *testing.T) {
	if got := string(AppendCacheDumpItem(nil, []byte("k1"), 12, 0)); got != "ITEM k1 [12 b; 0 s]\r\n" {
		t.Errorf("got %q", got)
	}
	if got := string(AppendCacheDumpItem(nil, []byte("k"), 3, 1764669600)); got != "ITEM k [3 b; 1764669600 s]\r\n" {
		t.Errorf("got %q", got)
	}
}

// TestParseStatsDetail: memcached 1.6.45 compares the word over its own
// length, so a prefix of on, off or dump is that word.
func TestParseStatsDetail(t *testing.T) {
	for _, tc := range []struct {
		line string
		want int
	}{
		{"stats detail on", DetailOn},
		{"stats detail o", DetailOn},
		{"stats detail of", DetailOff},
		{"stats detail off", DetailOff},
		{"stats detail d", DetailDump},
		{"stats detail dump", DetailDump},
		{"stats detail dumpx", DetailUsage},
		{"stats detail onx", DetailUsage},
		{"stats detail x", DetailUsage},
		{"stats detail", DetailUsage}, // "stats" is the word then
	} {
		if got := ParseStatsDetail(tok(tc.line)); got != tc.want {
			t.Errorf("ParseStatsDetail(%q) = %d, want %d", tc.line, got, tc.want)
		}
	}
	if got := string(AppendPrefixStat(nil, []byte("foo"), 2, 1, 3, 4)); got != "PREFIX foo get 2 hit 1 set 3 del 4\r\n" {
		t.Errorf("AppendPrefixStat: %q", got)
	}
}

func TestStatsSubcommand(t *testing.T) {
	for sub, want := range map[string]string{
		"reset": "reset", "r": "reset", "res": "reset", "resets": "",
		"d": "detail", "s": "settings", "set": "settings", "settingsx": "",
		"c": "cachedump", "ca": "cachedump", "co": "conns", "conns": "conns",
		"e": "extstore", "ext": "extstore", "extstorex": "",
		"items": "items", "i": "", "it": "", "slabs": "slabs", "sl": "", "sizes": "sizes", "si": "",
		"latency": "latency", "lat": "", "hotkeys": "hotkeys", "bogus": "",
	} {
		if got := StatsSubcommand([]byte(sub), "latency", "hotkeys"); got != want {
			t.Errorf("StatsSubcommand(%q) = %q, want %q", sub, got, want)
		}
	}
}
