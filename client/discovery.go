package client

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// ClusterConfig is an answer to ElastiCache's "config get cluster": a
// version that grows whenever the node list changes, and the nodes.
type ClusterConfig struct {
	Version uint64
	Nodes   []ClusterNode
}

// ClusterNode is one "host|ip|port" entry; IP may be empty.
type ClusterNode struct {
	Host string
	IP   string
	Port int
}

// ParseClusterConfig parses the payload of a "CONFIG cluster" reply:
// "<version>\n<host>|<ip>|<port> <host>|<ip>|<port> ...\n".
func ParseClusterConfig(payload []byte) (*ClusterConfig, error) {
	text := strings.TrimRight(string(payload), "\r\n")
	verLine, nodeLine, _ := strings.Cut(text, "\n")
	v, err := strconv.ParseUint(strings.TrimSpace(verLine), 10, 64)
	if err != nil {
		return nil, fmt.Errorf("memcache: cluster config version %q", verLine)
	}
	cl := &ClusterConfig{Version: v}
	for _, f := range strings.Fields(nodeLine) {
		parts := strings.Split(f, "|")
		if len(parts) != 3 {
			return nil, fmt.Errorf("memcache: cluster config node %q", f)
		}
		port, err := strconv.Atoi(parts[2])
		if err != nil || port <= 0 || port > 65535 || (parts[0] == "" && parts[1] == "") {
			return nil, fmt.Errorf("memcache: cluster config node %q", f)
		}
		cl.Nodes = append(cl.Nodes, ClusterNode{Host: parts[0], IP: parts[1], Port: port})
	}
	return cl, nil
}

// nodes are the ring nodes: named by host (as ElastiCache's libmemcached
// client hashes them), by IP when there is no host.
func (cl *ClusterConfig) nodes() []Node {
	out := make([]Node, len(cl.Nodes))
	for i, n := range cl.Nodes {
		h := n.Host
		if h == "" {
			h = n.IP
		}
		out[i] = Node{Addr: net.JoinHostPort(h, strconv.Itoa(n.Port)), Weight: 1}
	}
	return out
}

// dialAddrs are where to connect: the IP when given, else the host.
func (cl *ClusterConfig) dialAddrs() []string {
	out := make([]string, len(cl.Nodes))
	for i, n := range cl.Nodes {
		h := n.IP
		if h == "" {
			h = n.Host
		}
		out[i] = net.JoinHostPort(h, strconv.Itoa(n.Port))
	}
	return out
}

// staticAddrs dials each configured node at its name.
func staticAddrs(nodes []Node) []string {
	out := make([]string, len(nodes))
	for i, n := range nodes {
		out[i] = n.Addr
	}
	return out
}

// readClusterConfig sends "config get cluster" on rw and reads the
// "CONFIG cluster <flags> <bytes>\r\n<payload>\r\nEND\r\n" answer.
func readClusterConfig(w io.Writer, r *bufio.Reader) (*ClusterConfig, error) {
	if _, err := io.WriteString(w, "config get cluster\r\n"); err != nil {
		return nil, err
	}
	line, err := r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	f := strings.Fields(line)
	if len(f) != 4 || f[0] != "CONFIG" || f[1] != "cluster" {
		return nil, fmt.Errorf("memcache: config get cluster: %q", strings.TrimSpace(line))
	}
	n, err := strconv.Atoi(f[3])
	if err != nil || n < 0 || n > 1<<20 {
		return nil, fmt.Errorf("memcache: config get cluster: %q", strings.TrimSpace(line))
	}
	buf := make([]byte, n+2)
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, err
	}
	if !bytes.HasSuffix(buf, []byte("\r\n")) {
		return nil, fmt.Errorf("memcache: config get cluster: payload not terminated")
	}
	if end, err := r.ReadString('\n'); err != nil || end != "END\r\n" {
		return nil, fmt.Errorf("memcache: config get cluster: %q after payload (%v)", end, err)
	}
	return ParseClusterConfig(buf[:n])
}

// fetchClusterConfig asks the server named name, at addr, for the
// cluster config on a connection of its own.
func (c *Client) fetchClusterConfig(ctx context.Context, name, addr string) (*ClusterConfig, error) {
	nc, err := c.dialServer(ctx, name, addr)
	if err != nil {
		return nil, &NodeError{Addr: name, Op: "dial", Err: err}
	}
	defer nc.Close()
	d := time.Now().Add(c.cfg.ReadTimeout + c.cfg.WriteTimeout)
	if cd, ok := ctx.Deadline(); ok && cd.Before(d) {
		d = cd
	}
	_ = nc.SetDeadline(d)
	cl, err := readClusterConfig(nc, bufio.NewReader(nc))
	if err != nil {
		return nil, &NodeError{Addr: name, Op: "config get cluster", Err: err}
	}
	return cl, nil
}

// Refresh asks the configuration endpoint (or, failing it, each server in
// turn) for the cluster config and installs the new server list when its
// version differs from the current one. It reports whether the list
// changed.
func (c *Client) Refresh(ctx context.Context) (bool, error) {
	if c.cfg.ConfigEndpoint == "" {
		return false, errors.New("memcache: no configuration endpoint")
	}
	cl, err := c.fetchClusterConfig(ctx, c.cfg.ConfigEndpoint, c.cfg.ConfigEndpoint)
	if err != nil {
		errs := []error{err}
		for _, n := range c.state.Load().live {
			if cl, err = c.fetchClusterConfig(ctx, n.name, n.addr); err == nil {
				break
			}
			errs = append(errs, err)
		}
		if cl == nil {
			return false, errors.Join(errs...)
		}
	}
	if c.closing.Load() || cl.Version == c.state.Load().version {
		return false, nil
	}
	c.setNodes(cl.nodes(), cl.dialAddrs(), cl.Version)
	return true, nil
}

// startRefresh polls the cluster config every RefreshInterval.
func (c *Client) startRefresh() {
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		t := time.NewTicker(c.cfg.RefreshInterval)
		defer t.Stop()
		for {
			select {
			case <-c.done:
				return
			case <-t.C:
				ctx, cancel := context.WithTimeout(context.Background(), c.cfg.DialTimeout+c.cfg.ReadTimeout+c.cfg.WriteTimeout)
				_, _ = c.Refresh(ctx)
				cancel()
			}
		}
	}()
}
