//go:build interop

package interop

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	gcclient "github.com/gocached/gocached/client"
)

// ringScenario is one node list of the golden ring vectors in
// client/testdata/ring/<name>.tsv.
type ringScenario struct {
	name  string
	about string
	nodes []gcclient.Node
	keys  int
}

func nodesOf(weight int, addrs ...string) []gcclient.Node {
	out := make([]gcclient.Node, len(addrs))
	for i, a := range addrs {
		out[i] = gcclient.Node{Addr: a, Weight: weight}
	}
	return out
}

func seqNodes(n int, format string, first int) []gcclient.Node {
	var addrs []string
	for i := 0; i < n; i++ {
		addrs = append(addrs, fmt.Sprintf(format, first+i))
	}
	return nodesOf(1, addrs...)
}

// ringScenarios are the node lists of the golden vectors: the port-11211
// naming ("host-i") and the host:port naming, a node added to each, the
// weighted list of libmemcached's own ketama fixture, a list where the
// float32 point count gives 156 points instead of 160, and mixed names.
var ringScenarios = []ringScenario{
	{"port11211-3", "three nodes on port 11211 (points hash \"host-i\")",
		seqNodes(3, "10.0.1.%d:11211", 1), 1000},
	{"port11211-4", "port11211-3 plus a fourth node",
		seqNodes(4, "10.0.1.%d:11211", 1), 1000},
	{"ports-3", "three nodes on other ports (points hash \"host:port-i\")",
		seqNodes(3, "127.0.0.1:%d", 31211), 1000},
	{"ports-4", "ports-3 plus a fourth node",
		seqNodes(4, "127.0.0.1:%d", 31211), 1000},
	{"weighted-8", "libmemcached's test/fixtures/ketama.hpp servers and weights",
		[]gcclient.Node{{Addr: "10.0.1.1:11211", Weight: 600}, {Addr: "10.0.1.2:11211", Weight: 300},
			{Addr: "10.0.1.3:11211", Weight: 200}, {Addr: "10.0.1.4:11211", Weight: 350},
			{Addr: "10.0.1.5:11211", Weight: 1000}, {Addr: "10.0.1.6:11211", Weight: 800},
			{Addr: "10.0.1.7:11211", Weight: 950}, {Addr: "10.0.1.8:11211", Weight: 100}}, 1000},
	{"weighted-ports-3", "weights 1, 2, 3 on ports other than 11211",
		[]gcclient.Node{{Addr: "127.0.0.1:31211", Weight: 1}, {Addr: "127.0.0.1:31212", Weight: 2},
			{Addr: "127.0.0.1:31213", Weight: 3}}, 1000},
	{"quirk-25", "25 equal nodes: float32 gives each 156 points, not 160",
		seqNodes(25, "10.0.2.%d:11211", 1), 2000},
	{"mixed-names", "hostnames and addresses, 11211 and other ports",
		nodesOf(1, "cache-a.example.com:11211", "cache-b.example.com:11212", "localhost:11211",
			"127.0.0.1:11211", "127.0.0.1:22122"), 1000},
	{"single", "one node: every key maps to it", seqNodes(1, "10.0.3.%d:11211", 1), 100},
}

const ringColumns = "# columns: key, node by libmemcached 1.1.4 (MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED), node by nutcracker 0.5.0 (hash: md5, distribution: ketama)"

// TestRingVectors asks libmemcached and nutcracker where every key of
// every scenario lives, requires both to agree with each other and with
// client.Ketama, and compares with the stored vectors (RING_UPDATE=1
// rewrites them).
func TestRingVectors(t *testing.T) {
	tool := libmemcachedTool(t)
	update := os.Getenv("RING_UPDATE") == "1"
	for _, sc := range ringScenarios {
		t.Run(sc.name, func(t *testing.T) {
			keys := ringKeys(sc.keys)
			lm := libmemcachedMap(t, tool, sc.nodes, keys)
			nc := nutcrackerMap(t, sc.nodes, keys)
			ring := gcclient.NewKetama(sc.nodes)
			var file strings.Builder
			fmt.Fprintf(&file, "# %s: %s\n# servers:", sc.name, sc.about)
			for _, n := range sc.nodes {
				fmt.Fprintf(&file, " %s:%d", n.Addr, n.Weight)
			}
			file.WriteString("\n" + ringColumns + "\n")
			bad := 0
			for i, k := range keys {
				goNode := sc.nodes[ring.Pick(k)].Addr
				if lm[i] != nc[i] || lm[i] != goNode {
					if bad++; bad <= 10 {
						t.Errorf("key %q: libmemcached %s, nutcracker %s, client.Ketama %s", k, lm[i], nc[i], goNode)
					}
				}
				fmt.Fprintf(&file, "%s\t%s\t%s\n", k, lm[i], nc[i])
			}
			if bad > 0 {
				t.Fatalf("%d of %d keys disagree", bad, len(keys))
			}
			path := filepath.Join("..", "client", "testdata", "ring", sc.name+".tsv")
			if update {
				if err := os.WriteFile(path, []byte(file.String()), 0o644); err != nil {
					t.Fatal(err)
				}
				t.Logf("wrote %s (%d keys)", path, len(keys))
				return
			}
			stored, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (RING_UPDATE=1 writes it)", err)
			}
			if string(stored) != file.String() {
				t.Fatalf("%s differs from what the tools answer now (RING_UPDATE=1 rewrites it)", path)
			}
			t.Logf("%d keys: libmemcached, nutcracker, client.Ketama and %s agree", len(keys), path)
		})
	}
}

// TestRingNutcrackerUnnamed checks nutcracker's own node naming, with no
// node names: a backend on 127.0.0.1:11211 (hashed "127.0.0.1-i") among
// backends on other ports, against libmemcached and client.Ketama. It
// needs port 11211 free on 127.0.0.1 and skips otherwise.
func TestRingNutcrackerUnnamed(t *testing.T) {
	tool := libmemcachedTool(t)
	backs := inProcessBackends(t, 3)
	default11211 := portBackend(t, 11211)
	if default11211 != nil {
		backs[0] = *default11211
	} else {
		t.Log("127.0.0.1:11211 is busy: checking the host:port naming only")
	}
	var nodes []gcclient.Node
	var lines []nutcrackerLine
	for i, b := range backs {
		nodes = append(nodes, gcclient.Node{Addr: b.addr, Weight: i + 1})
		lines = append(lines, nutcrackerLine{addr: b.addr, weight: i + 1})
	}
	keys := ringKeys(600)
	p := startNutcracker(t, lines, 0)
	setAll(t, p.addr, keys, "y")
	owner := map[string]string{}
	for _, b := range backs {
		for k := range present(t, b.addr, keys) {
			owner[k] = b.addr
		}
	}
	lm := libmemcachedMap(t, tool, nodes, keys)
	ring := gcclient.NewKetama(nodes)
	for i, k := range keys {
		if goNode := nodes[ring.Pick(k)].Addr; owner[k] != lm[i] || goNode != lm[i] {
			t.Fatalf("key %q: nutcracker %s, libmemcached %s, client.Ketama %s", k, owner[k], lm[i], goNode)
		}
	}
	t.Logf("%d keys over %v: nutcracker, libmemcached and client.Ketama agree", len(keys), nodes)
}

// portBackend starts an in-process backend on 127.0.0.1:port, or returns
// nil when the port is taken.
func portBackend(t *testing.T, port int) *backend {
	t.Helper()
	l, err := netListen("127.0.0.1:" + strconv.Itoa(port))
	if err != nil {
		return nil
	}
	l.Close()
	b := inProcessBackendAt(t, port)
	return b
}
