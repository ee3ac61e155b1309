package server

import (
	"strings"
	"testing"
)

// BenchmarkObserved is the parse-and-answer path of a get hit, a set and a
// 10-key multi-get with observability off and on (latency histograms, hot
// keys at the daemon's default sampling, and timing and sampling every
// request): the
// difference is what they cost a request. Each iteration is one batch: the
// connection's flush records its latency.
func BenchmarkObserved(b *testing.B) {
	set := []byte("set user:12345:profile 0 0 100\r\n" + strings.Repeat("v", 100) + "\r\n")
	var mget strings.Builder
	mget.WriteString("get")
	for i := 0; i < 10; i++ {
		mget.WriteString(" user:12345:profile")
	}
	mget.WriteString("\r\n")
	reqs := []struct{ name, req string }{
		{"get", "get user:12345:profile\r\n"},
		{"set", string(set)},
		{"mget10", mget.String()},
	}
	modes := []struct {
		name              string
		lat               bool
		latSample, sample int
	}{{"off", false, 0, 0}, {"on", true, DefaultLatencySample, DefaultHotKeySample}, {"sampleAll", true, 1, 1}}
	for _, r := range reqs {
		for _, m := range modes {
			b.Run(r.name+"/"+m.name, func(b *testing.B) {
				cfg := DefaultConfig()
				cfg.MemoryLimitMB, cfg.HashPower = 4, 8
				cfg.Latency, cfg.LatencySample, cfg.HotKeySample = m.lat, m.latSample, m.sample
				s, err := New(cfg, nil)
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(s.store.Close)
				c := newConn(s, nopConn{}, fakeListener{})
				c.runOnce(set)
				req := []byte(r.req)
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					c.runOnce(req)
					c.latFlush()
				}
			})
		}
	}
}
