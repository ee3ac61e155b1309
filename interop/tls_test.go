//go:build interop

package interop

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	gcclient "github.com/gocached/gocached/client"
	"github.com/gocached/gocached/internal/testcerts"
)

// TLS with real clients (openssl s_client, pymemcache with an
// ssl.SSLContext), against Debian's memcached 1.6.18 -Z and gocached -Z:
// every row must hold for both. memcached 1.6.45's own TLS files
// (t/ssl_*.t) run in scripts/mctest.sh.

// tlsFixture is a test CA, the server's certificate files and a client
// certificate, on disk.
type tlsFixture struct {
	*testcerts.Files
	clientCert, clientKey string
	otherCert, otherKey   string // a client certificate of another CA
}

func newTLSFixture(t *testing.T) *tlsFixture {
	t.Helper()
	dir := t.TempDir()
	f, err := testcerts.WriteFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	x := &tlsFixture{Files: f}
	for _, w := range []struct {
		path *string
		name string
		b    []byte
	}{
		{&x.clientCert, "client.pem", f.Client.CertPEM}, {&x.clientKey, "client.key", f.Client.KeyPEM},
		{&x.otherCert, "other.pem", f.Stranger.CertPEM}, {&x.otherKey, "other.key", f.Stranger.KeyPEM},
	} {
		*w.path = filepath.Join(dir, w.name)
		if err := testcerts.Write(*w.path, w.b); err != nil {
			t.Fatal(err)
		}
	}
	return x
}

// flags are -Z with the server certificate, and more -o ssl_* options.
func (f *tlsFixture) flags(opts ...string) []string {
	o := append([]string{"ssl_chain_cert=" + f.Chain, "ssl_key=" + f.Key}, opts...)
	return []string{"-U", "0", "-t", "2", "-Z", "-o", strings.Join(o, ",")}
}

// tlsServers are the servers every TLS row runs against.
func tlsServers(t *testing.T) []binary { return []binary{memcachedBinary(t), candidateBinary(t)} }

// sClient runs openssl s_client against addr with input on its stdin; out
// is what the server sent, diag s_client's -brief summary and errors.
func sClient(t *testing.T, addr, input string, args ...string) (out, diag string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "openssl", append([]string{"s_client", "-connect", addr, "-brief", "-ign_eof"}, args...)...)
	cmd.Stdin = strings.NewReader(input)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

const setGet = "set k 0 0 5\r\nhello\r\nget k\r\nquit\r\n"
const setGetReply = "STORED\r\nVALUE k 0 5\r\nhello\r\nEND\r\n"

// plainVersion sends "version" in plaintext to addr and returns what came
// back before the server closed or 2 seconds passed.
func plainVersion(t *testing.T, addr string) string {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := nc.Write([]byte("version\r\n")); err != nil {
		return ""
	}
	b, _ := io.ReadAll(bufio.NewReader(nc))
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[:i+1]
	}
	return string(b)
}

// TestTLSOpenSSL: openssl s_client sessions. Set and get over TLS 1.2 and
// 1.3 with the server verified against the CA and its name; TLS 1.1
// refused by the server (the client offers it: SECLEVEL=0) unless
// ssl_min_version allows it; plaintext on a TLS port gets nothing;
// plaintext on a notls: port is served.
func TestTLSOpenSSL(t *testing.T) {
	f := newTLSFixture(t)
	verify := []string{"-CAfile", f.CAFile, "-verify_return_error", "-verify_hostname", "localhost"}
	tls11 := append([]string{"-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"}, verify...)
	for _, b := range tlsServers(t) {
		t.Run(b.name, func(t *testing.T) {
			p2, err := freePort()
			if err != nil {
				t.Fatal(err)
			}
			notls := "127.0.0.1:" + strconv.Itoa(p2)
			s := startServer(t, b, append(f.flags(), "-l", "notls:"+notls)...)
			loose := startServer(t, b, f.flags("ssl_min_version=1")...)
			tests := []struct {
				name     string
				addr     string
				input    string
				args     []string
				ok       bool
				out      string // what the server sent
				diagWant string // in s_client's summary
				onlyGo   bool   // a row memcached's OpenSSL cannot hold (see its comment)
			}{
				{"TLS 1.2 set and get", s.addr, setGet, append([]string{"-tls1_2"}, verify...), true, setGetReply, "Protocol version: TLSv1.2", false},
				{"TLS 1.3 set and get", s.addr, setGet, append([]string{"-tls1_3"}, verify...), true, setGetReply, "Protocol version: TLSv1.3", false},
				{"TLS 1.1 refused", s.addr, "version\r\nquit\r\n", tls11, false, "", "alert protocol version", false},
				// memcached 1.6.18 takes ssl_min_version=1 but Debian 12's
				// OpenSSL (security level 2) still refuses TLS 1.1 ("internal
				// error" alert); Go's TLS does what the option says.
				{"TLS 1.1 with ssl_min_version=1", loose.addr, "version\r\nquit\r\n", tls11, true, "VERSION ", "Protocol version: TLSv1.1", true},
				{"wrong server name", s.addr, "version\r\nquit\r\n", []string{"-CAfile", f.CAFile, "-verify_return_error", "-verify_hostname", "cache.example.com"}, false, "", "verify error", false},
			}
			for _, tc := range tests {
				if tc.onlyGo && b.name == "memcached" {
					continue
				}
				t.Run(tc.name, func(t *testing.T) {
					out, diag, err := sClient(t, tc.addr, tc.input, tc.args...)
					if (err == nil) != tc.ok || !strings.HasPrefix(out, tc.out) || (tc.out == "" && out != "") || !strings.Contains(diag, tc.diagWant) {
						t.Fatalf("s_client %v: %v\nserver sent %q, want %q\n%s", tc.args, err, out, tc.out, diag)
					}
				})
			}
			if got := plainVersion(t, s.addr); strings.Contains(got, "VERSION") {
				t.Errorf("plaintext on the TLS port was served: %q", got)
			}
			if got := plainVersion(t, notls); !strings.HasPrefix(got, "VERSION ") {
				t.Errorf("plaintext on the notls: port: %q", got)
			}
		})
	}
}

