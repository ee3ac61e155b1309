package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"reflect"
	"slices"
	"strconv"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/gocached/gocached/slab"
)

// The restartable cache (memcached's -e): item memory lives in a memory
// file; a graceful stop (CloseRestartable) writes PATH.meta beside it, and
// the next New with the same file and settings rebuilds the index, LRUs and
// free lists from the item headers in the pages.
//
// PATH.meta is one header line, "gocached-restart VERSION CRC32C LENGTH",
// then LENGTH bytes of JSON (restartMeta) whose CRC-32C the header holds.
// A file without that header line stops the start (as memcached's abort on
// a metadata file without its tag line); any other fault discards the
// cache: the store starts empty and Restart says why.
const (
	restartMagic   = "gocached-restart"
	restartVersion = 1
	maxKeyLength   = 250
)

// restartSettings are the options that must match for memory to be
// resumed: they decide where chunks are and how big.
type restartSettings struct {
	MemoryLimit  int64   `json:"memory_limit"`
	PageSize     int     `json:"page_size"`
	MaxItemSize  int     `json:"item_size_max"`
	ChunkMax     int     `json:"slab_chunk_max"`
	GrowthFactor float64 `json:"growth_factor"`
	MinChunk     int     `json:"chunk_size"`
	NoCAS        bool    `json:"no_cas"`
	Shards       int     `json:"shards"`
	ClassSizes   []int   `json:"class_sizes"`
	ItemLayout   string  `json:"item_layout"` // itemLayout: memory of another header layout is not read
}

// itemLayout fingerprints the item header (item.go): a gocached whose
// header differs starts empty instead of misreading the pages.
var itemLayout = fmt.Sprint("header ", HeaderSize, " offsets ",
	[]int{offPrev, offNext, offExp, offAtime, offCAS, offFlags, offNbytes, offNkey, offState, offCls, offIflags},
	" linked ", stateLinked, " main ", stateMain, " temp ", stateTemp, " freq ", freqMask)

// restartMeta is what a graceful stop saves besides the pages.
type restartMeta struct {
	Settings     restartSettings `json:"settings"`
	Pages        []uint8         `json:"pages"` // class of each allocated page, 0 = pool
	CAS          uint64          `json:"cas"`
	ClockStarted int64           `json:"clock_started"` // unix time of store-clock second 0
	StopTime     int64           `json:"stop_time"`     // unix time of the stop
	IndexSlots   []int           `json:"index_slots"`   // each shard's index size
	OldestLive   uint32          `json:"oldest_live"`   // flush_all state
	OldestCAS    uint64          `json:"oldest_cas"`
	Items        int             `json:"items"`
}

// RestartReport says what New did with a memory file.
type RestartReport struct {
	File    string        // the memory file, "" without -e
	Resumed bool          // the cache was resumed from it
	Reason  string        // why it was not, when it was not
	Items   int           // items resumed
	Expired int           // items found expired or flushed, freed
	Dropped int           // chunks marked linked that failed validation, freed
	Pages   int           // pages walked
	Took    time.Duration // rebuild time
}

// Restart reports what New did with the memory file.
func (s *Store) Restart() RestartReport { return s.restart }

func (s *Store) restartSettings() restartSettings {
	sizes := make([]int, 0, len(s.classes)-1)
	for _, c := range s.classes[1:] {
		sizes = append(sizes, c.sc.Size)
	}
	return restartSettings{
		MemoryLimit: s.opts.MemoryLimit, PageSize: s.arena.PageSize(), MaxItemSize: s.opts.MaxItemSize,
		ChunkMax: s.opts.ChunkMax, GrowthFactor: s.opts.GrowthFactor, MinChunk: s.opts.MinChunk,
		NoCAS: s.opts.NoCAS, Shards: len(s.shards), ClassSizes: sizes, ItemLayout: itemLayout,
	}
}

// differs names the first setting that is not the same in b, or "".
func (a restartSettings) differs(b restartSettings) string {
	av, bv := reflect.ValueOf(a), reflect.ValueOf(b)
	for i := 0; i < av.NumField(); i++ {
		x, y := av.Field(i).Interface(), bv.Field(i).Interface()
		if !reflect.DeepEqual(x, y) {
			return fmt.Sprintf("%s was %v, now %v", av.Type().Field(i).Tag.Get("json"), x, y)
		}
	}
	return ""
}

func metaPath(file string) string { return file + ".meta" }

// encodeRestartMeta is the bytes of PATH.meta.
func encodeRestartMeta(m *restartMeta) ([]byte, error) {
	body, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	sum := crc32.Checksum(body, crc32.MakeTable(crc32.Castagnoli))
	head := fmt.Sprintf("%s %d %08x %d\n", restartMagic, restartVersion, sum, len(body))
	return append([]byte(head), body...), nil
}

