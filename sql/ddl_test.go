package sql

import "testing"

func TestShowLikeMatch(t *testing.T) {
	for _, c := range []struct {
		pattern, name string
		ilike, not    bool
		want          bool
	}{
		{"o%", "orders", false, false, true},
		{"o%", "Orders", false, false, false},
		{"o%", "Orders", true, false, true},
		{"%rs", "orders", false, false, true},
		{"%d%r%", "orders", false, false, true},
		{"o_ders", "orders", false, false, true},
		{"o_ders", "oders", false, false, false},
		{"a\\_b", "a_b", false, false, true},
		{"a\\_b", "axb", false, false, false},
		{"100\\%", "100%", false, false, true},
		{"%", "", false, false, true},
		{"o%", "orders", false, true, false},
		{"x%", "orders", false, true, true},
	} {
		l := &ShowLike{Pattern: c.pattern, ILike: c.ilike, Not: c.not}
		if got := l.Match(c.name); got != c.want {
			t.Errorf("%q LIKE %q (ilike=%v not=%v) = %v, want %v", c.name, c.pattern, c.ilike, c.not, got, c.want)
		}
	}
}
