package server

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// TLS in transit, as memcached's -Z and -o ssl_* (memcached 1.6.45's
// tls.c): one process-wide set of certificates that refresh_certs and
// SIGHUP reload, per-listener choice with -l notls:/btls:/mtls:, and
// memcached's stats. TCP only: unix sockets and UDP stay plaintext.

// TLSConfig is -Z and the -o ssl_* options. Numbers are memcached's.
type TLSConfig struct {
	Enabled      bool   // -Z
	ChainCert    string // ssl_chain_cert: PEM certificate chain, leaf first
	Key          string // ssl_key; empty: the key is in the ssl_chain_cert file
	KeyFormat    int    // ssl_keyformat: 1 PEM (default), 2 DER (OpenSSL's SSL_FILETYPE_*)
	VerifyMode   int    // ssl_verify_mode: 0 none, 1 request, 2 require, 3 once
	CACert       string // ssl_ca_cert: PEM file of the CAs client certificates must chain to
	Ciphers      string // ssl_ciphers: OpenSSL cipher list (TLS 1.2 and below), see parseCiphers
	MinVersion   int    // ssl_min_version: 0 TLS 1.0, 1 TLS 1.1, 2 TLS 1.2 (default), 3 TLS 1.3
	SessionCache bool   // ssl_session_cache: allow session resumption
	WbufSize     int    // ssl_wbuf_size in bytes (the option is in KB): the largest write per TLS write call
	KernelTLS    bool   // ssl_kernel_tls: accepted; Go has no kernel TLS offload
}

// DefaultTLSConfig is memcached's ssl_init_settings.
func DefaultTLSConfig() TLSConfig {
	return TLSConfig{KeyFormat: keyFormatPEM, MinVersion: 2, WbufSize: 16 << 10}
}

const (
	keyFormatPEM = 1 // SSL_FILETYPE_PEM
	keyFormatDER = 2 // SSL_FILETYPE_ASN1

	// handshakeTimeout bounds a TLS handshake (or idle_timeout, when
	// shorter): a client that connects and never handshakes does not hold
	// its connection slot and goroutine for long.
	handshakeTimeout = 10 * time.Second

	// errMsgMax bounds the refresh_certs error reply, as memcached's
	// MAXPATHLEN + ERROR_MSG_SIZE + SSL_ERROR_MSG_SIZE buffer.
	errMsgMax = 4096 + 64 + 256 - 3
)

var tlsVersions = [...]uint16{tls.VersionTLS10, tls.VersionTLS11, tls.VersionTLS12, tls.VersionTLS13}

// verifyModeBits is ssl_verify_mode as OpenSSL flags, what memcached's
// `stats settings` prints: PEER 1, FAIL_IF_NO_PEER_CERT 2, CLIENT_ONCE 4.
var verifyModeBits = [...]int{0, 1, 3, 7}

// Go has no renegotiation on the server side, so "once" (OpenSSL's
// CLIENT_ONCE: not asked again on renegotiation) is "require".
var verifyModes = [...]tls.ClientAuthType{tls.NoClientCert, tls.VerifyClientCertIfGiven,
	tls.RequireAndVerifyClientCert, tls.RequireAndVerifyClientCert}

// tlsProtoText is memcached's ssl_proto_text.
func tlsProtoText(v uint16) string {
	switch v {
	case tls.VersionTLS10:
		return "tlsv1.0"
	case tls.VersionTLS11:
		return "tlsv1.1"
	case tls.VersionTLS12:
		return "tlsv1.2"
	case tls.VersionTLS13:
		return "tlsv1.3"
	}
	return "unknown"
}

