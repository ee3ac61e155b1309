package server

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestConfigGetCluster: the ElastiCache auto-discovery answer, its
// version bumps, and ERROR when no cluster is configured.
func TestConfigGetCluster(t *testing.T) {
	cc, err := NewClusterConfig("b.example.com|10.0.0.2|11211, a.example.com|10.0.0.1|11211")
	if err != nil {
		t.Fatal(err)
	}
	s := testServer(t, func(c *Config) { c.Cluster = cc })
	c := dial(t, s)
	payload := "1\na.example.com|10.0.0.1|11211 b.example.com|10.0.0.2|11211\n"
	want := "CONFIG cluster 0 " + itoa(uint64(len(payload))) + "\r\n" + payload + "\r\nEND\r\n"
	if got := c.reply("config get cluster\r\n"); got != want {
		t.Fatalf("config get cluster:\n got %q\nwant %q", got, want)
	}
	// The same list in another order is no change; a new list is.
	if err := cc.Set("a.example.com|10.0.0.1|11211 b.example.com|10.0.0.2|11211"); err != nil || cc.Version() != 1 {
		t.Fatalf("same list: version %d, %v", cc.Version(), err)
	}
	if err := cc.Set("127.0.0.1:11211,cache.local:11212"); err != nil {
		t.Fatal(err)
	}
	payload = "2\n127.0.0.1|127.0.0.1|11211 cache.local||11212\n"
	want = "CONFIG cluster 0 " + itoa(uint64(len(payload))) + "\r\n" + payload + "\r\nEND\r\n"
	if got := c.reply("config get cluster\r\n"); got != want {
		t.Fatalf("after change:\n got %q\nwant %q", got, want)
	}
	for _, bad := range []string{"config\r\n", "config get\r\n", "config get foo\r\n", "config set cluster 0 1\r\n"} {
		if got := c.reply(bad); got != "ERROR\r\n" {
			t.Errorf("%q: %q", strings.TrimSpace(bad), got)
		}
	}
	plain := dial(t, testServer(t, nil))
	if got := plain.reply("config get cluster\r\n"); got != "ERROR\r\n" {
		t.Fatalf("without a cluster config: %q", got)
	}
	for _, bad := range []string{"", "host", "a|b", "h|i|0", "h|i|x", "||11211"} {
		if _, err := NewClusterConfig(bad); err == nil {
			t.Errorf("NewClusterConfig(%q) accepted", bad)
		}
	}
}

// TestConfigClusterFile: a file-backed list is reread when it changes;
// a broken file keeps the last good list.
func TestConfigClusterFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nodes")
	write := func(s string, at time.Time) {
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		_ = os.Chtimes(path, at, at)
	}
	now := time.Now()
	write("n1|10.0.0.1|11211\n", now)
	cc, err := NewClusterConfig("@" + path)
	if err != nil {
		t.Fatal(err)
	}
	s := testServer(t, func(c *Config) { c.Cluster = cc })
	c := dial(t, s)
	if got := c.reply("config get cluster\r\n"); !strings.Contains(got, "\r\n1\nn1|10.0.0.1|11211\n\r\n") {
		t.Fatalf("from file: %q", got)
	}
	write("n1|10.0.0.1|11211\nn2|10.0.0.2|11211\n", now.Add(time.Second))
	if got := c.reply("config get cluster\r\n"); !strings.Contains(got, "\r\n2\nn1|10.0.0.1|11211 n2|10.0.0.2|11211\n\r\n") {
		t.Fatalf("after the file changed: %q", got)
	}
	write("garbage", now.Add(2*time.Second))
	if got := c.reply("config get cluster\r\n"); !strings.Contains(got, "\r\n2\nn1|10.0.0.1|11211 n2|10.0.0.2|11211\n\r\n") {
		t.Fatalf("after a broken file: %q", got)
	}
	if _, err := NewClusterConfig("@" + path + ".missing"); err == nil {
		t.Fatal("missing file accepted")
	}
	// A file in the reply's own format carries its version.
	write("17\nn3|10.0.0.3|11211\n", now.Add(3*time.Second))
	if got := c.reply("config get cluster\r\n"); !strings.Contains(got, "\r\n17\nn3|10.0.0.3|11211\n\r\n") {
		t.Fatalf("versioned file: %q", got)
	}
}
