package server

import "testing"

// textStep is one request and its reply, "\n" written for "\r\n".
type textStep struct{ req, want string }

// runText sends each step on c and compares the replies.
func runText(t *testing.T, c *client, steps []textStep) {
	t.Helper()
	for _, st := range steps {
		req, want := crlf(st.req), crlf(st.want)
		if got := c.reply(req); got != want {
			t.Errorf("%s:\n got %q\nwant %q", short(req), short(got), short(want))
		}
	}
}

// TestDebugTime: memcached-debug's debugtime moves the clock items expire
// by (t/expirations.t); without DebugCommands it is an unknown command, as
// in memcached's release build.
func TestDebugTime(t *testing.T) {
	for _, tc := range []struct {
		name  string
		debug bool
		steps []textStep
	}{
		{"release build", false, []textStep{
			{"debugtime 5\n", "ERROR\n"},
		}},
		{"expires after the move", true, []textStep{
			{"set k 0 3 1\nx\n", "STORED\n"},
			{"debugtime 2\n", "OK\n"},
			{"get k\n", "VALUE k 0 1\nx\nEND\n"},
			{"debugtime 2\n", "OK\n"},
			{"get k\n", "END\n"},
		}},
		{"paused clock", true, []textStep{
			{"debugtime p\n", "OK\n"},
			{"set k 0 3 1\nx\n", "STORED\n"},
			{"debugtime 4\n", "OK\n"},
			{"get k\n", "END\n"},
			{"debugtime r\n", "OK\n"},
		}},
		{"errors", true, []textStep{
			{"debugtime\n", "ERROR\n"},
			{"debugtime x\n", "ERROR\n"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := testServer(t, func(c *Config) { c.DebugCommands = tc.debug })
			runText(t, dial(t, s), tc.steps)
		})
	}
}
