package client

import "fmt"

// Distribution says how keys are spread over the servers.
type Distribution uint8

const (
	// DistKetama is libmemcached's KETAMA_WEIGHTED / twemproxy's
	// md5+ketama ring (the default).
	DistKetama Distribution = iota
	// DistModulo is gomemcache's crc32 modulo list.
	DistModulo
)

func (d Distribution) String() string {
	switch d {
	case DistKetama:
		return "ketama"
	case DistModulo:
		return "modulo"
	}
	return fmt.Sprintf("Distribution(%d)", uint8(d))
}

// ParseDistribution reads "ketama" or "modulo".
func ParseDistribution(s string) (Distribution, error) {
	switch s {
	case "ketama", "consistent", "":
		return DistKetama, nil
	case "modulo", "modula", "gomemcache":
		return DistModulo, nil
	}
	return 0, fmt.Errorf("unknown distribution %q (want ketama or modulo)", s)
}

// Picker maps a key to the index of its node.
type Picker interface {
	// Pick returns an index into the nodes the picker was built from,
	// or -1 when there are none.
	Pick(key string) int
}

// NewPicker builds d over nodes.
func NewPicker(d Distribution, nodes []Node) Picker {
	if d == DistModulo {
		return NewModulo(nodes)
	}
	return NewKetama(nodes)
}