// TestTLSPymemcache: a pymemcache session with an ssl.SSLContext that
// verifies the server, identical on both servers; against
// ssl_verify_mode=2 it is served with the CA's client certificate and
// refused without one or with another CA's.
func TestTLSPymemcache(t *testing.T) {
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import pymemcache, ssl").Run(); err != nil {
		t.Fatal("python3-pymemcache not installed (scripts/interop.sh installs it): ", err)
	}
	f := newTLSFixture(t)
	want := strings.Join([]string{"set: True", "get: b'over TLS'", "set big: True", "get big: 300000",
		"get_many: [('tls:1', b'over TLS')]", "incr: 42", "delete: True", "get deleted: None", "tls: TLSv1.3 ['servers']"}, "\n") + "\n"
	run := func(t *testing.T, addr string, cert ...string) string {
		host, port, _ := strings.Cut(addr, ":")
		out, err := exec.Command(py, append([]string{"testdata/pymemcache_tls_client.py", host, port, f.CAFile}, cert...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("pymemcache over TLS: %v\n%s", err, out)
		}
		return string(out)
	}
	for _, b := range tlsServers(t) {
		t.Run(b.name, func(t *testing.T) {
			s := startServer(t, b, f.flags()...)
			if got := run(t, s.addr); got != want {
				t.Errorf("session:\n%s\nwant:\n%s", got, want)
			}
			m := startServer(t, b, f.flags("ssl_verify_mode=2", "ssl_ca_cert="+f.CAFile)...)
			if got := run(t, m.addr, f.clientCert, f.clientKey); got != want {
				t.Errorf("session with a client certificate:\n%s\nwant:\n%s", got, want)
			}
			for _, cert := range [][]string{nil, {f.otherCert, f.otherKey}} {
				got := run(t, m.addr, cert...)
				if strings.Contains(got, ": True") || strings.Contains(got, "b'over TLS'") || strings.Contains(got, "tls: ") {
					t.Errorf("served with client certificate %v:\n%s", cert, got)
				}
				if !strings.HasPrefix(got, "set: ") {
					t.Errorf("no transcript with client certificate %v:\n%s", cert, got)
				}
			}
		})
	}
}

// TestTLSClientCertificates: with ssl_verify_mode=2 and ssl_ca_cert,
// s_client over TLS 1.2 and 1.3 is served with the CA's client
// certificate and refused (a TLS alert, nothing served) without one or
// with another CA's.
func TestTLSClientCertificates(t *testing.T) {
	f := newTLSFixture(t)
	for _, b := range tlsServers(t) {
		t.Run(b.name, func(t *testing.T) {
			s := startServer(t, b, f.flags("ssl_verify_mode=2", "ssl_ca_cert="+f.CAFile)...)
			for _, v := range []string{"-tls1_2", "-tls1_3"} {
				for _, tc := range []struct {
					name string
					cert []string
					ok   bool
				}{
					{"CA's certificate", []string{"-cert", f.clientCert, "-key", f.clientKey}, true},
					{"no certificate", nil, false},
					{"another CA's certificate", []string{"-cert", f.otherCert, "-key", f.otherKey}, false},
				} {
					t.Run(v+" "+tc.name, func(t *testing.T) {
						out, diag, err := sClient(t, s.addr, setGet, append([]string{v, "-CAfile", f.CAFile, "-verify_return_error"}, tc.cert...)...)
						if tc.ok {
							if err != nil || out != setGetReply {
								t.Fatalf("refused: %v, server sent %q\n%s", err, out, diag)
							}
							return
						}
						if err == nil || out != "" || !strings.Contains(diag, "alert") {
							t.Fatalf("served: %v, server sent %q\n%s", err, out, diag)
						}
					})
				}
			}
		})
	}
}

