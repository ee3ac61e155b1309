package server

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/gocached/gocached/internal/casorder"
)

// pipelineScript mixes every kind of request, including data blocks with
// CRLF inside, errors and noreply, so that a split can land anywhere.
var pipelineScript = crlf(strings.Join([]string{
	"set a 1 0 3", "abc",
	"get a b",
	"set b 0 0 4 noreply", "x<CRLF>y",
	"gets a",
	"append a 0 0 2", "de",
	"incr n 1",
	"set n 0 0 2", "10",
	"decr n 3",
	"bogus cmd",
	"set c 0 0 1", "toolong",
	"delete a",
	"get a b n",
	"touch n 100",
	"version",
	"",
}, "\n"))

func init() { pipelineScript = strings.ReplaceAll(pipelineScript, "<CRLF>", "\r\n") }

// runPipe sends the script in the given pieces over a synchronous pipe (so
// every piece is a separate read on the server) and returns all replies.
func runPipe(t *testing.T, pieces []string) string {
	s := testServer(t, nil)
	cli, finish := pipeConn(t, s)
	for _, p := range pieces {
		if _, err := cli.Write([]byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	return normaliseCAS(finish())
}

// normaliseCAS renumbers the CAS field of gets lines by order of first
// appearance, so that runs do not depend on the counter.
func normaliseCAS(s string) string {
	cas := casorder.Order{}
	lines := strings.Split(s, "\r\n")
	for i, l := range lines {
		if f := strings.Fields(l); len(f) == 5 && f[0] == "VALUE" {
			lines[i] = strings.Join(f[:4], " ") + " " + cas.NameText(f[4])
		}
	}
	return strings.Join(lines, "\r\n")
}

func TestPipelineSplitAtEveryByte(t *testing.T) {
	whole := runPipe(t, []string{pipelineScript})
	if !strings.Contains(whole, "VERSION") || !strings.Contains(whole, "CLIENT_ERROR bad data chunk") {
		t.Fatalf("unexpected whole-script reply %q", whole)
	}
	for i := 1; i < len(pipelineScript); i++ {
		got := runPipe(t, []string{pipelineScript[:i], pipelineScript[i:]})
		if got != whole {
			t.Fatalf("split at byte %d (%q | %q):\n got %q\nwant %q", i, pipelineScript[:i], pipelineScript[i:], got, whole)
		}
	}
	var bytesOneByOne []string
	for i := range pipelineScript {
		bytesOneByOne = append(bytesOneByOne, pipelineScript[i:i+1])
	}
	if got := runPipe(t, bytesOneByOne); got != whole {
		t.Fatalf("byte by byte:\n got %q\nwant %q", got, whole)
	}
}

// TestPipelineOneWrite checks that many pipelined requests are answered
// in order and with far fewer writes than requests.
func TestPipelineOneWrite(t *testing.T) {
	s := testServer(t, nil)
	c := dial(t, s)
	var req, want bytes.Buffer
	for i := 0; i < 200; i++ {
		k := "key" + itoa(uint64(i))
		req.WriteString("set " + k + " 0 0 1\r\nv\r\n")
		want.WriteString("STORED\r\n")
	}
	req.WriteString("get")
	for i := 0; i < 200; i++ {
		req.WriteString(" key" + itoa(uint64(i)))
		want.WriteString("VALUE key" + itoa(uint64(i)) + " 0 1\r\nv\r\n")
	}
	req.WriteString("\r\n")
	want.WriteString("END\r\n")
	c.reply("version\r\n")
	time.Sleep(10 * time.Millisecond)
	before := s.stats.writes.Load()
	if got := c.reply(req.String()); got != want.String() {
		t.Fatalf("pipelined replies differ: got %d bytes, want %d", len(got), want.Len())
	}
	time.Sleep(10 * time.Millisecond)
	if w := s.stats.writes.Load() - before; w > 10 {
		t.Fatalf("%d writes for 201 pipelined requests", w)
	}
}
