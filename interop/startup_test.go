//go:build interop

package interop

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startupOptions is every option of memcached 1.6.45's -h (and the -o
// keys its parser takes beyond those), each with a valid value. Options
// with their own files or users are given ones the test makes. -d forks:
// TestDebianConfig runs it.
var startupOptions = [][]string{
	{"-U", "0"}, {"-a", "0700"}, {"-A"}, {"-r"}, {"-m", "128"}, {"-M"}, {"-c", "512"},
	{"-k"}, {"-v"}, {"-vv"}, {"-vvv"}, {"-f", "1.08"}, {"-n", "64"}, {"-L"}, {"-D", ":"},
	{"-t", "2"}, {"-R", "40"}, {"-C"}, {"-b", "2048"}, {"-B", "ascii"}, {"-B", "binary"}, {"-B", "auto"},
	{"-I", "2m"}, {"-F"}, {"-X"}, {"-W"}, {"-N", "1"}, {"-P", "@pidfile"}, {"-Y", "@authfile"},
	{"--enable-shutdown"}, {"--disable-evictions"}, {"--conn-limit=256"}, {"--max-item-size=4m"},
	{"-o", "maxconns_fast"}, {"-o", "no_maxconns_fast"}, {"-o", "hashpower=20"}, {"-o", "no_hashexpand"},
	{"-o", "slab_reassign"}, {"-o", "no_slab_reassign"}, {"-o", "slab_automove"}, {"-o", "slab_automove=2"},
	{"-o", "no_slab_automove"}, {"-o", "slab_automove_ratio=0.5"}, {"-o", "slab_automove_window=30"},
	{"-o", "tail_repair_time=60"}, {"-o", "hash_algorithm=jenkins"}, {"-o", "hash_algorithm=xxh3"},
	{"-o", "lru_crawler"}, {"-o", "no_lru_crawler"}, {"-o", "lru_crawler_sleep=50"}, {"-o", "lru_crawler_tocrawl=100"},
	{"-o", "lru_maintainer"}, {"-o", "no_lru_maintainer"}, {"-o", "hot_lru_pct=30"}, {"-o", "warm_lru_pct=30"},
	{"-o", "hot_max_factor=0.5"}, {"-o", "warm_max_factor=3"}, {"-o", "temporary_ttl=120"},
	{"-o", "idle_timeout=600"}, {"-o", "watcher_logbuf_size=512"}, {"-o", "worker_logbuf_size=128"},
	{"-o", "slab_sizes=100-200-300-1000"}, {"-o", "slab_chunk_max=256"}, {"-o", "track_sizes"},
	{"-o", "no_inline_ascii_resp"}, {"-o", "inline_ascii_resp"}, {"-o", "modern"}, {"-o", "no_modern"},
	{"-o", "no_chunked_items"}, {"-o", "no_drop_privileges"}, {"-o", "drop_privileges"},
	{"-o", "relaxed_privileges"}, {"-o", "resp_obj_mem_limit=16"}, {"-o", "read_buf_mem_limit=64"},
	{"-o", "sock_cookie_id=7"}, {"-o", "ext_page_size=32"}, {"-o", "ext_wbuf_size=8"}, {"-o", "ext_threads=2"},
	{"-o", "ext_io_depth=2"}, {"-o", "ext_item_size=1024"}, {"-o", "ext_item_age=60"}, {"-o", "ext_low_ttl=10"},
	{"-o", "ext_recache_rate=100"}, {"-o", "ext_compact_under=2"}, {"-o", "ext_drop_under=1"},
	{"-o", "ext_max_sleep=1000"}, {"-o", "ext_max_frag=0.5"}, {"-o", "ext_drop_unread"},
	{"-o", "slab_automove_freeratio=0.02"}, {"-o", "ext_path=@extfile:64M"},
}

// TestStartupOptions starts gocached once per option of memcached
// 1.6.45's -h, each with a valid value, and checks it serves.
func TestStartupOptions(t *testing.T) {
	gc := candidateBinary(t)
	dir := t.TempDir()
	auth := filepath.Join(dir, "auth")
	if err := os.WriteFile(auth, []byte("user:pass\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, opt := range startupOptions {
		args := make([]string, len(opt))
		for i, a := range opt {
			a = strings.ReplaceAll(a, "@pidfile", filepath.Join(dir, "pid"))
			a = strings.ReplaceAll(a, "@authfile", auth)
			a = strings.ReplaceAll(a, "@extfile", filepath.Join(dir, "ext"))
			args[i] = a
		}
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			s := startServer(t, gc, args...)
			cmd := "version\r\n"
			if len(opt) == 2 && opt[1] == "binary" {
				return // startServer saw it accept; the text probe below is ascii
			}
			if opt[0] == "-Y" {
				cmd = "set x 0 0 9\r\nuser pass\r\nversion\r\n"
			}
			c, err := net.DialTimeout("tcp", s.addr, 2*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			if _, err := c.Write([]byte(cmd)); err != nil {
				t.Fatal(err)
			}
			r := bufio.NewReader(c)
			for {
				line, err := r.ReadString('\n')
				if err != nil {
					t.Fatalf("no VERSION reply: %v (output %s)", err, s.out.String())
				}
				if strings.HasPrefix(line, "VERSION ") {
					break
				}
			}
		})
	}
}

