package server

import (
	"bufio"
	"net"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestWatch: the log lines a watcher gets, memcached 1.6.45's formats
// (t/watcher_connid.t, t/watcher.t).
func TestWatch(t *testing.T) {
	for _, tc := range []struct {
		name, streams string
		send          string
		want          []string // regexps, one per line, in order; CFD is the client's id
	}{
		{"fetchers and mutations", "fetchers mutations", "set foo 0 0 5 noreply\r\nhello\r\nget foo\r\n", []string{
			`^ts=\d+\.\d+ gid=\d+ type=item_get key=foo status=not_found clsid=0 cfd=CFD size=0$`,
			`^ts=\d+\.\d+ gid=\d+ type=item_store key=foo status=stored cmd=set ttl=0 clsid=1 cfd=CFD size=5$`,
			`^ts=\d+\.\d+ gid=\d+ type=item_get key=foo status=found clsid=1 cfd=CFD size=5$`,
		}},
		{"default is fetchers", "", "set foo 0 0 5\r\nhello\r\nget foo bar\r\n", []string{
			`type=item_get key=foo status=not_found clsid=0 cfd=CFD size=0$`,
			`type=item_get key=foo status=found clsid=1 cfd=CFD size=5$`,
			`type=item_get key=bar status=not_found clsid=0 cfd=CFD size=0$`,
		}},
		{"mutations", "mutations", "add k#1 0 100 2\r\nab\r\nadd k#1 0 0 1\r\nx\r\ncas k#1 0 0 1 999\r\nx\r\n", []string{
			`type=item_store key=k%231 status=stored cmd=add ttl=100 clsid=1 cfd=CFD size=2$`,
			`type=item_store key=k%231 status=not_stored cmd=add ttl=0 clsid=1 cfd=CFD size=1$`,
			`type=item_store key=k%231 status=exists cmd=cas ttl=0 clsid=1 cfd=CFD size=1$`,
		}},
		{"evictions", "evictions", fillPast(16<<20, 100000), []string{
			`^ts=\d+\.\d+ gid=\d+ type=eviction key=e0 fetch=no ttl=(999|1000) la=\d+ clsid=\d+ size=100000$`,
			`type=eviction key=e1 fetch=no ttl=(999|1000) la=\d+ clsid=\d+ size=100000$`,
		}},
		{"sysevents: pages a shrink gives back", "sysevents", fillPast(16<<20, 100000) + "cache_memlimit 8\r\n", []string{
			`^ts=\d+\.\d+ gid=\d+ type=slab_move src=\d+ dst=0 state=ok$`,
		}},
		{"deletions", "deletions", "set v 0 0 4\r\nvbar\r\nmd nope\r\ndelete v\r\nset v 0 0 4\r\nvbar\r\nmd v\r\n", []string{
			`type=deleted key=v cmd=delete clsid=1 size=4$`,
			`type=deleted key=v cmd=md clsid=1 size=4$`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := testServer(t, nil)
			br := startWatch(t, s, tc.streams)
			c := dial(t, s)
			cfd := clientID(t, c)
			c.reply(tc.send)
			for _, re := range tc.want {
				l, err := br.ReadString('\n')
				if err != nil {
					t.Fatalf("reading the log: %v", err)
				}
				l = strings.TrimSuffix(l, "\n")
				if !regexp.MustCompile(strings.ReplaceAll(re, "CFD", cfd)).MatchString(l) {
					t.Errorf("log line %q does not match %s", l, re)
				}
			}
		})
	}
}

// watchReader is a watcher connection's log.
type watchReader struct {
	*bufio.Reader
	nc net.Conn
}

func (r watchReader) deadline(at time.Time) { _ = r.nc.SetReadDeadline(at) }

// startWatch opens a watcher of streams ("": watch alone) on s and reads
// its OK; reads of its log time out after 5 seconds.
func startWatch(t *testing.T, s *Server, streams string) watchReader {
	t.Helper()
	w := dial(t, s)
	w.send(strings.TrimSpace("watch "+streams) + "\r\n")
	r := watchReader{bufio.NewReader(w.nc), w.nc}
	r.deadline(time.Now().Add(5 * time.Second))
	if l, err := r.ReadString('\n'); err != nil || l != "OK\r\n" {
		t.Fatalf("watch %s: %q %v", streams, l, err)
	}
	return r
}

// fillPast is sets (noreply, exptime 1000) of values of size bytes under
// the keys e0, e1, ... for a fifth more than limit bytes, then a get.
func fillPast(limit, size int) string {
	var b strings.Builder
	v := strings.Repeat("v", size)
	for i := 0; i < limit/size*6/5; i++ {
		b.WriteString("set e" + strconv.Itoa(i) + " 0 1000 " + strconv.Itoa(size) + " noreply\r\n" + v + "\r\n")
	}
	b.WriteString("get e0\r\n")
	return b.String()
}

// TestWatchConnEvents: conn_new and conn_close with memcached's reasons.
func TestWatchConnEvents(t *testing.T) {
	s := testServer(t, nil)
	br := startWatch(t, s, "connevents")
	for _, tc := range []struct{ send, reason string }{
		{"version\r\nquit\r\n", "normal"},
		{"GET / HTTP/1.1\r\n", "error"},
	} {
		a := s.Addrs()[0]
		nc, err := net.Dial(a.Network(), a.String())
		if err != nil {
			t.Fatal(err)
		}
		_, _ = nc.Write([]byte(tc.send))
		for _, re := range []string{
			`^ts=\d+\.\d+ gid=\d+ type=conn_new rip=127\.0\.0\.1 rport=\d+ transport=tcp cfd=\d+$`,
			`^ts=\d+\.\d+ gid=\d+ type=conn_close rip=127\.0\.0\.1 rport=\d+ transport=tcp reason=` + tc.reason + ` cfd=\d+$`,
		} {
			l, err := br.ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			if !regexp.MustCompile(re).MatchString(strings.TrimSuffix(l, "\n")) {
				t.Errorf("%q: log line %q does not match %s", tc.send, l, re)
			}
		}
		nc.Close()
	}
}

// TestWatchRefusals: -W, pipelining and a bad stream.
func TestWatchRefusals(t *testing.T) {
	runText(t, dial(t, testServer(t, func(c *Config) { c.WatchDisabled = true })), []textStep{
		{"watch\n", "CLIENT_ERROR watch commands not allowed\n"},
	})
	runText(t, dial(t, testServer(t, nil)), []textStep{
		{"watch bogus\n", "ERROR\n"},
		{"mg nope v\nwatch\n", "EN\nERROR cannot pipeline other commands before watch\n"},
	})
}

// clientID is the connection's id as stats conns (and watch's cfd=) show it:
// the one asking is the one in conn_parse_cmd.
func clientID(t *testing.T, c *client) string {
	var id string
	for _, l := range strings.Split(c.reply("stats conns\r\n"), "\r\n") {
		if f := strings.Fields(l); len(f) == 3 && strings.HasSuffix(f[1], ":state") && f[2] == "conn_parse_cmd" {
			id = strings.TrimSuffix(f[1], ":state")
		}
	}
	if _, err := strconv.Atoi(id); err != nil {
		t.Fatalf("no connection id in stats conns")
	}
	return id
}

// TestWatchSkipped: a watcher that falls behind its watcher_logbuf_size
// has lines skipped, and "skipped=N" comes as soon as its buffer has room
// again, without waiting for another event (t/watcher.t).
func TestWatchSkipped(t *testing.T) {
	// On a unix socket, as memcached's test: its buffers are small (on
	// loopback TCP the kernel could take every line).
	sock := filepath.Join(t.TempDir(), "sock")
	s := testServer(t, func(c *Config) {
		c.UnixSocket = sock
		c.Reported = map[string]string{"watcher_logbuf_size": "8192"}
	})
	br := startWatch(t, s, "fetchers")
	c := dial(t, s)
	var batch strings.Builder
	for i := 0; i < 1000; i++ {
		batch.WriteString("get k" + strconv.Itoa(i) + strings.Repeat("x", 180) + "\r\n")
	}
	for i := 0; i < 40; i++ { // 40 000 lines of ~250 bytes: far past the buffers
		c.reply(batch.String())
	}
	start := time.Now()
	br.deadline(start.Add(10 * time.Second))
	lines := 0
	for {
		l, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("after %d lines (%v), no skipped= line: %v\n%s", lines, time.Since(start), err, dial(t, s).reply("stats\r\n"))
		}
		if strings.HasPrefix(l, "skipped=") {
			if n, err := strconv.Atoi(strings.TrimSpace(l[len("skipped="):])); err != nil || n <= 0 {
				t.Fatalf("bad skip line %q", l)
			}
			return
		}
		lines++
	}
}
