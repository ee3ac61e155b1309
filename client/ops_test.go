package client

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"testing"
)

// TestOps walks every single-key operation against one gocached and
// checks results and typed errors.
func TestOps(t *testing.T) {
	n := startNode(t)
	c := newClient(t, Config{Servers: []string{n.addr}})
	ctx := ctxT(t)
	item := func(k, v string) *Item { return &Item{Key: k, Value: []byte(v)} }
	val := func(k string) string {
		t.Helper()
		it, err := c.Get(ctx, k)
		if err != nil {
			t.Fatalf("get %s: %v", k, err)
		}
		return string(it.Value)
	}
	check := func(what string, err, want error) {
		t.Helper()
		if !errors.Is(err, want) && !(want == nil && err == nil) {
			t.Fatalf("%s: got %v, want %v", what, err, want)
		}
	}

	_, err := c.Get(ctx, "nope")
	check("get missing", err, ErrCacheMiss)
	check("set", c.Set(ctx, &Item{Key: "a", Value: []byte("1"), Flags: 42}), nil)
	it, err := c.Get(ctx, "a")
	check("get", err, nil)
	if string(it.Value) != "1" || it.Flags != 42 || it.CAS == 0 {
		t.Fatalf("get a: %+v", it)
	}
	check("add existing", c.Add(ctx, item("a", "2")), ErrNotStored)
	check("add new", c.Add(ctx, item("b", "2")), nil)
	check("replace missing", c.Replace(ctx, item("zz", "x")), ErrNotStored)
	check("replace", c.Replace(ctx, item("b", "3")), nil)
	check("append", c.Append(ctx, item("b", "4")), nil)
	check("prepend", c.Prepend(ctx, item("b", "2")), nil)
	check("append missing", c.Append(ctx, item("zz", "4")), ErrNotStored)
	if v := val("b"); v != "234" {
		t.Fatalf("b = %q", v)
	}

	// CAS: a write between read and swap makes the swap fail.
	it, _ = c.Get(ctx, "b")
	it2, _ := c.Get(ctx, "b")
	it.Value = []byte("first")
	check("cas", c.CompareAndSwap(ctx, it), nil)
	it2.Value = []byte("second")
	check("cas conflict", c.CompareAndSwap(ctx, it2), ErrCASConflict)
	check("cas missing", c.CompareAndSwap(ctx, &Item{Key: "zz", Value: []byte("x"), CAS: 1}), ErrCacheMiss)
	if v := val("b"); v != "first" {
		t.Fatalf("b after cas = %q", v)
	}

	check("set n", c.Set(ctx, item("n", "10")), nil)
	v, err := c.Increment(ctx, "n", 5)
	check("incr", err, nil)
	if v != 15 {
		t.Fatalf("incr = %d", v)
	}
	v, err = c.Decrement(ctx, "n", 100)
	check("decr", err, nil)
	if v != 0 {
		t.Fatalf("decr below 0 = %d", v)
	}
	_, err = c.Increment(ctx, "zz", 1)
	check("incr missing", err, ErrCacheMiss)
	_, err = c.Increment(ctx, "a", 1)
	check("incr non-numeric", err, nil) // "1" is numeric
	check("set s", c.Set(ctx, item("s", "abc")), nil)
	_, err = c.Increment(ctx, "s", 1)
	check("incr non-numeric", err, ErrClientError)

	check("touch", c.Touch(ctx, "a", 100), nil)
	check("touch missing", c.Touch(ctx, "zz", 100), ErrCacheMiss)
	it, err = c.GetAndTouch(ctx, "a", 200)
	check("gat", err, nil)
	if string(it.Value) != "2" || it.CAS == 0 {
		t.Fatalf("gat: %+v", it)
	}
	_, err = c.GetAndTouch(ctx, "zz", 1)
	check("gat missing", err, ErrCacheMiss)

	check("delete", c.Delete(ctx, "a"), nil)
	check("delete missing", c.Delete(ctx, "a"), ErrCacheMiss)

	// Expired on arrival: negative expiration.
	check("set expired", c.Set(ctx, &Item{Key: "e", Value: []byte("x"), Expiration: -1}), nil)
	_, err = c.Get(ctx, "e")
	check("get expired", err, ErrCacheMiss)

	// Values: empty, binary with CRLF inside, and too large.
	check("set empty", c.Set(ctx, item("empty", "")), nil)
	if v := val("empty"); v != "" {
		t.Fatalf("empty = %q", v)
	}
	bin := "a\r\nb\x00END\r\n"
	check("set binary", c.Set(ctx, item("bin", bin)), nil)
	if v := val("bin"); v != bin {
		t.Fatalf("bin = %q", v)
	}
	big := strings.Repeat("x", 2<<20)
	check("set too large", c.Set(ctx, item("big", big)), ErrServerError)
	check("after too large", c.Set(ctx, item("after", "ok")), nil)

	// GetValue appends into the caller's buffer.
	dst := []byte("prefix:")
	dst, flags, err := c.GetValue(ctx, "after", dst)
	check("getvalue", err, nil)
	if string(dst) != "prefix:ok" || flags != 0 {
		t.Fatalf("getvalue = %q %d", dst, flags)
	}
	dst, _, err = c.GetValue(ctx, "zz", dst[:0])
	check("getvalue missing", err, ErrCacheMiss)
	if len(dst) != 0 {
		t.Fatalf("getvalue miss returned %q", dst)
	}

	// Bad keys never reach the server.
	for _, k := range []string{"", "a b", "a\nb", strings.Repeat("k", 251), "tab\tkey", "del\x7f"} {
		check("bad key "+strconv.Quote(k), c.Set(ctx, item(k, "x")), ErrBadKey)
		_, err := c.Get(ctx, k)
		check("bad key get", err, ErrBadKey)
	}
	if err := c.Set(ctx, item(strings.Repeat("k", 250), "x")); err != nil {
		t.Fatalf("250-byte key: %v", err)
	}

	st, err := c.Stats(ctx)
	check("stats", err, nil)
	if st[n.addr]["cmd_get"] == "" || st[n.addr]["version"] == "" {
		t.Fatalf("stats: %v", st)
	}
	check("ping", c.Ping(ctx), nil)
	check("flush_all", c.FlushAll(ctx), nil)
	_, err = c.Get(ctx, "b")
	check("get after flush", err, ErrCacheMiss)

	check("close", c.Close(), nil)
	_, err = c.Get(ctx, "b")
	check("get after close", err, ErrClosed)
}

