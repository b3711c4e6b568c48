package expr

import (
	"regexp"
	"regexp/syntax"
	"strings"
	"unicode/utf8"
)

// matcher runs one compiled pattern of REGEXP, REGEXP_EXTRACT and
// REGEXP_REPLACE. Patterns simple enough for fastRegex (the field-picking
// shapes streaming queries use, like Nexmark q21's
// '(&|^)channel_id=([^&]*)') run on it; everything else runs on Go's
// regexp, whose backtracker costs microseconds a row. Both give Go's
// leftmost-first (Perl) matches, which are Java's for these patterns. A
// matcher keeps scratch space, so it is not safe for concurrent use (as
// the evaluators holding it).
type matcher struct {
	re   *regexp.Regexp
	fast *fastRegex // nil when the pattern is outside its subset
	// lit is in every match (requiredLiteral): a row without it cannot
	// match, which strings.Contains finds faster than either engine.
	lit  string
	idx  []int // scratch for submatch indexes
	ncap int   // 2 * (number of groups + 1)
}

func newMatcher(re *regexp.Regexp) *matcher {
	m := &matcher{re: re, fast: compileFastRegex(re), lit: requiredLiteral(re), ncap: 2 * (re.NumSubexp() + 1)}
	m.idx = make([]int, m.ncap)
	return m
}

// compileMatcher compiles a pattern with Go's syntax.
func compileMatcher(p string) (*matcher, error) {
	re, err := regexp.Compile(p)
	if err != nil {
		return nil, err
	}
	return newMatcher(re), nil
}

// numGroups is the number of capturing groups.
func (m *matcher) numGroups() int { return m.ncap/2 - 1 }

// submatch is the start and end of the leftmost match of s and of its
// groups (-1 for a group outside the match), as
// regexp.FindStringSubmatchIndex, or nil without a match. The slice is
// reused by the next call.
func (m *matcher) submatch(s string) []int {
	if m.lit != "" && !strings.Contains(s, m.lit) {
		return nil
	}
	if m.fast != nil {
		if m.fast.find(s, 0, m.idx) {
			return m.idx
		}
		return nil
	}
	return m.re.FindStringSubmatchIndex(s)
}

// matches reports whether a substring of s matches.
func (m *matcher) matches(s string) bool {
	if m.lit != "" && !strings.Contains(s, m.lit) {
		return false
	}
	if m.fast != nil {
		return m.fast.find(s, 0, m.idx)
	}
	return m.re.MatchString(s)
}

// appendReplaceAll appends s with every match replaced by template
// expanded as regexp.Expand does (Go's ${n} syntax: javaReplacement
// converts Java's).
func (m *matcher) appendReplaceAll(d []byte, s, template string) []byte {
	if m.fast == nil {
		return append(d, m.re.ReplaceAllString(s, template)...)
	}
	// Matches are never empty (compileFastRegex refuses patterns that can
	// match the empty string), so the next search starts where the last
	// match ended, as in ReplaceAllString.
	last := 0
	for last <= len(s) && m.fast.find(s, last, m.idx) {
		d = append(d, s[last:m.idx[0]]...)
		d = m.re.ExpandString(d, template, s, m.idx)
		last = m.idx[1]
	}
	return append(d, s[last:]...)
}

// byteSet is a set of bytes.
type byteSet [256 / 64]uint64

func (b *byteSet) add(c byte)      { b[c>>6] |= 1 << (c & 63) }
func (b *byteSet) has(c byte) bool { return b[c>>6]&(1<<(c&63)) != 0 }
func (b *byteSet) union(o *byteSet) {
	b[0], b[1], b[2], b[3] = b[0]|o[0], b[1]|o[1], b[2]|o[2], b[3]|o[3]
}
func (b *byteSet) meets(o *byteSet) bool { return b[0]&o[0]|b[1]&o[1]|b[2]&o[2]|b[3]&o[3] != 0 }

// hasNonASCII reports whether the set holds a byte >= 0x80.
func (b *byteSet) hasNonASCII() bool { return b[2]|b[3] != 0 }

type fastOp uint8

