package server

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
)

// captureConn keeps what is written to it.
type captureConn struct {
	nopConn
	buf *bytes.Buffer
}

func (c captureConn) Write(b []byte) (int, error) { return c.buf.Write(b) }

// getStreamServer is a server holding keys k0..k199 (every third one
// missing), values of a few bytes.
func getStreamServer(t *testing.T) *Server {
	s := fuzzServer(t)
	t.Cleanup(s.store.Close)
	var sb strings.Builder
	for i := 0; i < 200; i++ {
		if i%3 != 0 {
			v := strconv.Itoa(i * 7)
			fmt.Fprintf(&sb, "set k%d %d 0 %d\r\n%s\r\n", i, i, len(v), v)
		}
	}
	feed(s, []byte(sb.String()))
	return s
}

// runWhole answers input with the whole of it in the read buffer at once:
// every line is parsed complete (no streaming).
func runWhole(s *Server, input []byte) []byte {
	var out bytes.Buffer
	c := newConn(s, captureConn{buf: &out}, fakeListener{})
	defer c.release()
	c.need = len(input) + 1
	if err := c.prepareRead(); err != nil {
		panic(err)
	}
	c.w += copy(c.rbuf[c.w:], input)
	c.need = 0
	c.process()
	out.Write(c.out)
	return out.Bytes()
}

// runPieces answers input arriving in pieces of the given sizes.
func runPieces(s *Server, input []byte, rng *rand.Rand, maxPiece int) []byte {
	var out bytes.Buffer
	c := newConn(s, captureConn{buf: &out}, fakeListener{})
	defer c.release()
	for len(input) > 0 {
		if err := c.prepareRead(); err != nil {
			panic(err)
		}
		n := min(1+rng.IntN(maxPiece), len(input), len(c.rbuf)-c.w)
		c.w += copy(c.rbuf[c.w:], input[:n])
		input = input[n:]
		if c.process() == actClose {
			out.Write(c.out)
			out.WriteString("<closed>")
			return out.Bytes()
		}
		if err := c.flush(); err != nil { // as the read loop does
			panic(err)
		}
		if len(c.rbuf) > 2*bufSize {
			panic(fmt.Sprintf("read buffer grew to %d for a streamed get", len(c.rbuf)))
		}
	}
	out.Write(c.out)
	return out.Bytes()
}

// randomGetLine is a long get or gets line: hits, misses, runs of spaces,
// now and then a key over 250 bytes or a NUL byte, \r\n or \n.
func randomGetLine(rng *rand.Rand) []byte {
	var b bytes.Buffer
	b.WriteString(strings.Repeat(" ", rng.IntN(3)))
	b.WriteString([]string{"get", "gets"}[rng.IntN(2)])
	n := rng.IntN(2000) // under 64 KB of replies (see the test)
	for i := 0; i < n; i++ {
		b.WriteString(strings.Repeat(" ", 1+rng.IntN(2)))
		switch r := rng.IntN(1000); {
		case r == 0:
			b.WriteString(strings.Repeat("x", 251+rng.IntN(60)))
		case r == 1:
			b.WriteString("k1\x00k2")
		case r < 300:
			fmt.Fprintf(&b, "missing%d", rng.IntN(1000))
		default:
			fmt.Fprintf(&b, "k%d", rng.IntN(200))
		}
	}
	b.WriteString(strings.Repeat(" ", rng.IntN(2)))
	b.WriteString([]string{"\r\n", "\n"}[rng.IntN(2)])
	return b.Bytes()
}

// TestGetStreamMatchesWholeLine: a long get line gets the same replies,
// byte for byte, whether it is parsed whole or looked up as it streams in
// over reads of any size (each followed by the read loop's flush), and its
// read buffer does not grow. (The one known difference, values written
// before a too-long key when over 64 KB of them are pending, is kept out by
// the number of keys.)
func TestGetStreamMatchesWholeLine(t *testing.T) {
	seed := rand.Uint64()
	if v := os.Getenv("GETSTREAM_SEED"); v != "" {
		seed, _ = strconv.ParseUint(v, 10, 64)
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	whole, pieces := getStreamServer(t), getStreamServer(t)
	for i := 0; i < 60; i++ {
		input := append(randomGetLine(rng), "mn\r\n"...)
		if i%7 == 0 {
			// An endless key: a line that never ends with its space.
			input = append([]byte("get k1 "+strings.Repeat("y", 20_000)+" k2\r\n"), "mn\r\n"...)
		}
		want := runWhole(whole, input)
		got := runPieces(pieces, input, rng, []int{100, 3000, 20000}[i%3])
		if !bytes.Equal(got, want) {
			t.Fatalf("seed %d (GETSTREAM_SEED=%d to replay), line %d of %d bytes: streamed replies differ:\n got %.300q…\nwant %.300q…", seed, seed, i, len(input), got, want)
		}
	}
	if a, b := whole.store.Stats(), pieces.store.Stats(); a.GetHits != b.GetHits || a.GetMisses != b.GetMisses || a.CmdGet != b.CmdGet {
		t.Errorf("seed %d: counters differ: whole hits %d misses %d gets %d, streamed %d %d %d", seed, a.GetHits, a.GetMisses, a.CmdGet, b.GetHits, b.GetMisses, b.CmdGet)
	}
}

// TestEndlessGetStaysSmall: a get line of misses that never ends keeps the
// read buffer at its 16 KB, and one that ends is answered.
func TestEndlessGetStaysSmall(t *testing.T) {
	s := getStreamServer(t)
	var out bytes.Buffer
	c := newConn(s, captureConn{buf: &out}, fakeListener{})
	defer c.release()
	chunk := []byte(strings.Repeat(" nokey", 1000))
	send := func(b []byte) {
		for len(b) > 0 {
			if err := c.prepareRead(); err != nil {
				t.Fatal(err)
			}
			n := copy(c.rbuf[c.w:], b)
			c.w += n
			b = b[n:]
			c.process()
		}
	}
	send([]byte("get"))
	for i := 0; i < 2000; i++ { // 12 MB
		send(chunk)
	}
	if len(c.rbuf) != bufSize {
		t.Fatalf("read buffer %d bytes after 12 MB of one get line", len(c.rbuf))
	}
	send([]byte(" k1\r\n"))
	if got := string(c.out); got != "VALUE k1 1 1\r\n7\r\nEND\r\n" {
		t.Fatalf("end of the endless line: %q", got)
	}
}