// validate checks what memcached refuses at startup.
func (t *TLSConfig) validate(c *Config) error {
	for _, item := range c.Listen {
		for _, a := range strings.Split(item, ",") {
			if m, _ := splitTLSPrefix(strings.TrimSpace(a)); m != tlsUnset && !t.Enabled {
				return fmt.Errorf("'%s' option is valid only when SSL is enabled", tlsPrefixes[m])
			}
		}
	}
	switch {
	case t.VerifyMode < 0 || t.VerifyMode >= len(verifyModes):
		return mcErrorf("Invalid ssl_verify_mode. Use help to see valid options.")
	case t.MinVersion < 0 || t.MinVersion >= len(tlsVersions):
		return mcErrorf("Invalid ssl_min_version. Use help to see valid options.")
	case t.KeyFormat == 3:
		return errors.New("ssl_keyformat 3 (ENGINE) has no equivalent in Go's crypto/tls: use 1 (PEM) or 2 (DER)")
	case t.KeyFormat != keyFormatPEM && t.KeyFormat != keyFormatDER:
		return fmt.Errorf("invalid ssl_keyformat %d: use 1 (PEM) or 2 (DER)", t.KeyFormat)
	case t.WbufSize <= 0:
		return errors.New("could not parse argument to ssl_wbuf_size")
	case !t.Enabled:
		return nil
	case c.Port == 0 || c.UnixSocket != "":
		return mcErrorf("ERROR: You cannot enable SSL without a TCP port.")
	}
	if _, err := parseCiphers(t.Ciphers); err != nil {
		return err
	}
	return nil
}

// mcError is an error in memcached's words, byte for byte (capitalised and
// punctuated as memcached prints them): refresh_certs replies with it.
type mcError struct{ msg string }

func (e *mcError) Error() string { return e.msg }

func mcErrorf(format string, a ...any) error { return &mcError{fmt.Sprintf(format, a...)} }

// tlsMode is how a listener speaks: memcached's MC_SSL_* per listener.
type tlsMode uint8

const (
	tlsUnset   tlsMode = iota // no prefix: the -Z default
	tlsOff                    // notls: plaintext
	tlsDefault                // TLS with ssl_verify_mode
	tlsBasic                  // btls: TLS, client certificates never asked
	tlsPeer                   // mtls: TLS, a valid client certificate required
)

var tlsPrefixes = [...]string{tlsOff: "notls", tlsBasic: "btls", tlsPeer: "mtls"}

// splitTLSPrefix takes memcached's "notls:", "btls:" or "mtls:" off a -l
// address.
func splitTLSPrefix(a string) (tlsMode, string) {
	for _, m := range [...]tlsMode{tlsOff, tlsBasic, tlsPeer} {
		if rest, ok := strings.CutPrefix(a, tlsPrefixes[m]+":"); ok {
			return m, rest
		}
	}
	return tlsUnset, a
}

// tlsState is the server's TLS: the configurations new connections get,
// swapped whole by a reload, and the stats.
type tlsState struct {
	cfgs        atomic.Pointer[tlsConfigs]
	reload      sync.Mutex
	lastRefresh atomic.Int64 // unix seconds of the last successful load

	handshakeErrors, protoErrors, newSessions atomic.Uint64
}

// tlsConfigs are one load of the certificates, for each listener mode.
type tlsConfigs struct{ def, basic, peer *tls.Config }

func (c *tlsConfigs) forMode(m tlsMode) *tls.Config {
	switch m {
	case tlsBasic:
		return c.basic
	case tlsPeer:
		return c.peer
	}
	return c.def
}

// PlaintextTCPAddrs are the addresses of the TCP listeners that do not
// speak TLS: all of them without -Z, the notls: ones with it.
func (s *Server) PlaintextTCPAddrs() []net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]net.Addr(nil), s.plainTCP...)
}

// TLSEnabled reports -Z.
func (s *Server) TLSEnabled() bool { return s.cfg.TLS.Enabled }

// ReloadCerts rereads the certificate chain, key and CA file, as
// memcached's refresh_certs and SIGHUP: connections already open keep
// their session, new ones get the new certificates. On failure the old
// ones stay and the error says why, in memcached's words.
func (s *Server) ReloadCerts() error {
	if !s.cfg.TLS.Enabled {
		return mcErrorf("Error TLS not enabled")
	}
	s.tls.reload.Lock()
	defer s.tls.reload.Unlock()
	cfgs, err := s.cfg.TLS.load()
	if err != nil {
		return err
	}
	s.tls.cfgs.Store(cfgs)
	s.tls.lastRefresh.Store(time.Now().Unix())
	return nil
}

