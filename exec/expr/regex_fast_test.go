package expr

import (
	"math/rand"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestFastRegexSubset pins which patterns take the fast path.
func TestFastRegexSubset(t *testing.T) {
	for pattern, want := range map[string]bool{
		`(&|^)channel_id=([^&]*)`: true,
		`^https?://([^/]+)/`:      true,
		`[^&]*=`:                  false, // may start inside a rune
		`id=(\d+)$`:               true,
		`a.*b`:                    false, // .* can contain b: it would give characters back
		`a[^b]*b`:                 true,
		`x(a|ab)c`:                true,
		`a*`:                      false, // matches empty text
		`^`:                       false,
		`(?i)abc`:                 false,
		`a*?b`:                    false,
		`a{2,3}`:                  false,
		`\bword`:                  false,
		`(?m)^a`:                  false,
		`é+x`:                     false,
		`x[^é]*`:                  false,
		`x[^&]*^`:                 false,
	} {
		if got := compileFastRegex(regexp.MustCompile(pattern)) != nil; got != want {
			t.Errorf("fast path for %q: %v, want %v", pattern, got, want)
		}
	}
}

// TestFastRegexMatchesGo checks the fast path against Go's regexp on
// random patterns of its subset (and around it) and random inputs with
// multi-byte and invalid UTF-8.
func TestFastRegexMatchesGo(t *testing.T) {
	rnd := rand.New(rand.NewSource(1))
	atoms := []string{"a", "b", "&", "=", "é", "ab", "id=", "[a-c]", "[^&]", "[^&=]", ".", `\d`, "[0-9]", "x"}
	var gen func(depth int) string
	gen = func(depth int) string {
		var b strings.Builder
		for n := 1 + rnd.Intn(3); n > 0; n-- {
			switch k := rnd.Intn(10); {
			case k < 5 || depth > 2:
				b.WriteString(atoms[rnd.Intn(len(atoms))])
			case k == 5:
				b.WriteString("(" + gen(depth+1) + "|" + gen(depth+1) + ")")
			case k == 6:
				b.WriteString("(" + gen(depth+1) + ")")
			case k == 7:
				b.WriteString([]string{"^", "$", "(&|^)", "(&|$)"}[rnd.Intn(4)])
			default:
				b.WriteString("[^&=]" + []string{"*", "+", "?"}[rnd.Intn(3)])
			}
			if rnd.Intn(6) == 0 {
				b.WriteString([]string{"?", "??"}[rnd.Intn(2)])
			}
		}
		return b.String()
	}
	alphabet := []string{"a", "b", "c", "&", "=", "0", "7", "é", "\n", "\xff", "\xe2\x82", "id=", "x"}
	input := func() string {
		var b strings.Builder
		for n := rnd.Intn(12); n > 0; n-- {
			b.WriteString(alphabet[rnd.Intn(len(alphabet))])
		}
		return b.String()
	}
	fast := 0
	for range 3000 {
		p := gen(0)
		re, err := regexp.Compile(p)
		if err != nil {
			continue
		}
		m := newMatcher(re)
		if m.fast == nil {
			continue
		}
		fast++
		for range 40 {
			s := input()
			want := re.FindStringSubmatchIndex(s)
			if got := m.submatch(s); !slices.Equal(got, want) {
				t.Fatalf("pattern %q on %q: submatch %v, Go's regexp %v", p, s, got, want)
			}
			if got, want := m.matches(s), re.MatchString(s); got != want {
				t.Fatalf("pattern %q on %q: matches %v, Go's regexp %v", p, s, got, want)
			}
			if got, want := string(m.appendReplaceAll([]byte("<"), s, "[${1}]")), "<"+re.ReplaceAllString(s, "[${1}]"); got != want {
				t.Fatalf("pattern %q on %q: replace %q, Go's regexp %q", p, s, got, want)
			}
		}
	}
	t.Logf("%d random patterns took the fast path", fast)
	if fast < 500 {
		t.Fatalf("only %d random patterns took the fast path", fast)
	}
}

func BenchmarkRegexExtract(b *testing.B) {
	re := regexp.MustCompile(`(&|^)channel_id=([^&]*)`)
	m := newMatcher(re)
	urls := []string{
		"https://www.nexmark.com/ab_/cd/efg/item.htm?query=1&channel_id=1073741824",
		"https://www.nexmark.com/ab_/cd/efg/item.htm?query=1",
	}
	b.Run("fast", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			m.submatch(urls[i&1])
		}
	})
	b.Run("go", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			re.FindStringSubmatchIndex(urls[i&1])
		}
	})
}
