package server

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gocached/gocached/internal/promtest"
	"github.com/gocached/gocached/internal/testcerts"
)

// tlsFiles are a test CA, a server certificate and key it signed (in
// organizational unit "first"), and a client certificate, on disk.
type tlsFiles struct {
	ca                 *testcerts.CA
	dir                string
	chain, key, caFile string
	client             *testcerts.Pair
}

func newTLSFiles(t testing.TB) *tlsFiles {
	t.Helper()
	ca, err := testcerts.NewCA("test CA")
	if err != nil {
		t.Fatal(err)
	}
	f := &tlsFiles{ca: ca, dir: t.TempDir()}
	f.chain, f.key, f.caFile = filepath.Join(f.dir, "chain.pem"), filepath.Join(f.dir, "key.pem"), filepath.Join(f.dir, "ca.pem")
	f.issueServer(t, "first")
	if f.client, err = ca.Issue("client.test", "clients", true); err != nil {
		t.Fatal(err)
	}
	if err := testcerts.Write(f.caFile, ca.PEM); err != nil {
		t.Fatal(err)
	}
	return f
}

// issueServer writes a new server certificate in unit ou over the files.
func (f *tlsFiles) issueServer(t testing.TB, ou string) {
	t.Helper()
	p, err := f.ca.Issue("localhost", ou, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := testcerts.Write(f.chain, p.CertPEM); err != nil {
		t.Fatal(err)
	}
	if err := testcerts.Write(f.key, p.KeyPEM); err != nil {
		t.Fatal(err)
	}
}

// clientConfig trusts the test CA; with cert it presents the client
// certificate.
func (f *tlsFiles) clientConfig(cert bool) *tls.Config {
	c := &tls.Config{RootCAs: f.ca.Pool(), ServerName: "localhost"}
	if cert {
		c.Certificates = []tls.Certificate{f.client.TLS}
	}
	return c
}

// tlsServer is a testServer with -Z and the test certificates.
func tlsServer(t testing.TB, edit func(*Config, *tlsFiles)) (*Server, *tlsFiles) {
	t.Helper()
	f := newTLSFiles(t)
	s := testServer(t, func(c *Config) {
		c.TLS.Enabled = true
		c.TLS.ChainCert, c.TLS.Key = f.chain, f.key
		if edit != nil {
			edit(c, f)
		}
	})
	return s, f
}

// dialTLS connects to addr and completes the handshake.
func dialTLS(t testing.TB, addr string, cfg *tls.Config) (*client, error) {
	t.Helper()
	d := &net.Dialer{Timeout: 5 * time.Second}
	tc, err := tls.DialWithDialer(d, "tcp", addr, cfg)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { tc.Close() })
	return &client{t: t, nc: tc, br: bufio.NewReader(tc)}, nil
}

func mustDialTLS(t testing.TB, addr string, cfg *tls.Config) *client {
	t.Helper()
	c, err := dialTLS(t, addr, cfg)
	if err != nil {
		t.Fatalf("TLS dial %s: %v", addr, err)
	}
	return c
}

// roundTrip checks that a connection is served: set then get.
func roundTrip(c *client) error {
	const want = "STORED\r\nVALUE rt 0 2\r\nok\r\nEND\r\n"
	if _, err := c.nc.Write([]byte("set rt 0 0 2\r\nok\r\nget rt\r\n")); err != nil {
		return err
	}
	_ = c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	got := make([]byte, len(want))
	if _, err := io.ReadFull(c.br, got); err != nil {
		return err
	}
	if string(got) != want {
		return fmt.Errorf("set/get: %q", got)
	}
	return nil
}

// peerOU is the organizational unit of the server's certificate.
func peerOU(c *client) string {
	st := c.nc.(*tls.Conn).ConnectionState()
	return strings.Join(st.PeerCertificates[0].Subject.OrganizationalUnit, ",")
}

