package store

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
)

// opKind is a command of the model's sequences.
type opKind uint8

const (
	opSet opKind = iota
	opAdd
	opReplace
	opAppend
	opPrepend
	opCAS
	opIncr
	opDecr
	opDelete
	opTouch
	opGet
	opGAT
	opFlush   // flush_all, with or without a delay
	opAdvance // the clock moves on
	numOpKinds
)

var opNames = [numOpKinds]string{"set", "add", "replace", "append", "prepend", "cas", "incr", "decr", "delete", "touch", "get", "gat", "flush_all", "advance"}

var storeModes = [...]Mode{opSet: ModeSet, opAdd: ModeAdd, opReplace: ModeReplace, opAppend: ModeAppend, opPrepend: ModePrepend, opCAS: ModeCAS}

// casPick says which CAS an operation sends; it is chosen when it runs,
// from what the key holds then.
type casPick uint8

const (
	casNone   casPick = iota // 0: nothing compared (not for cas itself)
	casRight                 // the key's current CAS
	casStale                 // one below it: an older version's
	casFuture                // above every CAS issued so far
	casZero                  // a cas command with CAS 0, which never matches
)

var casNames = [...]string{"", " cas=right", " cas=stale", " cas=future", " cas=0"}

// modelOp is one operation of a sequence.
type modelOp struct {
	kind    opKind
	key     string
	val     []byte
	flags   uint32
	exptime int64 // as a client sends it; with absExp, seconds from now as a unix time
	absExp  bool
	delta   uint64
	cas     casPick
	secs    int // opAdvance
}

func (o *modelOp) clientExptime(nowUnix int64) int64 {
	if o.absExp {
		return nowUnix + o.exptime
	}
	return o.exptime
}

func (o modelOp) String() string {
	exp := strconv.FormatInt(o.exptime, 10)
	if o.absExp {
		exp = "now" + fmt.Sprintf("%+d", o.exptime)
	}
	k := strconv.Quote(short(o.key))
	switch o.kind {
	case opSet, opAdd, opReplace, opAppend, opPrepend, opCAS:
		return fmt.Sprintf("%s %s flags=%d exp=%s%s value=%q", opNames[o.kind], k, o.flags, exp, casNames[o.cas], short(string(o.val)))
	case opIncr, opDecr:
		return fmt.Sprintf("%s %s %d%s", opNames[o.kind], k, o.delta, casNames[o.cas])
	case opDelete:
		return fmt.Sprintf("delete %s%s", k, casNames[o.cas])
	case opTouch, opGAT:
		return fmt.Sprintf("%s %s exp=%s", opNames[o.kind], k, exp)
	case opFlush:
		return "flush_all " + exp
	case opAdvance:
		return fmt.Sprintf("advance %ds", o.secs)
	}
	return opNames[o.kind] + " " + k
}

// Operation generation, from a random or a fuzz source.

type source interface {
	intn(n int) int // in [0, n)
	u64() uint64
	bytes(n int) []byte // up to n bytes
}

type rngSource struct{ r *rand.Rand }

func (s rngSource) intn(n int) int { return s.r.IntN(n) }
func (s rngSource) u64() uint64    { return s.r.Uint64() }
func (s rngSource) bytes(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(s.r.Uint32())
	}
	return b
}

// profile shapes a sequence.
type profile struct {
	keys   []string
	hot    int  // most operations go to the first hot keys (0: all alike)
	global bool // flush_all and clock moves (not with several models on one store)
	large  bool // values for the small-memory mode
}

// modelKeys is n short keys and two odd ones: the longest key memcached
// takes, and one with bytes a text key cannot have.
func modelKeys(prefix string, n int) []string {
	keys := make([]string, 0, n+2)
	for i := 0; i < n; i++ {
		keys = append(keys, prefix+"k"+itoa(i))
	}
	return append(keys, prefix+strings.Repeat("L", 250-len(prefix)), prefix+"\x00\xff \r\nb")
}

var opWeights = [numOpKinds]int{
	opSet: 28, opAdd: 10, opReplace: 10, opAppend: 10, opPrepend: 8, opCAS: 14, opIncr: 16, opDecr: 12,
	opDelete: 10, opTouch: 8, opGet: 32, opGAT: 8, opFlush: 1, opAdvance: 8,
}

var opWeightTotal = func() int {
	n := 0
	for _, w := range opWeights {
		n += w
	}
	return n
}()

// numbers are values for incr and decr, numeric or nearly.
var numbers = []string{
	"0", "1", "9", "10", "99", "100", "18446744073709551615", "18446744073709551614", "18446744073709551616",
	"99999999999999999999", "000000000000000000000000042", " 42", "42 ", "\t7\t", "+5", "-0", "-1",
	"-18446744073709551615", "-9223372036854775808", "12abc", "1 2", "abc", "", " ", "1\x002", "9\r\n", "+", "-", "0x10", "\v\f3",
}

// pattern is the bytes of large values (letters: never a number).
var pattern = func() []byte {
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, storeMaxChunk+64)
	for i := range b {
		b[i] = 'a' + byte(r.IntN(26))
	}
	return b
}()

func patternValue(src source, n int) []byte {
	off := src.intn(64)
	return pattern[off : off+n : off+n]
}

// paddedNumber is a number followed by spaces up to n bytes, as incr and
// decr leave a value they shrank.
func paddedNumber(src source, n int) []byte {
	v := strconv.AppendUint(nil, src.u64()>>src.intn(64), 10)
	if len(v) > n {
		v = v[:n]
	}
	return append(v, bytes.Repeat([]byte(" "), n-len(v))...)
}

