package client

import "testing"

// TestModuloVectors: Modulo puts every key where gomemcache's ServerList
// does (testdata/modulo, made by testdata/gen/gomemcache_modulo).
func TestModuloVectors(t *testing.T) {
	for _, v := range loadVectors(t, "testdata/modulo/*.tsv", 1) {
		t.Run(v.name, func(t *testing.T) {
			m := NewModulo(v.nodes)
			for i, k := range v.keys {
				if got := v.nodes[m.Pick(k)].Addr; got != v.lm[i] {
					t.Fatalf("key %q: got %s, gomemcache %s", k, got, v.lm[i])
				}
			}
			if len(v.keys) != 1000 {
				t.Fatalf("%d keys, want 1000", len(v.keys))
			}
		})
	}
}

func TestModuloLongKey(t *testing.T) {
	// gomemcache hashes only the first 256 bytes.
	m := NewModulo([]Node{{Addr: "a:1"}, {Addr: "b:1"}, {Addr: "c:1"}})
	long := string(make([]byte, 300))
	if m.Pick(long) != m.Pick(long[:256]) {
		t.Error("bytes past 256 changed the pick")
	}
}
