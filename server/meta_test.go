package server

import (
	"strings"
	"testing"
)

// TestMetaCommands checks meta replies against memcached 1.6.45's (read
// off the real daemon for the same sessions).
func TestMetaCommands(t *testing.T) {
	s := testServer(t, nil)
	type step struct{ req, want string }
	long := "O" + strings.Repeat("1", 32)
	tests := []struct {
		name  string
		steps []step
	}{
		{"get set basics", []step{
			{"mg foo\n", "EN\n"},
			{"mg foo v\n", "EN\n"},
			{"ms foo 3\nabc\n", "HD\n"},
			{"mg foo\n", "HD\n"},
			{"mg foo v\n", "VA 3\nabc\n"},
			{"mg foo s v f t k h O123 q\n", "VA 3 s3 f0 t-1 kfoo h1 O123\nabc\n"},
		}},
		// A too-long opaque stops mg's reply: flags before it take
		// effect, flags after it do not, and no token is handed out.
		{"opaque too long mid-flags", []step{
			{"mg nk N30 " + long + "\n", "CLIENT_ERROR opaque token too long\n"},
			{"mg nk s R60\n", "HD s0 W\n"},
			{"mg nk2 " + long + " N30\n", "CLIENT_ERROR opaque token too long\n"},
			{"mg nk2 t h R60\n", "HD t-1 h0\n"}, // not marked fetched either
			{"mg nk3 T30 " + long + " N90\n", "CLIENT_ERROR opaque token too long\n"},
			{"mg nk3 t\n", "HD t30\n"},
		}},
		{"errors", []step{
			{"mg\n", "CLIENT_ERROR bad command line format\n"},
			{"ms\n", "CLIENT_ERROR bad command line format\n"},
			{"md\n", "CLIENT_ERROR bad command line format\n"},
			{"ma\n", "CLIENT_ERROR bad command line format\n"},
			{"me\n", "CLIENT_ERROR bad command line format\n"},
			{"mx foo\n", "ERROR\n"},
			{"mg foo Z5\n", "CLIENT_ERROR invalid flag\n"},
			{"mg foo E\n", "CLIENT_ERROR bad token in command line format\n"},
			{"mg foo v v\n", "CLIENT_ERROR duplicate flag\n"},
			{"mg foo N\n", "CLIENT_ERROR bad token in command line format\n"},
			{"mg foo Tabc\n", "CLIENT_ERROR bad token in command line format\n"},
			{"md foo Z\n", "CLIENT_ERROR invalid flag\n"},
			{"md foo s s\n", "CLIENT_ERROR duplicate flag\n"},
			{"md foo Tx\n", "CLIENT_ERROR bad token in command line format\n"},
			{"ma foo Z\n", "CLIENT_ERROR invalid or duplicate flag\n"},
			{"ms foo\n", "CLIENT_ERROR bad command line format\n"},
			{"ms foo abc\n", "CLIENT_ERROR bad command line format\n"},
			{"ms foo 2 MX\nxx\n", "CLIENT_ERROR invalid mode for ms M token\n"},
			{"ms foo 2 M\nxx\n", "CLIENT_ERROR invalid mode for ms M token\n"},
			{"ms foo 2 MSS\nxx\n", "HD\n"},
			{"ms foo 1 F-1\nz\n", "CLIENT_ERROR bad command line format\n"},
			{"ms foo S1 T0\nz\n", "CLIENT_ERROR bad command line format\nCLIENT_ERROR bad command line format\n"},
			{"mg o " + long + "\n", "CLIENT_ERROR opaque token too long\n"},
			{"md o q " + long + "\n", "CLIENT_ERROR opaque token too long\n"},
			{"ms foo 1 q\nzz\n", "CLIENT_ERROR bad data chunk\nCLIENT_ERROR bad command line format\n"},
		}},
		{"set modes and cas", []step{
			{"ms m 2 MA\nzz\n", "NS\n"},
			{"ms m 2 ME c\nzz\n", "HD c<CAS>\n"},
			{"ms m 2 ME\nzz\n", "NS\n"},
			{"ms m 2 MA\nyy\n", "HD\n"},
			{"ms m 1 MP\nx\n", "HD\n"},
			{"mg m v\n", "VA 5\nxzzyy\n"},
			{"ms m 2 MR C1 c k O9\nzz\n", "EX c0 km O9\n"},
			{"ms nope 2 MR C1 c k O9\nzz\n", "NF c0 knope O9\n"},
			{"ms m 1 F4294967297 T0\nz\n", "CLIENT_ERROR bad command line format\n"},
			{"ms m 1 F4294967295 T0\nz\n", "HD\n"},
			{"mg m f v\n", "VA 1 f4294967295\nz\n"},
		}},
		{"delete", []step{
			{"ms d 1\nz\n", "HD\n"},
			{"md d C1 k\n", "EX kd\n"},
			{"md d q\n", ""},
			{"md d q\n", "NF\n"},
			{"md d O5 k\n", "NF O5 kd\n"},
		}},
		{"arithmetic", []step{
			{"ms cnt 2\n10\n", "HD\n"},
			{"ma cnt\n", "HD\n"},
			{"ma cnt v\n", "VA 2\n12\n"},
			{"ma cnt MD D3 v t\n", "VA 1 t-1\n9\n"},
			{"ma cnt D18446744073709551615 v\n", "VA 1\n8\n"},
			{"ma cnt M- D100 v\n", "VA 1\n0\n"},
			{"ma cnt C1 v\n", "EX\n"},
			{"ma cnt MX\n", "CLIENT_ERROR invalid mode for ma M token\n"},
			{"ma cnt Dx\n", "CLIENT_ERROR invalid or duplicate flag\n"},
			{"ma new N0 J5 v\n", "VA 1\n5\n"},
			{"ma new2 N0 v\n", "VA 1\n0\n"},
			{"ma new3 q\n", "NF\n"},
			{"ma new4 N0 J7 q\n", ""},
			{"ma new4 q\n", ""},
			{"mg new4 v\n", "VA 1\n8\n"},
			{"ms str 1\nx\n", "HD\n"},
			{"ma str\n", "CLIENT_ERROR cannot increment or decrement non-numeric value\n"},
		}},
		{"base64 keys", []step{
			{"ms Zm9v 1 b\nx\n", "HD\n"},
			{"mg Zm9v b k v\n", "VA 1 kZm9v b\nx\n"},
			{"mg foo k v\n", "VA 1 kZm9v b\nx\n"},
			{"mg Zm8 b k\n", "CLIENT_ERROR error decoding key\n"},
			{"mg Zm9v=Yg= b k\n", "EN kZm9vAQ== b\n"},
			{"me Zm9v b\n", "EN\n"}, // 1.6.45 decodes only with a token after the b
			{"me Zm9v b x\n", "ME Zm9v exp=-1 la=0 cas=<CAS> fetch=yes cls=1 size=63\n"},
		}},
		{"debug", []step{
			{"ms dbg 2 T100\nhi\n", "HD\n"},
			{"me dbg\n", "ME dbg exp=100 la=0 cas=<CAS> fetch=no cls=1 size=64\n"},
			{"me nosuch\n", "EN\n"},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, s)
			for _, st := range tc.steps {
				got := c.reply(crlf(st.req))
				if !matchCAS(got, crlf(st.want)) {
					t.Errorf("%s:\n got %q\nwant %q", short(crlf(st.req)), got, crlf(st.want))
				}
			}
		})
	}
}

