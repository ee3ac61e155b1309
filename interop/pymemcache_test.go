//go:build interop

package interop

import (
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// TestPymemcache runs the same pymemcache session (Debian's
// python3-pymemcache, a real client) against memcached and gocached and
// requires identical transcripts.
func TestPymemcache(t *testing.T) {
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import pymemcache").Run(); err != nil {
		t.Fatal("python3-pymemcache not installed (scripts/interop.sh installs it): ", err)
	}
	run := func(b binary) string {
		s := startServer(t, b, flagsDefault...)
		host, port, _ := strings.Cut(s.addr, ":")
		out, err := exec.Command(py, "testdata/pymemcache_client.py", host, port).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: pymemcache session failed: %v\n%s", b.name, err, out)
		}
		return string(out)
	}
	want := run(memcachedBinary(t))
	got := run(candidateBinary(t))
	if got != want {
		t.Fatalf("transcripts differ\nmemcached:\n%s\ngocached:\n%s", want, got)
	}
	if n := strings.Count(want, "\n"); n < 25 {
		t.Fatalf("short transcript (%d lines):\n%s", n, want)
	}
	t.Logf("%s steps identical:\n%s", strconv.Itoa(strings.Count(want, "\n")), want)
}
