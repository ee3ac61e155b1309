package client

import (
	"testing"
	"time"
)

// TestNearCache: hits after the first read, bounded staleness for other
// writers' updates (TTL), immediate invalidation by this client's own
// writes, and counters.
func TestNearCache(t *testing.T) {
	n := startNode(t)
	ttl := time.Second
	c := newClient(t, Config{Servers: []string{n.addr}, NearCache: &NearCacheConfig{MaxBytes: 1 << 20, TTL: ttl}})
	other := newClient(t, Config{Servers: []string{n.addr}})
	ctx := ctxT(t)
	get := func(k string) string {
		t.Helper()
		it, err := c.Get(ctx, k)
		if err != nil {
			t.Fatalf("get %s: %v", k, err)
		}
		return string(it.Value)
	}
	if err := c.Set(ctx, &Item{Key: "k", Value: []byte("v1"), Flags: 7}); err != nil {
		t.Fatal(err)
	}
	get("k") // miss: fetched and kept
	c.near.cache.Wait()
	before := c.NearCacheStats()
	it, err := c.Get(ctx, "k")
	if err != nil || string(it.Value) != "v1" || it.Flags != 7 {
		t.Fatalf("near hit: %+v %v", it, err)
	}
	it.Value[0] = 'X' // the caller's copy
	if s := c.NearCacheStats(); s.Hits != before.Hits+1 {
		t.Fatalf("stats %+v after a hit, before %+v", s, before)
	}
	if v := get("k"); v != "v1" {
		t.Fatalf("near value changed by a caller: %q", v)
	}
	// Another client's write is seen after at most TTL.
	if err := other.Set(ctx, &Item{Key: "k", Value: []byte("v2")}); err != nil {
		t.Fatal(err)
	}
	if v := get("k"); v != "v1" {
		t.Fatalf("within TTL: %q (want the near copy v1)", v)
	}
	time.Sleep(ttl + 50*time.Millisecond)
	if v := get("k"); v != "v2" {
		t.Fatalf("after TTL: %q", v)
	}
	// Our own writes invalidate at once.
	c.near.cache.Wait()
	get("k")
	for _, write := range []func() error{
		func() error { return c.Set(ctx, &Item{Key: "k", Value: []byte("v3")}) },
		func() error { return c.Append(ctx, &Item{Key: "k", Value: []byte("+")}) },
		func() error { return c.Delete(ctx, "k") },
	} {
		if err := write(); err != nil {
			t.Fatal(err)
		}
		it, err := c.Get(ctx, "k")
		want := map[string]bool{"v3": true, "v3+": true}
		if err == ErrCacheMiss {
			continue
		}
		if err != nil || !want[string(it.Value)] {
			t.Fatalf("after own write: %+v %v", it, err)
		}
		c.near.cache.Wait()
	}
	// GetValue and GetMulti use it too.
	if err := c.Set(ctx, &Item{Key: "m", Value: []byte("mv")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetMulti(ctx, []string{"m"}); err != nil {
		t.Fatal(err)
	}
	c.near.cache.Wait()
	h := c.NearCacheStats().Hits
	v, _, err := c.GetValue(ctx, "m", nil)
	if err != nil || string(v) != "mv" || c.NearCacheStats().Hits != h+1 {
		t.Fatalf("GetValue near hit: %q %v %+v", v, err, c.NearCacheStats())
	}
	// Values over MaxItemSize are not kept.
	big := make([]byte, 100<<10)
	if err := c.Set(ctx, &Item{Key: "big", Value: big}); err != nil {
		t.Fatal(err)
	}
	d := c.NearCacheStats().Dropped
	get("big")
	if c.NearCacheStats().Dropped != d+1 {
		t.Fatal("a value over MaxItemSize was kept")
	}
	if err := c.FlushAll(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(ctx, "m"); err != ErrCacheMiss {
		t.Fatalf("after flush_all: %v", err)
	}
}

// TestNearCacheOffByDefault: no near cache unless configured.
func TestNearCacheOffByDefault(t *testing.T) {
	n := startNode(t)
	c := newClient(t, Config{Servers: []string{n.addr}})
	if c.near != nil || c.NearCacheStats() != (NearCacheStats{}) {
		t.Fatal("near cache on by default")
	}
}