// TestTLSProtocols: text, meta and binary requests, and binary SASL, are
// served over TLS as over plaintext.
func TestTLSProtocols(t *testing.T) {
	pw := writePassFile(t, "alice:secret\n")
	for _, sasl := range []bool{false, true} {
		s, f := tlsServer(t, func(c *Config, f *tlsFiles) {
			if sasl {
				c.SASL, c.SASLPassFile, c.Protocol = true, pw, "binary"
			}
		})
		addr := s.Addrs()[0].String()
		if !sasl {
			c := mustDialTLS(t, addr, f.clientConfig(false))
			if err := roundTrip(c); err != nil {
				t.Error("text:", err)
			}
			if got := c.reply("ms mk 2 T0\r\nhi\r\nmg mk v f\r\n"); got != "HD\r\nVA 2 f0\r\nhi\r\n" {
				t.Errorf("meta: %q", got)
			}
		}
		c := mustDialTLS(t, addr, f.clientConfig(false))
		b := &bclient{t: t, nc: c.nc, cas: casOrder{}}
		var steps []step
		if sasl {
			steps = append(steps, step{"SASL PLAIN over TLS", breq(opSASLAuth, "PLAIN", "", plain("", "alice", "secret"), 4, 0), []string{`21 OK o=4 v="Authenticated"`}})
		}
		steps = append(steps, step{"binary set and get", cat(bstore(opSet, "bk", "vv", 3, 0, 1, 0), bget(opGet, "bk", 2)),
			[]string{`01 OK o=1 c=#1`, `00 OK o=2 c=#1 e=00000003 v="vv"`}})
		runSteps(t, b, steps)
	}
}

// TestTLSVersions: ssl_min_version refuses older clients; TLS 1.2 and 1.3
// are served by default, 1.1 refused (memcached's default tlsv1.2).
func TestTLSVersions(t *testing.T) {
	tests := []struct {
		min        int
		client     uint16
		refused    bool
		negotiated string
	}{
		{2, tls.VersionTLS11, true, ""},
		{2, tls.VersionTLS12, false, "tlsv1.2"},
		{2, tls.VersionTLS13, false, "tlsv1.3"},
		{3, tls.VersionTLS12, true, ""},
		{3, tls.VersionTLS13, false, "tlsv1.3"},
		{1, tls.VersionTLS11, false, "tlsv1.1"},
	}
	servers := map[int]*Server{}
	var f *tlsFiles
	for _, tt := range tests {
		s := servers[tt.min]
		if s == nil {
			s, f = tlsServer(t, func(c *Config, f *tlsFiles) { c.TLS.MinVersion = tt.min })
			servers[tt.min] = s
		}
		cfg := f.clientConfig(false)
		cfg.MinVersion, cfg.MaxVersion = tt.client, tt.client
		c, err := dialTLS(t, s.Addrs()[0].String(), cfg)
		if tt.refused {
			if err == nil {
				t.Errorf("min %d: a %s client was served", tt.min, tlsProtoText(tt.client))
			}
			continue
		}
		if err != nil {
			t.Errorf("min %d, client %s: %v", tt.min, tlsProtoText(tt.client), err)
			continue
		}
		if err := roundTrip(c); err != nil {
			t.Errorf("min %d, client %s: %v", tt.min, tlsProtoText(tt.client), err)
		}
		if got := c.reply("stats conns\r\n"); !strings.Contains(got, ":tls "+tt.negotiated+"\r\n") {
			t.Errorf("stats conns of a %s connection:\n%s", tt.negotiated, got)
		}
	}
}

// TestPlaintextTCPAddrs: without -Z every TCP listener is plaintext; a
// unix socket is not a TCP listener. (-Z: TestTLSListeners.)
func TestPlaintextTCPAddrs(t *testing.T) {
	s := testServer(t, func(c *Config) { c.Listen = []string{"127.0.0.1:0", "127.0.0.1:0"} })
	if got, want := fmt.Sprint(s.PlaintextTCPAddrs()), fmt.Sprint(s.Addrs()); got != want || len(s.Addrs()) != 2 {
		t.Errorf("without -Z: %s, want %s", got, want)
	}
	u := testServer(t, func(c *Config) { c.UnixSocket = filepath.Join(t.TempDir(), "sock") })
	if got := u.PlaintextTCPAddrs(); len(got) != 0 {
		t.Errorf("unix socket: %v", got)
	}
}