const (
	fastLit   fastOp = iota // the bytes of lit
	fastRune                // one rune of set
	fastRun                 // a greedy run of runes of set, at least min
	fastBegin               // start of text
	fastEnd                 // end of text
	fastSave                // record the position in capture slot arg
	fastSplit               // try alts in order (the last one without recursion)
	fastJmp                 // continue at arg
	fastMatch               // the match ends here
)

type fastInst struct {
	op   fastOp
	lit  string
	set  *byteSet
	min  int
	arg  int
	alts []int
}

// fastRegex matches a subset of Go's syntax with a small backtracking
// program that compares bytes instead of decoding runes and skips to the
// candidate start positions with strings.IndexByte. The subset: literals,
// ASCII character classes and classes that exclude only ASCII characters
// (like [^&] and .), one such class repeated greedily (*, +) where what
// may follow cannot start with a character of the class, ? over anything,
// groups, alternation, and the ^ and $ of text. Within it, the greedy run
// never needs to give characters back, so its result is the backtracking
// engine's; the rest backtracks as Go's engine does, in priority order,
// which gives Go's leftmost-first match. Bytes of invalid UTF-8 are a
// rune (U+FFFD) each, as in Go: they are in every class that excludes
// only ASCII characters and in no ASCII class, and literals never
// contain U+FFFD.
type fastRegex struct {
	prog []fastInst
	// atZero: a match can start at position 0 only (through ^) besides
	// the positions whose byte is in first.
	atZero    bool
	first     byteSet
	firstByte int  // the only byte of first, or -1
	scan      bool // first is not empty: matches may start after 0
}

// maxFastSplits bounds the alternatives, which the matcher may try in every
// combination at each start position.
const maxFastSplits = 8

// maxFastCaps bounds the capture slots (two per group and two for the
// match), which a split saves on the stack.
const maxFastCaps = 16

// compileFastRegex compiles re for fastRegex, or returns nil when the
// pattern is outside its subset.
func compileFastRegex(re *regexp.Regexp) *fastRegex {
	if 2*(re.NumSubexp()+1) > maxFastCaps {
		return nil
	}
	t, err := syntax.Parse(re.String(), syntax.Perl)
	if err != nil {
		return nil
	}
	c := &fastCompiler{}
	c.emit(fastInst{op: fastSave, arg: 0})
	if !c.compile(t) || c.splits > maxFastSplits {
		return nil
	}
	c.emit(fastInst{op: fastSave, arg: 1})
	c.emit(fastInst{op: fastMatch})
	f := &fastRegex{prog: c.prog, firstByte: -1}
	// Greedy runs must be possessive: what may follow cannot start with a
	// byte of the run, nor be the start of text (which a run that gave
	// back everything could reach). Reaching $ or the end is fine: giving
	// characters back cannot make them hold.
	for pc, in := range f.prog {
		if in.op != fastRun {
			continue
		}
		var follow byteSet
		if f.firstSet(pc+1, &follow, false)&reachBegin != 0 || follow.meets(in.set) {
			return nil
		}
	}
	// Refuse patterns that can match empty text (their matches and
	// replacements have rules of their own) and starts that may fall
	// inside a multi-byte rune.
	var tmp byteSet
	if f.firstSet(0, &tmp, true) != 0 {
		return nil
	}
	f.atZero = f.firstSet(0, &f.first, false)&reachBegin != 0
	if f.first.hasNonASCII() {
		return nil
	}
	n := 0
	for b := 0; b < 256; b++ {
		if f.first.has(byte(b)) {
			n++
			f.firstByte = b
		}
	}
	if n != 1 {
		f.firstByte = -1
	}
	f.scan = n > 0
	return f
}

// The results of firstSet: flags of the zero-width ends of paths.
const (
	reachBegin = 1 << iota // some path reaches ^ before consuming
	reachEmpty             // some path reaches $ or the end of the match before consuming
)

