package datagen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/table/connector/internal/positions"
)

// Identifier is the value of the 'connector' option.
const Identifier = "datagen"

// Option keys.
const (
	RowsPerSecond = "rows-per-second"
	NumberOfRows  = "number-of-rows"
	Seed          = "seed"
	FieldKind     = "fields.#.kind"
	FieldStart    = "fields.#.start"
	FieldEnd      = "fields.#.end"
	FieldMin      = "fields.#.min"
	FieldMax      = "fields.#.max"
	FieldMaxPast  = "fields.#.max-past"
	FieldLength   = "fields.#.length"
	FieldNullRate = "fields.#.null-rate"
)

// DefaultBatchSize is used when the ReaderContext does not set one.
const DefaultBatchSize = 8192

var options = []connector.Option{
	{Key: RowsPerSecond, Type: connector.Long, Default: "10000",
		Doc: "Rows per second to emit, shared by all parallel subtasks."},
	{Key: NumberOfRows, Type: connector.Long,
		Doc: "Total number of rows to emit; the source is unbounded when unset (unless a field is a sequence)."},
	{Key: Seed, Type: connector.Long,
		Doc: "Eddy extension: seed of the random generators, for reproducible data; random when unset."},
	{Key: FieldKind, Type: connector.Enum, Enum: []string{"random", "sequence"}, Default: "random",
		Doc: "Generator of the column: random values, or a bounded sequence from start to end."},
	{Key: FieldStart, Type: connector.Long, Doc: "First value of a sequence column."},
	{Key: FieldEnd, Type: connector.Long, Doc: "Last value of a sequence column."},
	{Key: FieldMin, Type: connector.String,
		Doc: "Smallest random value of a numeric column (a value of the column's type)."},
	{Key: FieldMax, Type: connector.String,
		Doc: "Largest random value of a numeric column (a value of the column's type)."},
	{Key: FieldMaxPast, Type: connector.Duration, Default: "0",
		Doc: "Random TIMESTAMP, TIMESTAMP_LTZ and DATE values lie at most this far before the current time."},
	{Key: FieldLength, Type: connector.Int, Default: "100",
		Doc: "Length of random strings and byte strings (at most the column's declared length); number of elements of ARRAY, MAP and MULTISET columns, default 3."},
	{Key: FieldNullRate, Type: connector.Double, Default: "0",
		Doc: "Fraction of NULLs among the random values of the column, from 0 to 1."},
}

// Factory is the datagen source.
type Factory struct{}

var (
	_ connector.SourceFactory              = Factory{}
	_ connector.SupportsProjectionPushdown = Factory{}
	_ connector.SupportsRescaling          = Factory{}
	_ connector.RescaledStateChecker       = Factory{}
)

func init() { connector.Register(Factory{}) }

func (Factory) Identifier() string               { return Identifier }
func (Factory) Options() []connector.Option      { return options }
func (Factory) SupportsProjectionPushdown() bool { return true }

// ValidateSource checks the options against the column types.
func (Factory) ValidateSource(t connector.TableInfo) (connector.ScanProperties, error) {
	c, err := parseConfig(t)
	if err != nil {
		return connector.ScanProperties{}, err
	}
	return connector.ScanProperties{Bounded: c.bounded()}, nil
}

// CreateReader creates the reader of one subtask.
func (Factory) CreateReader(spec connector.ScanSpec, rc connector.ReaderContext) (connector.SourceReader, error) {
	c, err := parseConfig(spec.Table)
	if err != nil {
		return nil, err
	}
	return newReader(c, spec, rc, time.Now())
}

// fieldSpec is the parsed generator options of one column.
type fieldSpec struct {
	name       string
	t          types.DataType
	sequence   bool
	start, end int64
	// random bounds: integers and their derived kinds use imin/imax, FLOAT,
	// DOUBLE and DECIMAL use fmin/fmax.
	imin, imax int64
	fmin, fmax float64
	maxPast    time.Duration
	length     int
	nullRate   float64
	// elems are the specs of a random nested column's parts, named as
	// Flink's RandomGeneratorVisitor names them: the element of an ARRAY
	// or MULTISET ("<f>.element"), the key and value of a MAP ("<f>.key",
	// "<f>.value"), the fields of a ROW ("<f>.<field>").
	elems []fieldSpec
}

