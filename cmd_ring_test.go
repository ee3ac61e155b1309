package main

import (
	"bufio"
	"bytes"
	"os"
	"strings"
	"testing"
)

// runApp runs the CLI with args and standard input in, returning what it
// printed.
func runApp(t *testing.T, in string, args ...string) (string, error) {
	t.Helper()
	app := newApp()
	var out bytes.Buffer
	app.Writer, app.ErrWriter = &out, &out
	app.Reader = strings.NewReader(in)
	err := app.Run(append([]string{"gocached"}, args...))
	return out.String(), err
}

// TestRingCommand: `gocached ring` prints the nodes the stored
// libmemcached/nutcracker vectors name, for keys as arguments and on
// standard input, with weights and with the modulo distribution.
func TestRingCommand(t *testing.T) {
	for _, tc := range []struct {
		file string
		args []string
	}{
		{"client/testdata/ring/port11211-3.tsv", []string{"--servers", "10.0.1.1:11211,10.0.1.2:11211", "--servers", "10.0.1.3:11211"}},
		{"client/testdata/ring/weighted-ports-3.tsv", []string{"--servers", "127.0.0.1:31211,127.0.0.1:31212,127.0.0.1:31213", "--weights", "1,2,3"}},
		{"client/testdata/modulo/modulo-3.tsv", []string{"--distribution", "modulo", "--servers", "127.0.0.1:31211,127.0.0.1:31212,127.0.0.1:31213"}},
	} {
		f, err := os.Open(tc.file)
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		var want strings.Builder
		sc := bufio.NewScanner(f)
		for header := true; sc.Scan(); {
			if header && strings.HasPrefix(sc.Text(), "# ") {
				continue
			}
			header = false
			fields := strings.Split(sc.Text(), "\t")
			keys = append(keys, fields[0])
			want.WriteString(fields[0] + "\t" + fields[1] + "\n")
		}
		f.Close()
		got, err := runApp(t, strings.Join(keys, "\n")+"\n", append([]string{"ring"}, tc.args...)...)
		if err != nil || got != want.String() {
			t.Fatalf("%s via stdin: err %v, %d bytes (want %d)", tc.file, err, len(got), want.Len())
		}
		got, err = runApp(t, "", append(append([]string{"ring"}, tc.args...), keys[:3]...)...)
		if wantArgs := strings.Join(strings.SplitAfter(want.String(), "\n")[:3], ""); err != nil || got != wantArgs {
			t.Fatalf("%s via args: %q %v, want %q", tc.file, got, err, wantArgs)
		}
	}
	for _, bad := range [][]string{
		{"ring", "k"},
		{"ring", "--servers", "a:1,b:2", "--weights", "1", "k"},
		{"ring", "--servers", "a:1", "--weights", "x", "k"},
		{"ring", "--servers", "a:1", "--distribution", "jump", "k"},
	} {
		if _, err := runApp(t, "", bad...); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}