// firstSet adds to set the bytes a match can start with from pc, and
// reports the paths that reach ^, $ or the end without consuming. With
// throughBegin, ^ is passed as if it held (to find empty matches).
func (f *fastRegex) firstSet(pc int, set *byteSet, throughBegin bool) int {
	res := 0
	for {
		in := &f.prog[pc]
		switch in.op {
		case fastLit:
			set.add(in.lit[0])
			return res
		case fastRune:
			set.union(in.set)
			return res
		case fastRun:
			set.union(in.set)
			if in.min > 0 {
				return res
			}
			pc++
		case fastBegin:
			if !throughBegin {
				return res | reachBegin
			}
			pc++
		case fastEnd, fastMatch:
			return res | reachEmpty
		case fastSave:
			pc++
		case fastJmp:
			pc = in.arg
		case fastSplit:
			for _, a := range in.alts {
				res |= f.firstSet(a, set, throughBegin)
			}
			return res
		}
	}
}

type fastCompiler struct {
	prog   []fastInst
	splits int
}

func (c *fastCompiler) emit(in fastInst) int {
	c.prog = append(c.prog, in)
	return len(c.prog) - 1
}

func (c *fastCompiler) compile(t *syntax.Regexp) bool {
	switch t.Op {
	case syntax.OpEmptyMatch:
		return true
	case syntax.OpLiteral:
		if t.Flags&syntax.FoldCase != 0 {
			return false
		}
		var b []byte
		for _, r := range t.Rune {
			if r == utf8.RuneError || !utf8.ValidRune(r) {
				return false
			}
			b = utf8.AppendRune(b, r)
		}
		c.emit(fastInst{op: fastLit, lit: string(b)})
		return true
	case syntax.OpCharClass, syntax.OpAnyCharNotNL, syntax.OpAnyChar:
		set, ok := classBytes(t)
		if !ok {
			return false
		}
		c.emit(fastInst{op: fastRune, set: set, min: 1})
		return true
	case syntax.OpStar, syntax.OpPlus:
		if t.Flags&syntax.NonGreedy != 0 {
			return false
		}
		set, ok := classBytes(t.Sub[0])
		if !ok {
			return false
		}
		in := fastInst{op: fastRun, set: set}
		if t.Op == syntax.OpPlus {
			in.min = 1
		}
		c.emit(in)
		return true
	case syntax.OpQuest:
		// A split between the operand and nothing, in the order of
		// preference.
		c.splits++
		split := c.emit(fastInst{op: fastSplit})
		body := len(c.prog)
		if !c.compile(t.Sub[0]) {
			return false
		}
		c.prog[split].alts = []int{body, len(c.prog)}
		if t.Flags&syntax.NonGreedy != 0 {
			c.prog[split].alts = []int{len(c.prog), body}
		}
		return true
	case syntax.OpCapture:
		c.emit(fastInst{op: fastSave, arg: 2 * t.Cap})
		if !c.compile(t.Sub[0]) {
			return false
		}
		c.emit(fastInst{op: fastSave, arg: 2*t.Cap + 1})
		return true
	case syntax.OpConcat:
		for _, s := range t.Sub {
			if !c.compile(s) {
				return false
			}
		}
		return true
	case syntax.OpAlternate:
		c.splits++
		split := c.emit(fastInst{op: fastSplit})
		var jmps, alts []int
		for _, s := range t.Sub {
			alts = append(alts, len(c.prog))
			if !c.compile(s) {
				return false
			}
			jmps = append(jmps, c.emit(fastInst{op: fastJmp}))
		}
		c.prog[split].alts = alts
		for _, j := range jmps {
			c.prog[j].arg = len(c.prog)
		}
		return true
	case syntax.OpBeginText:
		c.emit(fastInst{op: fastBegin})
		return true
	case syntax.OpEndText:
		c.emit(fastInst{op: fastEnd})
		return true
	}
	return false
}

