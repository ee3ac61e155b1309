package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gocached/gocached/internal/testcerts"
	"github.com/gocached/gocached/server"
	"github.com/urfave/cli/v2"
)

func TestExposureWarning(t *testing.T) {
	tcp := func(ip string) net.Addr { return &net.TCPAddr{IP: net.ParseIP(ip), Port: 11211} }
	tests := []struct {
		name  string
		plain []net.Addr
		auth  bool
		want  string // "" = no warning; else the addresses it names, space-separated
	}{
		{"no plaintext TCP listener (-Z, or a unix socket)", nil, false, ""},
		{"127.0.0.1", []net.Addr{tcp("127.0.0.1")}, false, ""},
		{"all of 127.0.0.0/8 and ::1", []net.Addr{tcp("127.0.0.2"), tcp("127.255.255.254"), tcp("::1")}, false, ""},
		{"0.0.0.0 (memcached's default)", []net.Addr{tcp("0.0.0.0")}, false, "0.0.0.0:11211"},
		{"[::]", []net.Addr{tcp("::")}, false, "[::]:11211"},
		{"a LAN address", []net.Addr{tcp("10.1.2.3")}, false, "10.1.2.3:11211"},
		{"IPv4-mapped non-loopback", []net.Addr{tcp("::ffff:192.0.2.1")}, false, "192.0.2.1:11211"},
		{"loopback and public: the public ones only", []net.Addr{tcp("127.0.0.1"), tcp("192.0.2.1"), tcp("2001:db8::1")}, false, "192.0.2.1:11211 [2001:db8::1]:11211"},
		{"authentication on", []net.Addr{tcp("0.0.0.0")}, true, ""},
		{"UDP is not a TCP listener", []net.Addr{&net.UDPAddr{IP: net.IPv4zero, Port: 11211}}, false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := exposureWarning(tc.plain, tc.auth)
			if tc.want == "" {
				if got != "" {
					t.Fatalf("warned %q", got)
				}
				return
			}
			if strings.Contains(got, "\n") || !strings.Contains(got, "neither TLS nor authentication") {
				t.Fatalf("warning %q: want one line about TLS and authentication", got)
			}
			if !strings.Contains(got, " on "+strings.ReplaceAll(tc.want, " ", ", ")+": ") {
				t.Fatalf("warning %q does not name exactly %s", got, tc.want)
			}
		})
	}
}

func TestPermissionWarnings(t *testing.T) {
	dir := t.TempDir()
	const secret = "hunter2-do-not-log"
	file := func(name string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("alice:"+secret+"\n"), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil { // past the umask
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name string
		cfg  server.Config
		want []string // the files warned about, in order
	}{
		{"-Y 0600", server.Config{AuthFile: file("a600", 0o600)}, nil},
		{"-Y 0400", server.Config{AuthFile: file("a400", 0o400)}, nil},
		{"-Y 0640", server.Config{AuthFile: file("a640", 0o640)}, []string{"-Y password file " + dir + "/a640 is readable by its group or by other users (mode 0640)"}},
		{"-Y 0604", server.Config{AuthFile: file("a604", 0o604)}, []string{"-Y password file " + dir + "/a604 is readable by its group or by other users (mode 0604)"}},
		{"-Y 0620 (group may write, not read)", server.Config{AuthFile: file("a620", 0o620)}, nil},
		{"-S 0644", server.Config{SASL: true, SASLPassFile: file("s644", 0o644)}, []string{"SASL password file " + dir + "/s644"}},
		{"ssl_key 0644", server.Config{TLS: server.TLSConfig{Enabled: true, ChainCert: file("c644", 0o644), Key: file("k644", 0o644)}}, []string{"ssl_key " + dir + "/k644"}},
		{"ssl_key 0600, chain 0644 (public)", server.Config{TLS: server.TLSConfig{Enabled: true, ChainCert: file("c644b", 0o644), Key: file("k600", 0o600)}}, nil},
		{"key inside ssl_chain_cert 0644", server.Config{TLS: server.TLSConfig{Enabled: true, ChainCert: file("ck644", 0o644)}}, []string{"ssl_chain_cert (it holds the key) " + dir + "/ck644"}},
		{"ssl_key without -Z is not read", server.Config{TLS: server.TLSConfig{Key: file("k644b", 0o644)}}, nil},
		{"-Y and ssl_key both open", server.Config{AuthFile: file("a644", 0o644), TLS: server.TLSConfig{Enabled: true, Key: file("k666", 0o666)}},
			[]string{"-Y password file " + dir + "/a644", "ssl_key " + dir + "/k666 is readable by its group or by other users (mode 0666)"}},
		{"missing file: the server says so", server.Config{AuthFile: filepath.Join(dir, "none")}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := permissionWarnings(secretFiles(&tc.cfg))
			if len(got) != len(tc.want) {
				t.Fatalf("warnings %q, want %d", got, len(tc.want))
			}
			for i, w := range got {
				if !strings.HasPrefix(w, tc.want[i]) || !strings.HasSuffix(w, "chmod 600 it") || strings.Contains(w, secret) {
					t.Errorf("warning %q, want %q...", w, tc.want[i])
				}
			}
		})
	}
}

