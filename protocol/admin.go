package protocol

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
