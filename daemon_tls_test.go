package main

import (
	"crypto/tls"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gocached/gocached/internal/testcerts"
	"github.com/gocached/gocached/server"
	"github.com/urfave/cli/v2"
)

// TestTLSFlags: -Z and -o ssl_* set the server's TLS config, with
// memcached's error texts.
func TestTLSFlags(t *testing.T) {
	tests := []struct {
		args    []string
		want    string // fmt of server.TLSConfig
		wantErr string
	}{
		{nil, fmt.Sprint(server.DefaultTLSConfig()), ""},
		{[]string{"-Z", "-o", "ssl_chain_cert=/c.pem,ssl_key=/k.pem,ssl_ca_cert=/ca.pem", "-o", "ssl_verify_mode=2,ssl_min_version=3,ssl_wbuf_size=64,ssl_session_cache,ssl_keyformat=2,ssl_ciphers=ECDHE+AESGCM"},
			fmt.Sprint(server.TLSConfig{Enabled: true, ChainCert: "/c.pem", Key: "/k.pem", KeyFormat: 2, VerifyMode: 2, CACert: "/ca.pem",
				Ciphers: "ECDHE+AESGCM", MinVersion: 3, SessionCache: true, WbufSize: 64 << 10}), ""},
		{[]string{"--enable-ssl", "-o", "ssl_kernel_tls"}, fmt.Sprint(server.TLSConfig{Enabled: true, KeyFormat: 1, MinVersion: 2, WbufSize: 16 << 10, KernelTLS: true}), ""},
		{[]string{"-o", "ssl_chain_cert="}, "", "Missing ssl_chain_cert argument"},
		{[]string{"-o", "ssl_verify_mode=x"}, "", "could not parse argument to ssl_verify_mode"},
		{[]string{"-o", "ssl_verify_mode=5"}, "", "Invalid ssl_verify_mode. Use help to see valid options."},
		{[]string{"-o", "ssl_min_version=9"}, "", "Invalid ssl_min_version. Use help to see valid options."},
		{[]string{"-o", "ssl_wbuf_size=-1"}, "", "could not parse argument to ssl_wbuf_size"},
		{[]string{"-l", "notls:127.0.0.1:1"}, "", "'notls' option is valid only when SSL is enabled"},
		{[]string{"-Z", "-o", "ssl_ciphers=RC4-MD5"}, "", "Error setting the provided cipher(s): RC4-MD5"},
	}
	for _, tc := range tests {
		var got string
		app := newApp()
		app.Action = func(c *cli.Context) error {
			cfg, _, err := configFrom(c)
			got = fmt.Sprint(cfg.TLS)
			return err
		}
		err := app.Run(append([]string{"gocached"}, tc.args...))
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%v: error %v, want %q", tc.args, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%v:\n got %s (%v)\nwant %s", tc.args, got, err, tc.want)
		}
	}
}

// TestSIGHUPReloadsCerts: SIGHUP reloads the TLS certificates for new
// connections, an open one keeps its session, and a broken file keeps
// the certificates already loaded.
func TestSIGHUPReloadsCerts(t *testing.T) {
	dir := t.TempDir()
	ca, err := testcerts.NewCA("test CA")
	if err != nil {
		t.Fatal(err)
	}
	chain, key := filepath.Join(dir, "chain.pem"), filepath.Join(dir, "key.pem")
	issue := func(ou string) {
		p, err := ca.Issue("localhost", ou, false)
		if err != nil {
			t.Fatal(err)
		}
		if err := testcerts.Write(chain, p.CertPEM); err != nil {
			t.Fatal(err)
		}
		if err := testcerts.Write(key, p.KeyPEM); err != nil {
			t.Fatal(err)
		}
	}
	issue("first")
	port, done := startDaemon(t, "-Z", "-o", "ssl_chain_cert="+chain+",ssl_key="+key)
	cfg := &tls.Config{RootCAs: ca.Pool(), ServerName: "localhost"}
	connect := func() (*tls.Conn, string) {
		tc, err := tls.Dial("tcp", "127.0.0.1:"+port, cfg)
		if err != nil {
			t.Fatal(err)
		}
		return tc, tc.ConnectionState().PeerCertificates[0].Subject.OrganizationalUnit[0]
	}
	hup := func() {
		if err := syscall.Kill(syscall.Getpid(), syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond) // the signal is handled asynchronously
	}
	old, ou := connect()
	defer old.Close()
	if ou != "first" {
		t.Fatalf("OU %q", ou)
	}
	issue("second")
	hup()
	if c, ou := connect(); ou != "second" {
		t.Errorf("after SIGHUP a new client got OU %q", ou)
	} else {
		c.Close()
	}
	if err := os.WriteFile(chain, []byte("broken"), 0o600); err != nil {
		t.Fatal(err)
	}
	hup()
	if c, ou := connect(); ou != "second" {
		t.Errorf("after a failed reload a new client got OU %q", ou)
	} else {
		c.Close()
	}
	_ = old.SetDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 64)
	if _, err := old.Write([]byte("version\r\n")); err != nil {
		t.Fatal(err)
	}
	if n, _ := old.Read(buf); string(buf[:n]) != "VERSION 1.6.45\r\n" {
		t.Errorf("the connection opened before the reloads: %q", buf[:n])
	}
	old.Close()
	stopDaemon(t, port, done)
}