// TestTLSCertRotation: refresh_certs loads a new certificate; a new
// client sees it while a connection opened before keeps its session (and
// the old certificate) and is still served.
func TestTLSCertRotation(t *testing.T) {
	for _, b := range tlsServers(t) {
		t.Run(b.name, func(t *testing.T) {
			f := newTLSFixture(t) // rotated below
			s := startServer(t, b, f.flags()...)
			old, err := tls.Dial("tcp", s.addr, &tls.Config{RootCAs: f.CA.Pool(), ServerName: "localhost"})
			if err != nil {
				t.Fatal(err)
			}
			defer old.Close()
			r := bufio.NewReader(old)
			ask := func(req string, lines int) string {
				t.Helper()
				_ = old.SetDeadline(time.Now().Add(5 * time.Second))
				if _, err := old.Write([]byte(req)); err != nil {
					t.Fatalf("old connection: %v", err)
				}
				var sb strings.Builder
				for i := 0; i < lines; i++ {
					line, err := r.ReadString('\n')
					if err != nil {
						t.Fatalf("old connection after %q: %v", sb.String(), err)
					}
					sb.WriteString(line)
				}
				return sb.String()
			}
			if got := ask("set k 0 0 5\r\nhello\r\n", 1); got != "STORED\r\n" {
				t.Fatalf("set: %q", got)
			}
			rotated, err := f.CA.Issue("localhost", "rotated", false)
			if err != nil {
				t.Fatal(err)
			}
			if err := testcerts.Write(f.Chain, rotated.CertPEM); err != nil {
				t.Fatal(err)
			}
			if err := testcerts.Write(f.Key, rotated.KeyPEM); err != nil {
				t.Fatal(err)
			}
			if got := ask("refresh_certs\r\n", 1); got != "OK\r\n" {
				t.Fatalf("refresh_certs: %q", got)
			}
			out, diag, err := sClient(t, s.addr, "get k\r\nquit\r\n", "-CAfile", f.CAFile, "-verify_return_error")
			if err != nil || out != "VALUE k 0 5\r\nhello\r\nEND\r\n" || !strings.Contains(diag, "Peer certificate: OU = rotated, CN = localhost") {
				t.Fatalf("new client after the rotation: %v, %q\n%s", err, out, diag)
			}
			if got := ask("get k\r\n", 3); got != "VALUE k 0 5\r\nhello\r\nEND\r\n" {
				t.Fatalf("old connection after the rotation: %q", got)
			}
			if ou := old.ConnectionState().PeerCertificates[0].Subject.OrganizationalUnit; len(ou) != 1 || ou[0] != "servers" {
				t.Fatalf("old connection's certificate unit %v, want the one before the rotation", ou)
			}
		})
	}
}

// TestTLSGoClient: gocached's Go client (client.Config.TLS) with a client
// certificate against ssl_verify_mode=2: stores and reads a value, and
// without the certificate its request fails.
func TestTLSGoClient(t *testing.T) {
	f := newTLSFixture(t)
	for _, b := range tlsServers(t) {
		t.Run(b.name, func(t *testing.T) {
			s := startServer(t, b, f.flags("ssl_verify_mode=2", "ssl_ca_cert="+f.CAFile)...)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			for _, tc := range []struct {
				name  string
				certs []tls.Certificate
				ok    bool
			}{{"certificate", []tls.Certificate{f.Client.TLS}, true}, {"no certificate", nil, false}} {
				c, err := gcclient.New(gcclient.Config{Servers: []string{s.addr}, FailureLimit: -1,
					TLS: &tls.Config{RootCAs: f.CA.Pool(), Certificates: tc.certs}})
				if err != nil {
					t.Fatal(err)
				}
				err = c.Set(ctx, &gcclient.Item{Key: "go", Value: []byte("over TLS")})
				var got []byte
				if err == nil {
					var it *gcclient.Item
					if it, err = c.Get(ctx, "go"); err == nil {
						got = it.Value
					}
				}
				c.Close()
				if tc.ok && (err != nil || string(got) != "over TLS") {
					t.Errorf("%s: %v, got %q", tc.name, err, got)
				}
				if !tc.ok && (err == nil || !errors.Is(err, gcclient.ErrServerDown)) {
					t.Errorf("%s: %v, want the refusal", tc.name, err)
				}
			}
		})
	}
}
