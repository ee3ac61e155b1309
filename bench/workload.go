package bench

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// Workload is what every connection does; the same Workload runs against
// each server of a comparison.
type Workload struct {
	Conns      int           `json:"conns"`          // connections, one goroutine each
	Pipeline   int           `json:"pipeline"`       // requests written together before reading the replies
	Keys       uint64        `json:"keys"`           // key space size
	KeyPrefix  string        `json:"key_prefix"`     // keys are KeyPrefix + decimal index
	Dist       string        `json:"dist"`           // uniform | zipf[:S] | seq
	ZipfS      float64       `json:"zipf_s"`         // Zipf exponent when Dist is "zipf"
	ValueMin   int           `json:"value_min"`      // value size, bytes; a key's size is fixed
	ValueMax   int           `json:"value_max"`      // ... within [ValueMin, ValueMax]
	Gets       int           `json:"gets"`           // get:set ratio, gets part
	Sets       int           `json:"sets"`           // get:set ratio, sets part
	MultiGet   int           `json:"multiget"`       // keys per get request
	Protocol   string        `json:"protocol"`       // text | meta | binary
	TTL        uint32        `json:"ttl"`            // seconds, 0 = never expires
	Duration   time.Duration `json:"duration_ns"`    // measured time per server (split into rounds)
	Ops        int64         `json:"ops"`            // or: requests per server; 0 = use Duration
	Rounds     int           `json:"rounds"`         // measurement rounds per server
	Prefill    bool          `json:"prefill"`        // set every key once before measuring
	SetOnMiss  bool          `json:"set_on_miss"`    // cache-aside: a missed key is set next
	Verify     bool          `json:"verify"`         // check every value returned
	Seed       uint64        `json:"seed"`           // same seed, same request sequence
	Timeout    time.Duration `json:"timeout_ns"`     // per batch of replies
	IdleConns  int           `json:"idle_conns"`     // idle mode: open this many connections, nothing else
	IdleSettle time.Duration `json:"idle_settle_ns"` // idle mode: wait before reading RSS
}

// DefaultWorkload is the standard workload of issue 4: 64 connections,
// 90% gets and 10% sets of 100-byte values over 100 000 uniform keys.
func DefaultWorkload() Workload {
	return Workload{
		Conns:      64,
		Pipeline:   1,
		Keys:       100_000,
		KeyPrefix:  "bench:",
		Dist:       "uniform",
		ZipfS:      0.99,
		ValueMin:   100,
		ValueMax:   100,
		Gets:       9,
		Sets:       1,
		MultiGet:   1,
		Protocol:   "text",
		Duration:   10 * time.Second,
		Rounds:     1,
		Seed:       1,
		Timeout:    5 * time.Second,
		IdleSettle: time.Second,
	}
}

// Validate checks the workload before any connection is made.
func (w *Workload) Validate() error {
	switch {
	case w.IdleConns > 0:
		return nil
	case w.Conns <= 0:
		return errors.New("conns must be > 0")
	case w.Pipeline <= 0:
		return errors.New("pipeline must be > 0")
	case w.Keys == 0:
		return errors.New("key space must be > 0")
	case w.ValueMin < 0 || w.ValueMax < w.ValueMin:
		return fmt.Errorf("bad value size range %d-%d", w.ValueMin, w.ValueMax)
	case w.ValueMax > 1<<30:
		return errors.New("values over 1 GB")
	case w.Gets < 0 || w.Sets < 0 || w.Gets+w.Sets == 0:
		return fmt.Errorf("bad get:set ratio %d:%d", w.Gets, w.Sets)
	case w.MultiGet <= 0:
		return errors.New("multiget must be > 0")
	case w.Duration <= 0 && w.Ops <= 0 && !w.Prefill:
		return errors.New("give a duration or an op count")
	case w.Rounds <= 0:
		return errors.New("rounds must be > 0")
	case len(w.KeyPrefix)+20 > 250:
		return errors.New("key prefix too long for 250-byte keys")
	}
	if _, err := newCodec(w.Protocol); err != nil {
		return err
	}
	_, err := ParseDist(w.Dist, w.Keys, w.ZipfS)
	return err
}