// TestTLSListeners: with -Z, -l notls: serves plaintext beside TLS
// listeners; plaintext on a TLS port is refused and counted as a
// handshake error; btls: asks no certificate, mtls: requires one.
func TestTLSListeners(t *testing.T) {
	s, f := tlsServer(t, func(c *Config, f *tlsFiles) {
		c.Listen = []string{"127.0.0.1:0", "notls:127.0.0.1:0", "btls:127.0.0.1:0,mtls:127.0.0.1:0"}
		c.TLS.VerifyMode = 2
		c.TLS.CACert = f.caFile
	})
	addrs := s.Addrs()
	if len(addrs) != 4 {
		t.Fatalf("listeners: %v", addrs)
	}
	tlsAddr, plainAddr, btlsAddr, mtlsAddr := addrs[0].String(), addrs[1].String(), addrs[2].String(), addrs[3].String()
	if got := s.PlaintextTCPAddrs(); len(got) != 1 || got[0].String() != plainAddr {
		t.Errorf("plaintext TCP listeners %v, want the notls: one, %s", got, plainAddr)
	}
	plain := func(addr string) *client {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { nc.Close() })
		return &client{t: t, nc: nc, br: bufio.NewReader(nc)}
	}
	pc := plain(plainAddr)
	if err := roundTrip(pc); err != nil {
		t.Errorf("notls listener: %v", err)
	}
	if got := pc.reply("stats conns\r\n"); strings.Contains(got, ":tls ") && !strings.Contains(got, ":tls tlsv1.3") {
		t.Errorf("stats conns: %s", got)
	}
	before := statsOf(t, pc)["ssl_handshake_errors"]
	raw := plain(tlsAddr)
	raw.send("version\r\n")
	if !raw.closed() {
		t.Error("plaintext on a TLS port was not closed")
	}
	waitStat(t, pc, "handshake error counted", func(st map[string]int64) bool { return st["ssl_handshake_errors"] == before+1 })

	tests := []struct {
		name    string
		addr    string
		cert    bool
		refused bool
	}{
		{"verify_mode 2, no certificate", tlsAddr, false, true},
		{"verify_mode 2, certificate", tlsAddr, true, false},
		{"btls, no certificate", btlsAddr, false, false},
		{"mtls, no certificate", mtlsAddr, false, true},
		{"mtls, certificate", mtlsAddr, true, false},
	}
	for _, tt := range tests {
		c, err := dialTLS(t, tt.addr, f.clientConfig(tt.cert))
		if err == nil {
			// TLS 1.3: the server's verdict on the client certificate
			// comes with its first reply.
			err = roundTrip(c)
		}
		if tt.refused != (err != nil) {
			t.Errorf("%s: refused %v, want %v (%v)", tt.name, err != nil, tt.refused, err)
		}
	}
}

// TestTLSClientCertificates: ssl_verify_mode's meanings with ssl_ca_cert:
// 0 asks none, 1 takes a valid one or none, 2 and 3 require a valid one;
// a certificate from another CA is refused by 1, 2 and 3.
func TestTLSClientCertificates(t *testing.T) {
	other, err := testcerts.NewCA("other CA")
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := other.Issue("stranger", "x", true)
	if err != nil {
		t.Fatal(err)
	}
	const valid, foreign = 1, 2
	tests := []struct {
		mode   int
		served [3]bool // none, valid, foreign
	}{
		{0, [3]bool{true, true, true}},
		{1, [3]bool{true, true, false}},
		{2, [3]bool{false, true, false}},
		{3, [3]bool{false, true, false}},
	}
	for _, tt := range tests {
		s, f := tlsServer(t, func(c *Config, f *tlsFiles) { c.TLS.VerifyMode = tt.mode; c.TLS.CACert = f.caFile })
		for kind, want := range tt.served {
			cfg := f.clientConfig(kind == valid)
			if kind == foreign {
				// Sent even though the server names other CAs.
				cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &stranger.TLS, nil }
			}
			c, err := dialTLS(t, s.Addrs()[0].String(), cfg)
			if err == nil {
				err = roundTrip(c)
			}
			if got := err == nil; got != want {
				t.Errorf("ssl_verify_mode %d, client certificate %v: served %v, want %v (%v)", tt.mode, [...]string{"none", "valid", "foreign"}[kind], got, want, err)
			}
		}
	}
}