// collectionLength is the default number of elements of a random ARRAY,
// MAP or MULTISET (Flink's RANDOM_COLLECTION_LENGTH_DEFAULT).
const collectionLength = 3

type config struct {
	rate   int64
	rows   int64 // -1: no number-of-rows
	seed   uint64
	seeded bool
	fields []fieldSpec
}

func (c config) bounded() bool {
	if c.rows >= 0 {
		return true
	}
	for _, f := range c.fields {
		if f.sequence {
			return true
		}
	}
	return false
}

func parseConfig(t connector.TableInfo) (config, error) {
	o, err := connector.Parse(Factory{}, t)
	if err != nil {
		return config{}, err
	}
	c := config{rate: o.Long(RowsPerSecond), rows: -1}
	if c.rate <= 0 {
		return c, fmt.Errorf("option '%s' must be positive, got %d", RowsPerSecond, c.rate)
	}
	if o.IsSet(NumberOfRows) {
		if c.rows = o.Long(NumberOfRows); c.rows < 0 {
			return c, fmt.Errorf("option '%s' must not be negative, got %d", NumberOfRows, c.rows)
		}
	}
	if o.IsSet(Seed) {
		c.seed, c.seeded = uint64(o.Long(Seed)), true
	}
	for _, col := range t.Schema.Columns {
		f, err := parseField(o, col)
		if err != nil {
			return c, err
		}
		c.fields = append(c.fields, f)
	}
	return c, nil
}

func parseField(o connector.Options, col types.Column) (fieldSpec, error) {
	key := func(pattern string) string { return connector.ColumnKey(col.Name, pattern) }
	t := col.Type
	f := fieldSpec{name: col.Name, t: t, sequence: o.Enum(key(FieldKind)) == "sequence",
		maxPast: o.Duration(key(FieldMaxPast)), length: o.Int(key(FieldLength)), nullRate: o.Double(key(FieldNullRate))}
	if f.nullRate < 0 || f.nullRate > 1 {
		return f, fmt.Errorf("option '%s' must be between 0 and 1, got %v", key(FieldNullRate), f.nullRate)
	}
	if f.nullRate > 0 && t.NotNull {
		return f, fmt.Errorf("option '%s' cannot be set for NOT NULL column '%s'", key(FieldNullRate), col.Name)
	}
	if f.sequence {
		for _, k := range []string{FieldMin, FieldMax, FieldMaxPast, FieldLength, FieldNullRate} {
			if o.IsSet(key(k)) {
				return f, fmt.Errorf("option '%s' applies to random columns, but column '%s' is a sequence", key(k), col.Name)
			}
		}
		return f, parseSequence(o, &f, key)
	}
	for _, k := range []string{FieldStart, FieldEnd} {
		if o.IsSet(key(k)) {
			return f, fmt.Errorf("option '%s' applies to sequence columns, but column '%s' is random", key(k), col.Name)
		}
	}
	return f, parseRandom(o, &f, key)
}

func parseSequence(o connector.Options, f *fieldSpec, key func(string) string) error {
	if !o.IsSet(key(FieldStart)) || !o.IsSet(key(FieldEnd)) {
		return fmt.Errorf("sequence column '%s' needs options '%s' and '%s'", f.name, key(FieldStart), key(FieldEnd))
	}
	f.start, f.end = o.Long(key(FieldStart)), o.Long(key(FieldEnd))
	if f.start > f.end {
		return fmt.Errorf("the start value (%d) of sequence column '%s' cannot be greater than the end value (%d)", f.start, f.name, f.end)
	}
	if f.end-f.start < 0 || f.end-f.start == math.MaxInt64 {
		return fmt.Errorf("the range of sequence column '%s' exceeds the maximum of %d values", f.name, int64(math.MaxInt64))
	}
	lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
	switch f.t.Kind {
	case types.TinyInt:
		lo, hi = math.MinInt8, math.MaxInt8
	case types.SmallInt:
		lo, hi = math.MinInt16, math.MaxInt16
	case types.Int:
		lo, hi = math.MinInt32, math.MaxInt32
	case types.BigInt, types.Char, types.Varchar, types.Float, types.Double:
	case types.Decimal:
		if f.t.Precision-f.t.Scale < 19 {
			hi = int64(math.Pow10(f.t.Precision-f.t.Scale)) - 1
			lo = -hi
		}
	default:
		return fmt.Errorf("column '%s' of type %s cannot be a sequence; sequences are numeric or strings", f.name, f.t)
	}
	if f.start < lo || f.end > hi {
		return fmt.Errorf("sequence %d..%d of column '%s' does not fit its type %s", f.start, f.end, f.name, f.t)
	}
	return nil
}

