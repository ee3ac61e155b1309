package main

import (
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/gocached/gocached/server"
	"go.uber.org/zap"
)

// Safe defaults at start: what the daemon says, once, about how exposed
// it is. It warns; it does not refuse, as memcached starts the same way.
// (README: Security.)

// exposureWarning is the one warning line for plaintext TCP listeners
// reachable beyond loopback while no authentication (-S, -Y) is on; ""
// when there are none.
func exposureWarning(plain []net.Addr, auth bool) string {
	if auth {
		return ""
	}
	var open []string
	for _, a := range plain {
		if beyondLoopback(a) {
			open = append(open, a.String())
		}
	}
	if len(open) == 0 {
		return ""
	}
	return "listening beyond loopback with neither TLS nor authentication on " + strings.Join(open, ", ") +
		": anyone who can reach it can read, change and flush the cache; bind to loopback (-l 127.0.0.1), " +
		"or enable TLS (-Z) or authentication (-Y, -S) (README: Security)"
}

// beyondLoopback reports whether a TCP listener at a is reachable from
// other hosts: bound to the unspecified address or to one not in
// 127.0.0.0/8 or ::1.
func beyondLoopback(a net.Addr) bool {
	ta, ok := a.(*net.TCPAddr)
	return ok && !ta.IP.IsLoopback()
}

// secretFile is a file the flags name that holds passwords or a key.
type secretFile struct{ what, path string }

// secretFiles are cfg's password and private key files.
func secretFiles(cfg *server.Config) []secretFile {
	var out []secretFile
	if cfg.AuthFile != "" {
		out = append(out, secretFile{"-Y password file", cfg.AuthFile})
	}
	if cfg.SASL && cfg.SASLPassFile != "" {
		out = append(out, secretFile{"SASL password file", cfg.SASLPassFile})
	}
	if cfg.TLS.Enabled {
		switch {
		case cfg.TLS.Key != "":
			out = append(out, secretFile{"ssl_key", cfg.TLS.Key})
		case cfg.TLS.ChainCert != "":
			out = append(out, secretFile{"ssl_chain_cert (it holds the key)", cfg.TLS.ChainCert})
		}
	}
	return out
}

// permissionWarnings are one line per secret file that its group or
// other users may read. They name the file and its mode, never what is in
// it.
func permissionWarnings(files []secretFile) []string {
	var out []string
	for _, f := range files {
		fi, err := os.Stat(f.path)
		if err != nil {
			continue // the server already said it cannot read it
		}
		if perm := fi.Mode().Perm(); perm&0o044 != 0 {
			out = append(out, fmt.Sprintf("%s %s is readable by its group or by other users (mode %04o): chmod 600 it", f.what, f.path, perm))
		}
	}
	return out
}

// warnUnsafe logs the start's safety warnings.
func warnUnsafe(log *zap.Logger, cfg *server.Config, srv *server.Server) {
	for _, w := range permissionWarnings(secretFiles(cfg)) {
		log.Warn(w)
	}
	if w := exposureWarning(srv.PlaintextTCPAddrs(), cfg.SASL || cfg.AuthFile != ""); w != "" {
		log.Warn(w)
	}
}