// classBytes is the set of first bytes of the runes a one-character
// pattern matches, when it is an ASCII class (no rune >= 0x80) or a
// class of every rune but some ASCII ones (its set then holds every
// byte >= 0x80).
func classBytes(t *syntax.Regexp) (*byteSet, bool) {
	var ranges []rune
	switch t.Op {
	case syntax.OpCharClass:
		ranges = t.Rune
	case syntax.OpAnyCharNotNL:
		ranges = []rune{0, '\n' - 1, '\n' + 1, utf8.MaxRune}
	case syntax.OpAnyChar:
		ranges = []rune{0, utf8.MaxRune}
	case syntax.OpLiteral:
		if len(t.Rune) != 1 || t.Rune[0] >= utf8.RuneSelf || t.Flags&syntax.FoldCase != 0 {
			return nil, false
		}
		ranges = []rune{t.Rune[0], t.Rune[0]}
	default:
		return nil, false
	}
	set := &byteSet{}
	if len(ranges) == 0 {
		return nil, false
	}
	if last := ranges[len(ranges)-1]; last < utf8.RuneSelf {
		for i := 0; i < len(ranges); i += 2 {
			for r := ranges[i]; r <= ranges[i+1]; r++ {
				set.add(byte(r))
			}
		}
		return set, true
	}
	// Every rune from the last range's start up must be in the class,
	// which must start at or below 0x80: its complement is then ASCII.
	if ranges[len(ranges)-1] != utf8.MaxRune || ranges[len(ranges)-2] > utf8.RuneSelf {
		return nil, false
	}
	for i := 0; i < len(ranges); i += 2 {
		hi := min(ranges[i+1], 0xFF)
		for r := ranges[i]; r <= hi; r++ {
			set.add(byte(r))
		}
	}
	for b := utf8.RuneSelf; b < 256; b++ {
		set.add(byte(b))
	}
	return set, true
}

// find reports whether s has a match starting at or after from, putting
// its bounds and its groups' into caps (len 2*(groups+1)).
func (f *fastRegex) find(s string, from int, caps []int) bool {
	pos := from
	if f.atZero && pos == 0 {
		if f.try(s, 0, caps) {
			return true
		}
		pos = 1
	}
	for f.scan && pos < len(s) {
		if f.firstByte >= 0 {
			i := strings.IndexByte(s[pos:], byte(f.firstByte))
			if i < 0 {
				return false
			}
			pos += i
		} else {
			for pos < len(s) && !f.first.has(s[pos]) {
				pos++
			}
			if pos == len(s) {
				return false
			}
		}
		if f.try(s, pos, caps) {
			return true
		}
		pos++
	}
	return false
}

func (f *fastRegex) try(s string, pos int, caps []int) bool {
	for i := range caps {
		caps[i] = -1
	}
	return f.run(s, 0, pos, caps)
}

// run runs the program from pc at pos; it recurses only at splits.
func (f *fastRegex) run(s string, pc, pos int, caps []int) bool {
	for {
		in := &f.prog[pc]
		switch in.op {
		case fastLit:
			if !strings.HasPrefix(s[pos:], in.lit) {
				return false
			}
			pos += len(in.lit)
			pc++
		case fastRune:
			if pos == len(s) || !in.set.has(s[pos]) {
				return false
			}
			pos += runeWidth(s, pos)
			pc++
		case fastRun:
			// Byte by byte: the run stops at an ASCII byte, so it never
			// ends inside a rune, and it holds at least min runes when it
			// holds at least min bytes.
			start := pos
			for pos < len(s) && in.set.has(s[pos]) {
				pos++
			}
			if pos-start < in.min {
				return false
			}
			pc++
		case fastBegin:
			if pos != 0 {
				return false
			}
			pc++
		case fastEnd:
			if pos != len(s) {
				return false
			}
			pc++
		case fastSave:
			caps[in.arg] = pos
			pc++
		case fastJmp:
			pc = in.arg
		case fastSplit:
			// An alternative that fails may have recorded groups: they
			// are restored before the next one.
			var saved [maxFastCaps]int
			copy(saved[:], caps)
			last := len(in.alts) - 1
			for _, a := range in.alts[:last] {
				if f.run(s, a, pos, caps) {
					return true
				}
				copy(caps, saved[:len(caps)])
			}
			pc = in.alts[last]
		case fastMatch:
			return true
		}
	}
}

// runeWidth is the width of the rune at s[i], 1 for a byte of invalid
// UTF-8 as Go's regexp decodes it.
func runeWidth(s string, i int) int {
	if s[i] < utf8.RuneSelf {
		return 1
	}
	_, w := utf8.DecodeRuneInString(s[i:])
	return w
}