func parseRandom(o connector.Options, f *fieldSpec, key func(string) string) error {
	t := f.t
	numeric := t.IsNumeric()
	for _, k := range []string{FieldMin, FieldMax} {
		if o.IsSet(key(k)) && !numeric {
			return fmt.Errorf("option '%s' applies to numeric columns, but column '%s' is %s", key(k), f.name, t)
		}
	}
	if o.IsSet(key(FieldMaxPast)) && !(t.IsTimestamp() || t.Kind == types.Date) {
		return fmt.Errorf("option '%s' applies to timestamp and date columns, but column '%s' is %s", key(FieldMaxPast), f.name, t)
	}
	if f.maxPast < 0 {
		return fmt.Errorf("option '%s' must not be negative", key(FieldMaxPast))
	}
	collection := t.Kind == types.Array || t.Kind == types.Map || t.Kind == types.Multiset
	if o.IsSet(key(FieldLength)) && !(t.IsString() || t.IsBinary() || collection) {
		return fmt.Errorf("option '%s' applies to string, binary and collection columns, but column '%s' is %s", key(FieldLength), f.name, t)
	}
	switch t.Kind {
	case types.Boolean, types.Date, types.Time, types.Timestamp, types.TimestampLTZ:
	case types.TinyInt, types.SmallInt, types.Int, types.BigInt:
		bits := map[types.Kind]int{types.TinyInt: 8, types.SmallInt: 16, types.Int: 32, types.BigInt: 64}[t.Kind]
		f.imin, f.imax = -1<<(bits-1), 1<<(bits-1)-1
		if s, ok := o.Lookup(key(FieldMin)); ok {
			v, err := strconv.ParseInt(s, 10, bits)
			if err != nil {
				return fmt.Errorf("invalid value '%s' for option '%s': expected a %s value", s, key(FieldMin), t)
			}
			f.imin = v
		}
		if s, ok := o.Lookup(key(FieldMax)); ok {
			v, err := strconv.ParseInt(s, 10, bits)
			if err != nil {
				return fmt.Errorf("invalid value '%s' for option '%s': expected a %s value", s, key(FieldMax), t)
			}
			f.imax = v
		}
		if f.imin > f.imax {
			return fmt.Errorf("min %d of column '%s' is greater than its max %d", f.imin, f.name, f.imax)
		}
	case types.Float, types.Double, types.Decimal:
		// Flink's defaults: FLOAT/DOUBLE span [MIN_VALUE, MAX_VALUE] of the
		// type; DECIMAL spans the values its precision can hold.
		switch t.Kind {
		case types.Float:
			f.fmin, f.fmax = math.SmallestNonzeroFloat32, math.MaxFloat32
		case types.Double:
			f.fmin, f.fmax = math.SmallestNonzeroFloat64, math.MaxFloat64
		case types.Decimal:
			f.fmax = math.Pow10(t.Precision-t.Scale) - math.Pow10(-t.Scale)
			f.fmin = -f.fmax
		}
		bits := 64
		if t.Kind == types.Float {
			bits = 32
		}
		for _, b := range []struct {
			k string
			v *float64
		}{{FieldMin, &f.fmin}, {FieldMax, &f.fmax}} {
			if s, ok := o.Lookup(key(b.k)); ok {
				v, err := strconv.ParseFloat(s, bits)
				if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
					return fmt.Errorf("invalid value '%s' for option '%s': expected a %s value", s, key(b.k), t)
				}
				*b.v = v
			}
		}
		if f.fmin > f.fmax {
			return fmt.Errorf("min %v of column '%s' is greater than its max %v", f.fmin, f.name, f.fmax)
		}
		if t.Kind == types.Decimal && (o.IsSet(key(FieldMin)) || o.IsSet(key(FieldMax))) {
			lim := math.Pow10(t.Precision - t.Scale)
			if f.fmin <= -lim || f.fmax >= lim {
				return fmt.Errorf("min and max of column '%s' must fit its type %s", f.name, t)
			}
		}
	case types.Char, types.Binary:
		if o.IsSet(key(FieldLength)) && f.length != t.Length {
			return fmt.Errorf("option '%s' cannot differ from the length of fixed-length column '%s' (%d)", key(FieldLength), f.name, t.Length)
		}
		f.length = t.Length
	case types.Varchar, types.Varbinary:
		if f.length < 0 {
			return fmt.Errorf("option '%s' must not be negative", key(FieldLength))
		}
		if f.length > t.Length {
			if o.IsSet(key(FieldLength)) {
				return fmt.Errorf("option '%s' (%d) exceeds the length of column '%s' (%d)", key(FieldLength), f.length, f.name, t.Length)
			}
			f.length = t.Length
		}
	case types.Array, types.Multiset, types.Map:
		if !o.IsSet(key(FieldLength)) {
			f.length = collectionLength
		}
		if f.length < 0 {
			return fmt.Errorf("option '%s' must not be negative", key(FieldLength))
		}
		parts := []struct {
			name string
			t    *types.DataType
		}{{"element", t.Elem}}
		if t.Kind == types.Map {
			parts = []struct {
				name string
				t    *types.DataType
			}{{"key", t.Key}, {"value", t.Value}}
		}
		for _, p := range parts {
			e, err := parseNested(o, f.name+"."+p.name, *p.t)
			if err != nil {
				return err
			}
			f.elems = append(f.elems, e)
		}
	case types.Row:
		for _, fl := range t.Fields {
			e, err := parseNested(o, f.name+"."+fl.Name, fl.Type)
			if err != nil {
				return err
			}
			f.elems = append(f.elems, e)
		}
	default:
		return fmt.Errorf("column '%s' of type %s is not supported by datagen", f.name, t)
	}
	return nil
}