// TestPlacement: keys set through the client are on the server the ring
// names, and nowhere else.
func TestPlacement(t *testing.T) {
	nodes := startNodes(t, 3)
	addrs := addrsOf(nodes)
	c := newClient(t, Config{Servers: addrs})
	ctx := ctxT(t)
	ring := NewKetama([]Node{{Addr: addrs[0]}, {Addr: addrs[1]}, {Addr: addrs[2]}})
	per := map[string]int{}
	for i := 0; i < 300; i++ {
		k := "place:" + strconv.Itoa(i)
		if err := c.Set(ctx, &Item{Key: k, Value: []byte(k)}); err != nil {
			t.Fatal(err)
		}
		want := addrs[ring.Pick(k)]
		if got, _ := c.Lookup(k); got != want {
			t.Fatalf("Lookup(%q) = %s, want %s", k, got, want)
		}
		per[want]++
		for _, a := range addrs {
			_, ok := rawGet(t, a, k)
			if ok != (a == want) {
				t.Fatalf("key %q on %s: %v (ring says %s)", k, a, ok, want)
			}
		}
	}
	if len(per) != 3 {
		t.Fatalf("keys on %d servers: %v", len(per), per)
	}
}

// TestGetMulti: one request per server, all servers asked in parallel,
// every key found, misses absent.
func TestGetMulti(t *testing.T) {
	nodes := startNodes(t, 3)
	addrs := addrsOf(nodes)
	c := newClient(t, Config{Servers: addrs})
	ctx := ctxT(t)
	var keys []string
	for i := 0; i < 1000; i++ {
		k := "multi:" + strconv.Itoa(i)
		keys = append(keys, k)
		if i%10 == 0 {
			continue // left missing
		}
		if err := c.Set(ctx, &Item{Key: k, Value: []byte("v" + k), Flags: uint32(i)}); err != nil {
			t.Fatal(err)
		}
	}
	before, _ := c.Stats(ctx)
	got, err := c.GetMulti(ctx, append(keys, "multi:1")) // a duplicate too
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 900 {
		t.Fatalf("%d items, want 900", len(got))
	}
	for i, k := range keys {
		it, ok := got[k]
		if ok != (i%10 != 0) {
			t.Fatalf("key %s present=%v", k, ok)
		}
		if ok && (!bytes.Equal(it.Value, []byte("v"+k)) || it.Flags != uint32(i) || it.CAS == 0 || it.Key != k) {
			t.Fatalf("key %s: %+v", k, it)
		}
	}
	// Each server was asked exactly for its own keys.
	after, _ := c.Stats(ctx)
	ring := NewKetama([]Node{{Addr: addrs[0]}, {Addr: addrs[1]}, {Addr: addrs[2]}})
	want := map[string]int{addrs[ring.Pick("multi:1")]: 1}
	for _, k := range keys {
		want[addrs[ring.Pick(k)]]++
	}
	for _, a := range addrs {
		b, _ := strconv.Atoi(before[a]["cmd_get"])
		e, _ := strconv.Atoi(after[a]["cmd_get"])
		if e-b != want[a] {
			t.Errorf("%s: %d keys asked, want %d", a, e-b, want[a])
		}
	}
	if _, err := c.GetMulti(ctx, []string{"ok", "bad key"}); !errors.Is(err, ErrBadKey) {
		t.Fatalf("bad key: %v", err)
	}
	if m, err := c.GetMulti(ctx, nil); err != nil || len(m) != 0 {
		t.Fatalf("no keys: %v %v", m, err)
	}
}