// matchCAS compares a reply with an expectation in which <CAS> stands for
// any decimal number.
func matchCAS(got, want string) bool {
	parts := strings.Split(want, "<CAS>")
	if !strings.HasPrefix(got, parts[0]) {
		return false
	}
	got = got[len(parts[0]):]
	for _, p := range parts[1:] {
		i := 0
		for i < len(got) && got[i] >= '0' && got[i] <= '9' {
			i++
		}
		if i == 0 || !strings.HasPrefix(got[i:], p) {
			return false
		}
		got = got[i+len(p):]
	}
	return got == ""
}

// TestStaleWhileRevalidate walks memcached's lease recipe with three
// clients: one wins the right to recache, the others get the stale value,
// and the new value replaces it.
func TestStaleWhileRevalidate(t *testing.T) {
	s := testServer(t, nil)
	a, b, c := dial(t, s), dial(t, s), dial(t, s)
	// Miss: the first client vivifies and wins, the next see Z.
	if got := a.reply("mg page N30 v c t\r\n"); !matchCAS(got, "VA 0 c<CAS> t30 W\r\n\r\n") {
		t.Fatalf("first miss: %q", got)
	}
	if got := b.reply("mg page N30 v c t\r\n"); !matchCAS(got, "VA 0 c<CAS> t30 Z\r\n\r\n") {
		t.Fatalf("second miss: %q", got)
	}
	// The winner fills it (a plain ms clears win and token state).
	if got := a.reply("ms page 2 T60\r\nv1\r\n"); got != "HD\r\n" {
		t.Fatalf("winner set: %q", got)
	}
	// Invalidate: the next reader wins, the others get stale X Z.
	if got := c.reply("md page I T30\r\n"); got != "HD\r\n" {
		t.Fatalf("invalidate: %q", got)
	}
	got := b.reply("mg page v c\r\n")
	var cas uint64
	if _, err := fmtSscan(got, "VA 2 c%d X W\r\nv1\r\n", &cas); err != nil {
		t.Fatalf("reader after invalidate: %q", got)
	}
	if got := a.reply("mg page v\r\n"); got != "VA 2 Z X\r\nv1\r\n" {
		t.Fatalf("other reader gets stale: %q", got)
	}
	// A late writer with an older CAS may store, but it stays stale.
	if got := c.reply("ms page 2 I C1\r\nv0\r\n"); got != "HD\r\n" {
		t.Fatalf("late stale write: %q", got)
	}
	if got := a.reply("mg page v\r\n"); got != "VA 2 Z X\r\nv0\r\n" {
		t.Fatalf("after stale write: %q", got)
	}
	// The winner's write with the CAS it got replaces the stale value.
	if got := b.reply("mg page c\r\n"); !strings.HasPrefix(got, "HD c") {
		t.Fatalf("winner reads cas: %q", got)
	}
	fresh := b.reply("mg page c\r\n")
	var cur uint64
	if _, err := fmtSscan(fresh, "HD c%d", &cur); err != nil {
		t.Fatalf("cas read: %q", fresh)
	}
	if got := b.reply("ms page 2 T60 C" + itoa(cur) + "\r\nv2\r\n"); got != "HD\r\n" {
		t.Fatalf("winner recache: %q", got)
	}
	if got := a.reply("mg page v\r\n"); got != "VA 2\r\nv2\r\n" {
		t.Fatalf("fresh value: %q", got)
	}
	// Early recache: R wins once the TTL drops below it.
	if got := a.reply("mg page R90 v\r\n"); got != "VA 2 W\r\nv2\r\n" {
		t.Fatalf("recache win: %q", got)
	}
	if got := b.reply("mg page R90 v\r\n"); got != "VA 2 Z\r\nv2\r\n" {
		t.Fatalf("recache token taken: %q", got)
	}
}

