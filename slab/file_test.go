package slab

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// memDir is a temporary directory on tmpfs (/dev/shm) when there is one,
// else the test's own directory.
func memDir(t *testing.T) string {
	t.Helper()
	if ok, _ := OnMemoryFS("/dev/shm"); ok {
		if d, err := os.MkdirTemp("/dev/shm", "gocached-slab-test-"); err == nil {
			t.Cleanup(func() { os.RemoveAll(d) })
			return d
		}
	}
	return t.TempDir()
}

func TestFileArenaKeepsMemoryAcrossOpens(t *testing.T) {
	const ps = 1 << 16
	path := filepath.Join(memDir(t), "mem")
	a, err := NewFileArena(path, 4*ps, ps)
	if err != nil {
		t.Fatal(err)
	}
	// Room for the limit and for each class's first page past it.
	if fi, err := os.Stat(path); err != nil || fi.Size() != (4+MaxClasses)*ps {
		t.Fatalf("memory file size %v (%v), want %d", fi.Size(), err, (4+MaxClasses)*ps)
	}
	c := NewClass(1, 128, a)
	l := c.Alloc()
	copy(a.Chunk(l, 16), "resume this item")
	p2, _ := a.TakePage()
	a.ReturnPage(p2)
	if err := a.Sync(); err != nil {
		t.Fatal(err)
	}
	a.Close()

	b, err := NewFileArena(path, 4*ps, ps)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if got := string(b.Chunk(l, 16)); got != "resume this item" {
		t.Fatalf("after reopening the chunk holds %q", got)
	}
	if b.AllocatedPages() != 0 {
		t.Fatalf("a reopened arena has %d allocated pages before Adopt", b.AllocatedPages())
	}
	if err := b.Adopt(2, []uint32{p2}); err != nil {
		t.Fatal(err)
	}
	if b.AllocatedPages() != 2 || b.PoolPages() != 1 {
		t.Fatalf("after Adopt allocated %d pool %d, want 2 and 1", b.AllocatedPages(), b.PoolPages())
	}
	// The adopted page 0 goes back to its class without touching its chunks.
	c2 := NewClass(1, 128, b)
	c2.AttachPage(0)
	if c2.Pages() != 1 || c2.FreeChunks() != 0 || string(b.Chunk(l, 16)) != "resume this item" {
		t.Fatalf("AttachPage: pages %d free %d chunk %q", c2.Pages(), c2.FreeChunks(), b.Chunk(l, 16))
	}
	// New pages come from the pool, then after the adopted ones.
	if p, ok := b.TakePage(); !ok || p != p2 {
		t.Fatalf("TakePage = %d, %v; want the pooled page %d", p, ok, p2)
	}
	if p, ok := b.TakePage(); !ok || p != 2 {
		t.Fatalf("TakePage = %d, %v; want page 2", p, ok)
	}
}

func TestFileArenaWipe(t *testing.T) {
	const ps = 1 << 16
	path := filepath.Join(memDir(t), "mem")
	a, err := NewFileArena(path, 2*ps, ps)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := a.TakePage()
	a.Page(p)[100] = 7
	a.Close()
	a, err = NewFileArena(path, 2*ps, ps)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if a.SetLimit(4 * ps) {
		t.Error("a memory file's arena took a new limit; its mapping is fixed")
	}
	if err := a.Wipe(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		for j, b := range a.Page(uint32(i)) {
			if b != 0 {
				t.Fatalf("page %d byte %d is %d after Wipe", i, j, b)
			}
		}
	}
}

func TestFileArenaErrors(t *testing.T) {
	const ps = 1 << 16
	dir := memDir(t)
	path := filepath.Join(dir, "mem")
	a, err := NewFileArena(path, 2*ps, ps)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		path  string
		inUse bool
	}{
		{"second arena on a locked file", path, true},
		{"directory missing", filepath.Join(dir, "no", "mem"), false},
		{"path is a directory", dir, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := NewFileArena(tc.path, 2*ps, ps)
			if err == nil {
				b.Close()
				t.Fatal("NewFileArena succeeded")
			}
			if got := errors.Is(err, ErrFileInUse); got != tc.inUse {
				t.Fatalf("error %v: in use = %v, want %v", err, got, tc.inUse)
			}
		})
	}
	// Closing releases the lock.
	a.Close()
	b, err := NewFileArena(path, 2*ps, ps)
	if err != nil {
		t.Fatalf("after the first arena closed: %v", err)
	}
	b.Close()
	// Adopt is only for a fresh file arena.
	h, _ := NewArena(2*ps, ps)
	defer h.Close()
	if h.Adopt(1, nil) == nil {
		t.Error("Adopt succeeded on an anonymous arena")
	}
}

func TestOnMemoryFS(t *testing.T) {
	if _, err := os.Stat("/proc/self"); err != nil {
		t.Fatal("no /proc: not Linux?")
	}
	tests := []struct {
		path string
		want bool
	}{
		{"/proc/self/status", false}, // procfs is not tmpfs
	}
	if ok, _ := OnMemoryFS("/dev/shm"); ok {
		tests = append(tests, struct {
			path string
			want bool
		}{"/dev/shm/not-there-yet", true})
	}
	for _, tc := range tests {
		got, err := OnMemoryFS(tc.path)
		if err != nil || got != tc.want {
			t.Errorf("OnMemoryFS(%s) = %v, %v; want %v", tc.path, got, err, tc.want)
		}
	}
}

func TestFileRoom(t *testing.T) {
	path := filepath.Join(memDir(t), "mem")
	if err := os.WriteFile(path, make([]byte, 1<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	before, err := FileRoom(path)
	if err != nil {
		t.Fatal(err)
	}
	if before < 1<<20 {
		t.Fatalf("FileRoom %d is less than the file's own 1 MB", before)
	}
	// Space the file already holds is room, not used room: growing it by
	// truncation (sparse) changes nothing (within 32 MB: others may be
	// writing to the same filesystem meanwhile).
	if err := os.Truncate(path, 64<<20); err != nil {
		t.Fatal(err)
	}
	after, _ := FileRoom(path)
	if d := after - before; d > 32<<20 || d < -32<<20 {
		t.Errorf("FileRoom moved by %d bytes when the file grew sparsely", d)
	}
	if _, err := FileRoom(filepath.Join(path, "not-a-dir")); err == nil {
		t.Error("FileRoom of a path that cannot exist succeeded")
	}
}
