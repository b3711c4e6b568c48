package datagen

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// generator produces the values of one column, or of one part of a nested
// column (nested.go).
type generator interface {
	// column returns the values of the n rows at positions pos, pos+step,
	// ..., pos+(n-1)*step of the source (see reader); the caller owns the
	// array. Scalar generators fill a builder they reuse, switching on it
	// once per batch with typed loops inside; nested ones assemble their
	// array from their parts' arrays.
	column(pos, step int64, n int) (arrow.Array, error)
	// streams lists the generator's random streams: its own, then its
	// parts' in order; none for a sequence. Their states are the
	// generator's snapshot, and a reader restored at another parallelism
	// reseeds them (reseed).
	streams() []*rand.PCG
	release()
}

// pcgStateSize is the length of a PCG's MarshalBinary encoding.
const pcgStateSize = 20

// state is the snapshot of g: the states of its streams, one after the
// other. A scalar random column's is the state of its one stream.
func state(g generator) ([]byte, error) {
	var b []byte
	for _, s := range g.streams() {
		var err error
		if b, err = s.AppendBinary(b); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// restore sets g's streams to a state taken from a generator of the same
// column.
func restore(g generator, b []byte) error {
	ss := g.streams()
	if len(b) != len(ss)*pcgStateSize {
		if len(ss) == 0 {
			return errors.New("snapshot has random state for a sequence column")
		}
		return fmt.Errorf("snapshot has %d bytes of random state for a column with %d random streams", len(b), len(ss))
	}
	for i, s := range ss {
		if err := s.UnmarshalBinary(b[i*pcgStateSize : (i+1)*pcgStateSize]); err != nil {
			return err
		}
	}
	return nil
}

// reseed seeds the streams of table column col's generator in the reader
// whose first position is pos (streamSeed). The first stream, a scalar
// column's only one, takes the column's seed itself; the streams of a
// nested column's parts are decorrelated by their index.
func reseed(g generator, seed uint64, pos int64, col int) {
	hi, lo := streamSeed(seed, pos, col)
	for k, s := range g.streams() {
		if k == 0 {
			s.Seed(hi, lo)
			continue
		}
		s.Seed(hi, mix(lo^uint64(k)*0xd1b54a32d192ed03))
	}
}

// sequence yields start + pos for the row at position pos. Its value is a
// function of the position, so it has no state of its own.
type sequence struct {
	start int64
	scale int // DECIMAL scale
	b     array.Builder
	buf   []byte
}

func newSequence(f fieldSpec, mem memory.Allocator) *sequence {
	return &sequence{start: f.start, scale: f.t.Scale, b: array.NewBuilder(mem, f.t.Arrow())}
}

func (s *sequence) streams() []*rand.PCG { return nil }
func (s *sequence) release()             { s.b.Release() }

func (s *sequence) column(pos, step int64, n int) (arrow.Array, error) {
	s.fill(s.b, pos, step, n)
	return s.b.NewArray(), nil
}

func (s *sequence) fill(b array.Builder, pos, step int64, n int) {
	v := s.start + pos
	b.Reserve(n)
	switch bb := b.(type) {
	case *array.Int8Builder:
		for k := 0; k < n; k, v = k+1, v+step {
			bb.UnsafeAppend(int8(v))
		}
	case *array.Int16Builder:
		for k := 0; k < n; k, v = k+1, v+step {
			bb.UnsafeAppend(int16(v))
		}
	case *array.Int32Builder:
		for k := 0; k < n; k, v = k+1, v+step {
			bb.UnsafeAppend(int32(v))
		}
	case *array.Int64Builder:
		for k := 0; k < n; k, v = k+1, v+step {
			bb.UnsafeAppend(v)
		}
	case *array.Float32Builder:
		for k := 0; k < n; k, v = k+1, v+step {
			bb.UnsafeAppend(float32(v))
		}
	case *array.Float64Builder:
		for k := 0; k < n; k, v = k+1, v+step {
			bb.UnsafeAppend(float64(v))
		}
	case *array.Decimal128Builder:
		mult := decimal128.GetScaleMultiplier(s.scale)
		for k := 0; k < n; k, v = k+1, v+step {
			bb.UnsafeAppend(decimal128.FromI64(v).Mul(mult))
		}
	case *array.StringBuilder:
		for k := 0; k < n; k, v = k+1, v+step {
			s.buf = strconv.AppendInt(s.buf[:0], v, 10)
			bb.BinaryBuilder.Append(s.buf)
		}
	}
}

// random draws the values of a scalar type from its own PCG stream.
type random struct {
	f   fieldSpec
	b   array.Builder
	src *rand.PCG
	rng *rand.Rand
	// nowNanos anchors timestamps and dates: Flink draws them in the past of
	// the current time. It is read once when the reader is created.
	nowNanos int64
	buf      []byte
}

// newRandom returns the generator of a scalar type. Its stream is seeded
// by reseed, or by its nested column's generator.
func newRandom(f fieldSpec, mem memory.Allocator, now time.Time) *random {
	src := rand.NewPCG(0, 0)
	return &random{f: f, b: array.NewBuilder(mem, f.t.Arrow()), src: src, rng: rand.New(src), nowNanos: now.UnixNano()}
}

func (g *random) streams() []*rand.PCG { return []*rand.PCG{g.src} }
func (g *random) release()             { g.b.Release() }

func (g *random) column(_, _ int64, n int) (arrow.Array, error) {
	g.fill(g.b, n)
	return g.b.NewArray(), nil
}

func (g *random) null() bool {
	return g.f.nullRate > 0 && g.rng.Float64() < g.f.nullRate
}

// intIn draws from [imin, imax].
func (g *random) intIn() int64 {
	span := uint64(g.f.imax-g.f.imin) + 1
	if span == 0 {
		return int64(g.rng.Uint64())
	}
	return g.f.imin + int64(g.rng.Uint64N(span))
}

func (g *random) floatIn() float64 {
	return g.f.fmin + g.rng.Float64()*(g.f.fmax-g.f.fmin)
}

// pastNanos draws an instant in [now-maxPast, now], truncated to the
// column's precision.
func (g *random) pastNanos() int64 {
	v := g.nowNanos - g.rng.Int64N(int64(g.f.maxPast)+1)
	gran := int64(math.Pow10(9 - min(g.f.t.Precision, 9)))
	return floorDiv(v, gran) * gran
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

const hexDigits = "0123456789abcdef"

func (g *random) fillBuf(hex bool) []byte {
	l := g.f.length
	g.buf = g.buf[:0]
	for len(g.buf) < l {
		x := g.rng.Uint64()
		for k := 0; k < 8 && len(g.buf) < l; k++ {
			if hex {
				g.buf = append(g.buf, hexDigits[x&0xf])
				x >>= 4
				if len(g.buf) < l {
					g.buf = append(g.buf, hexDigits[x&0xf])
				}
				x >>= 4
			} else {
				g.buf = append(g.buf, byte(x))
				x >>= 8
			}
		}
	}
	return g.buf
}

func (g *random) fill(b array.Builder, n int) {
	b.Reserve(n)
	switch bb := b.(type) {
	case *array.BooleanBuilder:
		for k := 0; k < n; k++ {
			if g.null() {
				bb.UnsafeAppendBoolToBitmap(false)
				continue
			}
			bb.UnsafeAppend(g.rng.Uint64()&1 == 1)
		}
	case *array.Int8Builder:
		for k := 0; k < n; k++ {
			if g.null() {
				bb.UnsafeAppendBoolToBitmap(false)
				continue
			}
			bb.UnsafeAppend(int8(g.intIn()))
		}
	case *array.Int16Builder:
		for k := 0; k < n; k++ {
			if g.null() {
				bb.UnsafeAppendBoolToBitmap(false)
				continue
			}
			bb.UnsafeAppend(int16(g.intIn()))
		}
	case *array.Int32Builder:
		for k := 0; k < n; k++ {
			if g.null() {
				bb.UnsafeAppendBoolToBitmap(false)
				continue
			}
			bb.UnsafeAppend(int32(g.intIn()))
		}
	case *array.Int64Builder:
		for k := 0; k < n; k++ {
			if g.null() {
				bb.UnsafeAppendBoolToBitmap(false)
				continue
			}
			bb.UnsafeAppend(g.intIn())
		}
	case *array.Float32Builder:
		for k := 0; k < n; k++ {
			if g.null() {
				bb.UnsafeAppendBoolToBitmap(false)
				continue
			}
			bb.UnsafeAppend(float32(g.floatIn()))
		}
	case *array.Float64Builder:
		for k := 0; k < n; k++ {
			if g.null() {
				bb.UnsafeAppendBoolToBitmap(false)
				continue
			}
			bb.UnsafeAppend(g.floatIn())
		}
	case *array.Decimal128Builder:
		p, s := int32(g.f.t.Precision), int32(g.f.t.Scale)
		for k := 0; k < n; k++ {
			if g.null() {
				bb.UnsafeAppendBoolToBitmap(false)
				continue
			}
			v := g.floatIn()
			d, err := decimal128.FromFloat64(v, p, s)
			if err != nil {
				// Only the extremes of a 38-digit default range get here,
				// where float64 cannot hold the bound exactly.
				d = decimal128.GetMaxValue(p)
				if v < 0 {
					d = d.Negate()
				}
			}
			bb.UnsafeAppend(d)
		}
	case *array.StringBuilder:
		bb.ReserveData(n * g.f.length)
		for k := 0; k < n; k++ {
			if g.null() {
				bb.AppendNull()
				continue
			}
			bb.BinaryBuilder.Append(g.fillBuf(true))
		}
	case *array.BinaryBuilder:
		bb.ReserveData(n * g.f.length)
		for k := 0; k < n; k++ {
			if g.null() {
				bb.AppendNull()
				continue
			}
			bb.Append(g.fillBuf(false))
		}
	case *array.Date32Builder:
		for k := 0; k < n; k++ {
			if g.null() {
				bb.UnsafeAppendBoolToBitmap(false)
				continue
			}
			bb.UnsafeAppend(arrow.Date32(floorDiv(g.pastNanos(), 86400e9)))
		}
	case *array.Time32Builder:
		unit := int64(math.Pow10(9 - 3)) // Time32 carries milliseconds here
		for k := 0; k < n; k++ {
			if g.null() {
				bb.UnsafeAppendBoolToBitmap(false)
				continue
			}
			bb.UnsafeAppend(arrow.Time32(g.timeOfDay() / unit))
		}
	case *array.Time64Builder:
		unit := int64(1)
		if bb.Type().(*arrow.Time64Type).Unit == arrow.Microsecond {
			unit = 1000
		}
		for k := 0; k < n; k++ {
			if g.null() {
				bb.UnsafeAppendBoolToBitmap(false)
				continue
			}
			bb.UnsafeAppend(arrow.Time64(g.timeOfDay() / unit))
		}
	case *array.TimestampBuilder:
		unit := int64(1)
		switch bb.Type().(*arrow.TimestampType).Unit {
		case arrow.Millisecond:
			unit = 1e6
		case arrow.Microsecond:
			unit = 1e3
		}
		for k := 0; k < n; k++ {
			if g.null() {
				bb.UnsafeAppendBoolToBitmap(false)
				continue
			}
			bb.UnsafeAppend(arrow.Timestamp(floorDiv(g.pastNanos(), unit)))
		}
	}
}

// timeOfDay draws a nanosecond of day at the column's precision.
func (g *random) timeOfDay() int64 {
	p := min(g.f.t.Precision, 9)
	gran := int64(math.Pow10(9 - p))
	return g.rng.Int64N(86400e9/gran) * gran
}