// child is the daemon in a child process (the test binary, see TestMain),
// its stderr kept.
type child struct {
	cmd  *exec.Cmd
	port string
	mu   sync.Mutex
	log  bytes.Buffer
	done chan error
}

func (c *child) Write(b []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.log.Write(b)
}

func (c *child) logs() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.log.String()
}

// startChild runs the daemon on a free loopback port with args and waits
// until it accepts connections or exits (exited reports which).
func startChild(t *testing.T, args ...string) (c *child, exited bool) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c = &child{port: strconv.Itoa(l.Addr().(*net.TCPAddr).Port), done: make(chan error, 1)}
	l.Close()
	c.cmd = exec.Command(os.Args[0], append([]string{"-p", c.port, "-l", "127.0.0.1", "-m", "8"}, args...)...)
	c.cmd.Env = append(os.Environ(), "GOCACHED_TEST_DAEMON=1")
	c.cmd.Stderr = c
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { c.done <- c.cmd.Wait() }()
	t.Cleanup(func() { _ = c.cmd.Process.Kill() })
	for i := 0; i < 250; i++ {
		select {
		case err := <-c.done:
			c.done <- err
			return c, true
		default:
		}
		if nc, err := net.Dial("tcp", "127.0.0.1:"+c.port); err == nil {
			nc.Close()
			return c, false
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("daemon %v did not start: %s", args, c.logs())
	return nil, false
}

// stop sends SIGTERM and returns the whole log.
func (c *child) stop(t *testing.T) string {
	t.Helper()
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		t.Fatal("daemon did not stop")
	}
	return c.logs()
}