// TestStartupRefusals: what memcached 1.6.45 refuses, gocached refuses
// too (a typo stays an error), with memcached's reason.
func TestStartupRefusals(t *testing.T) {
	gc := candidateBinary(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-o", "hot_lru_pc=20"}, "illegal suboption"},
		{[]string{"-o", "hot_lru_pct=90"}, "hot_lru_pct must be > 1 and < 80"},
		{[]string{"-o", "hot_lru_pct=50,warm_lru_pct=40"}, "cannot be more than 80% combined"},
		{[]string{"-o", "slab_automove=3"}, "slab_automove must be between 0 and 2"},
		{[]string{"-o", "slab_automove_window=1"}, "slab_automove_window must be > 2"},
		{[]string{"-o", "hashpower=8"}, "too low"},
		{[]string{"-o", "tail_repair_time=5"}, "less than 10 seconds"},
		{[]string{"-o", "hash_algorithm=md5"}, "unknown hash_algorithm"},
		{[]string{"-o", "slab_chunk_max=3000"}, "must be evenly divisible by slab_chunk_max"},
		{[]string{"-o", "temporary_ttl=60,no_lru_maintainer"}, "requires lru_maintainer"},
		{[]string{"-e", "/nonexistent-gocached-dir/memory_file"}, "no such file or directory"},
		{[]string{"-N", "8", "-t", "2"}, "cannot be greater than number of threads"},
		{[]string{"-R", "0"}, "must be greater than 0"},
		{[]string{"-j"}, "flag provided but not defined"},
	} {
		out, err := exec.Command(gc.path, append([]string{"-p", "0"}, tc.args...)...).CombinedOutput()
		if err == nil || !strings.Contains(string(out), tc.want) {
			t.Errorf("%v: err %v, output %q; want a refusal with %q", tc.args, err, out, tc.want)
		}
	}
}

// TestDebianConfig runs gocached as deploy/gocached.service does, with
// GOCACHED_OPTS made from Debian's /etc/memcached.conf (the memcached
// package's file, every flag line kept; its wrapper's own `logfile`
// line dropped; port and pid file moved to the test's): it forks (-d),
// writes its pid file, serves on 127.0.0.1 and stops on SIGTERM.
func TestDebianConfig(t *testing.T) {
	gc := candidateBinary(t)
	conf, err := os.ReadFile("/etc/memcached.conf")
	if err != nil {
		t.Fatalf("Debian's memcached package provides /etc/memcached.conf: %v", err)
	}
	unit, err := os.ReadFile("../deploy/gocached.service")
	if err != nil {
		t.Fatal(err)
	}
	var exec_ string
	for _, l := range strings.Split(string(unit), "\n") {
		if v, ok := strings.CutPrefix(l, "ExecStart="); ok {
			exec_ = strings.Replace(v, "/usr/local/bin/gocached", gc.path, 1)
		}
	}
	if !strings.Contains(exec_, "$GOCACHED_OPTS") {
		t.Fatalf("ExecStart %q does not take $GOCACHED_OPTS", exec_)
	}
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	// As Debian's /var/run/memcached: writable by the -u user (a
	// t.TempDir is inside a directory only its owner may enter).
	dir, err := os.MkdirTemp("", "gocached-debian-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	pidfile := filepath.Join(dir, "memcached.pid")
	var opts []string
	for _, l := range strings.Split(string(conf), "\n") {
		l = strings.TrimSpace(l)
		switch {
		case l == "" || strings.HasPrefix(l, "#") || strings.HasPrefix(l, "logfile"):
		case strings.HasPrefix(l, "-p "):
			opts = append(opts, "-p "+strconv.Itoa(port))
		case strings.HasPrefix(l, "-P "):
			opts = append(opts, "-P "+pidfile)
		default:
			opts = append(opts, l)
		}
	}
	env := filepath.Join(dir, "gocached.default")
	if err := os.WriteFile(env, []byte("GOCACHED_OPTS=\""+strings.Join(opts, " ")+"\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// systemd splits $VAR on white space; so does the shell's unquoted $VAR.
	out, err := exec.Command("sh", "-c", ". "+env+" && "+exec_).CombinedOutput()
	if err != nil {
		t.Fatalf("%s with %v: %v: %s", exec_, opts, err, out)
	}
	var pid int
	deadline := time.Now().Add(10 * time.Second)
	for pid == 0 {
		if b, err := os.ReadFile(pidfile); err == nil {
			pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		}
		if time.Now().After(deadline) {
			t.Fatalf("no pid file %s after 10 s", pidfile)
		}
		time.Sleep(20 * time.Millisecond)
	}
	proc, err := os.FindProcess(pid)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = proc.Kill() }()
	var c net.Conn
	for c == nil {
		c, err = net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second)
		if err != nil && time.Now().After(deadline) {
			t.Fatalf("not serving on %d: %v", port, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte("version\r\n")); err != nil {
		t.Fatal(err)
	}
	if line, err := bufio.NewReader(c).ReadString('\n'); err != nil || !strings.HasPrefix(line, "VERSION ") {
		t.Fatalf("version: %q %v", line, err)
	}
	c.Close()
	if err := proc.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline.Add(10 * time.Second)) {
			t.Fatal("still running 10 s after SIGTERM")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := os.Stat(pidfile); err == nil {
		t.Error("pid file left behind after SIGTERM")
	}
}