// parseNested parses the spec of a part of a nested column (see
// fieldSpec.elems). Its options have Flink's nested keys
// ("fields.<f>.element.length"); the table cannot set them, since option
// validation admits only the keys of top-level columns, so every part is
// generated with the defaults of its type, as in Flink when those keys
// are left out.
func parseNested(o connector.Options, name string, t types.DataType) (fieldSpec, error) {
	key := func(pattern string) string { return connector.ColumnKey(name, pattern) }
	f := fieldSpec{name: name, t: t, maxPast: o.Duration(key(FieldMaxPast)), length: o.Int(key(FieldLength)), nullRate: o.Double(key(FieldNullRate))}
	return f, parseRandom(o, &f, key)
}

// reader generates the rows of one subtask. Every row of the source has a
// position: 0..N-1 for a bounded source of N rows, 0, 1, 2, ... for an
// unbounded one; a sequence column holds start + position. Subtask i of p
// starts owing the positions i, i+p, i+2p, ..., as Flink's
// SequenceGenerator hands out values. A reader emits the positions of its
// spans in order, then, when the source is unbounded, those of its tail:
// tailBase + sub + k*par for k = tailPos, tailPos+1, ... A reader restored
// at another parallelism owes the positions the old readers still owed
// (rescale.go).
type reader struct {
	gens      []generator
	cols      []int // the table column of each generator, which keys its random streams
	schema    *arrow.Schema
	out       []arrow.Array // scratch: the columns of the batch being built
	batchSize int
	rate      int64
	seed      uint64
	sub, par  int64
	rows      int64 // N, -1 when unbounded
	spans     []positions.Span
	tailBase  int64
	tailPos   int64
	// pending holds the snapshots Restore was given until the next Next
	// or Snapshot applies them (resolve): a reader restored at another
	// parallelism needs those of all the old readers. err is the failure
	// to apply them, which every later call returns.
	pending []*snapshot
	err     error
	// pacing: rows emitted since paceStart, on the wall clock.
	paceStart time.Time
	paced     int64
	closed    bool
}

