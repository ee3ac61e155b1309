package slab

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"unsafe"
)

// ErrFileInUse is returned by NewFileArena when another process holds the
// memory file.
var ErrFileInUse = errors.New("in use by another process")

// memFile is the shared mapping of a memory file (-e) that backs every page
// of a file arena. The file stays locked (flock) while the arena is open.
type memFile struct {
	f   *os.File
	mem []byte
}

// NewFileArena is NewArena with every page mapped from the file at path
// (MAP_SHARED, sized to the page limit and the first pages of classes past
// it, sparse until used), so item memory outlives the process and a later
// one can resume it (memcached's -e). The file is created when
// missing and locked: a second arena on the same file fails with
// ErrFileInUse. Pages keep what the file holds; Wipe zeroes them.
func NewFileArena(path string, limitBytes int64, pageSize int) (*Arena, error) {
	a, err := NewArena(limitBytes, pageSize)
	if err != nil {
		return nil, err
	}
	a.pages = a.pages[:a.limit+a.over] // the file's size; it never grows
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("memory file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("memory file %s: %w", path, ErrFileInUse)
		}
		return nil, fmt.Errorf("memory file %s: lock: %w", path, err)
	}
	a.file = &memFile{f: f}
	if err := a.file.mapPages(a, false); err != nil {
		f.Close()
		return nil, err
	}
	return a, nil
}

// mapPages sizes the file to the arena (to zero bytes first when wipe) and
// maps it, pointing every page at its part of the mapping.
func (m *memFile) mapPages(a *Arena, wipe bool) error {
	size := int64(len(a.pages)) * int64(a.pageSize)
	if wipe {
		if err := m.f.Truncate(0); err != nil {
			return fmt.Errorf("memory file: %w", err)
		}
	}
	if err := m.f.Truncate(size); err != nil {
		return fmt.Errorf("memory file: %w", err)
	}
	mem, err := syscall.Mmap(int(m.f.Fd()), 0, int(size), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		return fmt.Errorf("memory file: mmap %d bytes: %w", size, err)
	}
	m.mem = mem
	for i := range a.pages {
		lo := i * a.pageSize
		a.pages[i] = mem[lo : lo+a.pageSize : lo+a.pageSize]
	}
	return nil
}

func (m *memFile) unmap() {
	if m.mem != nil {
		_ = syscall.Munmap(m.mem)
		m.mem = nil
	}
}

// Wipe zeroes a file arena's memory (the file is cut to nothing and grown
// again, which also gives tmpfs its pages back). It must be called before
// any page is taken. Without a memory file it does nothing.
func (a *Arena) Wipe() error {
	if a.file == nil {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.file.unmap()
	return a.file.mapPages(a, true)
}

// Sync flushes a file arena's memory to its file (msync), for memory files
// on a DAX device; on tmpfs it costs next to nothing.
func (a *Arena) Sync() error {
	if a.file == nil || a.file.mem == nil {
		return nil
	}
	return msync(a.file.mem)
}

func msync(b []byte) error {
	_, _, e := syscall.Syscall(syscall.SYS_MSYNC, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), syscall.MS_SYNC)
	if e != 0 {
		return fmt.Errorf("memory file: msync: %w", e)
	}
	return nil
}

// Adopt gives a resumed file arena its page accounting back: the first
// allocated pages are in use, pool lists those of them that belong to no
// class. It must be called before any page is taken.
func (a *Arena) Adopt(allocated int, pool []uint32) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.file == nil || a.allocated != 0 || allocated > a.limit+a.over {
		return fmt.Errorf("slab: cannot adopt %d pages", allocated)
	}
	for _, p := range pool {
		if int(p) >= allocated {
			return fmt.Errorf("slab: pooled page %d is not allocated", p)
		}
	}
	a.allocated, a.next = allocated, allocated
	a.pool = append(a.pool[:0], pool...)
	return nil
}

// Filesystem magic numbers (statfs f_type) of memory-backed filesystems.
const (
	tmpfsMagic     = 0x01021994
	ramfsMagic     = 0x858458f6
	hugetlbfsMagic = 0x958458f6
)

// OnMemoryFS reports whether path's directory is on a memory-backed
// filesystem (tmpfs, ramfs, hugetlbfs), where a memory file costs no disk
// writes. err is set when that cannot be told.
func OnMemoryFS(path string) (bool, error) {
	var st syscall.Statfs_t
	dir := path
	if fi, err := os.Stat(path); err != nil || !fi.IsDir() {
		dir = filepath.Dir(path)
	}
	if err := syscall.Statfs(dir, &st); err != nil {
		return false, err
	}
	switch uint32(st.Type) {
	case tmpfsMagic, ramfsMagic, hugetlbfsMagic:
		return true, nil
	}
	return false, nil
}

// FileRoom is how many bytes of the file at path can be in memory: what it
// holds already plus its filesystem's free space. A memory file mapped
// past its room crashes the process (SIGBUS) when it is written there.
func FileRoom(path string) (int64, error) {
	var fs syscall.Statfs_t
	if err := syscall.Statfs(path, &fs); err != nil {
		return 0, err
	}
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return 0, err
	}
	return int64(fs.Bavail)*fs.Bsize + st.Blocks*512, nil
}
