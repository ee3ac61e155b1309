package bench

import (
	"net"
	"os"
	"testing"
)

func TestParseStatCPU(t *testing.T) {
	// A command name with spaces and a parenthesis; utime 250, stime 50.
	stat := []byte("1234 (gocached (x) y) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 8 0 100 2000000 500 18446744073709551615\n")
	got, err := parseStatCPU(stat)
	if err != nil {
		t.Fatal(err)
	}
	if want := 300 / clkTck; got != want {
		t.Fatalf("cpu %v s, want %v", got, want)
	}
	if _, err := parseStatCPU([]byte("1234 (x) S 1 2")); err == nil {
		t.Fatal("short stat accepted")
	}
}

func TestParseStatusRSS(t *testing.T) {
	status := []byte("Name:\tgocached\nVmPeak:\t  999 kB\nVmRSS:\t   20480 kB\nThreads:\t8\n")
	if got := parseStatusRSS(status); got != 20480<<10 {
		t.Fatalf("rss %d", got)
	}
	if got := parseStatusRSS([]byte("Name:\tx\n")); got != 0 {
		t.Fatalf("rss %d without VmRSS", got)
	}
}

func TestListeningInodes(t *testing.T) {
	table := []byte(`  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:2BCB 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 111 1 0000000000000000 100 0 0 10 0
   1: 0100007F:2BCB 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 222 1 0000000000000000 20 4 30 10 -1
   2: 0100007F:2BCC 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 333 1 0000000000000000 100 0 0 10 0
`)
	got := listeningInodes(table, 0x2BCB)
	if len(got) != 1 || got[0] != "111" {
		t.Fatalf("inodes %v, want [111] (the established socket on the port is not a listener)", got)
	}
}

// The listener this test opens belongs to this process.
func TestFindListenerAndReadProc(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	pid, err := FindListener(l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	if pid != os.Getpid() {
		t.Fatalf("pid %d, want %d", pid, os.Getpid())
	}
	l2, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l2.Addr().String()
	l2.Close()
	if _, err := FindListener(addr); err == nil {
		t.Fatal("found a listener on a closed port")
	}
	p, err := ReadProc(os.Getpid())
	if err != nil || p.RSSBytes <= 0 || p.CPUSeconds < 0 {
		t.Fatalf("ReadProc(self) = %+v, %v", p, err)
	}
	m := ThisMachine()
	if m.NProc <= 0 || m.CPU == "" || m.Go == "" {
		t.Fatalf("machine %+v", m)
	}
}