// TestStartWarnings: a daemon started with these flags logs exactly these
// safety warnings (the listeners are loopback ones: the test binds
// nothing else; TestExposureWarning has the others).
func TestStartWarnings(t *testing.T) {
	dir := t.TempDir()
	f, err := testcerts.WriteFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	auth := func(name string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("alice:pw\n"), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	openKey := filepath.Join(dir, "open-key.pem")
	if err := os.WriteFile(openKey, f.Server.KeyPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(openKey, 0o644); err != nil {
		t.Fatal(err)
	}
	tls := "ssl_chain_cert=" + f.Chain + ",ssl_key="
	tests := []struct {
		name string
		args []string
		want []string // one substring per expected warning line
	}{
		{"loopback, no auth", nil, nil},
		{"-Y 0600", []string{"-Y", auth("a600", 0o600)}, nil},
		{"-Y 0644", []string{"-Y", auth("a644", 0o644)}, []string{"-Y password file " + dir + "/a644 is readable"}},
		{"-Z, key 0600, a notls: loopback listener", []string{"-Z", "-o", tls + f.Key, "-l", "notls:127.0.0.1:0"}, nil},
		{"-Z, key 0644", []string{"-Z", "-o", tls + openKey}, []string{"ssl_key " + openKey + " is readable"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, exited := startChild(t, tc.args...)
			if exited {
				t.Fatalf("exited: %s", c.logs())
			}
			var warns []string
			for _, line := range strings.Split(c.stop(t), "\n") {
				if strings.Contains(line, "\twarn\t") {
					warns = append(warns, line)
				}
			}
			if len(warns) != len(tc.want) {
				t.Fatalf("warnings %q, want %q", warns, tc.want)
			}
			for i, w := range warns {
				if !strings.Contains(w, tc.want[i]) {
					t.Errorf("warning %q, want one with %q", w, tc.want[i])
				}
			}
		})
	}
}

// TestNoSecretsInLogs: a daemon with -Y and -Z at -vvv (every command
// logged) through logins right and wrong, credentials sent as a command
// line, plaintext on its TLS port, and certificate reloads that fail,
// logs none of the passwords and no line of the key files.
func TestNoSecretsInLogs(t *testing.T) {
	dir := t.TempDir()
	f, err := testcerts.WriteFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	const pass, wrong = "Pa55-right-7f3e", "Pa55-wrong-91ac"
	auth := filepath.Join(dir, "auth")
	if err := os.WriteFile(auth, []byte("alice:"+pass+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, exited := startChild(t, "-vvv", "-Y", auth, "-Z", "-o", "ssl_chain_cert="+f.Chain+",ssl_key="+f.Key)
	if exited {
		t.Fatalf("exited: %s", c.logs())
	}
	addr := "127.0.0.1:" + c.port
	// talk sends req on a new TLS connection and reads lines until one
	// starts with want.
	talk := func(req, want string) {
		t.Helper()
		nc, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: f.CA.Pool()})
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		_ = nc.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := nc.Write([]byte(req)); err != nil {
			t.Fatal(err)
		}
		r := bufio.NewReader(nc)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("%q: no %q (%v)", req, want, err)
			}
			if strings.HasPrefix(line, want) {
				return
			}
		}
	}
	login := func(user, pw string) string {
		return "set a 0 0 " + strconv.Itoa(len(user)+1+len(pw)) + "\r\n" + user + " " + pw + "\r\n"
	}
	talk(login("alice", pass)+"version\r\n", "VERSION")
	talk(login("alice", wrong), "CLIENT_ERROR")
	talk("alice "+pass+"\r\n", "CLIENT_ERROR")
	talk(login("alice", pass)+"refresh_certs\r\n", "OK")
	// Plaintext credentials on the TLS port: a failed handshake.
	if nc, err := net.Dial("tcp", addr); err == nil {
		_, _ = nc.Write([]byte(login("alice", pass)))
		_, _ = nc.Read(make([]byte, 64))
		nc.Close()
	}
	// Keys that do not load: one for another certificate, then garbage.
	other, err := f.CA.Issue("localhost", "other", false)
	if err != nil {
		t.Fatal(err)
	}
	if err := testcerts.Write(f.Key, other.KeyPEM); err != nil {
		t.Fatal(err)
	}
	talk(login("alice", pass)+"refresh_certs\r\n", "Error validating the certificate")
	if err := testcerts.Write(f.Key, []byte("-----BEGIN PRIVATE KEY-----\nS3cretGarbageLine\n-----END PRIVATE KEY-----\n")); err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(c.logs(), "SIGHUP: could not reload the TLS certificates") {
		if time.Now().After(deadline) {
			t.Fatalf("no SIGHUP reload failure logged: %s", c.logs())
		}
		time.Sleep(20 * time.Millisecond)
	}
	logs := c.stop(t)
	// The log saw all of it: the commands, the failures.
	for _, want := range []string{`"line": "version"`, `"line": "refresh_certs"`, "refresh_certs failed", "TLS handshake failed", "SIGHUP: could not reload"} {
		if !strings.Contains(logs, want) {
			t.Errorf("the log has no %q: the test did not exercise it\n%s", want, logs)
		}
	}
	secrets := []string{pass, wrong, "S3cretGarbageLine", "PRIVATE KEY"}
	for _, key := range [][]byte{f.Server.KeyPEM, other.KeyPEM} {
		for _, line := range strings.Split(string(key), "\n") {
			if len(line) >= 16 && !strings.HasPrefix(line, "-----") {
				secrets = append(secrets, line)
			}
		}
	}
	for _, s := range secrets {
		if strings.Contains(logs, s) {
			t.Errorf("the log holds secret %q:\n%s", s, logs)
		}
	}
}

