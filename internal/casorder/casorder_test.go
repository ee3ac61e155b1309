package casorder

import "testing"

func TestOrder(t *testing.T) {
	o := Order{}
	for _, tc := range []struct {
		in   string
		want string
	}{
		{"77", "#1"}, {"5", "#2"}, {"77", "#1"}, {"0", "0"}, {"x1", "x1"}, {"18446744073709551615", "#3"}, {"5", "#2"},
	} {
		if got := o.NameText(tc.in); got != tc.want {
			t.Errorf("NameText(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := o.Name(1 << 63); got != "#4" {
		t.Errorf("Name(1<<63) = %q, want #4", got)
	}
}
