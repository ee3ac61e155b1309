//go:build race

package slab

// Under the race detector pages come from the Go heap so that every access to
// item memory is checked; mmap'd memory is invisible to it.
func newPage(size int) ([]byte, error) { return make([]byte, size), nil }

func freePage([]byte) {}
