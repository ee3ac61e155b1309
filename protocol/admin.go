package protocol

import (
	"math"
	"strconv"
)

// The grammar of the administrative text commands: slabs, stats cachedump.

// Slabs subcommands.
const (
	SlabsUnknown  = iota // anything else: ERROR
	SlabsReassign        // slabs reassign <src> <dst>
	SlabsAutomove        // slabs automove <0|1|2> [noreply]
)

// SlabsCommand is a parsed slabs line.
type SlabsCommand struct {
	Sub      int
	Src, Dst int32
	Level    uint32 // automove, 0..2
	Noreply  bool
}

// ParseSlabs parses a slabs line. Sub is set whatever the error, because
// memcached refuses a reassign when -o slab_reassign is off before it
// looks at the class ids.
func ParseSlabs(t *Tokens, c *SlabsCommand) []byte {
	*c = SlabsCommand{}
	nt := t.Count()
	switch {
	case nt == 5 && string(t.T[1]) == "reassign":
		c.Sub = SlabsReassign
		var ok1, ok2 bool
		c.Src, ok1 = ParseInt32(t.T[2])
		c.Dst, ok2 = ParseInt32(t.T[3])
		if !ok1 || !ok2 {
			return ErrBadFormat
		}
	case nt >= 4 && string(t.T[1]) == "automove":
		c.Sub = SlabsAutomove
		c.Noreply = Noreply(t)
		var ok bool
		if c.Level, ok = ParseUint32(t.T[2]); !ok {
			return ErrBadFormat
		}
		if c.Level > 2 {
			return Error
		}
	default:
		return Error
	}
	return nil
}

// ErrCacheDumpUsage and ErrIllegalSlab are stats cachedump's own errors.
var (
	ErrCacheDumpUsage = []byte("CLIENT_ERROR bad command line\r\n")
	ErrIllegalSlab    = []byte("CLIENT_ERROR Illegal slab id\r\n")
)

// ParseCacheDump parses "stats cachedump <class> <limit>".
func ParseCacheDump(t *Tokens) (class, limit uint32, errLine []byte) {
	if t.Count() < 5 {
		return 0, 0, ErrCacheDumpUsage
	}
	class, ok1 := ParseUint32(t.T[2])
	limit, ok2 := ParseUint32(t.T[3])
	if !ok1 || !ok2 {
		return 0, 0, ErrBadFormat
	}
	if class >= 64 { // memcached's MAX_NUMBER_OF_SLAB_CLASSES
		return 0, 0, ErrIllegalSlab
	}
	return class, limit, nil
}

// DebugTime is a parsed "debugtime <seconds>|p|r" (memcached-debug's clock
// control: move the time, pause it, resume it).
type DebugTime struct {
	Seconds       int64
	Pause, Resume bool
}

// ParseDebugTime parses memcached-debug's debugtime line; its only error
// is ERROR (no argument, or one that is neither p, r nor a number).
func ParseDebugTime(t *Tokens, d *DebugTime) []byte {
	*d = DebugTime{}
	if t.N < 2 {
		return Error
	}
	switch arg := t.T[1]; string(arg) {
	case "p":
		d.Pause = true
	case "r":
		d.Resume = true
	default:
		v, ok := ParseInt64(arg)
		if !ok {
			return Error
		}
		d.Seconds = v
	}
	return nil
}

// CrawlerClasses is the class argument of lru_crawler crawl, metadump and
// mgdump: "all", "hash" (metadump's walk of the hash table) or a comma
// separated list of class ids.
type CrawlerClasses struct {
	All, Hash bool
	IDs       [64]bool // the classes listed
}