// TestMeta1645Additions: the meta flags memcached 1.6.45 added since 1.6.18
// (E sets the CAS; ms s returns the stored size; ms MA/MP with N
// vivifies; mg C sends the value only when the CAS differs; md x keeps
// the item with an empty value), replies read off 1.6.45 for the same
// sessions (E keeps the CAS values deterministic).
func TestMeta1645Additions(t *testing.T) {
	for _, tc := range []struct {
		name  string
		steps []textStep
	}{
		{"ms E", []textStep{
			{"ms e1 2 E973 c\nji\n", "HD c973\n"},
			{"mg e1 c\n", "HD c973\n"},
			{"ms e1 2 c C973 E4000\nlo\n", "HD c4000\n"},
			{"ms e1 2 E\nlo\n", "CLIENT_ERROR bad token in command line format\n"},
		}},
		{"mg C conditional value", []textStep{
			{"ms e1 2 E4000\nlo\n", "HD\n"},
			{"mg e1 c v\n", "VA 2 c4000\nlo\n"},
			{"mg e1 c v C4000\n", "HD c4000\n"},
			{"mg e1 c v C4001\n", "VA 2 c4000\nlo\n"},
		}},
		{"mg N with E", []textStep{
			{"mg e2 s c v N30 E9876\n", "VA 0 s0 c9876 W\n\n"},
			{"mg e2 c E5\n", "HD c9876 Z\n"},
		}},
		{"md I with E", []textStep{
			{"ms e3 2 E1234\nmE\n", "HD\n"},
			{"md e3 C1234 E5678 I\n", "HD\n"},
			{"mg e3 c\n", "HD c5678 X W\n"},
		}},
		{"ma E", []textStep{
			{"ma e4 v N0 c E4321 J5\n", "VA 1 c4321\n5\n"},
			{"ma e4 c v E8765\n", "VA 1 c8765\n6\n"},
		}},
		{"ms s and vivifying append", []textStep{
			{"ms e5 2 MA N30 s\nmo\n", "HD s2\n"},
			{"ms e5 2 MA N30 s\nko\n", "HD s4\n"},
			{"ms e5 1 MP s\nx\n", "HD s5\n"},
			{"mg e5 v t\n", "VA 5 t30\nxmoko\n"},
			{"ms e5 3 s\nabc\n", "HD s3\n"},
			{"ms e6 2 MA s\nzz\n", "NS s2\n"},
		}},
		{"md x", []textStep{
			{"ms e7 2 T50 E10\nmx\n", "HD\n"},
			{"md e7 x F5 T100\n", "HD\n"},
			{"mg e7 v f t c\n", "VA 0 f5 t100 c10\n\n"},
			{"md e7 x I E77\n", "HD\n"},
			{"mg e7 c v\n", "VA 0 c77 X W\n\n"},
			{"md e8 x\n", "NF\n"},
			{"ms e9 2 E10\nmx\n", "HD\n"},
			{"md e9 x q\n", ""},
			{"mg e9 v c\n", "VA 0 c10\n\n"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runText(t, dial(t, testServer(t, nil)), tc.steps)
		})
	}
}
