package bench

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"time"
)

// dial opens one connection to the target: TCP, then, when the target
// has a TLS config, the handshake, both within timeout. The server name
// to verify is the address's host unless the config names one.
func (t *Target) dial(timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", t.Addr)
	if err != nil || t.TLS == nil {
		return nc, err
	}
	cfg := t.TLS
	if cfg.ServerName == "" {
		if host, _, err := net.SplitHostPort(t.Addr); err == nil {
			cfg = cfg.Clone()
			cfg.ServerName = host
		}
	}
	tc := tls.Client(nc, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		nc.Close()
		return nil, err
	}
	return tc, nil
}

// isTLSAlert reports whether err is an alert the TLS peer sent: with TLS
// 1.3 a refused client certificate is seen on the first read.
func isTLSAlert(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe) && oe.Op == "remote error"
}

// tlsVersion names the TLS version of nc ("TLS 1.3"), "" when plaintext.
func tlsVersion(nc net.Conn) string {
	if tc, ok := nc.(*tls.Conn); ok {
		return tls.VersionName(tc.ConnectionState().Version)
	}
	return ""
}
