package client

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gocached/gocached/internal/testcerts"
	"github.com/gocached/gocached/server"
)

func newTLSCerts(t testing.TB) *testcerts.Files {
	t.Helper()
	f, err := testcerts.WriteFiles(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// startTLSNode starts a node with -Z and these certificates;
// verifyMode is ssl_verify_mode (2: client certificates required).
func startTLSNode(t testing.TB, c *testcerts.Files, verifyMode int, cluster *server.ClusterConfig) *testNode {
	return startNodeWith(t, func(cfg *server.Config) {
		cfg.TLS.Enabled = true
		cfg.TLS.ChainCert, cfg.TLS.Key = c.Chain, c.Key
		if verifyMode != 0 {
			cfg.TLS.VerifyMode, cfg.TLS.CACert = verifyMode, c.CAFile
		}
		cfg.Cluster = cluster
	})
}

// TestTLSSetGet: with Config.TLS the client stores and reads values over
// TLS (verifying the server against the CA and its IP); a plaintext
// client gets nothing from the same port.
func TestTLSSetGet(t *testing.T) {
	certs := newTLSCerts(t)
	n := startTLSNode(t, certs, 0, nil)
	ctx := ctxT(t)
	for _, v := range []struct {
		name string
		max  uint16
	}{{"TLS1.2", tls.VersionTLS12}, {"TLS1.3", tls.VersionTLS13}} {
		t.Run(v.name, func(t *testing.T) {
			var mu sync.Mutex
			var versions []uint16
			cfg := &tls.Config{RootCAs: certs.CA.Pool(), MaxVersion: v.max, VerifyConnection: func(cs tls.ConnectionState) error {
				mu.Lock()
				versions = append(versions, cs.Version)
				mu.Unlock()
				return nil
			}}
			c := newClient(t, Config{Servers: []string{n.addr}, TLS: cfg})
			for i := 0; i < 20; i++ {
				k := v.name + strconv.Itoa(i)
				if err := c.Set(ctx, &Item{Key: k, Value: []byte(strings.Repeat(k, i*100))}); err != nil {
					t.Fatal(err)
				}
				it, err := c.Get(ctx, k)
				if err != nil || string(it.Value) != strings.Repeat(k, i*100) {
					t.Fatalf("get %q: %v", k, err)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if len(versions) == 0 || slices.IndexFunc(versions, func(x uint16) bool { return x != v.max }) >= 0 {
				t.Fatalf("negotiated versions %x, want only %x", versions, v.max)
			}
		})
	}
	plain := newClient(t, Config{Servers: []string{n.addr}, ReadTimeout: 500 * time.Millisecond, FailureLimit: -1})
	if _, err := plain.Get(ctx, "TLS1.20"); err == nil || errors.Is(err, ErrCacheMiss) {
		t.Fatalf("plaintext get from a TLS port: %v, want a connection error", err)
	}
}

// TestTLSDiscovery: auto discovery over TLS. The endpoint is asked over
// TLS and verified as 127.0.0.1; the nodes it lists are dialled at their
// IP but verified against their host name, as ElastiCache's certificates
// name hosts.
func TestTLSDiscovery(t *testing.T) {
	certs := newTLSCerts(t)
	cc, err := server.NewClusterConfig("localhost|127.0.0.1|1")
	if err != nil {
		t.Fatal(err)
	}
	n := startTLSNode(t, certs, 0, cc)
	if err := cc.Set("localhost|127.0.0.1|" + strconv.Itoa(n.port)); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[string]int{}
	cfg := &tls.Config{RootCAs: certs.CA.Pool(), VerifyConnection: func(cs tls.ConnectionState) error {
		mu.Lock()
		seen[cs.ServerName]++
		mu.Unlock()
		return nil
	}}
	c := newClient(t, Config{ConfigEndpoint: n.addr, RefreshInterval: time.Hour, TLS: cfg})
	srv := c.Servers()
	if len(srv) != 1 || srv[0].Addr != "localhost:"+strconv.Itoa(n.port) || srv[0].DialAddr != n.addr {
		t.Fatalf("discovered %+v", srv)
	}
	ctx := ctxT(t)
	if err := c.Set(ctx, &Item{Key: "k", Value: []byte("over TLS")}); err != nil {
		t.Fatal(err)
	}
	if it, err := c.Get(ctx, "k"); err != nil || string(it.Value) != "over TLS" {
		t.Fatalf("get: %v", err)
	}
	if _, err := c.Refresh(ctx); err != nil {
		t.Fatalf("refresh over TLS: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	// An IP address is verified as such but sent as no server name.
	if seen[""] != 2 || seen["localhost"] == 0 || len(seen) != 2 {
		t.Fatalf("server names sent %v: want none twice (the endpoint's IP), localhost (the node)", seen)
	}
	// A plaintext discovery client cannot read the TLS endpoint.
	if _, err := New(Config{ConfigEndpoint: n.addr, ReadTimeout: 500 * time.Millisecond}); err == nil {
		t.Fatal("plaintext discovery from a TLS endpoint succeeded")
	}
}

// TestTLSHandshakeFailure: a server the client cannot verify is a dial
// error carrying the certificate error, for requests and for discovery.
func TestTLSHandshakeFailure(t *testing.T) {
	certs := newTLSCerts(t)
	n := startTLSNode(t, certs, 0, nil)
	other, err := testcerts.NewCA("another CA")
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t)
	for _, tc := range []struct {
		name string
		cfg  *tls.Config
		want func(error) bool
	}{
		{"unknown CA", &tls.Config{RootCAs: other.Pool()}, func(err error) bool {
			var ua x509.UnknownAuthorityError
			return errors.As(err, &ua)
		}},
		{"wrong name", &tls.Config{RootCAs: certs.CA.Pool(), ServerName: "cache.example.com"}, func(err error) bool {
			var he x509.HostnameError
			return errors.As(err, &he)
		}},
		{"TLS 1.1 refused", &tls.Config{RootCAs: certs.CA.Pool(), MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}, func(err error) bool {
			return strings.Contains(err.Error(), "protocol version")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClient(t, Config{Servers: []string{n.addr}, TLS: tc.cfg})
			err := c.Set(ctx, &Item{Key: "k", Value: []byte("v")})
			var ne *NodeError
			if !errors.As(err, &ne) || ne.Op != "dial" || !errors.Is(err, ErrServerDown) || !tc.want(err) {
				t.Fatalf("set: %v (%T), want a dial NodeError with the handshake's cause", err, err)
			}
			if _, err := New(Config{ConfigEndpoint: n.addr, TLS: tc.cfg}); !errors.As(err, &ne) || ne.Op != "dial" || !tc.want(err) {
				t.Fatalf("discovery: %v, want a dial NodeError with the handshake's cause", err)
			}
		})
	}
}

// TestTLSClientCertificate: against ssl_verify_mode=2 (require) the client
// with a certificate from the CA is served; without one, or with one from
// another CA, its requests fail.
func TestTLSClientCertificate(t *testing.T) {
	certs := newTLSCerts(t)
	n := startTLSNode(t, certs, 2, nil)
	ctx := ctxT(t)
	for _, tc := range []struct {
		name  string
		certs []tls.Certificate
		ok    bool
	}{
		{"CA's client certificate", []tls.Certificate{certs.Client.TLS}, true},
		{"no certificate", nil, false},
		{"another CA's certificate", []tls.Certificate{certs.Stranger.TLS}, false},
	} {
		for _, max := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
			t.Run(tc.name+"/"+tls.VersionName(max), func(t *testing.T) {
				cfg := &tls.Config{RootCAs: certs.CA.Pool(), Certificates: tc.certs, MaxVersion: max}
				c := newClient(t, Config{Servers: []string{n.addr}, TLS: cfg, FailureLimit: -1})
				err := c.Set(ctx, &Item{Key: "m", Value: []byte("tls")})
				if tc.ok {
					if err != nil {
						t.Fatal(err)
					}
					if it, err := c.Get(ctx, "m"); err != nil || string(it.Value) != "tls" {
						t.Fatalf("get: %v", err)
					}
					return
				}
				// TLS 1.2 fails the handshake; TLS 1.3 finishes the client's
				// side first and reads the server's alert with the reply.
				if err == nil || !errors.Is(err, ErrServerDown) || !strings.Contains(err.Error(), "tls: ") {
					t.Fatalf("set without an accepted certificate: %v, want the server's TLS alert", err)
				}
			})
		}
	}
}
