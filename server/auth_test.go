package server

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestASCIIAuth(t *testing.T) {
	path := filepath.Join(t.TempDir(), "auth")
	if err := os.WriteFile(path, []byte("# users\nalice:s3cret\nbob:pw:with:colons\ncarol:two words\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := testServer(t, func(c *Config) { c.AuthFile = path; c.Protocol = "ascii" })
	c := dial(t, s)
	steps := []struct{ req, want string }{
		{"get a\r\n", "CLIENT_ERROR unauthenticated\r\n"},
		{"version\r\n", "CLIENT_ERROR unauthenticated\r\n"},
		{"set a 0 0\r\n", "CLIENT_ERROR unauthenticated\r\n"},
		{"set a 0 0 10\r\nalice nope\r\n", "CLIENT_ERROR authentication failure\r\n"},
		{"set a 0 0 5\r\nalice\r\n", "CLIENT_ERROR bad authentication token format\r\n"},
		{"set a 0 0 3\r\nabcde get a\r\n", "CLIENT_ERROR unauthenticated\r\n"}, // only the last answer of a read
		{"set a 0 0 2147483646\r\n", "CLIENT_ERROR auth token too long\r\n"},
		{"settle a 0 0 10\r\nalice nope\r\n", "CLIENT_ERROR authentication failure\r\n"},
		{"set a 0 0 12\r\nalice s3cret\r\n", "STORED\r\n"},
		{"set a 0 0 1\r\nx\r\nget a\r\n", "STORED\r\nVALUE a 0 1\r\nx\r\nEND\r\n"},
	}
	for _, st := range steps {
		if got := c.expect(st.req, st.want); got != st.want {
			t.Errorf("%q: got %q, want %q", st.req, got, st.want)
		}
	}
	c2 := dial(t, s)
	if got := c2.expect("set x 0 0 18\r\nbob pw:with:colons\r\n", "STORED\r\n"); got != "STORED\r\n" {
		t.Fatalf("password with colons: %q", got)
	}
	c4 := dial(t, s)
	if got := c4.expect("set x 0 0 15\r\ncarol two words\r\n", "STORED\r\n"); got != "STORED\r\n" {
		t.Fatalf("password with a space: %q", got)
	}
	stats := c2.reply("stats\r\n")
	if !strings.Contains(stats, "STAT auth_cmds 5\r\n") || !strings.Contains(stats, "STAT auth_errors 2\r\n") {
		t.Fatalf("auth counters wrong:\n%s", stats)
	}
	// Junk without a newline past 2048 bytes closes the connection, and
	// so does a line shorter than any auth line, without what is pending.
	for _, junk := range []string{strings.Repeat("x", 3000), "get a\r\nset\r\n", "set a 0 0 3\r\nabcde\r\nx\r\n"} {
		c3 := dial(t, s)
		c3.send(junk)
		if !c3.closed() {
			t.Fatalf("%q before auth: not closed", junk)
		}
	}
}