// errCorruptMeta stops the start: the file is not a gocached metadata file.
var errCorruptMeta = errors.New("corrupt metadata file")

// decodeRestartMeta parses PATH.meta. A missing header line is fatal
// (errCorruptMeta); any other fault is a reason to start empty.
func decodeRestartMeta(b []byte) (*restartMeta, error) {
	line, body, ok := bytes.Cut(b, []byte("\n"))
	f := bytes.Fields(line)
	if !ok || len(f) != 4 || string(f[0]) != restartMagic {
		return nil, errCorruptMeta
	}
	if v, _ := strconv.Atoi(string(f[1])); v != restartVersion {
		return nil, fmt.Errorf("metadata version %s, this gocached reads %d", f[1], restartVersion)
	}
	n, err := strconv.Atoi(string(f[3]))
	if err != nil || n != len(body) {
		return nil, fmt.Errorf("metadata is %d bytes, its header says %s (truncated?)", len(body), f[3])
	}
	sum, err := strconv.ParseUint(string(f[2]), 16, 32)
	if err != nil || uint32(sum) != crc32.Checksum(body, crc32.MakeTable(crc32.Castagnoli)) {
		return nil, errors.New("metadata checksum mismatch (corrupted)")
	}
	m := new(restartMeta)
	if err := json.Unmarshal(body, m); err != nil {
		return nil, fmt.Errorf("metadata: %w", err)
	}
	return m, nil
}

// resume runs in New with a memory file: it reads and removes PATH.meta and
// rebuilds the cache from the pages when it may, else wipes them. Only an
// unreadable or headerless metadata file is an error.
func (s *Store) resume() error {
	file := s.opts.MemoryFile
	s.restart.File = file
	b, err := os.ReadFile(metaPath(file))
	if errors.Is(err, os.ErrNotExist) {
		s.restart.Reason = "no metadata file (first start, or the last stop was not graceful)"
		return s.arena.Wipe()
	}
	if err != nil {
		return fmt.Errorf("restart metadata: %w", err)
	}
	m, err := decodeRestartMeta(b)
	if errors.Is(err, errCorruptMeta) {
		return fmt.Errorf("%s: %w (no %q header line); remove it to start with an empty cache", metaPath(file), err, restartMagic)
	}
	// From here on the metadata is used at most once: a crash after this
	// start must not resume memory that has changed since.
	if rerr := os.Remove(metaPath(file)); rerr != nil {
		return fmt.Errorf("restart metadata: %w", rerr)
	}
	if err == nil {
		err = s.checkMeta(m)
	}
	if err != nil {
		s.restart.Reason = err.Error()
		return s.arena.Wipe()
	}
	s.rebuild(m)
	return nil
}

// checkMeta tells whether m describes memory this store can resume.
func (s *Store) checkMeta(m *restartMeta) error {
	if d := m.Settings.differs(s.restartSettings()); d != "" {
		return errors.New("settings changed: " + d)
	}
	if now := s.clock.now().Unix(); now < m.StopTime {
		return fmt.Errorf("the clock went back %ds since the stop", m.StopTime-now)
	}
	if len(m.Pages) > s.arena.MaxPages() || len(m.IndexSlots) != len(s.shards) {
		return errors.New("metadata does not fit the memory limit")
	}
	for _, id := range m.Pages {
		if int(id) >= len(s.classes) {
			return fmt.Errorf("metadata names slab class %d of %d", id, len(s.classes)-1)
		}
	}
	return nil
}

