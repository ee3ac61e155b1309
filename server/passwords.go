package server

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"os"
)

// passwords are the user:password pairs of a password file, the one format
// that both ascii authentication (-Y) and SASL PLAIN (-S, memcached's
// MEMCACHED_SASL_PWDB) read. Passwords are kept only as SHA-256 digests,
// compared in constant time, and never logged.
type passwords struct {
	users map[string][sha256.Size]byte
}

// loadPasswords reads one user:password per line (the password is
// everything after the first colon, a trailing CR dropped); blank lines
// and lines starting with # are skipped.
func loadPasswords(path string) (*passwords, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	p := &passwords{users: map[string][sha256.Size]byte{}}
	lines := bufio.NewScanner(f)
	for n := 1; lines.Scan(); n++ {
		line := bytes.TrimRight(lines.Bytes(), "\r")
		if len(bytes.TrimSpace(line)) == 0 || line[0] == '#' {
			continue
		}
		user, pass, ok := bytes.Cut(line, []byte(":"))
		if !ok || len(user) == 0 {
			return nil, fmt.Errorf("%s:%d: not user:password", path, n)
		}
		p.users[string(user)] = sha256.Sum256(pass)
	}
	if err := lines.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// check reports whether user's password is pass. The time it takes does
// not depend on the password, nor on whether the user exists.
func (p *passwords) check(user, pass []byte) bool {
	want, known := p.users[string(user)]
	got := sha256.Sum256(pass)
	same := subtle.ConstantTimeCompare(got[:], want[:]) == 1
	return known && same
}
