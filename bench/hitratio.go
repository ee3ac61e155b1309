package bench

import (
	"bufio"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"time"
)

// HitRatio is a cache-aside replay (`gocached bench hitratio`): one
// connection gets each key of a seeded request sequence and sets it when
// the get missed, as an application in front of a database does. The
// sequence depends on the seed only, so two servers given the same
// HitRatio see the same requests, and their hit ratios compare their
// eviction (at equal -m) and not the machine. Requests go in batches of
// Batch gets (meta mg), then the misses' sets (ms with q), so a batch's
// sets come after its gets.
type HitRatio struct {
	Requests int     `json:"requests"`
	Keys     uint64  `json:"keys"`      // key space of the Zipf part
	ZipfS    float64 `json:"zipf_s"`    // popularity of the key space
	Sizes    string  `json:"sizes"`     // "N" bytes per value (14-byte keys), or "etc" (Facebook's ETC key and value sizes)
	Scan     float64 `json:"scan"`      // fraction of requests for keys never requested before or again (one-hit wonders)
	ShortTTL float64 `json:"short_ttl"` // fraction of the key space whose values are set with TTL seconds
	TTL      uint32  `json:"ttl"`       // the short TTL, seconds
	Rate     int     `json:"rate"`      // with ShortTTL: requests per second the replay paces itself to (0: as fast as it goes)
	Batch    int     `json:"batch"`
	Seed     uint64  `json:"seed"`
	MaxValue int     `json:"max_value"` // cap on ETC value sizes
	Fill     bool    `json:"fill"`      // only set keys 0..Requests-1 once each, for the items an -m keeps
}

// HitRatioResult is what one server gave.
type HitRatioResult struct {
	Server   string        `json:"server"`
	Gets     int           `json:"gets"`
	Hits     int           `json:"hits"`
	HitRatio float64       `json:"hit_ratio"`
	Errors   int           `json:"errors"`    // sets refused (SERVER_ERROR and the like)
	Sets     int           `json:"sets"`      // sets sent
	SetBytes int64         `json:"set_bytes"` // their key and value bytes
	Took     time.Duration `json:"took_ns"`
}

// MissRatio is 1 - HitRatio.
func (r HitRatioResult) MissRatio() float64 { return 1 - r.HitRatio }

// Validate checks the replay's parameters.
func (h *HitRatio) Validate() error {
	switch {
	case h.Requests <= 0 || h.Keys == 0 || h.Batch <= 0:
		return errors.New("hitratio: requests, keys and batch must be positive")
	case !(h.ZipfS > 0):
		return errors.New("hitratio: zipf exponent must be > 0")
	case h.Scan < 0 || h.Scan >= 1 || h.ShortTTL < 0 || h.ShortTTL > 1:
		return errors.New("hitratio: scan and short-ttl are fractions")
	case h.ShortTTL > 0 && h.TTL == 0:
		return errors.New("hitratio: short-ttl needs a ttl")
	}
	if h.Sizes != "etc" {
		if n, err := strconv.Atoi(h.Sizes); err != nil || n < 0 || n > 1<<20 {
			return fmt.Errorf("hitratio: sizes %q: a value size in bytes, or etc", h.Sizes)
		}
	}
	return nil
}

// keyOf is key k's name and value size: fixed by k alone (scan keys are
// k >= Keys).
func (h *HitRatio) keyOf(k uint64, b []byte) ([]byte, int) {
	b = strconv.AppendUint(b[:0], k, 10)
	b = append(b, ':')
	klen, vlen := 14, 0
	if h.Sizes == "etc" {
		r := rand.New(rand.NewPCG(k, h.Seed^0x657463))
		klen, vlen = ETCKeySize(r, len(b)), ETCValueSize(r, h.MaxValue)
	} else {
		vlen, _ = strconv.Atoi(h.Sizes)
	}
	for len(b) < klen {
		b = append(b, 'k')
	}
	return b, vlen
}

// RunHitRatio replays h against the server at addr.
func RunHitRatio(addr string, h HitRatio) (HitRatioResult, error) {
	res := HitRatioResult{Server: addr}
	if err := h.Validate(); err != nil {
		return res, err
	}
	if h.MaxValue == 0 {
		h.MaxValue = 500_000
	}
	zipf, err := NewZipf(h.Keys, h.ZipfS)
	if err != nil {
		return res, err
	}
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return res, err
	}
	defer c.Close()
	w := bufio.NewWriterSize(c, 1<<20)
	rd := bufio.NewReaderSize(c, 1<<20)
	value := make([]byte, h.MaxValue)
	for i := range value {
		value[i] = 'v'
	}
	r := rand.New(rand.NewPCG(h.Seed, 0x686974))
	type req struct {
		key  []byte
		size int
		ttl  uint32
	}
	batch := make([]req, 0, h.Batch)
	var missed []int
	nextScan := h.Keys
	start := time.Now()
	for done := 0; done < h.Requests; {
		batch = batch[:0]
		for len(batch) < h.Batch && done < h.Requests {
			var k uint64
			if h.Fill {
				k = uint64(done)
			} else if h.Scan > 0 && r.Float64() < h.Scan {
				k, nextScan = nextScan, nextScan+1
			} else {
				k = zipf.Next(r) // key k is the k-th most popular
			}
			q := req{}
			q.key, q.size = h.keyOf(k, nil)
			if h.ShortTTL > 0 && k < h.Keys && float64(mix64(k^0x74746c)%1_000_000) < h.ShortTTL*1_000_000 {
				q.ttl = h.TTL
			}
			batch = append(batch, q)
			done++
		}
		for _, q := range batch {
			if h.Fill {
				break
			}
			w.WriteString("mg ")
			w.Write(q.key)
			w.WriteString(" v\r\n")
		}
		if err := w.Flush(); err != nil {
			return res, err
		}
		_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
		missed = missed[:0]
		for i, q := range batch {
			if h.Fill {
				missed = append(missed, i)
				continue
			}
			line, err := rd.ReadSlice('\n')
			if err != nil {
				return res, err
			}
			res.Gets++
			switch {
			case len(line) >= 3 && string(line[:3]) == "VA ":
				res.Hits++
				if _, err := rd.Discard(q.size + 2); err != nil {
					return res, err
				}
			case string(line) == "EN\r\n":
				missed = append(missed, i)
			default:
				return res, fmt.Errorf("hitratio: mg %s: %q", q.key, line)
			}
		}
		for _, i := range missed {
			q := batch[i]
			res.Sets++
			res.SetBytes += int64(len(q.key) + q.size)
			fmt.Fprintf(w, "ms %s %d T%d q\r\n", q.key, q.size, q.ttl)
			w.Write(value[:q.size])
			w.WriteString("\r\n")
		}
		w.WriteString("mn\r\n")
		if err := w.Flush(); err != nil {
			return res, err
		}
		for {
			line, err := rd.ReadSlice('\n')
			if err != nil {
				return res, err
			}
			if string(line) == "MN\r\n" {
				break
			}
			res.Errors++ // q hides successes: anything else is a refused set
		}
		if h.Rate > 0 {
			if ahead := time.Duration(float64(done)/float64(h.Rate)*float64(time.Second)) - time.Since(start); ahead > 0 {
				time.Sleep(ahead)
			}
		}
	}
	res.Took = time.Since(start)
	if res.Gets > 0 {
		res.HitRatio = float64(res.Hits) / float64(res.Gets)
	}
	return res, nil
}
