package main

import (
	"errors"
	"strconv"

	"github.com/gocached/gocached/server"
	"github.com/urfave/cli/v2"
	"go.uber.org/zap"
)

// memcached's TLS flags: -Z and the -o ssl_* options (server/tls.go).

func tlsFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "enable-ssl", Aliases: []string{"Z"}, Usage: "enable TLS on the TCP listeners (-o ssl_*); -l notls:ADDR serves plaintext beside them, btls:ADDR never asks client certificates, mtls:ADDR requires one"},
	}
}

// applyTLSFlags sets what the TLS flags (not -o) say.
func applyTLSFlags(c *cli.Context, cfg *server.Config) { cfg.TLS.Enabled = c.Bool("enable-ssl") }

// tlsOptions are memcached's -o ssl_* options, with its error texts.
var tlsOptions = map[string]extendedOption{
	"ssl_chain_cert": {apply: pathOpt("ssl_chain_cert", func(c *server.Config, v string) { c.TLS.ChainCert = v }),
		help: "certificate chain file in PEM format"},
	"ssl_key": {apply: pathOpt("ssl_key", func(c *server.Config, v string) { c.TLS.Key = v }),
		help: "private key, if not part of the -ssl_chain_cert"},
	"ssl_keyformat": {apply: numOpt("ssl_keyformat", func(c *server.Config, n int) { c.TLS.KeyFormat = n }),
		help: "private key format: 1 PEM (default), 2 DER (memcached's 3, ENGINE, has no Go equivalent)"},
	"ssl_verify_mode": {apply: numOpt("ssl_verify_mode", func(c *server.Config, n int) { c.TLS.VerifyMode = n }),
		help: "client certificates: 0 none (default), 1 request, 2 require, 3 once"},
	"ssl_ciphers": {apply: pathOpt("ssl_ciphers", func(c *server.Config, v string) { c.TLS.Ciphers = v }),
		help: "OpenSSL cipher list for TLS 1.2 and below, mapped onto Go's suites (README: TLS)"},
	"ssl_ca_cert": {apply: pathOpt("ssl_ca_cert", func(c *server.Config, v string) { c.TLS.CACert = v }),
		help: "PEM format file of acceptable client CA's"},
	"ssl_wbuf_size": {apply: numOpt("ssl_wbuf_size", func(c *server.Config, n int) { c.TLS.WbufSize = n * 1024 }),
		help: "size in kilobytes of the largest TLS write (default: 16)"},
	"ssl_session_cache": {apply: noValue(func(c *server.Config) { c.TLS.SessionCache = true }),
		help: "enable TLS session resumption (Go: session tickets)"},
	"ssl_kernel_tls": {apply: noValue(func(c *server.Config) { c.TLS.KernelTLS = true }),
		help: "accepted, no effect: Go has no kernel TLS offload", ignored: true},
	"ssl_min_version": {apply: numOpt("ssl_min_version", func(c *server.Config, n int) { c.TLS.MinVersion = n }),
		help: "minimum protocol version: 0 tlsv1.0, 1 tlsv1.1, 2 tlsv1.2 (default), 3 tlsv1.3"},
}

func init() {
	for k, v := range tlsOptions {
		extendedOptions[k] = v
	}
}

// pathOpt sets a string option that must not be empty.
func pathOpt(name string, set func(*server.Config, string)) func(*server.Config, string) error {
	return func(cfg *server.Config, v string) error {
		if v == "" {
			return errors.New("Missing " + name + " argument")
		}
		set(cfg, v)
		return nil
	}
}

// numOpt sets a non-negative number option.
func numOpt(name string, set func(*server.Config, int)) func(*server.Config, string) error {
	return func(cfg *server.Config, v string) error {
		if v == "" {
			return errors.New("Missing " + name + " argument")
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return errors.New("could not parse argument to " + name)
		}
		set(cfg, n)
		return nil
	}
}

// reloadCerts is SIGHUP's certificate reload, with -Z.
func reloadCerts(srv *server.Server, log *zap.Logger) {
	if !srv.TLSEnabled() {
		return
	}
	if err := srv.ReloadCerts(); err != nil {
		log.Warn("SIGHUP: could not reload the TLS certificates; keeping the old ones", zap.Error(err))
		return
	}
	log.Info("SIGHUP: TLS certificates reloaded")
}