// load builds the TLS configurations from the files.
func (t *TLSConfig) load() (*tlsConfigs, error) {
	cert, err := t.loadKeyPair()
	if err != nil {
		return nil, err
	}
	// Without ssl_ca_cert no client certificate verifies, as in memcached
	// (OpenSSL's default verify paths are not loaded): not the system's.
	pool := x509.NewCertPool()
	if t.CACert != "" {
		b, err := os.ReadFile(t.CACert)
		if err == nil && !pool.AppendCertsFromPEM(b) {
			err = errors.New("no PEM certificate in it")
		}
		if err != nil {
			return nil, mcErrorf("Error loading the CA certificate: %s : %v", t.CACert, err)
		}
	}
	suites, err := parseCiphers(t.Ciphers)
	if err != nil {
		return nil, err
	}
	def := &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tlsVersions[t.MinVersion],
		CipherSuites: suites,
		ClientCAs:    pool,
		ClientAuth:   verifyModes[t.VerifyMode],
		// memcached turns OpenSSL's session cache off unless
		// ssl_session_cache; Go's resumption is by tickets.
		SessionTicketsDisabled: !t.SessionCache,
		// Full-size records from the start, as OpenSSL writes: Go's
		// small first records cost a syscall per 1.4 KB.
		DynamicRecordSizingDisabled: true,
	}
	basic, peer := def.Clone(), def.Clone()
	basic.ClientAuth = tls.NoClientCert
	peer.ClientAuth = tls.RequireAndVerifyClientCert
	return &tlsConfigs{def: def, basic: basic, peer: peer}, nil
}

// loadKeyPair reads ssl_chain_cert and ssl_key, with memcached's error
// texts (Go's reasons in place of OpenSSL's). Key material never appears
// in an error.
func (t *TLSConfig) loadKeyPair() (tls.Certificate, error) {
	var cert tls.Certificate
	chain, err := os.ReadFile(t.ChainCert)
	if err == nil {
		for rest := chain; ; {
			var b *pem.Block
			if b, rest = pem.Decode(rest); b == nil {
				break
			}
			if b.Type == "CERTIFICATE" {
				cert.Certificate = append(cert.Certificate, b.Bytes)
			}
		}
		if len(cert.Certificate) == 0 {
			err = errors.New("no PEM certificate in it")
		} else {
			cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0])
		}
	}
	if err != nil {
		return cert, mcErrorf("Error loading the certificate chain: %s : %v", t.ChainCert, err)
	}
	keyFile := t.Key
	if keyFile == "" {
		keyFile = t.ChainCert // "private key, if not part of the -ssl_chain_cert"
	}
	if cert.PrivateKey, err = readPrivateKey(keyFile, t.KeyFormat); err != nil {
		return cert, mcErrorf("Error loading the key: %s : %v", keyFile, err)
	}
	pub, ok := cert.PrivateKey.(crypto.Signer)
	if !ok {
		return cert, mcErrorf("Error validating the certificate: unsupported key type")
	}
	if eq, ok := cert.Leaf.PublicKey.(interface{ Equal(crypto.PublicKey) bool }); !ok || !eq.Equal(pub.Public()) {
		return cert, mcErrorf("Error validating the certificate: the private key does not match the certificate's public key")
	}
	return cert, nil
}

// readPrivateKey reads an unencrypted PKCS#1, PKCS#8 or SEC 1 key, PEM or DER.
func readPrivateKey(path string, format int) (crypto.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if format == keyFormatDER {
		return parsePrivateKey(b)
	}
	for rest := b; ; {
		var blk *pem.Block
		if blk, rest = pem.Decode(rest); blk == nil {
			return nil, errors.New("no PEM private key in it")
		}
		if !strings.HasSuffix(blk.Type, "PRIVATE KEY") {
			continue
		}
		if blk.Headers["Proc-Type"] != "" || blk.Type == "ENCRYPTED PRIVATE KEY" {
			return nil, errors.New("encrypted private keys are not supported")
		}
		return parsePrivateKey(blk.Bytes)
	}
}

