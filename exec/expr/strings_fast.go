package expr

import (
	"regexp"
	"regexp/syntax"
	"strings"
)

// splitIndex is part k (0-based) of s split at sep, as strings.Split(s,
// sep)[k], without building the slice of parts. sep must not be empty.
func splitIndex(s, sep string, k int64) (string, bool) {
	for ; k > 0; k-- {
		i := strings.Index(s, sep)
		if i < 0 {
			return "", false
		}
		s = s[i+len(sep):]
	}
	if i := strings.Index(s, sep); i >= 0 {
		s = s[:i]
	}
	return s, true
}

// appendReplace appends s with every from replaced by to, as
// strings.ReplaceAll without the intermediate string. from must not be
// empty.
func appendReplace(d []byte, s, from, to string) []byte {
	for {
		i := strings.Index(s, from)
		if i < 0 {
			return append(d, s...)
		}
		d = append(d, s[:i]...)
		d = append(d, to...)
		s = s[i+len(from):]
	}
}

// requiredLiteral is a string every match of pattern contains (the longest
// case-sensitive literal among the top-level parts of a concatenation), or
// "" when it finds none. A row without it cannot match, which lets
// REGEXP_EXTRACT skip the regexp engine for most rows of patterns like
// Nexmark q21's '(&|^)channel_id=([^&]*)'.
func requiredLiteral(re *regexp.Regexp) string {
	t, err := syntax.Parse(re.String(), syntax.Perl)
	if err != nil {
		return ""
	}
	return longestRequired(t)
}

func longestRequired(t *syntax.Regexp) string {
	switch t.Op {
	case syntax.OpLiteral:
		if t.Flags&syntax.FoldCase != 0 {
			return ""
		}
		return string(t.Rune)
	case syntax.OpCapture:
		return longestRequired(t.Sub[0])
	case syntax.OpPlus:
		return longestRequired(t.Sub[0])
	case syntax.OpRepeat:
		if t.Min >= 1 {
			return longestRequired(t.Sub[0])
		}
	case syntax.OpConcat:
		best := ""
		for _, s := range t.Sub {
			if l := longestRequired(s); len(l) > len(best) {
				best = l
			}
		}
		return best
	}
	return ""
}