// TestRefreshCerts: refresh_certs and ReloadCerts (SIGHUP) load new
// certificates for new connections while open ones keep their session;
// a failed reload keeps the old certificates and says why.
func TestRefreshCerts(t *testing.T) {
	s, f := tlsServer(t, nil)
	addr := s.Addrs()[0].String()
	old := mustDialTLS(t, addr, f.clientConfig(false))
	if ou := peerOU(old); ou != "first" {
		t.Fatalf("first certificate: OU %q", ou)
	}
	f.issueServer(t, "second")
	if got := old.reply("refresh_certs\r\n"); got != "OK\r\n" {
		t.Fatalf("refresh_certs: %q", got)
	}
	if ou := peerOU(mustDialTLS(t, addr, f.clientConfig(false))); ou != "second" {
		t.Errorf("a new client after refresh_certs got OU %q", ou)
	}
	if err := roundTrip(old); err != nil {
		t.Errorf("the connection opened before the refresh: %v", err)
	}

	failures := []struct {
		name   string
		break_ func()
		reply  string // prefix
	}{
		{"chain missing", func() { os.Remove(f.chain) }, "Error loading the certificate chain: " + f.chain + " : "},
		{"chain not PEM", func() { testcerts.Write(f.chain, []byte("junk")) }, "Error loading the certificate chain: " + f.chain + " : no PEM certificate in it\r\n"},
		{"key missing", func() { os.Remove(f.key) }, "Error loading the key: " + f.key + " : "},
		{"key of another certificate", func() {
			p, _ := f.ca.Issue("x", "x", false)
			testcerts.Write(f.key, p.KeyPEM)
		}, "Error validating the certificate: "},
	}
	for _, tt := range failures {
		f.issueServer(t, "second")
		tt.break_()
		got := old.reply("refresh_certs\r\n")
		if !strings.HasPrefix(got, tt.reply) || !strings.HasSuffix(got, "\r\n") || strings.Count(got, "\r\n") != 1 {
			t.Errorf("%s: refresh_certs replied %q, want %q...", tt.name, got, tt.reply)
		}
		if err := s.ReloadCerts(); err == nil {
			t.Errorf("%s: ReloadCerts succeeded", tt.name)
		}
		if ou := peerOU(mustDialTLS(t, addr, f.clientConfig(false))); ou != "second" {
			t.Errorf("%s: after the failed reload a new client got OU %q", tt.name, ou)
		}
	}
	f.issueServer(t, "third")
	if err := s.ReloadCerts(); err != nil {
		t.Fatal(err)
	}
	if ou := peerOU(mustDialTLS(t, addr, f.clientConfig(false))); ou != "third" {
		t.Errorf("after ReloadCerts a new client got OU %q", ou)
	}
}

// TestRefreshCertsWithoutTLS: memcached's reply without -Z.
func TestRefreshCertsWithoutTLS(t *testing.T) {
	s := testServer(t, nil)
	if got := dial(t, s).reply("refresh_certs\r\n"); got != "Error TLS not enabled\r\n" {
		t.Errorf("refresh_certs: %q", got)
	}
}

// TestTLSStats: memcached's `stats` and `stats settings` ssl_* lines.
func TestTLSStats(t *testing.T) {
	settings := func(c *client) string {
		var out []string
		for _, l := range strings.SplitAfter(c.reply("stats settings\r\n"), "\r\n") {
			if strings.HasPrefix(l, "STAT ssl_") {
				out = append(out, l)
			}
		}
		return strings.Join(out, "")
	}
	plain := testServer(t, nil)
	want := crlf("STAT ssl_enabled no\nSTAT ssl_chain_cert (null)\nSTAT ssl_key (null)\nSTAT ssl_verify_mode 0\n" +
		"STAT ssl_keyformat 1\nSTAT ssl_ciphers NULL\nSTAT ssl_ca_cert NULL\nSTAT ssl_wbuf_size 16384\n" +
		"STAT ssl_session_cache no\nSTAT ssl_kernel_tls no\nSTAT ssl_min_version tlsv1.2\n")
	pc := dial(t, plain)
	if got := settings(pc); got != want {
		t.Errorf("stats settings without -Z:\n%s\nwant\n%s", got, want)
	}
	if got := pc.reply("stats\r\n"); strings.Contains(got, "ssl_") {
		t.Errorf("stats without -Z has ssl_ lines:\n%s", got)
	}

	// verify_mode 3 without ssl_ca_cert refuses every client certificate,
	// as memcached's (no default verify paths): a btls listener serves.
	s2, f2 := tlsServer(t, func(c *Config, f *tlsFiles) {
		c.Listen = []string{"btls:127.0.0.1"}
		c.TLS.VerifyMode = 3
		c.TLS.Ciphers = "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-GCM-SHA256"
		c.TLS.WbufSize = 64 << 10
		c.TLS.SessionCache = true
		c.TLS.MinVersion = 3
	})
	c2 := mustDialTLS(t, s2.Addrs()[0].String(), f2.clientConfig(false))
	want = crlf("STAT ssl_enabled yes\nSTAT ssl_chain_cert " + f2.chain + "\nSTAT ssl_key " + f2.key + "\nSTAT ssl_verify_mode 7\n" +
		"STAT ssl_keyformat 1\nSTAT ssl_ciphers ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-GCM-SHA256\nSTAT ssl_ca_cert NULL\n" +
		"STAT ssl_wbuf_size 65536\nSTAT ssl_session_cache yes\nSTAT ssl_kernel_tls no\nSTAT ssl_min_version tlsv1.3\n")
	if got := settings(c2); got != want {
		t.Errorf("stats settings with -Z:\n%s\nwant\n%s", got, want)
	}
	st := statsOf(t, c2)
	for _, name := range []string{"ssl_new_sessions", "ssl_handshake_errors", "ssl_proto_errors", "time_since_server_cert_refresh"} {
		if _, ok := st[name]; !ok {
			t.Errorf("stats has no %s", name)
		}
	}
	if st["ssl_new_sessions"] != 1 {
		t.Errorf("ssl_new_sessions %d after one full handshake", st["ssl_new_sessions"])
	}
	// Order: after log_watchers, before unexpected_napi_ids, as memcached.
	all := c2.reply("stats\r\n")
	if i, j, k := strings.Index(all, "log_watchers"), strings.Index(all, "ssl_new_sessions"), strings.Index(all, "unexpected_napi_ids"); !(i < j && j < k) {
		t.Errorf("ssl_ stats out of place:\n%s", all)
	}
}

