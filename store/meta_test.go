package store

import "testing"

// TestMetaGetDecisions: memcached's stale-while-revalidate and early
// recache rules, decided by the store. Each case runs its mg calls in
// order on a fresh store; "set" items are stored with a TTL of 100 s.
func TestMetaGetDecisions(t *testing.T) {
	type call struct {
		o    MetaGetOptions
		want MetaGetResult // OldExptime compared as "set or not"
		hit  bool
		exp  uint32 // expected Exptime after the call, as an offset from now (0 = never, ^0 = do not check)
	}
	now := func(ts *testStore, off uint32) uint32 {
		if off == 0 {
			return 0
		}
		return ts.Now() + off
	}
	const keep = ^uint32(0)
	for _, tc := range []struct {
		name       string
		set, stale bool
		calls      []call
	}{
		{"miss", false, false, []call{{hit: false}}},
		{"plain hit", true, false, []call{{hit: true, exp: 100}}},
		{"vivify: the creator wins, the next reader sees the token", false, false, []call{
			{o: MetaGetOptions{Vivify: true, SetVivifyTTL: true, VivifyTTL: 30}, want: MetaGetResult{Created: true, Won: true}, hit: true, exp: 30},
			{o: MetaGetOptions{Vivify: true, SetVivifyTTL: true, VivifyTTL: 30}, want: MetaGetResult{TokenSent: true}, hit: true, exp: 30},
		}},
		{"vivify and T: the later one sets the TTL", false, false, []call{
			{o: MetaGetOptions{Vivify: true, SetVivifyTTL: true, VivifyTTL: 30, SetTTL: true, TTL: 50, TTLAfterVivify: true}, want: MetaGetResult{Created: true, Won: true}, hit: true, exp: 50},
		}},
		{"T then N on a miss: N's TTL", false, false, []call{
			{o: MetaGetOptions{Vivify: true, SetVivifyTTL: true, VivifyTTL: 30, SetTTL: true, TTL: 50}, want: MetaGetResult{Created: true, Won: true}, hit: true, exp: 30},
		}},
		{"T on a hit, N ignored", true, false, []call{
			{o: MetaGetOptions{Vivify: true, SetVivifyTTL: true, VivifyTTL: 30, SetTTL: true, TTL: 50}, hit: true, exp: 50},
		}},
		{"recache: TTL below R wins once", true, false, []call{
			{o: MetaGetOptions{Recache: true, RecacheBelow: 200}, want: MetaGetResult{Won: true}, hit: true, exp: 100},
			{o: MetaGetOptions{Recache: true, RecacheBelow: 200}, want: MetaGetResult{TokenSent: true}, hit: true, exp: 100},
		}},
		{"recache: TTL above R does not win", true, false, []call{
			{o: MetaGetOptions{Recache: true, RecacheBelow: 50}, hit: true, exp: 100},
		}},
		{"recache compares T's TTL when T came first", true, false, []call{
			{o: MetaGetOptions{Recache: true, RecacheBelow: 50, SetTTL: true, TTL: 10, TTLBeforeRecache: true}, want: MetaGetResult{Won: true}, hit: true, exp: 10},
		}},
		{"recache compares the old TTL when T came after", true, false, []call{
			{o: MetaGetOptions{Recache: true, RecacheBelow: 50, SetTTL: true, TTL: 10}, hit: true, exp: 10},
		}},
		{"a failed reply keeps the token", false, false, []call{
			{o: MetaGetOptions{Vivify: true, SetVivifyTTL: true, VivifyTTL: 30, ReplyFailed: true}, want: MetaGetResult{Created: true, Won: true}, hit: true, exp: 30},
			{o: MetaGetOptions{Recache: true, RecacheBelow: 100}, want: MetaGetResult{Won: true}, hit: true, exp: 30},
		}},
		{"stale: the first reader wins, later ones see X and Z", true, true, []call{
			{want: MetaGetResult{Stale: true, Won: true}, hit: true, exp: keep},
			{want: MetaGetResult{Stale: true, TokenSent: true}, hit: true, exp: keep},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestStore(t, Options{})
			key := []byte("k")
			if tc.set {
				ts.setX("k", "v", 0, 100)
			}
			if tc.stale {
				if r := ts.MetaDelete(key, &MetaDeleteOptions{Invalidate: true}); r != Deleted {
					t.Fatalf("invalidate: %v", r)
				}
			}
			for i, c := range tc.calls {
				o := c.o
				for _, p := range []*uint32{&o.VivifyTTL, &o.TTL, &o.RecacheBelow} {
					*p = now(ts, *p)
				}
				var got MetaGetResult
				var exp uint32
				hit := ts.MetaGet(key, &o, func(it *Item, r *MetaGetResult) {
					got, exp = *r, it.Exptime()
				})
				if hit != c.hit {
					t.Fatalf("call %d: hit %v, want %v", i, hit, c.hit)
				}
				if !hit {
					continue
				}
				got.OldExptime = 0
				if got != c.want {
					t.Errorf("call %d: %+v, want %+v", i, got, c.want)
				}
				if c.exp != keep && exp != now(ts, c.exp) {
					t.Errorf("call %d: exptime %d, want now+%d", i, exp, c.exp)
				}
			}
		})
	}
}