// ParseCrawlerClasses is memcached 1.6.45's lru_crawler_crawl argument
// rule; ok is false for BADCLASS (an id that is not a number from 1 to 63).
func ParseCrawlerClasses(arg []byte, c *CrawlerClasses) (ok bool) {
	*c = CrawlerClasses{}
	switch string(arg) {
	case "all":
		c.All = true
		return true
	case "hash":
		c.Hash = true
		return true
	}
	for len(arg) > 0 {
		i := 0
		for i < len(arg) && arg[i] != ',' {
			i++
		}
		if i > 0 { // strtok_r skips empty fields
			id, ok := ParseUint64(arg[:i])
			if !ok || id < 1 || id >= 64 {
				return false
			}
			c.IDs[id] = true
		}
		if i == len(arg) {
			break
		}
		arg = arg[i+1:]
	}
	return true
}

// Has reports whether class id is to be crawled or dumped.
func (c *CrawlerClasses) Has(id int) bool {
	return c.All || c.Hash || (id > 0 && id < len(c.IDs) && c.IDs[id])
}

// Crawler replies.
var (
	CrawlerBadClass   = []byte("BADCLASS invalid class id\r\n")
	CrawlerBusy       = []byte("BUSY currently processing crawler request\r\n")
	CrawlerDisabled   = []byte("CLIENT_ERROR lru crawler disabled\r\n")
	CrawlerNotStarted = []byte("NOTSTARTED no items to crawl\r\n")
)

// MetaDumpItem is one item of lru_crawler metadump.
type MetaDumpItem struct {
	Key         []byte
	Exp         int64 // Unix time, -1 for never
	LastAccess  int64 // Unix time
	CAS         uint64
	Fetched     bool
	Class, Size int
	Flags       uint32
}

// AppendMetaDump appends metadump's line for it, memcached's "key=<key,
// URI-encoded> exp= la= cas= fetch= cls= size= flags= " and a bare LF.
func AppendMetaDump(dst []byte, it *MetaDumpItem) []byte {
	dst = append(dst, "key="...)
	dst = appendURI(dst, it.Key)
	dst = append(dst, " exp="...)
	dst = strconv.AppendInt(dst, it.Exp, 10)
	dst = append(dst, " la="...)
	dst = strconv.AppendInt(dst, it.LastAccess, 10)
	dst = append(dst, " cas="...)
	dst = strconv.AppendUint(dst, it.CAS, 10)
	if it.Fetched {
		dst = append(dst, " fetch=yes"...)
	} else {
		dst = append(dst, " fetch=no"...)
	}
	dst = append(dst, " cls="...)
	dst = strconv.AppendInt(dst, int64(it.Class), 10)
	dst = append(dst, " size="...)
	dst = strconv.AppendInt(dst, int64(it.Size), 10)
	dst = append(dst, " flags="...)
	dst = strconv.AppendUint(dst, uint64(it.Flags), 10)
	return append(dst, " \n"...)
}

// AppendMgDump appends mgdump's line for a key: "mg <key>", base64 with
// " b" for a binary key.
func AppendMgDump(dst, key []byte, binary bool) []byte {
	dst = append(dst, "mg "...)
	if binary {
		dst = AppendBase64(dst, key)
		dst = append(dst, " b"...)
	} else {
		dst = append(dst, key...)
	}
	return append(dst, '\r', '\n')
}

// isUnreserved is memcached's uriencode map: letters, digits and -._~ are
// written as they are.
func isUnreserved(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' ||
		b == '-' || b == '.' || b == '_' || b == '~'
}

// cache_memlimit replies (memcached 1.6.45's process_memlimit_command).
var (
	MemlimitTooSmall  = []byte("MEMLIMIT_TOO_SMALL cannot set maxbytes to less than 8m\r\n")
	MemlimitNotBytes  = []byte("MEMLIMIT_ADJUST_FAILED input value is megabytes not bytes\r\n")
	MemlimitAdjustErr = []byte("MEMLIMIT_ADJUST_FAILED out of bounds or unable to adjust\r\n")
)

