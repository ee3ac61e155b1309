package client

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// stampede runs callers concurrent GetOrLoad calls of key spread over
// clients (each client stands for a process) and returns their results.
func stampede(t *testing.T, clients []*Client, callers int, key string, ttl time.Duration, loader Loader) []string {
	t.Helper()
	ctx := ctxT(t)
	out := make([]string, callers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < callers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			v, err := clients[i%len(clients)].GetOrLoad(ctx, key, ttl, loader)
			if err != nil {
				t.Errorf("caller %d: %v", i, err)
			}
			out[i] = string(v)
		}()
	}
	close(start)
	wg.Wait()
	return out
}

// TestGetOrLoadStampede: 100 concurrent callers over 4 clients, a slow
// loader: it runs once for a missing key, once after Invalidate (the
// others get the stale value meanwhile), and the value is cached.
func TestGetOrLoadStampede(t *testing.T) {
	nodes := startNodes(t, 2)
	var clients []*Client
	for i := 0; i < 4; i++ {
		clients = append(clients, newClient(t, Config{Servers: addrsOf(nodes), LoadWait: 5 * time.Second}))
	}
	var calls atomic.Int64
	loader := func(v string) Loader {
		return func(ctx context.Context) ([]byte, error) {
			calls.Add(1)
			time.Sleep(150 * time.Millisecond)
			return []byte(v), nil
		}
	}
	got := stampede(t, clients, 100, "page", time.Minute, loader("v1"))
	if n := calls.Load(); n != 1 {
		t.Fatalf("loader ran %d times for a missing key, want 1", n)
	}
	for i, v := range got {
		if v != "v1" {
			t.Fatalf("caller %d got %q", i, v)
		}
	}
	// Cached now: no more loads.
	stampede(t, clients, 50, "page", time.Minute, loader("never"))
	if n := calls.Load(); n != 1 {
		t.Fatalf("loader ran again for a cached key (%d)", n)
	}
	// Invalidate: one reload; the others get the stale v1 at once.
	if err := clients[0].Invalidate(ctxT(t), "page"); err != nil {
		t.Fatal(err)
	}
	got = stampede(t, clients, 100, "page", time.Minute, loader("v2"))
	if n := calls.Load(); n != 2 {
		t.Fatalf("loader ran %d times after invalidation, want 2", n-1)
	}
	stale, fresh := 0, 0
	for _, v := range got {
		switch v {
		case "v1":
			stale++
		case "v2":
			fresh++
		default:
			t.Fatalf("got %q", v)
		}
	}
	if stale == 0 || fresh == 0 {
		t.Fatalf("after invalidation: %d stale, %d fresh; want both", stale, fresh)
	}
	v, _ := clients[3].GetOrLoad(ctxT(t), "page", time.Minute, loader("never"))
	if string(v) != "v2" {
		t.Fatalf("after the reload: %q", v)
	}
	if err := clients[0].Invalidate(ctxT(t), "nothing"); !errors.Is(err, ErrCacheMiss) {
		t.Fatalf("invalidate missing: %v", err)
	}
}

// TestGetOrLoadEarlyRecache: once less than a tenth of the TTL is left
// (at least 1s), one caller reloads while the others get the current
// value without waiting.
func TestGetOrLoadEarlyRecache(t *testing.T) {
	n := startNode(t)
	c1 := newClient(t, Config{Servers: []string{n.addr}})
	c2 := newClient(t, Config{Servers: []string{n.addr}})
	var calls atomic.Int64
	loader := func(ctx context.Context) ([]byte, error) {
		k := calls.Add(1)
		time.Sleep(100 * time.Millisecond)
		return []byte("gen" + strconv.FormatInt(k, 10)), nil
	}
	if v, err := c1.GetOrLoad(ctxT(t), "hot", 2*time.Second, loader); err != nil || string(v) != "gen1" {
		t.Fatalf("first load: %q %v", v, err)
	}
	// Poll (bounded) until the recache window opens: the TTL of 2s
	// leaves less than 1s after one to two seconds.
	deadline := time.Now().Add(2500 * time.Millisecond)
	for calls.Load() == 1 && time.Now().Before(deadline) {
		got := stampede(t, []*Client{c1, c2}, 20, "hot", 2*time.Second, loader)
		for _, v := range got {
			if v != "gen1" && v != "gen2" {
				t.Fatalf("got %q", v)
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := calls.Load(); n != 2 {
		t.Fatalf("loader ran %d times by the end of the TTL, want 2 (one early recache)", n)
	}
}

// TestGetOrLoadErrors: a failing loader frees the placeholder so the
// next caller loads at once; a down cache still serves the loader's
// value; waiting is bounded by LoadWait.
func TestGetOrLoadErrors(t *testing.T) {
	n := startNode(t)
	c := newClient(t, Config{Servers: []string{n.addr}, LoadWait: 5 * time.Second})
	ctx := ctxT(t)
	boom := errors.New("boom")
	if _, err := c.GetOrLoad(ctx, "k", time.Minute, func(context.Context) ([]byte, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Fatalf("loader error: %v", err)
	}
	start := time.Now()
	v, err := c.GetOrLoad(ctx, "k", time.Minute, func(context.Context) ([]byte, error) { return []byte("ok"), nil })
	if err != nil || string(v) != "ok" || time.Since(start) > 2*time.Second {
		t.Fatalf("after a failed load: %q %v in %v", v, err, time.Since(start))
	}

	// Another process holds the lease and never fills it: the wait is
	// bounded, then the caller loads for itself without storing.
	other := newClient(t, Config{Servers: []string{n.addr}})
	if err := other.withKey(ctx, "held", true, func(cn *conn) error {
		r, err := cn.metaGetLease("held", 30, 0)
		if err == nil && !r.win {
			t.Error("did not win the lease")
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	c = newClient(t, Config{Servers: []string{n.addr}, LoadWait: 200 * time.Millisecond})
	start = time.Now()
	v, err = c.GetOrLoad(ctx, "held", time.Minute, func(context.Context) ([]byte, error) { return []byte("mine"), nil })
	if err != nil || string(v) != "mine" {
		t.Fatalf("bounded wait: %q %v", v, err)
	}
	if w := time.Since(start); w < 200*time.Millisecond || w > 3*time.Second {
		t.Fatalf("waited %v, want about LoadWait (200ms)", w)
	}

	// Cache down: the loader's value, uncached.
	dead := newClient(t, Config{Servers: []string{deadAddr(t)}, DialTimeout: 100 * time.Millisecond})
	v, err = dead.GetOrLoad(ctx, "k", time.Minute, func(context.Context) ([]byte, error) { return []byte("db"), nil })
	if err != nil || string(v) != "db" {
		t.Fatalf("cache down: %q %v", v, err)
	}
	if _, err := c.GetOrLoad(ctx, "bad key", time.Minute, nil); !errors.Is(err, ErrBadKey) {
		t.Fatalf("bad key: %v", err)
	}
}