func parsePrivateKey(der []byte) (crypto.PrivateKey, error) {
	if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return k, nil
	}
	if k, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		switch k.(type) {
		case *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey:
			return k, nil
		}
		return nil, errors.New("unsupported private key type")
	}
	if k, err := x509.ParseECPrivateKey(der); err == nil {
		return k, nil
	}
	return nil, errors.New("not a PKCS#1, PKCS#8 or SEC 1 private key")
}

// startTLS wraps an accepted connection of a TLS listener. The handshake
// runs on the connection's goroutine (handshake), not the accept loop's.
func (s *Server) startTLS(nc net.Conn, m tlsMode) net.Conn {
	if m == tlsOff || m == tlsUnset {
		return nc
	}
	return tls.Server(nc, s.tls.cfgs.Load().forMode(m))
}

// handshake completes a TLS connection's handshake within
// handshakeTimeout (or idle_timeout, when shorter); false when it failed
// and the connection must close. Plaintext connections pass at once.
func (c *conn) handshake() bool {
	tc, ok := c.nc.(*tls.Conn)
	if !ok {
		return true
	}
	d := handshakeTimeout
	if idle := c.s.cfg.IdleTimeout; idle > 0 && idle < d {
		d = idle
	}
	_ = c.nc.SetDeadline(time.Now().Add(d))
	if c.s.shutting.Load() { // after the deadline, so that Shutdown's wake is not lost
		return false
	}
	if err := tc.Handshake(); err != nil {
		c.s.tls.handshakeErrors.Add(1)
		if c.s.verbosity.Load() > 0 {
			c.s.log.Info("TLS handshake failed", zap.Stringer("remote", c.nc.RemoteAddr()), zap.Error(err))
		}
		return false
	}
	_ = c.nc.SetDeadline(time.Time{})
	st := tc.ConnectionState()
	if c.s.cfg.TLS.SessionCache && !st.DidResume {
		c.s.tls.newSessions.Add(1)
	}
	c.tlsVersion.Store(uint32(st.Version))
	return true
}

// tlsText is a TLS connection's line in `stats conns` (gocached's own;
// memcached shows no TLS there): its version, or "handshake".
func (c *conn) tlsText() (string, bool) {
	if _, ok := c.nc.(*tls.Conn); !ok {
		return "", false
	}
	if v := c.tlsVersion.Load(); v != 0 {
		return tlsProtoText(uint16(v)), true
	}
	return "handshake", true
}

// closeSocket closes the connection's socket at once: for TLS without the
// close_notify alert, which could wait on a client that stopped reading.
func (c *conn) closeSocket() {
	if tc, ok := c.nc.(*tls.Conn); ok {
		_ = tc.NetConn().Close()
		return
	}
	_ = c.nc.Close()
}

// noteTLSError counts a read or write error of a TLS connection that the
// TLS layer raised (a bad record, an alert), as memcached's
// ssl_proto_errors; socket errors, timeouts and EOF are not counted.
func (c *conn) noteTLSError(err error) {
	if c.tlsVersion.Load() != 0 && isTLSProtoError(err) {
		c.s.tls.protoErrors.Add(1)
	}
}

func isTLSProtoError(err error) bool {
	if err == nil || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || errors.Is(err, os.ErrDeadlineExceeded) {
		return false
	}
	if errors.Is(err, errNoReadBuf) || errors.Is(err, errReadBufGrow) {
		return false
	}
	var rh tls.RecordHeaderError
	if errors.As(err, &rh) {
		return true
	}
	var op *net.OpError
	if errors.As(err, &op) {
		// crypto/tls reports alerts it sends or receives as these.
		return op.Op == "local error" || op.Op == "remote error"
	}
	return true
}