// ParseMemlimit parses "cache_memlimit <megabytes> ..." as memcached
// 1.6.45: the size is a 32-bit number (else ERROR), at least 8 and at
// most 1000000000 (its replies say why not); tokens past it are ignored
// but a last noreply, which silences the reply.
func ParseMemlimit(t *Tokens) (mb uint32, noreplyOn bool, errLine []byte) {
	noreplyOn = Noreply(t)
	v, ok := TokUint64(TokenAt(t, 1))
	switch {
	case !ok || t.N < 2 || v > 1<<32-1:
		return 0, noreplyOn, Error
	case v < 8:
		return 0, noreplyOn, MemlimitTooSmall
	case v > 1000000000:
		return 0, noreplyOn, MemlimitNotBytes
	}
	return uint32(v), noreplyOn, nil
}

// lru subcommands.
const (
	LRUTune    = iota + 1 // lru tune <hot pct> <warm pct> <hot factor> <warm factor>
	LRUMode               // lru mode flat|segmented
	LRUTempTTL            // lru temp_ttl <seconds>
)

// LRUCommand is a parsed lru line.
type LRUCommand struct {
	Sub                   int
	HotPct, WarmPct       uint32
	HotFactor, WarmFactor float64
	Segmented             bool  // mode
	TempTTL               int32 // temp_ttl; negative turns the temporary LRU off
	Noreply               bool
}

// lru replies.
var (
	LRUPctsTooHigh = []byte("ERROR hot and warm pcts must not exceed 80\r\n")
	LRUBadFactor   = []byte("ERROR hot/warm age factors must be greater than 0\r\n")
)

// ParseLRU parses an lru line as memcached 1.6.45's process_lru_command:
// the subcommand matches by the letters sent (tune first, so "t" is
// tune), tune needs four values (the percentages' sum taken as memcached's
// uint32 sum), and mode and temp_ttl exist only with an LRU maintainer
// (maintainer); anything else is ERROR.
func ParseLRU(t *Tokens, maintainer bool, c *LRUCommand) []byte {
	*c = LRUCommand{Noreply: Noreply(t)}
	sub := TokenAt(t, 1)
	is := func(word string) bool { return PrefixOf(sub, word) }
	switch {
	case is("tune") && t.N >= 6:
		hot, ok1 := TokUint64(t.T[2])
		warm, ok2 := TokUint64(t.T[3])
		hf, ok3 := parseCDouble(t.T[4])
		wf, ok4 := parseCDouble(t.T[5])
		switch {
		case !ok1 || !ok2 || !ok3 || !ok4 || hot > 1<<32-1 || warm > 1<<32-1:
			return Error
		case uint32(hot)+uint32(warm) > 80:
			return LRUPctsTooHigh
		case wf <= 0 || hf <= 0: // NaN passes, as in memcached
			return LRUBadFactor
		}
		c.Sub, c.HotPct, c.WarmPct, c.HotFactor, c.WarmFactor = LRUTune, uint32(hot), uint32(warm), hf, wf
	case is("mode") && t.N >= 3 && maintainer:
		switch string(t.T[2]) {
		case "flat":
		case "segmented":
			c.Segmented = true
		default:
			return Error
		}
		c.Sub = LRUMode
	case is("temp_ttl") && t.N >= 3 && maintainer:
		v, ok := TokInt32(t.T[2])
		if !ok {
			return Error
		}
		c.Sub, c.TempTTL = LRUTempTTL, v
	default:
		return Error
	}
	return nil
}

// parseCDouble is memcached's safe_strtod: all of the token a number as
// C's strtod reads it (inf and nan included).
func parseCDouble(b []byte) (float64, bool) {
	f, err := strconv.ParseFloat(string(b), 64)
	return f, err == nil
}

// FormatCFactor is a factor as memcached's "%.2f" prints it.
func FormatCFactor(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsNaN(f):
		return "nan"
	}
	return strconv.FormatFloat(f, 'f', 2, 64)
}
