//go:build interop

package interop

import (
	"bufio"
	"context"
	"errors"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// memccapableLine matches one result line of memccapable, e.g.
// "ascii set noreply                       [pass]".
var memccapableLine = regexp.MustCompile(`^(.*?)\s+\[(pass|FAIL|skip)\]\s*$`)

// TestMemccapableASCII runs libmemcached's conformance tool in ASCII mode
// against the candidate and fails on any failed test or a non-zero exit.
func TestMemccapableASCII(t *testing.T) {
	tool, err := exec.LookPath("memccapable")
	if err != nil {
		t.Fatal("memccapable not on PATH (package libmemcached-tools; scripts/interop.sh installs it): ", err)
	}
	cand := candidateBinary(t)
	srv := startServer(t, cand, flagsDefault...)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, tool, "-a", "-t", "5", "-h", "127.0.0.1", "-p", strconv.Itoa(srv.port))
	cmd.SysProcAttr = childAttr()
	out, err := cmd.CombinedOutput()
	t.Logf("%s -a -t 5 -h 127.0.0.1 -p %d:\n%s", tool, srv.port, out)
	if ctx.Err() != nil {
		t.Fatalf("memccapable did not finish within 2 minutes")
	}

	var pass, skip int
	var failed []string
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		m := memccapableLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		switch m[2] {
		case "pass":
			pass++
		case "skip":
			skip++
		case "FAIL":
			failed = append(failed, m[1])
		}
	}
	t.Logf("memccapable: %d passed, %d failed, %d skipped", pass, len(failed), skip)
	if len(failed) > 0 {
		t.Errorf("memccapable failed: %s", strings.Join(failed, ", "))
	}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		t.Errorf("memccapable exited with %d", ee.ExitCode())
	case err != nil:
		t.Errorf("memccapable: %v", err)
	}
	if pass == 0 {
		t.Errorf("memccapable reported no passing test")
	}
	if !srv.alive() {
		t.Errorf("%s died during memccapable; output:\n%s", srv.name, srv.out.String())
	}
}
