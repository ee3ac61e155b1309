package protocol

import "testing"

func TestParseUint64(t *testing.T) {
	tests := []struct {
		in   string
		want uint64
		ok   bool
	}{
		{"0", 0, true},
		{"18446744073709551615", 18446744073709551615, true},
		{"18446744073709551616", 0, false},
		{"+5", 5, true},
		{"-0", 0, true},
		{"-1", 0, false},
		{"-18446744073709551615", 1, true}, // strtoull wraps; memcached accepts it
		{"9223372036854775808", 9223372036854775808, true},
		{" 7", 7, true},
		{"7 ", 7, true},
		{"", 0, false},
		{"abc", 0, false},
		{"1a", 0, false},
		{"+", 0, false},
	}
	for _, tc := range tests {
		got, ok := ParseUint64([]byte(tc.in))
		if got != tc.want || ok != tc.ok {
			t.Errorf("ParseUint64(%q) = %d, %v; want %d, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestParseUint32(t *testing.T) {
	tests := []struct {
		in   string
		want uint32
		ok   bool
	}{
		{"4294967295", 4294967295, true},
		{"4294967296", 0, true}, // strtoul is 64-bit: memcached truncates
		{"-1", 0, false},
		{"x", 0, false},
	}
	for _, tc := range tests {
		got, ok := ParseUint32([]byte(tc.in))
		if got != tc.want || ok != tc.ok {
			t.Errorf("ParseUint32(%q) = %d, %v; want %d, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestParseInt32(t *testing.T) {
	tests := []struct {
		in   string
		want int32
		ok   bool
	}{
		{"0", 0, true},
		{"-1", -1, true},
		{"2147483647", 2147483647, true},
		{"2147483648", -2147483648, true}, // wraps, as memcached's int32 assignment
		{"4294967296", 0, true},
		{"-2147483648", -2147483648, true},
		{"-2147483649", 2147483647, true},
		{"9223372036854775807", -1, true},
		{"9223372036854775808", 0, false}, // strtol: ERANGE
		{"-9223372036854775808", 0, true},
		{"99999999999999999999", 0, false},
		{"12x", 0, false},
	}
	for _, tc := range tests {
		got, ok := ParseInt32([]byte(tc.in))
		if got != tc.want || ok != tc.ok {
			t.Errorf("ParseInt32(%q) = %d, %v; want %d, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}
