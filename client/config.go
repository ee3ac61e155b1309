package client

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"
)

// Config configures a Client. Zero values take the defaults named on
// each field.
type Config struct {
	// Servers are "host:port" addresses, in ring order. The ring hashes
	// these strings as written (see Node). Empty when ConfigEndpoint is
	// used.
	Servers []string
	// Weights, when set, has one relative weight per server (default 1).
	Weights []int
	// Distribution is DistKetama (default) or DistModulo.
	Distribution Distribution

	// DialTimeout bounds connecting to a server (default 1s).
	DialTimeout time.Duration
	// ReadTimeout and WriteTimeout bound each request's reply and each
	// request's write (default 1s each). A context deadline that comes
	// sooner wins.
	ReadTimeout  time.Duration
	WriteTimeout time.Duration
	// MaxIdleConns is the number of idle connections kept per server
	// (default 4).
	MaxIdleConns int
	// MaxOpenConns caps connections per server, idle and busy; callers
	// wait for one (bounded by their context). 0 means no cap.
	MaxOpenConns int

	// FailureLimit is how many consecutive failures eject a server from
	// the ring (default 2, twemproxy's server_failure_limit); a negative
	// value never ejects. With ketama only the ejected server's keys move
	// (to the next points on the ring); with DistModulo the shorter list
	// moves most keys, so -1 may suit it better.
	FailureLimit int
	// RetryTimeout is how long an ejected server stays out before it is
	// probed; it rejoins the ring once it answers (default 2s,
	// libmemcached's retry_timeout).
	RetryTimeout time.Duration

	// LoadLease is how long GetOrLoad's placeholder for a missing key
	// lives, bounding how long a crashed loader blocks others (default
	// 30s). LoadWait is how long a GetOrLoad caller waits for another's
	// load before it runs the loader itself (default 2s).
	LoadLease time.Duration
	LoadWait  time.Duration

	// NearCache, when non-nil, enables the in-process near cache.
	NearCache *NearCacheConfig

	// ConfigEndpoint, when set, is an ElastiCache-style configuration
	// endpoint ("host:port"): the server list comes from its answer to
	// "config get cluster" and is refreshed every RefreshInterval
	// (default 60s, as AWS's cluster clients).
	ConfigEndpoint  string
	RefreshInterval time.Duration

	// DialContext, when set, replaces net.Dialer's (e.g. for a proxy).
	// With TLS set, the handshake runs over the connections it returns.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)

	// TLS, when set, makes every connection TLS: to the servers and to
	// the configuration endpoint (ElastiCache's in-transit encryption,
	// gocached's and memcached's -Z). When its ServerName is empty, each
	// server is verified against the host of its ring name: with auto
	// discovery that is the node's host name, though the connection goes
	// to its IP. The handshake is part of the dial, bounded by
	// DialTimeout; a failed handshake is a dial error (NodeError).
	TLS *tls.Config
}

func (c *Config) withDefaults() (Config, error) {
	cfg := *c
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.DialTimeout, time.Second)
	def(&cfg.ReadTimeout, time.Second)
	def(&cfg.WriteTimeout, time.Second)
	def(&cfg.RetryTimeout, 2*time.Second)
	def(&cfg.LoadLease, 30*time.Second)
	def(&cfg.LoadWait, 2*time.Second)
	def(&cfg.RefreshInterval, time.Minute)
	if cfg.MaxIdleConns <= 0 {
		cfg.MaxIdleConns = 4
	}
	if cfg.MaxOpenConns < 0 {
		cfg.MaxOpenConns = 0
	}
	if cfg.MaxOpenConns > 0 && cfg.MaxIdleConns > cfg.MaxOpenConns {
		cfg.MaxIdleConns = cfg.MaxOpenConns
	}
	if cfg.FailureLimit == 0 {
		cfg.FailureLimit = 2
	}
	if len(cfg.Weights) != 0 && len(cfg.Weights) != len(cfg.Servers) {
		return cfg, fmt.Errorf("memcache: %d weights for %d servers", len(cfg.Weights), len(cfg.Servers))
	}
	if len(cfg.Servers) == 0 && cfg.ConfigEndpoint == "" {
		return cfg, errors.New("memcache: no servers and no configuration endpoint")
	}
	if cfg.DialContext == nil {
		d := &net.Dialer{KeepAlive: 30 * time.Second}
		cfg.DialContext = d.DialContext
	}
	return cfg, nil
}

// nodes returns the configured servers as ring nodes.
func (c *Config) nodes() []Node {
	out := make([]Node, len(c.Servers))
	for i, s := range c.Servers {
		out[i] = Node{Addr: s, Weight: 1}
		if len(c.Weights) > 0 {
			out[i].Weight = c.Weights[i]
		}
	}
	return out
}
