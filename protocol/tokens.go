package protocol

import "bytes"

// MaxTokens is memcached's MAX_TOKENS: a line splits into at most
// MaxTokens-1 tokens; whatever follows is left in the rest.
const MaxTokens = 24

// KeyMaxLength is the longest key memcached accepts.
const KeyMaxLength = 250

// LineLimit is how long a command line may grow without a newline before
// the connection is closed (except for get/gets, which may be longer).
const LineLimit = 2048

// Line finds the next command line in buf. It returns the line without its
// terminator ("\r\n" or a bare "\n"), the bytes consumed including the
// terminator, and ok=false when no newline has arrived yet.
func Line(buf []byte) (line []byte, n int, ok bool) {
	i := bytes.IndexByte(buf, '\n')
	if i < 0 {
		return nil, 0, false
	}
	line = buf[:i]
	if i > 0 && line[i-1] == '\r' {
		line = line[:i-1]
	}
	return line, i + 1, true
}

// Tokens is a tokenized command line.
type Tokens struct {
	T    [MaxTokens][]byte
	N    int    // tokens in T
	Rest []byte // unprocessed tail when the line had more tokens, else nil
}

// Tokenize splits line on spaces as memcached 1.6.45's tokenizer: empty
// tokens are skipped, a NUL byte is part of its token (1.6.18 ended the
// line there), and after MaxTokens-1 tokens the remainder is left in Rest.
func (t *Tokens) Tokenize(line []byte) {
	t.N = 0
	t.Rest = nil
	s := 0
	for e := 0; e < len(line); e++ {
		if line[e] != ' ' {
			continue
		}
		if s != e {
			t.T[t.N] = line[s:e]
			t.N++
			if t.N == MaxTokens-1 {
				if e+1 < len(line) {
					t.Rest = line[e+1:]
				}
				return
			}
		}
		s = e + 1
	}
	if s != len(line) {
		t.T[t.N] = line[s:]
		t.N++
	}
}

// Count is memcached's ntokens: the tokens plus the terminal one.
func (t *Tokens) Count() int { return t.N + 1 }

// NextKey returns the next space-separated token of rest and what follows.
func NextKey(rest []byte) (key, after []byte) {
	for len(rest) > 0 && rest[0] == ' ' {
		rest = rest[1:]
	}
	i := bytes.IndexByte(rest, ' ')
	if i < 0 {
		return rest, nil
	}
	return rest[:i], rest[i+1:]
}

// LineMayGrow reports whether an unterminated line may grow past LineLimit
// and the read buffer: only get and gets lines (after at most 100 spaces),
// as memcached allows for long multi-gets.
func LineMayGrow(buf []byte) bool {
	i := 0
	for i < len(buf) && buf[i] == ' ' {
		i++
	}
	if i > 100 {
		return false
	}
	b := buf[i:]
	return bytes.HasPrefix(b, []byte("get ")) || bytes.HasPrefix(b, []byte("gets "))
}

// CheckLine is what memcached 1.6.45's process_request decides before any
// command runs, for a line of n bytes (terminator included) split into t:
// a line shorter than 4 bytes is a bad format; a first word of fewer than
// two characters (a line that starts with a space included) is unknown
// (ERROR); a known command with too few tokens for its grammar is a bad
// format. known is false for ERROR, so that the caller can apply an
// unknown command's noreply. errLine is nil when the command is to run.
func CheckLine(line []byte, n int, t *Tokens) (errLine []byte, known bool) {
	if n < 4 {
		return ErrBadFormat, true
	}
	if t.N == 0 || line[0] == ' ' || len(t.T[0]) < 2 {
		return Error, false
	}
	if t.N < minTokens(t.T[0]) {
		return ErrBadFormat, true
	}
	return nil, true
}

// minTokens is the fewest tokens (command included) process_request lets
// a command have; 0 for commands it leaves to their own checks.
func minTokens(cmd []byte) int {
	if len(cmd) == 2 && cmd[0] == 'm' {
		switch cmd[1] {
		case 'g', 'd', 'a', 'e':
			return 2
		case 's':
			return 3
		}
		return 0
	}
	switch string(cmd) {
	case "get", "gets", "delete":
		return 2
	case "gat", "gats", "incr", "decr", "touch":
		return 3
	case "set", "add", "cas", "replace", "append", "prepend":
		return 5
	}
	return 0
}
