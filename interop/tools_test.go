//go:build interop

package interop

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestMemcachedTool: memcached's own memcached-tool (keys, dump, display,
// stats; from the 1.6.45 build's scripts/, else Debian's) and
// libmemcached's memcdump give the same output against gocached as
// against memcached for the same items: the same keys, flags, expiry and
// values, and the same shape of each line (the classes, sizes and
// counters in them are each server's own). The reference is memcached
// 1.6.45, whose formats gocached follows (1.6.18's keys lines have no
// flags=, and its stats some other names).
func TestMemcachedTool(t *testing.T) {
	if os.Getenv("MEMCACHED_REF") == "" {
		t.Fatal("MEMCACHED_REF is not set: this test compares with memcached 1.6.45 (scripts/interop.sh builds it and sets it)")
	}
	ref := memcachedBinary(t)
	// keys and dump read lru_crawler metadump, which needs the crawler
	// the other tests turn off.
	ref.extra = ref.extra[2:]
	tool := filepath.Join(filepath.Dir(ref.path), "scripts", "memcached-tool")
	if _, err := os.Stat(tool); err != nil {
		tool = "/usr/share/memcached/scripts/memcached-tool" // Debian's memcached package
	}
	memcdump, err := exec.LookPath("memcdump")
	if err != nil {
		t.Fatal("memcdump not on PATH (package libmemcached-tools; scripts/interop.sh installs it): ", err)
	}
	outputs := map[string]map[string]string{}
	for _, b := range []binary{ref, candidateBinary(t)} {
		srv := startServer(t, b, flagsDefault...)
		fillForTools(t, srv.addr)
		out := map[string]string{}
		for _, cmd := range []string{"keys", "dump", "display", "stats"} {
			out[cmd] = runTool(t, "perl", tool, srv.addr, cmd)
		}
		out["memcdump"] = runTool(t, memcdump, "--servers="+srv.addr)
		outputs[b.name] = out
	}
	want, got := outputs["memcached"], outputs["gocached"]

	keyLine := regexp.MustCompile(`^key=(\S+) exp=(-1|\d+) la=\d+ cas=\d+ fetch=(yes|no) cls=\d+ size=\d+ flags=(\d+) $`)
	if w, g := toolKeys(t, want["keys"], keyLine), toolKeys(t, got["keys"], keyLine); w != g {
		t.Errorf("memcached-tool keys:\n got %s\nwant %s", g, w)
	}
	if w, g := toolDump(t, want["dump"]), toolDump(t, got["dump"]); w != g {
		t.Errorf("memcached-tool dump:\n got %s\nwant %s", g, w)
	}
	row := regexp.MustCompile(`^ +\d+ +[\d.]+[BKM] +\d+s +\d+ +\d+ +(yes|no) +\d+ +\d+ +\d+$`)
	for name, out := range map[string]string{"memcached": want["display"], "gocached": got["display"]} {
		lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
		if len(lines) < 2 || lines[0] != "  #  Item_Size  Max_age   Pages   Count   Full?  Evicted Evict_Time OOM" {
			t.Errorf("memcached-tool display against %s: header %q", name, lines[0])
			continue
		}
		for _, l := range lines[1:] {
			if !row.MatchString(l) {
				t.Errorf("memcached-tool display against %s: row %q", name, l)
			}
		}
	}
	if w, g := statFields(want["stats"]), statFields(got["stats"]); w != g {
		t.Errorf("memcached-tool stats fields:\n got %s\nwant %s", g, w)
	}
	if w, g := sortedLines(want["memcdump"]), sortedLines(got["memcdump"]); w != g || w == "" {
		t.Errorf("memcdump:\n got %q\nwant %q", g, w)
	}
}

// fillForTools stores the same items of a few sizes, flags and expiry
// times in the server at addr, and reads one of them.
func fillForTools(t *testing.T, addr string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var b strings.Builder
	for i, size := range []int{1, 10, 100, 1000, 5000, 20000} {
		exp := 0
		if i%2 == 1 {
			exp = 3600
		}
		fmt.Fprintf(&b, "set tool:%d %d %d %d noreply\r\n%s\r\n", i, i*7, exp, size, strings.Repeat(string(rune('a'+i)), size))
	}
	b.WriteString("get tool:2\r\nmn\r\n")
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte(b.String())); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(c)
	for {
		l, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if l == "MN\r\n" {
			return
		}
	}
}

func runTool(t *testing.T, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.SysProcAttr = childAttr()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// toolKeys is memcached-tool keys' lines as "key flags fetch expiry" (the
// expiry -1, or "set" for a time), sorted, after its header.
func toolKeys(t *testing.T, out string, line *regexp.Regexp) string {
	t.Helper()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if lines[0] != "Dumping memcache keys" {
		t.Errorf("memcached-tool keys header %q", lines[0])
	}
	var keys []string
	for _, l := range lines[1:] {
		m := line.FindStringSubmatch(l)
		if m == nil {
			t.Errorf("memcached-tool keys line %q", l)
			continue
		}
		exp := m[2]
		if exp != "-1" {
			exp = "set"
		}
		keys = append(keys, strings.Join([]string{m[1], m[4], m[3], exp}, " "))
	}
	sort.Strings(keys)
	return strings.Join(keys, ", ")
}

// toolDump is memcached-tool dump's items as "add key flags expiry len
// value-digest", sorted (the expiry 0, or "set").
func toolDump(t *testing.T, out string) string {
	t.Helper()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if lines[0] != "Dumping memcache contents" {
		t.Errorf("memcached-tool dump header %q", lines[0])
	}
	var items []string
	for i := 1; i+1 < len(lines); i += 2 {
		f := strings.Fields(lines[i])
		if len(f) != 5 || f[0] != "add" {
			t.Errorf("memcached-tool dump line %q", lines[i])
			continue
		}
		if f[3] != "0" {
			f[3] = "set"
		}
		n, _ := strconv.Atoi(f[4])
		v := strings.TrimSuffix(lines[i+1], "\r") // the value as memcached sent it, CRLF and all
		if len(v) != n {
			t.Errorf("memcached-tool dump of %s: %d bytes of value, header says %d", f[1], len(v), n)
		}
		items = append(items, strings.Join(f, " ")+" "+v[:min(len(v), 3)])
	}
	sort.Strings(items)
	return strings.Join(items, ", ")
}

// statFields is memcached-tool stats' field names, sorted, with its header
// shape ("#ADDR Field Value").
func statFields(out string) string {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	var fields []string
	for _, l := range lines[1:] {
		if f := strings.Fields(l); len(f) == 2 {
			fields = append(fields, f[0])
		}
	}
	sort.Strings(fields)
	head := strings.Fields(lines[0])
	return fmt.Sprint(len(head), head[1:], fields)
}

func sortedLines(out string) string {
	l := strings.Fields(out)
	sort.Strings(l)
	return strings.Join(l, " ")
}
