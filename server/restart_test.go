package server

import (
	"testing"
	"time"

	"go.uber.org/zap"
)

// TestRestartProgressNotifies: the rebuild tells systemd its progress every
// tenth, each time extending the start timeout.
func TestRestartProgressNotifies(t *testing.T) {
	pc := notifySocket(t)
	progress := restartProgress(zap.NewNop())
	for _, done := range []int{0, 3, 9, 10, 55, 99, 100} {
		progress(done, 100)
	}
	const ext = "\nEXTEND_TIMEOUT_USEC=30000000"
	want := []string{"0%", "10%", "55%", "99%", "100%"} // 3 and 9 are in the 0% tenth
	buf := make([]byte, 256)
	for _, w := range want {
		_ = pc.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, _, err := pc.ReadFrom(buf)
		if got := string(buf[:n]); err != nil || got != "STATUS=restoring cache from memory file: "+w+ext {
			t.Fatalf("notification %q, %v; want the %s step", got, err, w)
		}
	}
	_ = pc.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if n, _, err := pc.ReadFrom(buf); err == nil {
		t.Fatalf("a notification more than one a tenth: %q", buf[:n])
	}
}
