package expr

import (
	"regexp"
	"strings"
	"testing"
)

// TestStringFastPaths checks the allocation-free string helpers against
// the standard library functions they replace.
func TestStringFastPaths(t *testing.T) {
	inputs := []string{"", "/", "a", "a/b", "/a/b/", "https://www.nexmark.com/ab_/cd/efg/item.htm?query=1", "a//b", "xx", "abcabc"}
	for _, s := range inputs {
		for _, sep := range []string{"/", "//", "b", "x"} {
			parts := strings.Split(s, sep)
			for k := int64(0); k < 8; k++ {
				got, ok := splitIndex(s, sep, k)
				if wantOK := k < int64(len(parts)); ok != wantOK || (ok && got != parts[k]) {
					t.Errorf("splitIndex(%q, %q, %d) = %q, %v; want %v", s, sep, k, got, ok, parts)
				}
			}
			for _, to := range []string{"", "_", "yyy"} {
				if got, want := string(appendReplace([]byte("<"), s, sep, to)), "<"+strings.ReplaceAll(s, sep, to); got != want {
					t.Errorf("appendReplace(%q, %q, %q) = %q, want %q", s, sep, to, got, want)
				}
			}
		}
	}
	for pattern, want := range map[string]string{
		`(&|^)channel_id=([^&]*)`: "channel_id=",
		`abc`:                     "abc",
		`(?i)abc`:                 "",
		`a|b`:                     "",
		`x*abcd`:                  "abcd",
		`(ab)+c`:                  "ab",
		`(ab)?c`:                  "c",
		`[0-9]+`:                  "",
	} {
		if got := requiredLiteral(regexp.MustCompile(pattern)); got != want {
			t.Errorf("requiredLiteral(%q) = %q, want %q", pattern, got, want)
		}
	}
}