// TestTLSSessionCache: with ssl_session_cache a client resumes its
// session and ssl_new_sessions does not grow; without, it cannot resume
// and the stat is absent.
func TestTLSSessionCache(t *testing.T) {
	for _, cache := range []bool{false, true} {
		s, f := tlsServer(t, func(c *Config, f *tlsFiles) { c.TLS.SessionCache = cache })
		cfg := f.clientConfig(false)
		cfg.ClientSessionCache = tls.NewLRUClientSessionCache(4)
		cfg.MaxVersion = tls.VersionTLS12
		first := mustDialTLS(t, s.Addrs()[0].String(), cfg)
		second := mustDialTLS(t, s.Addrs()[0].String(), cfg)
		if got := second.nc.(*tls.Conn).ConnectionState().DidResume; got != cache {
			t.Errorf("ssl_session_cache %v: second connection resumed %v", cache, got)
		}
		st := statsOf(t, first)
		if n, ok := st["ssl_new_sessions"]; ok != cache || (cache && n != 1) {
			t.Errorf("ssl_session_cache %v: ssl_new_sessions %d (present %v)", cache, n, ok)
		}
	}
}

// TestTLSHandshakeDeadline: a client that connects and never handshakes
// holds a connection slot (-c) only until the handshake deadline.
func TestTLSHandshakeDeadline(t *testing.T) {
	s, f := tlsServer(t, func(c *Config, f *tlsFiles) { c.MaxConns = 1; c.IdleTimeout = time.Second })
	addr := s.Addrs()[0].String()
	silent, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	waitFor(t, "the silent connection counted", func() bool { return s.stats.currConns.Load() == 1 })
	second, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	_ = second.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 64)
	n, _ := second.Read(buf)
	if got := string(buf[:n]); got != "ERROR Too many open connections\r\n" {
		t.Errorf("a connection over -c beside a pending handshake: %q", got)
	}
	start := time.Now()
	_ = silent.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := silent.Read(buf); err == nil {
		t.Error("the server sent something to a client that never handshook")
	} else if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Error("a client that never handshakes was not closed")
	} else if d := time.Since(start); d > 3*time.Second {
		t.Errorf("closed after %v", d)
	}
	waitFor(t, "the slot freed", func() bool { return s.stats.currConns.Load() == 0 })
	if err := roundTrip(mustDialTLS(t, addr, f.clientConfig(false))); err != nil {
		t.Error(err)
	}
}