// Kinds of values.
const (
	vShort  = iota // up to 16 bytes of anything
	vNumber        // numbers and near numbers
	vPadded        // a number and spaces, as incr and decr leave one
	vSmall         // up to 300 bytes
	vMedium        // 300 bytes to 5 KB
	vBand          // 8 to 10 KB: one or two slab classes, evicted item by item
	vLarge         // 5 KB to 155 KB
	vEdge          // sizes at the limits
)

// valueMixes are the percentages of each kind of value: for plenty of
// memory, and for a small memory where most values share a class.
var valueMixes = [2][vEdge + 1]int{
	{vShort: 30, vNumber: 15, vPadded: 10, vSmall: 20, vMedium: 15, vLarge: 8, vEdge: 2},
	{vShort: 12, vNumber: 10, vPadded: 8, vBand: 69, vEdge: 1},
}

func genValue(src source, key string, flags uint32, large bool) []byte {
	mix := &valueMixes[0]
	if large {
		mix = &valueMixes[1]
	}
	kind := 0
	for r := src.intn(100); kind < vEdge && r >= mix[kind]; kind++ {
		r -= mix[kind]
	}
	switch kind {
	case vShort:
		return src.bytes(src.intn(17))
	case vNumber:
		return []byte(numbers[src.intn(len(numbers))])
	case vPadded:
		return paddedNumber(src, 1+src.intn(24))
	case vSmall:
		return patternValue(src, src.intn(300))
	case vMedium:
		return patternValue(src, 300+src.intn(5000))
	case vBand:
		return patternValue(src, 23000+src.intn(21000))
	case vLarge:
		return patternValue(src, 5000+src.intn(150000))
	}
	// Sizes at the edges of what the store and memcached take.
	over := mcItemSize(len(key), flags, 0)
	switch src.intn(4) {
	case 0: // the store's largest item, and one byte more
		return patternValue(src, storeMaxChunk-HeaderSize-len(key)+src.intn(2))
	case 1: // just under -I, for appends to cross
		return patternValue(src, mcItemMax-over-src.intn(4))
	case 2: // a number the size of memcached's largest unchunked item, or one byte more
		return paddedNumber(src, mcChunkMax-over+src.intn(2))
	}
	return patternValue(src, 256<<10+src.intn(512<<10))
}

func genExptime(src source) (int64, bool) {
	switch r := src.intn(100); {
	case r < 60:
		return 0, false
	case r < 78:
		return int64(1 + src.intn(10)), false
	case r < 84:
		return int64(11 + src.intn(100)), false
	case r < 89:
		return []int64{-1, -2, -1 << 31}[src.intn(3)], false
	case r < 95:
		return int64(src.intn(40) - 5), true
	case r < 98:
		return []int64{30 * 86400, 30*86400 + 1, 30*86400 - 1}[src.intn(3)], false
	}
	return 1<<31 - 1, false
}

func genFlushDelay(src source) (int64, bool) {
	switch r := src.intn(100); {
	case r < 40:
		return 0, false
	case r < 50:
		return -1, false
	case r < 60:
		return 1, false
	case r < 85:
		return int64(2 + src.intn(20)), false
	case r < 95:
		return int64(src.intn(20) - 2), true
	}
	return 30*86400 + 1, false // a unix time long past: memcached then flushes nothing
}

func genCAS(src source) casPick {
	switch r := src.intn(100); {
	case r < 82:
		return casNone
	case r < 90:
		return casRight
	case r < 95:
		return casStale
	}
	return casFuture
}

func genOp(src source, p *profile) modelOp {
	var o modelOp
	w := src.intn(opWeightTotal)
	for o.kind = 0; w >= opWeights[o.kind]; o.kind++ {
		w -= opWeights[o.kind]
	}
	if !p.global && (o.kind == opFlush || o.kind == opAdvance) || p.large && o.kind == opFlush && src.intn(8) != 0 {
		o.kind = opGet // small-memory runs flush rarely, to fill the memory
	}
	if p.hot > 0 && src.intn(5) < 3 {
		o.key = p.keys[src.intn(p.hot)]
	} else {
		o.key = p.keys[src.intn(len(p.keys))]
	}
	switch o.kind {
	case opSet, opAdd, opReplace, opAppend, opPrepend, opCAS:
		switch r := src.intn(10); {
		case r < 7:
		case r < 9:
			o.flags = uint32(1 + src.intn(15))
		default:
			o.flags = uint32(src.u64())
		}
		o.exptime, o.absExp = genExptime(src)
		o.val = genValue(src, o.key, o.flags, p.large)
		switch o.kind {
		case opCAS:
			o.cas = []casPick{casRight, casRight, casRight, casRight, casStale, casFuture, casZero}[src.intn(7)]
		case opAppend, opPrepend:
			o.cas = genCAS(src)
		}
	case opIncr, opDecr:
		switch r := src.intn(100); {
		case r < 10:
		case r < 50:
			o.delta = 1
		case r < 80:
			o.delta = uint64(src.intn(1000))
		case r < 85:
			o.delta = ^uint64(0)
		case r < 90:
			o.delta = 1 << 63
		default:
			o.delta = src.u64()
		}
		o.cas = genCAS(src)
	case opDelete:
		o.cas = genCAS(src)
	case opTouch, opGAT:
		o.exptime, o.absExp = genExptime(src)
	case opFlush:
		o.exptime, o.absExp = genFlushDelay(src)
	case opAdvance:
		switch r := src.intn(100); {
		case r < 2:
		case r < 42:
			o.secs = 1
		case r < 77:
			o.secs = 2 + src.intn(9)
		case r < 97:
			o.secs = 11 + src.intn(90)
		default:
			o.secs = 30 * 86400
		}
	}
	return o
}
