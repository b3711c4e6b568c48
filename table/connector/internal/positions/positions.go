// Package positions is the arithmetic of the sources whose splits are
// numbered positions (datagen's rows, nexmark's events): a reader owes
// spans of positions, which its snapshot keeps, and a restore at another
// parallelism deals every position the old readers owed out to the new
// readers in contiguous shares.
package positions

import (
	"encoding/binary"
	"errors"
)

// Span is the positions First, First+Step, ..., Count of them (Count > 0).
type Span struct{ First, Step, Count int64 }

// Last is the span's last position.
func (s Span) Last() int64 { return s.First + (s.Count-1)*s.Step }

// Share is the size of piece i of n pieces of total, the first ones one
// longer when n does not divide total.
func Share(total, n, i int64) int64 {
	s := total / n
	if i < total%n {
		s++
	}
	return s
}

// Deal returns reader i of n's share of the positions of owed laid end to
// end: the i-th of n contiguous pieces, so that the readers' shares are
// disjoint and cover owed exactly.
func Deal(owed []Span, i, n int64) []Span {
	var total int64
	for _, s := range owed {
		total += s.Count
	}
	var lo int64
	for j := range i {
		lo += Share(total, n, j)
	}
	return Cut(owed, lo, lo+Share(total, n, i))
}

// Cut returns the positions lo..hi-1 (counted from 0) of spans laid end to
// end, joining pieces that continue one another.
func Cut(spans []Span, lo, hi int64) []Span {
	var out []Span
	var off int64
	for _, s := range spans {
		a, b := max(lo, off), min(hi, off+s.Count)
		skip := a - off
		off += s.Count
		if a >= b {
			continue
		}
		p := Span{First: s.First + skip*s.Step, Step: s.Step, Count: b - a}
		if n := len(out); n > 0 && out[n-1].Step == p.Step && out[n-1].First+out[n-1].Count*p.Step == p.First {
			out[n-1].Count += p.Count
			continue
		}
		out = append(out, p)
	}
	return out
}

// AppendSpans appends spans to a snapshot: their number, then each
// span's first position, step and count, as uvarints.
func AppendSpans(b []byte, spans []Span) []byte {
	b = binary.AppendUvarint(b, uint64(len(spans)))
	for _, s := range spans {
		b = binary.AppendUvarint(b, uint64(s.First))
		b = binary.AppendUvarint(b, uint64(s.Step))
		b = binary.AppendUvarint(b, uint64(s.Count))
	}
	return b
}

// ErrCorrupt is what ReadSpans returns for bytes AppendSpans did not write.
var ErrCorrupt = errors.New("corrupt spans")

// ReadSpans reads what AppendSpans wrote at the start of b and returns the
// rest of b.
func ReadSpans(b []byte) ([]Span, []byte, error) {
	ok := true
	next := func() int64 {
		v, k := binary.Uvarint(b)
		if k <= 0 || v > 1<<62 {
			ok = false
			return 0
		}
		b = b[k:]
		return int64(v)
	}
	n := next()
	if !ok || n > int64(len(b)) {
		return nil, nil, ErrCorrupt
	}
	spans := make([]Span, 0, n)
	for range n {
		s := Span{First: next(), Step: next(), Count: next()}
		if !ok || s.Step == 0 || s.Count == 0 || s.Count > (1<<62-s.First)/s.Step {
			return nil, nil, ErrCorrupt
		}
		spans = append(spans, s)
	}
	return spans, b, nil
}
