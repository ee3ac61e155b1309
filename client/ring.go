package client

import (
	"crypto/md5"
	"encoding/binary"
	"math"
	"net"
	"sort"
	"strconv"
)

// Node is one server as the ring sees it: its name and relative weight.
type Node struct {
	// Addr is "host:port" exactly as configured: the ring hashes the host
	// string, never a resolved address, so "localhost:11211" and
	// "127.0.0.1:11211" are different nodes (as in libmemcached).
	Addr   string
	Weight int // relative weight; 0 or less counts as 1
}

// PointsPerServer is ketama's point count per server of average weight:
// 40 MD5 digests of 4 points each.
const PointsPerServer = 160

// Ketama is the consistent-hash ring of libmemcached's
// MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED and twemproxy's md5/ketama pool:
//
//   - each node gets floor(pct*160/4*n + 1e-10)*4 points, computed in
//     float32 as the C code does (so 25 equal nodes get 156 points each);
//   - point i/4 hashes the name "host-i" when the port is 11211 and
//     "host:port-i" otherwise; each MD5 digest gives four points, the
//     little-endian uint32s of its four quarters;
//   - a key hashes to the little-endian uint32 of its MD5's first four
//     bytes and belongs to the first point at or after that hash, wrapping
//     to the first point.
type Ketama struct {
	points []ketamaPoint // sorted by (hash, node)
	nodes  int           // nodes with points
}

type ketamaPoint struct {
	hash uint32
	node uint32 // index into the nodes given to NewKetama
}

// NewKetama builds the ring of nodes; Pick returns indexes into nodes.
func NewKetama(nodes []Node) *Ketama {
	var total uint64
	for _, n := range nodes {
		total += uint64(nodeWeight(n.Weight))
	}
	k := &Ketama{}
	if len(nodes) == 0 {
		return k
	}
	live := float32(len(nodes))
	for i, n := range nodes {
		per := ketamaPointCount(nodeWeight(n.Weight), total, live)
		if per > 0 {
			k.nodes++
		}
		k.addPoints(i, ketamaName(n.Addr), per)
	}
	k.sortPoints()
	return k
}

// addPoints adds per points of node i, hashed from "<name>-<d>" for
// d = 0 .. per/4-1, four points per MD5 digest.
func (k *Ketama) addPoints(i int, name string, per uint32) {
	buf := make([]byte, 0, len(name)+12)
	for d := uint32(0); d < per/4; d++ {
		buf = append(buf[:0], name...)
		buf = append(buf, '-')
		buf = strconv.AppendUint(buf, uint64(d), 10)
		sum := md5.Sum(buf)
		for q := 0; q < 4; q++ {
			k.points = append(k.points, ketamaPoint{
				hash: binary.LittleEndian.Uint32(sum[4*q:]),
				node: uint32(i),
			})
		}
	}
}

// sortPoints orders the points by hash, ties by node index (libmemcached's
// continuum_item_cmp; twemproxy leaves ties to qsort).
func (k *Ketama) sortPoints() {
	sort.Slice(k.points, func(a, b int) bool {
		pa, pb := k.points[a], k.points[b]
		if pa.hash != pb.hash {
			return pa.hash < pb.hash
		}
		return pa.node < pb.node
	})
}

func nodeWeight(w int) uint32 {
	if w <= 0 {
		return 1
	}
	return uint32(w)
}

// ketamaPointCount is libmemcached's (and twemproxy's) expression
//
//	pct = (float)weight / (float)total_weight;
//	floorf(pct * 160 / 4 * (float)live + 0.0000000001) * 4
//
// evaluated step by step in float32; the explicit conversions keep Go
// from fusing the multiply and add, which would change the rounding.
func ketamaPointCount(weight uint32, total uint64, live float32) uint32 {
	pct := float32(weight) / float32(total)
	x := float32(pct * PointsPerServer)
	x = float32(x / 4)
	x = float32(x * live)
	x = float32(x + 0.0000000001)
	return uint32(math.Floor(float64(x))) * 4
}

// ketamaName is the string a node's points are hashed from, before "-i":
// the host alone on port 11211, host:port otherwise.
func ketamaName(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr // no port: libmemcached's default, 11211
	}
	if port == "11211" {
		return host
	}
	return host + ":" + port
}

// KeyHash is the ring's key hash: the first four bytes of MD5(key),
// little-endian (libhashkit's and twemproxy's "md5").
func KeyHash(key string) uint32 {
	var buf [256]byte
	var sum [md5.Size]byte
	if len(key) <= len(buf) {
		n := copy(buf[:], key)
		sum = md5.Sum(buf[:n])
	} else {
		sum = md5.Sum([]byte(key))
	}
	return binary.LittleEndian.Uint32(sum[:4])
}

// Pick returns the index of the node key belongs to, or -1 for an empty
// ring. With one node it is always 0 (libmemcached skips the hash then).
func (k *Ketama) Pick(key string) int {
	switch {
	case len(k.points) == 0:
		return -1
	case k.nodes == 1:
		return int(k.points[0].node) // no need to hash
	}
	return k.pickHash(KeyHash(key))
}

func (k *Ketama) pickHash(h uint32) int {
	pts := k.points
	// Lower bound: the first point with hash >= h.
	lo, hi := 0, len(pts)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if pts[m].hash < h {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo == len(pts) {
		lo = 0
	}
	return int(pts[lo].node)
}

// Points is the number of points on the ring.
func (k *Ketama) Points() int { return len(k.points) }