// TestTLSNotParked: idle TLS connections are never parked in the epoll
// set (the TLS layer may hold bytes the socket no longer shows), and keep
// being served.
func TestTLSNotParked(t *testing.T) {
	clk := &fakeClock{now: time.Now()}
	s, f := tlsServer(t, func(c *Config, f *tlsFiles) { c.now = clk.Now })
	c := mustDialTLS(t, s.Addrs()[0].String(), f.clientConfig(false))
	if err := roundTrip(c); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		clk.advance(s, parkAfter*time.Second)
		time.Sleep(20 * time.Millisecond)
	}
	if n := s.idle.parkedCount(); n != 0 {
		t.Errorf("%d TLS connections parked", n)
	}
	if err := roundTrip(c); err != nil {
		t.Error("after idling:", err)
	}
}

// TestTLSProtoErrors: a corrupt record after the handshake closes the
// connection and counts in ssl_proto_errors.
func TestTLSProtoErrors(t *testing.T) {
	s, f := tlsServer(t, nil)
	watch := mustDialTLS(t, s.Addrs()[0].String(), f.clientConfig(false))
	c := mustDialTLS(t, s.Addrs()[0].String(), f.clientConfig(false))
	if err := roundTrip(c); err != nil {
		t.Fatal(err)
	}
	raw := c.nc.(*tls.Conn).NetConn()
	// An application-data record whose authentication fails.
	if _, err := raw.Write([]byte("\x17\x03\x03\x00\x20" + strings.Repeat("x", 32))); err != nil {
		t.Fatal(err)
	}
	waitStat(t, watch, "proto error counted", func(st map[string]int64) bool { return st["ssl_proto_errors"] == 1 })
}

// TestTLSKeyFiles: PEM and DER keys (ssl_keyformat 1 and 2), and a key in
// the chain file when ssl_key is not given.
func TestTLSKeyFiles(t *testing.T) {
	f := newTLSFiles(t)
	p, err := f.ca.Issue("localhost", "keys", false)
	if err != nil {
		t.Fatal(err)
	}
	der, both := filepath.Join(f.dir, "key.der"), filepath.Join(f.dir, "both.pem")
	testcerts.Write(f.chain, p.CertPEM)
	testcerts.Write(der, p.KeyDER)
	testcerts.Write(both, append(append([]byte{}, p.CertPEM...), p.KeyPEM...))
	tests := []struct {
		name, chain, key string
		format           int
	}{
		{"DER key", f.chain, der, keyFormatDER},
		{"key in the chain file", both, "", keyFormatPEM},
	}
	for _, tt := range tests {
		s := testServer(t, func(c *Config) {
			c.TLS = DefaultTLSConfig()
			c.TLS.Enabled, c.TLS.ChainCert, c.TLS.Key, c.TLS.KeyFormat = true, tt.chain, tt.key, tt.format
		})
		c, err := dialTLS(t, s.Addrs()[0].String(), f.clientConfig(false))
		if err == nil {
			err = roundTrip(c)
		}
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
	cfg := DefaultConfig()
	cfg.TLS.Enabled, cfg.TLS.ChainCert, cfg.TLS.Key = true, f.chain, der // DER read as PEM
	if _, err := New(cfg, nil); err == nil || !strings.HasPrefix(err.Error(), "Error loading the key: "+der+" : ") {
		t.Errorf("a DER key as PEM: %v", err)
	}
}

// TestTLSValidate: what memcached refuses at startup.
func TestTLSValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"notls without -Z", func(c *Config) { c.Listen = []string{"notls:127.0.0.1:11211"} }, "'notls' option is valid only when SSL is enabled"},
		{"mtls without -Z", func(c *Config) { c.Listen = []string{"127.0.0.1,mtls:127.0.0.1:2"} }, "'mtls' option is valid only when SSL is enabled"},
		{"-Z without TCP", func(c *Config) { c.TLS.Enabled = true; c.Port = 0 }, "ERROR: You cannot enable SSL without a TCP port."},
		{"-Z with a unix socket", func(c *Config) { c.TLS.Enabled = true; c.UnixSocket = "/tmp/x" }, "ERROR: You cannot enable SSL without a TCP port."},
		{"verify mode 4", func(c *Config) { c.TLS.VerifyMode = 4 }, "Invalid ssl_verify_mode. Use help to see valid options."},
		{"min version 4", func(c *Config) { c.TLS.MinVersion = 4 }, "Invalid ssl_min_version. Use help to see valid options."},
		{"ENGINE keys", func(c *Config) { c.TLS.KeyFormat = 3 }, "ssl_keyformat 3 (ENGINE) has no equivalent in Go's crypto/tls: use 1 (PEM) or 2 (DER)"},
		{"DHE ciphers", func(c *Config) { c.TLS.Enabled = true; c.TLS.Ciphers = "DHE-RSA-AES128-GCM-SHA256" },
			`Error setting the provided cipher(s): DHE-RSA-AES128-GCM-SHA256: "DHE-RSA-AES128-GCM-SHA256" has no equivalent in Go's crypto/tls`},
	}
	for _, tt := range tests {
		cfg := DefaultConfig()
		tt.edit(&cfg)
		err := cfg.Validate()
		if err == nil || err.Error() != tt.want {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.want)
		}
	}
}

