package server

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gocached/gocached/protocol"
)

// ClusterConfig is the node list the daemon hands to ElastiCache-style
// auto-discovery clients in answer to "config get cluster", with a
// version that grows by one whenever the list changes. The list comes
// from the command line or from a file that is read again whenever it
// changes. A file may start with a line holding only the version (the
// payload format of the reply itself): then that version is served as
// is, so that every node reading a copy of the file answers the same.
// Config.Cluster points at one; nil means the command is unknown, as in
// memcached.
type ClusterConfig struct {
	mu      sync.Mutex
	file    string // "" for a fixed list
	nodes   string // canonical "host|ip|port ..." line, sorted by host
	version uint64
	modTime time.Time
	size    int64
}

// NewClusterConfig reads spec: "@FILE" (reread when it changes), or a
// node list of "host|ip|port" or "host:port" entries separated by commas
// or spaces. The version starts at 1.
func NewClusterConfig(spec string) (*ClusterConfig, error) {
	cc := &ClusterConfig{}
	if file, ok := strings.CutPrefix(spec, "@"); ok {
		cc.file = file
		if err := cc.reload(); err != nil {
			return nil, err
		}
		return cc, nil
	}
	if err := cc.Set(spec); err != nil {
		return nil, err
	}
	return cc, nil
}

// Set replaces the node list; the version grows if it differs.
func (cc *ClusterConfig) Set(list string) error { return cc.set(0, list) }

// set replaces the node list with an explicit version, or (version 0)
// bumps the version if the list differs.
func (cc *ClusterConfig) set(version uint64, list string) error {
	nodes, err := parseClusterNodes(list)
	if err != nil {
		return err
	}
	cc.mu.Lock()
	defer cc.mu.Unlock()
	switch {
	case version != 0:
		cc.nodes, cc.version = nodes, version
	case cc.version == 0 || nodes != cc.nodes:
		cc.nodes = nodes
		cc.version++
	}
	return nil
}

// Version is the current version of the list.
func (cc *ClusterConfig) Version() uint64 {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	return cc.version
}

// parseClusterNodes turns a list into the canonical line.
func parseClusterNodes(list string) (string, error) {
	fields := strings.FieldsFunc(list, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' || r == '\r' })
	type entry struct{ host, ip, port string }
	var out []entry
	for _, f := range fields {
		var e entry
		if parts := strings.Split(f, "|"); len(parts) == 3 {
			e = entry{parts[0], parts[1], parts[2]}
		} else if h, p, err := net.SplitHostPort(f); err == nil {
			e = entry{host: h, port: p}
			if net.ParseIP(h) != nil {
				e.ip = h
			}
		} else {
			return "", fmt.Errorf("cluster node %q: want host|ip|port or host:port", f)
		}
		if n, err := strconv.Atoi(e.port); err != nil || n <= 0 || n > 65535 || (e.host == "" && e.ip == "") {
			return "", fmt.Errorf("cluster node %q: bad host or port", f)
		}
		if e.host == "" {
			e.host = e.ip
		}
		out = append(out, e)
	}
	if len(out) == 0 {
		return "", errors.New("cluster node list is empty")
	}
	// ElastiCache lists the nodes sorted by host name.
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].host != out[j].host {
			return out[i].host < out[j].host
		}
		return out[i].port < out[j].port
	})
	var b strings.Builder
	for i, e := range out {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(e.host + "|" + e.ip + "|" + e.port)
	}
	return b.String(), nil
}

// reload reads the file again if its size or modification time changed.
func (cc *ClusterConfig) reload() error {
	st, err := os.Stat(cc.file)
	if err != nil {
		return err
	}
	cc.mu.Lock()
	same := cc.version != 0 && st.ModTime().Equal(cc.modTime) && st.Size() == cc.size
	cc.mu.Unlock()
	if same {
		return nil
	}
	b, err := os.ReadFile(cc.file)
	if err != nil {
		return err
	}
	text, version := string(b), uint64(0)
	if first, rest, ok := strings.Cut(text, "\n"); ok {
		if v, err := strconv.ParseUint(strings.TrimSpace(first), 10, 64); err == nil && v > 0 {
			text, version = rest, v
		}
	}
	if err := cc.set(version, text); err != nil {
		return fmt.Errorf("%s: %w", cc.file, err)
	}
	cc.mu.Lock()
	cc.modTime, cc.size = st.ModTime(), st.Size()
	cc.mu.Unlock()
	return nil
}

// appendReply appends the "config get cluster" reply:
// "CONFIG cluster 0 <bytes>\r\n<version>\n<nodes>\n\r\nEND\r\n".
func (cc *ClusterConfig) appendReply(dst []byte) []byte {
	if cc.file != "" {
		// A failed reread keeps serving the last good list.
		_ = cc.reload()
	}
	cc.mu.Lock()
	payload := strconv.FormatUint(cc.version, 10) + "\n" + cc.nodes + "\n"
	cc.mu.Unlock()
	dst = append(dst, "CONFIG cluster 0 "...)
	dst = strconv.AppendInt(dst, int64(len(payload)), 10)
	dst = append(dst, "\r\n"...)
	dst = append(dst, payload...)
	return append(dst, "\r\nEND\r\n"...)
}

// cmdConfig answers "config get cluster" when a cluster config is set;
// anything else, or no cluster config, is an unknown command (ERROR).
func (c *conn) cmdConfig(t *protocol.Tokens) action {
	cc := c.s.cfg.Cluster
	if cc == nil || t.N != 3 || string(t.T[1]) != "get" || string(t.T[2]) != "cluster" {
		c.out = append(c.out, protocol.Error...)
		return actMore
	}
	c.out = cc.appendReply(c.out)
	return actMore
}