func newReader(c config, spec connector.ScanSpec, rc connector.ReaderContext, now time.Time) (*reader, error) {
	p := int64(max(rc.Parallelism, 1))
	sub := int64(rc.Subtask)
	if sub < 0 || sub >= p {
		return nil, fmt.Errorf("datagen: subtask %d out of range for parallelism %d", sub, p)
	}
	mem := rc.Mem
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	r := &reader{batchSize: rc.BatchSize, rows: c.rows, rate: max(positions.Share(c.rate, p, sub), 1), sub: sub, par: p, seed: c.seed}
	if r.batchSize <= 0 {
		r.batchSize = DefaultBatchSize
	}
	for _, f := range c.fields {
		if f.sequence {
			if n := f.end - f.start + 1; r.rows < 0 || n < r.rows {
				r.rows = n
			}
		}
	}
	if r.rows >= 0 {
		if n := positions.Share(r.rows, p, sub); n > 0 {
			r.spans = []positions.Span{{First: sub, Step: p, Count: n}}
		}
	}
	if !c.seeded {
		r.seed = rand.Uint64()
	}
	out := spec.OutputSchema()
	r.schema = out.Arrow()
	proj := spec.Projection
	for i := range out.Columns {
		col := i
		if proj != nil {
			col = proj[i]
		}
		r.cols = append(r.cols, col)
		f := c.fields[col]
		if f.sequence {
			r.gens = append(r.gens, newSequence(f, mem))
			continue
		}
		g := newRandomGen(f, mem, now)
		reseed(g, r.seed, sub, col)
		r.gens = append(r.gens, g)
	}
	return r, nil
}

// streamSeed seeds the random stream of table column col in the reader
// whose first position is pos: each column has its own stream, keyed by
// its position in the table, so that projection does not change the
// values of a column; the parts of a nested column have streams of their
// own, derived from it (reseed). Subtask i of a job that was not rescaled
// starts at position i; a reader restored at another parallelism starts
// at the first position it owes, which no reader has emitted, so no
// stream is drawn from twice.
func streamSeed(seed uint64, pos int64, col int) (uint64, uint64) {
	hi, lo := uint64(pos)>>32, uint64(pos)&math.MaxUint32
	return seed ^ hi*0x9e3779b97f4a7c15, mix(lo<<32 | uint64(col))
}

// mix is SplitMix64's finalizer, to decorrelate the PCG streams.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func (r *reader) Next(ctx context.Context) (arrow.RecordBatch, error) {
	if r.closed {
		return nil, errors.New("datagen: Next after Close")
	}
	if err := r.resolve(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	n := min(int64(r.batchSize), r.rate)
	var pos, step int64
	switch {
	case len(r.spans) > 0:
		n = min(n, r.spans[0].Count)
		pos, step = r.spans[0].First, r.spans[0].Step
	case r.rows < 0:
		pos, step = r.tailBase+r.sub+r.tailPos*r.par, r.par
	default:
		return nil, io.EOF
	}
	if err := r.pace(ctx, n); err != nil {
		return nil, err
	}
	r.out = r.out[:0]
	for _, g := range r.gens {
		a, err := g.column(pos, step, int(n))
		if err != nil {
			r.releaseOut()
			return nil, fmt.Errorf("datagen: %w", err)
		}
		r.out = append(r.out, a)
	}
	rec := array.NewRecordBatch(r.schema, r.out, n)
	r.releaseOut()
	if len(r.spans) > 0 {
		s := &r.spans[0]
		s.First += n * s.Step
		if s.Count -= n; s.Count == 0 {
			r.spans = r.spans[1:]
		}
	} else {
		r.tailPos += n
	}
	return rec, nil
}

// releaseOut drops the reader's references to the columns of the last
// batch, which the batch holds on its own.
func (r *reader) releaseOut() {
	for _, a := range r.out {
		a.Release()
	}
	r.out = r.out[:0]
}

// pace sleeps until emitting n more rows keeps the rate: the rows emitted
// since paceStart may not run ahead of rate rows per second.
func (r *reader) pace(ctx context.Context, n int64) error {
	now := time.Now()
	if r.paceStart.IsZero() {
		r.paceStart = now
	}
	due := r.paceStart.Add(time.Duration(float64(r.paced) / float64(r.rate) * float64(time.Second)))
	if wait := due.Sub(now); wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
	r.paced += n
	return nil
}

func (r *reader) Close() error {
	if !r.closed {
		r.closed = true
		for _, g := range r.gens {
			g.release()
		}
	}
	return nil
}