// ParseRatio reads "9:1" (gets:sets).
func ParseRatio(s string) (gets, sets int, err error) {
	a, b, ok := strings.Cut(s, ":")
	if !ok {
		return 0, 0, fmt.Errorf("ratio %q: want GETS:SETS, e.g. 9:1", s)
	}
	if gets, err = strconv.Atoi(a); err == nil {
		sets, err = strconv.Atoi(b)
	}
	if err != nil || gets < 0 || sets < 0 || gets+sets == 0 {
		return 0, 0, fmt.Errorf("ratio %q: want GETS:SETS, e.g. 9:1", s)
	}
	return gets, sets, nil
}

// ParseSize reads "100" or "32-1024" (bytes).
func ParseSize(s string) (lo, hi int, err error) {
	a, b, isRange := strings.Cut(s, "-")
	if lo, err = strconv.Atoi(a); err != nil {
		return 0, 0, fmt.Errorf("value size %q: %v", s, err)
	}
	hi = lo
	if isRange {
		if hi, err = strconv.Atoi(b); err != nil {
			return 0, 0, fmt.Errorf("value size %q: %v", s, err)
		}
	}
	if lo < 0 || hi < lo {
		return 0, 0, fmt.Errorf("value size %q: want N or MIN-MAX", s)
	}
	return lo, hi, nil
}

// values hands out the value of each key: its size and bytes depend on the
// key index only, so any get can be checked against what was set.
type values struct {
	min, max int
	pattern  []byte
}

const valueShifts = 4096

func newValues(min, max int, seed uint64) *values {
	r := rand.New(rand.NewPCG(seed, 0x76616c756573))
	p := make([]byte, max+valueShifts)
	const printable = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	for i := range p {
		p[i] = printable[r.IntN(len(printable))]
	}
	return &values{min: min, max: max, pattern: p}
}

// mix64 is SplitMix64's finaliser: a cheap, well-spread hash of i.
func mix64(i uint64) uint64 {
	i += 0x9e3779b97f4a7c15
	i = (i ^ (i >> 30)) * 0xbf58476d1ce4e5b9
	i = (i ^ (i >> 27)) * 0x94d049bb133111eb
	return i ^ (i >> 31)
}

// of returns key i's value.
func (v *values) of(i uint64) []byte {
	h := mix64(i)
	size := v.min
	if v.max > v.min {
		size += int(h % uint64(v.max-v.min+1))
	}
	off := int((h >> 32) % valueShifts)
	return v.pattern[off : off+size]
}

// opKind is what one request does.
type opKind uint8

const (
	opGet opKind = iota
	opSet
)

// picker draws requests: get or set by the ratio, keys by the
// distribution.
type picker struct {
	dist     KeyDist
	gets     int
	period   int // gets + sets
	multiGet int
}

func newPicker(w *Workload) (*picker, error) {
	d, err := ParseDist(w.Dist, w.Keys, w.ZipfS)
	if err != nil {
		return nil, err
	}
	return &picker{dist: d, gets: w.Gets, period: w.Gets + w.Sets, multiGet: w.MultiGet}, nil
}

// kind draws get or set with probability gets/(gets+sets).
func (p *picker) kind(r *rand.Rand) opKind {
	if r.IntN(p.period) < p.gets {
		return opGet
	}
	return opSet
}

// keys fills dst with one key for a set or multiGet keys for a get.
func (p *picker) keys(r *rand.Rand, k opKind, dst []uint64) []uint64 {
	n := p.multiGet
	if k == opSet {
		n = 1
	}
	dst = dst[:0]
	for range n {
		dst = append(dst, p.dist.Next(r))
	}
	return dst
}