// writeTLS writes b to a TLS connection at most ssl_wbuf_size bytes per
// TLS write, as memcached copies each write into its ssl_wbuf.
func (c *conn) writeTLS(b []byte) (int, error) {
	max := c.s.cfg.TLS.WbufSize
	n := 0
	for n < len(b) {
		end := min(len(b), n+max)
		m, err := c.nc.Write(b[n:end])
		n += m
		if err != nil {
			c.noteTLSError(err)
			return n, err
		}
	}
	return n, nil
}

// cmdRefreshCerts is the refresh_certs command: OK, or memcached's error
// text.
func (c *conn) cmdRefreshCerts() action {
	if err := c.s.ReloadCerts(); err != nil {
		msg := err.Error()
		if len(msg) > errMsgMax {
			msg = msg[:errMsgMax]
		}
		if c.s.cfg.TLS.Enabled {
			c.s.log.Warn("refresh_certs failed; keeping the old certificates", zap.Error(err))
		}
		c.out = append(c.out, msg...)
		c.out = append(c.out, "\r\n"...)
		return actMore
	}
	c.s.log.Info("refresh_certs: certificates reloaded")
	c.out = append(c.out, "OK\r\n"...)
	return actMore
}

// writeTLSStats are memcached's ssl_* lines of `stats`, with -Z.
func (s *Server) writeTLSStats(w *statWriter) {
	if !s.cfg.TLS.Enabled {
		return
	}
	if s.cfg.TLS.SessionCache {
		w.u("ssl_new_sessions", s.tls.newSessions.Load())
	}
	w.u("ssl_handshake_errors", s.tls.handshakeErrors.Load())
	w.u("ssl_proto_errors", s.tls.protoErrors.Load())
	w.i("time_since_server_cert_refresh", time.Now().Unix()-s.tls.lastRefresh.Load())
}

// collectTLS is the TLS part of /metrics: the figures of writeTLSStats
// and the open TLS connections by version, with -Z.
func (s *Server) collectTLS(e emitter) {
	if !s.cfg.TLS.Enabled {
		return
	}
	byVersion := map[string]int{}
	s.mu.Lock()
	for c := range s.conns {
		if v, ok := c.tlsText(); ok {
			byVersion[v]++
		}
	}
	s.mu.Unlock()
	for v, n := range byVersion {
		e.gauge("gocached_tls_connections", float64(n), v)
	}
	e.counter("gocached_tls_handshake_errors_total", float64(s.tls.handshakeErrors.Load()))
	e.counter("gocached_tls_proto_errors_total", float64(s.tls.protoErrors.Load()))
	if s.cfg.TLS.SessionCache {
		e.counter("gocached_tls_new_sessions_total", float64(s.tls.newSessions.Load()))
	}
	e.gauge("gocached_tls_cert_age_seconds", float64(time.Now().Unix()-s.tls.lastRefresh.Load()))
}

// writeTLSSettings are the ssl_* lines of `stats settings`, as a memcached
// built with TLS prints them, -Z or not.
func (s *Server) writeTLSSettings(w *statWriter) {
	t := &s.cfg.TLS
	orNull := func(v, null string) string {
		if v == "" {
			return null
		}
		return v
	}
	w.yesno("ssl_enabled", t.Enabled)
	w.str("ssl_chain_cert", orNull(t.ChainCert, "(null)")) // printf of a NULL %s
	w.str("ssl_key", orNull(t.Key, "(null)"))
	w.i("ssl_verify_mode", int64(verifyModeBits[t.VerifyMode]))
	w.i("ssl_keyformat", int64(t.KeyFormat))
	w.str("ssl_ciphers", orNull(t.Ciphers, "NULL"))
	w.str("ssl_ca_cert", orNull(t.CACert, "NULL"))
	w.i("ssl_wbuf_size", int64(t.WbufSize))
	w.yesno("ssl_session_cache", t.SessionCache)
	w.yesno("ssl_kernel_tls", t.KernelTLS)
	w.str("ssl_min_version", tlsProtoText(tlsVersions[t.MinVersion]))
}