// TestParseCiphers: OpenSSL cipher lists onto Go's suites.
func TestParseCiphers(t *testing.T) {
	tests := []struct {
		spec string
		want []uint16 // nil: Go's defaults
		err  bool
	}{
		{"", nil, false},
		{"ECDHE-RSA-AES128-GCM-SHA256", []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}, false},
		{"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384}, false},
		{"ECDHE+AESGCM:!aNULL:!MD5", []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384}, false},
		{"ECDHE+CHACHA20:!ECDSA", []uint16{tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256}, false},
		{"aRSA+AES256+SHA384:@STRENGTH", []uint16{tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, tls.TLS_RSA_WITH_AES_256_GCM_SHA384}, false},
		{"!3DES:3DES", nil, true}, // removed for good, then nothing left
		{"HIGH:-AES128", nil, false},
		{"DHE-RSA-AES256-SHA", nil, true},
		{"RC4-SHA", nil, true},
		{"CAMELLIA", nil, true},
		{"!aNULL", nil, true},
	}
	for _, tt := range tests {
		got, err := parseCiphers(tt.spec)
		if (err != nil) != tt.err {
			t.Errorf("%q: error %v, want error %v", tt.spec, err, tt.err)
			continue
		}
		if tt.spec == "HIGH:-AES128" {
			for _, id := range got {
				if strings.Contains(tls.CipherSuiteName(id), "AES_128") {
					t.Errorf("%q kept %s", tt.spec, tls.CipherSuiteName(id))
				}
			}
			if len(got) == 0 {
				t.Errorf("%q: nothing", tt.spec)
			}
			continue
		}
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("%q: %v, want %v", tt.spec, names(got), names(tt.want))
		}
	}
}

func names(ids []uint16) []string {
	var out []string
	for _, id := range ids {
		out = append(out, tls.CipherSuiteName(id))
	}
	return out
}

// TestTLSMetrics: /metrics carries the TLS figures with -Z, and none
// without it.
func TestTLSMetrics(t *testing.T) {
	s, f := tlsServer(t, func(c *Config, _ *tlsFiles) {
		c.MetricsListen = "127.0.0.1:0"
		c.TLS.SessionCache = true
	})
	addr := s.Addrs()[0].String()
	c := mustDialTLS(t, addr, f.clientConfig(false))
	if err := roundTrip(c); err != nil {
		t.Fatal(err)
	}
	// A plaintext client on the TLS port fails its handshake.
	bad, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = bad.Write([]byte("get x\r\n"))
	_ = bad.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, _ = io.Copy(io.Discard, bad)
	bad.Close()
	waitStat(t, c, "handshake error counted", func(st map[string]int64) bool { return st["ssl_handshake_errors"] == 1 })

	fams := scrape(t, s)
	for _, x := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"gocached_tls_connections", []string{"version", "tlsv1.3"}, 1},
		{"gocached_tls_handshake_errors_total", nil, 1},
		{"gocached_tls_proto_errors_total", nil, 0},
		{"gocached_tls_new_sessions_total", nil, 1},
	} {
		if v, ok := promtest.Value(fams, x.name, x.labels...); !ok || v != x.want {
			t.Errorf("%s%v = %v (present %v), want %v", x.name, x.labels, v, ok, x.want)
		}
	}
	if v, ok := promtest.Value(fams, "gocached_tls_cert_age_seconds"); !ok || v < 0 || v > 60 {
		t.Errorf("gocached_tls_cert_age_seconds = %v (present %v)", v, ok)
	}

	plain := testServer(t, func(c *Config) { c.MetricsListen = "127.0.0.1:0" })
	for name := range scrape(t, plain) {
		if strings.HasPrefix(name, "gocached_tls_") {
			t.Errorf("%s without -Z", name)
		}
	}
}
