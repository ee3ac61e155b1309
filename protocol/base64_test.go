package protocol

import "testing"

// Expectations read off memcached 1.6.18 (mg <key> b k).
func TestDecodeBase64Key(t *testing.T) {
	tests := []struct {
		in   string
		want string // "" = invalid
	}{
		{"Zm9v", "foo"},
		{"Zm8=", "fo"},
		{"Zm9vYg==", "foob"},
		{"Zm8", ""},
		{"Zm9vYg", ""},
		{"Zm9vYg=", ""},
		{"Z", ""},
		{"====", ""},
		{"Zm9v\tYg==", "foob"},  // bytes outside the alphabet are skipped
		{"Zm9v=Yg=", "foo\x01"}, // decoding stops at the first padded block
		{"Zm9*YmFy", ""},
		{"AAAA", "\x00\x00\x00"},
		{"Zg==Zm9v", "f"},
	}
	for _, tc := range tests {
		dst := make([]byte, len(tc.in))
		n := DecodeBase64Key(dst, []byte(tc.in))
		if string(dst[:n]) != tc.want {
			t.Errorf("DecodeBase64Key(%q) = %q, want %q", tc.in, dst[:n], tc.want)
		}
	}
	if got := string(AppendBase64(nil, []byte("foo\x01"))); got != "Zm9vAQ==" {
		t.Errorf("AppendBase64 = %q", got)
	}
}
