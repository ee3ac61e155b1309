package server

import (
	"fmt"
	"io"
	"strconv"
)

func fmtSscan(s, format string, args ...any) (int, error) { return fmt.Sscanf(s, format, args...) }
func itoa(v uint64) string                                { return strconv.FormatUint(v, 10) }
func ioReadFull(r io.Reader, b []byte) (int, error)       { return io.ReadFull(r, b) }

// short quotes s, cut to a readable length.
func short(s string) string {
	if len(s) > 120 {
		return strconv.Quote(s[:100]) + "..." + strconv.Itoa(len(s)) + " bytes"
	}
	return strconv.Quote(s)
}
