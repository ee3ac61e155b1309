package server

import (
	"strconv"

	"github.com/gocached/gocached/slab"
	"github.com/gocached/gocached/store"
	"go.uber.org/zap"
)

// The restartable cache (-e, memcached's memory_file): the store keeps item
// memory in the file and resumes it at start when the last stop was
// graceful (store/restart.go). The server logs what the start did, reports
// rebuild progress, and has the store save its metadata when the stop is
// graceful.

// KeepCache makes the coming Shutdown save the cache for the next start
// (a graceful stop: SIGTERM, SIGUSR1, shutdown graceful). Without -e it
// changes nothing.
func (s *Server) KeepCache() { s.keepCache.Store(true) }

// closeStoreNow releases the store once every connection is done: with -e
// and a graceful stop it first writes the restart metadata.
func (s *Server) closeStoreNow() {
	if !s.keepCache.Load() || s.cfg.MemoryFile == "" {
		s.store.Close()
		return
	}
	if err := s.store.CloseRestartable(); err != nil {
		s.log.Error("[restart] metadata not saved: the next start will be empty", zap.Error(err))
		return
	}
	s.log.Warn("[restart] cache saved for the next start", zap.String("memory_file", s.cfg.MemoryFile))
}

// restartProgress logs the rebuild of a memory file every tenth of it, and
// tells systemd (STATUS=, EXTEND_TIMEOUT_USEC=).
func restartProgress(log *zap.Logger) func(done, total int) {
	lastStep := -1
	return func(done, total int) {
		if total == 0 {
			return
		}
		pct := done * 100 / total
		if pct/10 == lastStep && done != total {
			return
		}
		lastStep = pct / 10
		log.Info("[restart] rebuilding the cache", zap.Int("pages_done", done), zap.Int("pages", total))
		// Each step also extends systemd's start timeout by 30 s, so a big
		// rebuild that keeps progressing is not killed by TimeoutStartSec.
		_ = SystemdNotify("STATUS=restoring cache from memory file: " + strconv.Itoa(pct) + "%\nEXTEND_TIMEOUT_USEC=30000000")
	}
}

// logRestart says what the start did with the memory file. As memcached's
// [restart] lines these show at every verbosity.
func logRestart(r store.RestartReport, size int64, log *zap.Logger) {
	if r.File == "" {
		return
	}
	if ok, err := slab.OnMemoryFS(r.File); err == nil && !ok {
		log.Warn("[restart] the memory file is not on tmpfs or ramfs: item memory may be written to disk", zap.String("memory_file", r.File))
	}
	if room, err := slab.FileRoom(r.File); err == nil && room < size {
		log.Warn("[restart] the memory file's filesystem has less room than -m: writing item memory past it would crash the daemon (SIGBUS); grow the tmpfs or lower -m",
			zap.String("memory_file", r.File), zap.Int64("room_mb", room>>20), zap.Int64("memory_limit_mb", size>>20))
	}
	if !r.Resumed {
		log.Warn("[restart] starting with an empty cache", zap.String("memory_file", r.File), zap.String("reason", r.Reason))
		return
	}
	log.Warn("[restart] cache resumed", zap.String("memory_file", r.File), zap.Int("items", r.Items),
		zap.Int("expired", r.Expired), zap.Int("dropped", r.Dropped), zap.Int("pages", r.Pages), zap.Duration("took", r.Took))
}
