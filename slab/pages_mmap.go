//go:build !race

package slab

import "syscall"

// newPage maps an anonymous page outside the Go heap, so item memory adds
// nothing to the collector's heap goal or mark work.
func newPage(size int) ([]byte, error) {
	return syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
}

func freePage(p []byte) { _ = syscall.Munmap(p) }
