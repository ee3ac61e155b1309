package client

import (
	"context"
	"crypto/tls"
	"net"
)

// dialServer connects to addr for the server named name (its ring name,
// or the configuration endpoint): DialContext, then, with Config.TLS, the
// TLS handshake, all within DialTimeout.
func (c *Client) dialServer(ctx context.Context, name, addr string) (net.Conn, error) {
	dctx, cancel := context.WithTimeout(ctx, c.cfg.DialTimeout)
	defer cancel()
	nc, err := c.cfg.DialContext(dctx, "tcp", addr)
	if err != nil || c.cfg.TLS == nil {
		return nc, err
	}
	tc := tls.Client(nc, tlsConfigFor(c.cfg.TLS, name))
	if err := tc.HandshakeContext(dctx); err != nil {
		nc.Close()
		return nil, err
	}
	return tc, nil
}

// tlsConfigFor is base with ServerName set to name's host when base has
// none, as tls.Dialer derives it from the address.
func tlsConfigFor(base *tls.Config, name string) *tls.Config {
	if base.ServerName != "" {
		return base
	}
	host, _, err := net.SplitHostPort(name)
	if err != nil {
		host = name
	}
	cfg := base.Clone()
	cfg.ServerName = host
	return cfg
}
