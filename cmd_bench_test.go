package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gocached/gocached/bench"
	"github.com/gocached/gocached/internal/servertest"
	"github.com/gocached/gocached/internal/testcerts"
	"github.com/gocached/gocached/server"
)

// TestBenchTLS: `gocached bench` with the --tls flags runs a bounded load
// (-n ops) against an in-process -Z server that requires client
// certificates, and reports the TLS version; without the right flags it
// cannot connect.
func TestBenchTLS(t *testing.T) {
	dir := t.TempDir()
	f, err := testcerts.WriteFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	clientCert, clientKey := filepath.Join(dir, "client.pem"), filepath.Join(dir, "client.key")
	for path, b := range map[string][]byte{clientCert: f.Client.CertPEM, clientKey: f.Client.KeyPEM} {
		if err := testcerts.Write(path, b); err != nil {
			t.Fatal(err)
		}
	}
	addr := servertest.Addr(servertest.Start(t, func(c *server.Config) {
		c.TLS.Enabled, c.TLS.ChainCert, c.TLS.Key = true, f.Chain, f.Key
		c.TLS.VerifyMode, c.TLS.CACert = 2, f.CAFile
	}))
	tests := []struct {
		name    string
		flags   []string
		wantErr string // "" = the run succeeds
		skip    string // with a successful run: why the report says the server was skipped
	}{
		{"CA and client certificate", []string{"--tls", "--tls-ca", f.CAFile, "--tls-cert", clientCert, "--tls-key", clientKey}, "", ""},
		{"flags imply --tls", []string{"--tls-ca", f.CAFile, "--tls-cert", clientCert, "--tls-key", clientKey, "-P", "meta"}, "", ""},
		{"insecure", []string{"--tls-insecure", "--tls-cert", clientCert, "--tls-key", clientKey}, "", ""},
		{"no client certificate", []string{"--tls", "--tls-ca", f.CAFile}, "certificate required", ""},
		{"system CAs", []string{"--tls", "--tls-cert", clientCert, "--tls-key", clientKey}, "certificate signed by unknown authority", ""},
		{"plaintext", nil, "", "text protocol probe failed: EOF"},
		{"key without cert", []string{"--tls-key", clientKey}, "--tls-key needs --tls-cert", ""},
		{"not a CA file", []string{"--tls-ca", clientKey}, "no PEM certificate", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "report.json")
			args := append([]string{"gocached", "bench", "--server", addr, "-n", "3000", "-c", "2", "--pipeline", "4",
				"--keys", "200", "--prefill", "--verify", "--timeout", "5s", "--out", out}, tc.flags...)
			err := newApp().Run(args)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want one with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			var rep bench.Report
			if err := json.Unmarshal(b, &rep); err != nil {
				t.Fatal(err)
			}
			r := rep.Servers[0]
			if tc.skip != "" {
				if r.Unsupported != tc.skip || r.Ops != 0 {
					t.Fatalf("skipped %q after %d ops, want %q", r.Unsupported, r.Ops, tc.skip)
				}
				return
			}
			if r.TLS != "TLS 1.3" || r.Ops != 3000 || r.ErrorCount != 0 || r.BadValues != 0 || r.HitRatio != 1 || r.Unsupported != "" {
				t.Fatalf("tls %q, %d ops, errors %v, %d bad values, hit ratio %v, unsupported %q",
					r.TLS, r.Ops, r.Errors, r.BadValues, r.HitRatio, r.Unsupported)
			}
		})
	}
}
