package client

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// ringVectors is one file of testdata/ring: a node list and, per key, the
// node libmemcached 1.1.4 and nutcracker 0.5.0 chose (interop/ring_test.go
// regenerates them from the live tools).
type ringVectors struct {
	name  string
	nodes []Node
	keys  []string
	lm    []string // libmemcached's node per key
	nc    []string // nutcracker's node per key
}

func loadRingVectors(t testing.TB) []ringVectors {
	return loadVectors(t, "testdata/ring/*.tsv", 2)
}

// loadVectors reads vector files: "# " header lines (one of them
// "# servers: host:port:weight ..."), then lines of key and cols nodes,
// tab-separated. Keys may start with '#': only the leading lines are
// headers.
func loadVectors(t testing.TB, pattern string, cols int) []ringVectors {
	t.Helper()
	files, err := filepath.Glob(pattern)
	if err != nil || len(files) == 0 {
		t.Fatalf("no vectors match %s: %v", pattern, err)
	}
	var out []ringVectors
	for _, f := range files {
		v := ringVectors{name: strings.TrimSuffix(filepath.Base(f), ".tsv")}
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		header := true
		for sc.Scan() {
			line := sc.Text()
			if header && strings.HasPrefix(line, "# ") {
				if rest, ok := strings.CutPrefix(line, "# servers: "); ok {
					for _, s := range strings.Fields(rest) {
						i := strings.LastIndexByte(s, ':')
						w, err := strconv.Atoi(s[i+1:])
						if err != nil {
							t.Fatalf("%s: server %q", f, s)
						}
						v.nodes = append(v.nodes, Node{Addr: s[:i], Weight: w})
					}
				}
				continue
			}
			header = false
			fields := strings.Split(line, "\t")
			if len(fields) != 1+cols {
				t.Fatalf("%s: line %q", f, line)
			}
			v.keys = append(v.keys, fields[0])
			v.lm = append(v.lm, fields[1])
			if cols > 1 {
				v.nc = append(v.nc, fields[2])
			}
		}
		fh.Close()
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
		if len(v.nodes) == 0 || len(v.keys) == 0 {
			t.Fatalf("%s: no servers or no keys", f)
		}
		out = append(out, v)
	}
	return out
}

// TestKetamaVectors: client.Ketama puts every key of every stored vector
// where libmemcached and nutcracker put it.
func TestKetamaVectors(t *testing.T) {
	for _, v := range loadRingVectors(t) {
		t.Run(v.name, func(t *testing.T) {
			ring := NewKetama(v.nodes)
			bad := 0
			for i, k := range v.keys {
				got := v.nodes[ring.Pick(k)].Addr
				if got != v.lm[i] || got != v.nc[i] {
					if bad++; bad <= 5 {
						t.Errorf("key %q: got %s, libmemcached %s, nutcracker %s", k, got, v.lm[i], v.nc[i])
					}
				}
			}
			if bad > 0 {
				t.Fatalf("%d of %d keys misplaced", bad, len(v.keys))
			}
		})
	}
}

// TestKetamaVectorsAreSensitive shows the vectors catch each rule of the
// ring: naming every node host:port (original libketama), 160 points
// regardless of the float32 quirk, and ignoring weights each misplace keys.
func TestKetamaVectorsAreSensitive(t *testing.T) {
	vs := map[string]ringVectors{}
	for _, v := range loadRingVectors(t) {
		vs[v.name] = v
	}
	misplaced := func(v ringVectors, pick func(string) int) int {
		n := 0
		for i, k := range v.keys {
			if v.nodes[pick(k)].Addr != v.lm[i] {
				n++
			}
		}
		return n
	}
	// libketama names "host:port-i" even on 11211.
	v := vs["port11211-3"]
	if n := misplaced(v, withNames(v.nodes, func(a string) string { return a }).Pick); n < len(v.keys)/4 {
		t.Errorf("host:port naming on 11211 misplaces only %d keys", n)
	}
	// 160 points for 25 nodes instead of 156.
	v = vs["quirk-25"]
	if got := NewKetama(v.nodes).Points(); got != 25*156 {
		t.Errorf("25 equal nodes: %d points, want %d", got, 25*156)
	}
	if n := misplaced(v, fixedPoints(v.nodes, 160).Pick); n == 0 {
		t.Error("160 points per node place the quirk-25 keys exactly like 156")
	}
	// Weights matter.
	v = vs["weighted-8"]
	flat := make([]Node, len(v.nodes))
	for i, n := range v.nodes {
		flat[i] = Node{Addr: n.Addr, Weight: 1}
	}
	if n := misplaced(v, NewKetama(flat).Pick); n < len(v.keys)/10 {
		t.Errorf("ignoring weights misplaces only %d keys", n)
	}
}