// rebuild restores the cache from the pages m describes: linked items that
// are valid and alive go back into the index and the queue of their class
// they were in (queues.go; in order of their last store or read), every
// other chunk onto its class's free list.
func (s *Store) rebuild(m *restartMeta) {
	start := time.Now()
	s.clock.started = m.ClockStarted
	s.clock.tick()
	now := s.clock.Now()
	s.oldestLive.Store(m.OldestLive)
	s.oldestCAS.Store(m.OldestCAS)
	for i := range s.shards {
		n := max(m.IndexSlots[i], len(s.shards[i].idx.slots))
		s.shards[i].idx.free()
		s.shards[i].idx = newIndex(n)
	}
	maxCAS := m.CAS
	ps := s.arena.PageSize()
	lru := make([][nQueues][]uint64, len(s.classes)) // per queue: atime<<32 | loc
	var pool []uint32
	r := &s.restart
	for p, id := range m.Pages {
		if s.opts.RestartProgress != nil && p%256 == 0 {
			s.opts.RestartProgress(p, len(m.Pages))
		}
		page := uint32(p)
		if id == 0 {
			pool = append(pool, page)
			continue
		}
		c := s.classes[id]
		c.sc.AttachPage(page)
		size := c.sc.Size
		for off := 0; off+size <= ps; off += size {
			l := s.arena.LocOf(page, off)
			it := hdr(s.arena.Chunk(l, HeaderSize))
			if it.linked() {
				switch s.resumable(it, id, size, now) {
				case resumeOK:
					full := hdr(s.arena.Chunk(l, it.total()))
					h := xxhash.Sum64(full.key())
					sh := s.shardOf(h)
					if slot, _ := s.lookup(sh, h, full.key()); slot < 0 {
						sh.idx.insert(h, l)
						q := it.state() - stateLinked
						lru[id][q] = append(lru[id][q], uint64(it.atime())<<32|uint64(l))
						c.st.items++
						c.st.totalItems++ // as memcached's do_item_link_fixup
						c.st.bytes += int64(full.total())
						maxCAS = max(maxCAS, it.cas())
						if it.iflags()&flagCASIn != 0 {
							s.clientCAS.Store(true)
						}
						continue
					}
					r.Dropped++ // a second copy of a key: memory is not what was saved
				case resumeDead:
					r.Expired++
				default:
					r.Dropped++
				}
			}
			it.setState(stateFree)
			c.sc.Free(l)
		}
	}
	// Adopt cannot fail here: checkMeta bounded the pages, nothing took one.
	_ = s.arena.Adopt(len(m.Pages), pool)
	for id, queues := range lru {
		c := s.classes[id]
		for q, items := range queues {
			slices.Sort(items)
			for _, e := range items {
				l := slab.Loc(uint32(e))
				c.pushHead(s, q, l, hdr(s.arena.Chunk(l, HeaderSize)))
			}
			r.Items += len(items)
		}
	}
	s.casSeq.Store(maxCAS)
	r.Resumed, r.Pages, r.Took = true, len(m.Pages), time.Since(start)
	if s.opts.RestartProgress != nil {
		s.opts.RestartProgress(len(m.Pages), len(m.Pages))
	}
}

type resumeVerdict uint8

const (
	resumeOK   resumeVerdict = iota
	resumeDead               // expired or flushed
	resumeTorn               // header does not fit its chunk
)

// resumable judges a chunk marked linked in a page of class id (chunk
// size size): never trust a header that does not fit its chunk.
func (s *Store) resumable(it hdr, id uint8, size int, now uint32) resumeVerdict {
	if it.cls() != id || it.state() > stateMax || it.nkey() == 0 || it.nkey() > maxKeyLength || HeaderSize+it.nkey()+it.nbytes() > size {
		return resumeTorn
	}
	if ok, _ := s.live(it, now); !ok {
		return resumeDead
	}
	return resumeOK
}

// CloseRestartable is Close for a graceful stop: with a memory file it
// first writes PATH.meta, so that the next New with the same file and
// settings resumes the cache. Nothing may use the store meanwhile or
// afterwards. Without a memory file it is Close.
func (s *Store) CloseRestartable() error {
	var err error
	s.closeOne.Do(func() {
		close(s.stop)
		s.wg.Wait()
		if s.opts.MemoryFile != "" {
			err = s.saveRestart()
		}
		s.unmap()
	})
	return err
}

// saveRestart writes PATH.meta (via a temporary file and a rename, so a
// stop cut short leaves no half-written metadata).
func (s *Store) saveRestart() error {
	m := &restartMeta{
		Settings:     s.restartSettings(),
		Pages:        make([]uint8, s.arena.AllocatedPages()),
		CAS:          s.casSeq.Load(),
		ClockStarted: s.clock.started,
		StopTime:     s.clock.now().Unix(),
		IndexSlots:   make([]int, len(s.shards)),
		OldestLive:   s.oldestLive.Load(),
		OldestCAS:    s.oldestCAS.Load(),
	}
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		m.IndexSlots[i] = len(sh.idx.slots)
		sh.mu.Unlock()
	}
	for _, c := range s.classes[1:] {
		c.mu.Lock()
		for _, p := range c.sc.PageList() {
			m.Pages[p] = c.sc.ID
		}
		m.Items += int(c.st.items)
		c.mu.Unlock()
	}
	if err := s.arena.Sync(); err != nil {
		return err
	}
	b, err := encodeRestartMeta(m)
	if err != nil {
		return err
	}
	path := metaPath(s.opts.MemoryFile)
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("restart metadata: %w", err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("restart metadata: %w", err)
	}
	return nil
}