// TestDropPrivileges: -u switches to the user after binding and after
// reading the key and the password file, which only root may read: the
// child serves TLS and authenticates, runs as the user with the user's
// group only, and can no longer reread root's key (refresh_certs fails).
// Switching user needs root: CI runs as root.
func TestDropPrivileges(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("-u needs root (CI runs the tests as root)")
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	f, err := testcerts.WriteFiles(dir) // 0600, owned by root
	if err != nil {
		t.Fatal(err)
	}
	auth := filepath.Join(dir, "auth")
	if err := os.WriteFile(auth, []byte("alice:pw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ssl := []string{"-Z", "-o", "ssl_chain_cert=" + f.Chain + ",ssl_key=" + f.Key}
	tests := []struct {
		name     string
		args     []string
		uid, gid string // "" = it must not start
		exitMsg  string
	}{
		{"no -u stays root", ssl, "0", "0", ""},
		{"-u nobody", append([]string{"-u", "nobody", "-Y", auth}, ssl...), nobody.Uid, nobody.Gid, ""},
		{"-u root", append([]string{"-u", "root"}, ssl...), "0", "0", ""},
		{"unknown user", append([]string{"-u", "no-such-user-gocached"}, ssl...), "", "", "can't find the user no-such-user-gocached"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, exited := startChild(t, tc.args...)
			if tc.uid == "" {
				if !exited {
					// The port may have answered for another process that
					// took it meanwhile: the daemon must still exit.
					select {
					case err := <-c.done:
						c.done <- err
						exited = true
					case <-time.After(5 * time.Second):
					}
				}
				if !exited {
					c.stop(t)
					t.Fatal("started")
				}
				if !strings.Contains(c.logs(), tc.exitMsg) {
					t.Fatalf("exit message %q, want %q", c.logs(), tc.exitMsg)
				}
				return
			}
			if exited {
				t.Fatalf("exited: %s", c.logs())
			}
			nc, err := tls.Dial("tcp", "127.0.0.1:"+c.port, &tls.Config{RootCAs: f.CA.Pool()})
			if err != nil {
				t.Fatalf("TLS with the key read before the switch: %v", err)
			}
			defer nc.Close()
			// A finished handshake means connections are served, which
			// begins only after the switch (server.Config.BeforeServe): the
			// kernel accepts into the backlog as soon as the port is bound.
			status, err := os.ReadFile("/proc/" + strconv.Itoa(c.cmd.Process.Pid) + "/status")
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]string{
				"Uid:": strings.Repeat(tc.uid+"\t", 3) + tc.uid, "Gid:": strings.Repeat(tc.gid+"\t", 3) + tc.gid,
			}
			if tc.uid != "0" {
				want["Groups:"], want["CapEff:"] = tc.gid, "0000000000000000"
			}
			for _, line := range strings.Split(string(status), "\n") {
				k, v, _ := strings.Cut(line, "\t")
				if w, ok := want[k]; ok && strings.TrimSpace(v) != w {
					t.Errorf("%s %q, want %q", k, strings.TrimSpace(v), w)
				}
			}
			_ = nc.SetDeadline(time.Now().Add(5 * time.Second))
			req, wantRefresh := "refresh_certs\r\n", "OK\r\n"
			if tc.uid != "0" {
				// nobody cannot read root's 0600 key any more.
				req, wantRefresh = "set a 0 0 8\r\nalice pw\r\nrefresh_certs\r\n", "STORED\r\nError loading the certificate chain: "
			}
			if _, err := nc.Write([]byte(req)); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 256)
			n, _ := nc.Read(buf)
			for n < len(wantRefresh) {
				m, err := nc.Read(buf[n:])
				if err != nil {
					break
				}
				n += m
			}
			if !strings.HasPrefix(string(buf[:n]), wantRefresh) {
				t.Fatalf("%q: %q, want %q...", req, buf[:n], wantRefresh)
			}
			c.stop(t)
		})
	}
}

// TestUnixSocketMask: the unix socket gets -a's mode (octal, as
// memcached), whatever the process's umask, from the moment it exists.
func TestUnixSocketMask(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	tests := []struct {
		mask    string // "" = the default
		want    os.FileMode
		wantErr string
	}{
		{"", 0o700, ""},
		{"0700", 0o700, ""},
		{"0660", 0o660, ""},
		{"666", 0o666, ""},
		{"0777", 0o777, ""},
		{"0600", 0o600, ""},
		{"0", 0, ""},
		{"0800", 0, "invalid unix mask"},
		{"rw", 0, "invalid unix mask"},
	}
	for _, tc := range tests {
		t.Run("-a "+tc.mask, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "sock")
			args := []string{"gocached", "-s", path}
			if tc.mask != "" {
				args = append(args, "-a", tc.mask)
			}
			app := newApp()
			var cfg server.Config
			var cfgErr error
			app.Action = func(c *cli.Context) error {
				cfg, _, cfgErr = configFrom(c)
				return nil
			}
			if err := app.Run(args); err != nil {
				t.Fatal(err)
			}
			if tc.wantErr != "" {
				if cfgErr == nil || !strings.Contains(cfgErr.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", cfgErr, tc.wantErr)
				}
				return
			}
			if cfgErr != nil {
				t.Fatal(cfgErr)
			}
			srv, err := server.New(cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := srv.Listen(); err != nil {
				t.Fatal(err)
			}
			defer srv.Shutdown(t.Context())
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != tc.want {
				t.Fatalf("socket mode %v, want %04o", fi.Mode(), tc.want)
			}
		})
	}
}