// withNames builds a ketama ring whose point names come from name(addr)
// instead of the libmemcached rule (test helper for the negative checks).
func withNames(nodes []Node, name func(string) string) *Ketama {
	k := &Ketama{}
	total := uint64(0)
	for _, n := range nodes {
		total += uint64(nodeWeight(n.Weight))
	}
	for i, n := range nodes {
		per := ketamaPointCount(nodeWeight(n.Weight), total, float32(len(nodes)))
		k.addPoints(i, name(n.Addr), per)
	}
	k.sortPoints()
	return k
}

// fixedPoints builds a ring giving every node exactly per points.
func fixedPoints(nodes []Node, per uint32) *Ketama {
	k := &Ketama{}
	for i, n := range nodes {
		k.addPoints(i, ketamaName(n.Addr), per)
	}
	k.sortPoints()
	return k
}

// TestKetamaNodeAdded: going from 3 to 4 nodes, every key that moves
// moves to the new node, in both naming styles, and the share moved is
// the new node's share of the ring.
func TestKetamaNodeAdded(t *testing.T) {
	vs := map[string]ringVectors{}
	for _, v := range loadRingVectors(t) {
		vs[v.name] = v
	}
	for _, pair := range [][2]string{{"port11211-3", "port11211-4"}, {"ports-3", "ports-4"}} {
		a, b := vs[pair[0]], vs[pair[1]]
		newNode := b.nodes[len(b.nodes)-1].Addr
		moved := 0
		for i := range a.keys {
			if a.keys[i] != b.keys[i] {
				t.Fatalf("%s and %s have different keys", pair[0], pair[1])
			}
			if a.lm[i] != b.lm[i] {
				moved++
				if b.lm[i] != newNode {
					t.Errorf("%s -> %s: key %q moved from %s to %s, not to the new node", pair[0], pair[1], a.keys[i], a.lm[i], b.lm[i])
				}
			}
		}
		share := float64(moved) / float64(len(a.keys))
		t.Logf("%s -> %s: %.1f%% of keys moved, all to %s", pair[0], pair[1], 100*share, newNode)
		if share < 0.15 || share > 0.35 {
			t.Errorf("%s -> %s: %.1f%% moved, want about 25%%", pair[0], pair[1], 100*share)
		}
	}
}

func TestKetamaPointCount(t *testing.T) {
	short := map[int]bool{25: true, 47: true, 50: true, 55: true, 61: true, 71: true, 94: true, 100: true,
		107: true, 109: true, 110: true, 115: true, 122: true, 142: true, 159: true, 163: true, 188: true,
		193: true, 200: true}
	for n := 1; n <= 200; n++ {
		want := uint32(160)
		if short[n] {
			want = 156
		}
		if got := ketamaPointCount(1, uint64(n), float32(n)); got != want {
			t.Errorf("%d equal nodes: %d points each, want %d", n, got, want)
		}
	}
}

func TestKetamaName(t *testing.T) {
	for _, tc := range []struct{ addr, want string }{
		{"10.0.1.1:11211", "10.0.1.1"},
		{"10.0.1.1:11212", "10.0.1.1:11212"},
		{"localhost:11211", "localhost"},
		{"cache.example.com", "cache.example.com"},
		{"[::1]:11212", "::1:11212"},
	} {
		if got := ketamaName(tc.addr); got != tc.want {
			t.Errorf("ketamaName(%q) = %q, want %q", tc.addr, got, tc.want)
		}
	}
}

func TestKetamaEmptyAndSingle(t *testing.T) {
	if got := NewKetama(nil).Pick("x"); got != -1 {
		t.Errorf("empty ring picked %d", got)
	}
	one := NewKetama([]Node{{Addr: "a:1"}})
	for _, k := range []string{"a", "b", "VDEAAAAA"} {
		if got := one.Pick(k); got != 0 {
			t.Errorf("single node ring picked %d for %q", got, k)
		}
	}
}

func TestKeyHash(t *testing.T) {
	// Values printed by libmemcached's memcached_generate_hash_value(MD5).
	for _, tc := range []struct {
		key  string
		want uint32
	}{{"VDEAAAAA", 0xfffcd1b5}, {"foo", 0xdb18bdac}, {"bar", 0x191db537}} {
		if got := KeyHash(tc.key); got != tc.want {
			t.Errorf("KeyHash(%q) = %08x, want %08x", tc.key, got, tc.want)
		}
	}
}

func BenchmarkKetamaPick(b *testing.B) {
	ring := NewKetama([]Node{{Addr: "10.0.0.1:11211"}, {Addr: "10.0.0.2:11211"}, {Addr: "10.0.0.3:11211"}})
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		ring.Pick("user:12345:profile")
	}
}
