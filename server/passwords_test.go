package server

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestPasswordFile(t *testing.T) {
	p, err := loadPasswords(writePassFile(t, "# comment\n\n  \nalice:secret\r\nbob:pa:ss\ncarol:\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		user, pass string
		ok         bool
	}{
		{"alice", "secret", true},
		{"alice", "secret\r", false},
		{"alice", "secre", false},
		{"alice", "secrets", false},
		{"bob", "pa:ss", true},
		{"bob", "pa", false},
		{"carol", "", true},
		{"dave", "", false},
		{"", "", false},
		{"# comment", "", false},
	} {
		if got := p.check([]byte(tc.user), []byte(tc.pass)); got != tc.ok {
			t.Errorf("check(%q, %q) = %v, want %v", tc.user, tc.pass, got, tc.ok)
		}
	}
	if _, ok := p.checkPlain([]byte(plain("", "carol", ""))); ok {
		t.Error("PLAIN with an empty password accepted")
	}
	for _, bad := range []string{"nocolon\n", ":nouser\n", "alice:x\nnocolon\n"} {
		if _, err := loadPasswords(writePassFile(t, bad)); err == nil || !strings.Contains(err.Error(), "not user:password") {
			t.Errorf("password file %q: error %v", bad, err)
		}
	}
	if _, err := loadPasswords(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("missing password file accepted")
	}
}

// The daemon refuses to start on a password file it cannot use.
func TestPasswordFileAtStart(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  func(*Config)
		err  string
	}{
		{"-S without a file", func(c *Config) { c.SASL = true }, "SASL needs a password file"},
		{"-S bad file", func(c *Config) { c.SASL = true; c.SASLPassFile = writePassFile(t, "nocolon\n") }, "SASL password file"},
		{"-Y empty file", func(c *Config) { c.AuthFile = writePassFile(t, "# nobody\n") }, "no users"},
		{"-Y bad file", func(c *Config) { c.AuthFile = writePassFile(t, ":pw\n") }, "not user:password"},
	} {
		cfg := DefaultConfig()
		tc.set(&cfg)
		s, err := New(cfg, nil)
		if err == nil {
			s.store.Close()
			t.Errorf("%s: accepted", tc.name)
		} else if !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.err)
		}
	}
}
