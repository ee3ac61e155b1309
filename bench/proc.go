package bench

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
)

// ProcSample is a process's CPU time and resident memory at one moment,
// from /proc/<pid>/stat (utime + stime) and /proc/<pid>/status (VmRSS).
type ProcSample struct {
	CPUSeconds float64
	RSSBytes   int64
}

// clkTck is the kernel's USER_HZ, the unit of utime and stime, read from
// the auxiliary vector (AT_CLKTCK = 17); 100 when it cannot be read.
var clkTck = func() float64 {
	b, err := os.ReadFile("/proc/self/auxv")
	if err != nil {
		return 100
	}
	for i := 0; i+16 <= len(b); i += 16 {
		key := binary.NativeEndian.Uint64(b[i:])
		val := binary.NativeEndian.Uint64(b[i+8:])
		if key == 17 && val > 0 {
			return float64(val)
		}
		if key == 0 {
			break
		}
	}
	return 100
}()

// ReadProc samples process pid.
func ReadProc(pid int) (ProcSample, error) {
	var s ProcSample
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, err
	}
	cpu, err := parseStatCPU(stat)
	if err != nil {
		return s, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	s.CPUSeconds = cpu
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, err
	}
	s.RSSBytes = parseStatusRSS(status)
	return s, nil
}

// parseStatCPU returns utime+stime in seconds. Fields are counted after
// the command name's closing parenthesis, which may itself hold spaces.
func parseStatCPU(stat []byte) (float64, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("no command name")
	}
	f := strings.Fields(string(stat[i+1:]))
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, errors.New("too few fields")
	}
	u, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, errors.New("bad utime/stime")
	}
	return float64(u+st) / clkTck, nil
}

// parseStatusRSS returns VmRSS in bytes (0 when absent).
func parseStatusRSS(status []byte) int64 {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(v)
			if len(f) >= 1 {
				kb, _ := strconv.ParseInt(f[0], 10, 64)
				return kb << 10
			}
		}
	}
	return 0
}

// FindListener returns the pid of the process listening on addr's TCP
// port, from /proc/net/tcp{,6} (the listening socket's inode) and the
// fd links of /proc/*/fd. It sees only processes whose fds it may read
// (the same user, or root).
func FindListener(addr string) (int, error) {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		return 0, err
	}
	var inodes []string
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		inodes = append(inodes, listeningInodes(b, port)...)
	}
	if len(inodes) == 0 {
		return 0, fmt.Errorf("no process listens on port %d", port)
	}
	want := make(map[string]bool)
	for _, ino := range inodes {
		want["socket:["+ino+"]"] = true
	}
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, dir := range procs {
		pid, err := strconv.Atoi(filepath.Base(dir))
		if err != nil {
			continue
		}
		fds, err := os.ReadDir(dir + "/fd")
		if err != nil {
			continue
		}
		for _, fd := range fds {
			link, err := os.Readlink(dir + "/fd/" + fd.Name())
			if err == nil && want[link] {
				return pid, nil
			}
		}
	}
	return 0, fmt.Errorf("port %d: listening socket found but not its process (permissions?)", port)
}

// listeningInodes returns the inodes of sockets in LISTEN state (0A) on
// port in a /proc/net/tcp table.
func listeningInodes(table []byte, port int) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(table))
	sc.Scan() // header
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
		if len(f) < 10 || f[3] != "0A" {
			continue
		}
		_, hexPort, ok := strings.Cut(f[1], ":")
		if !ok {
			continue
		}
		p, err := strconv.ParseUint(hexPort, 16, 16)
		if err == nil && int(p) == port {
			out = append(out, f[9])
		}
	}
	return out
}

// Machine describes where a run happened.
type Machine struct {
	NProc  int    `json:"nproc"`
	CPU    string `json:"cpu"`
	Kernel string `json:"kernel"`
	Go     string `json:"go"`
}

// ThisMachine reads nproc, the CPU model name and the kernel release.
func ThisMachine() Machine {
	m := Machine{NProc: runtime.NumCPU(), Go: runtime.Version(), CPU: "unknown"}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	return m
}
