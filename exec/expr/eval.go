package expr

import (
	"context"
	"fmt"
	"slices"
	"unicode/utf8"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/compute/exec"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/arrow/scalar"

	"github.com/eddysql/eddy/catalog/types"
)

// Evaluator computes a compiled expression batch-at-a-time. An Evaluator
// is owned by one operator instance and is not safe for concurrent use: it
// reuses builders and scratch space between calls. It holds no allocator
// memory between calls (cached constants live on the Go heap), so it needs
// no Release.
type Evaluator interface {
	// Eval computes the expression over every row of b; the caller releases
	// the result. The result has b.NumRows() rows and the Arrow type of the
	// expression's Type().
	Eval(b arrow.RecordBatch) (arrow.Array, error)
}

// compiler carries what every kernel needs at compile time.
type compiler struct {
	mem memory.Allocator
	ctx context.Context // carries mem for arrow compute kernels
	// watermark is what CURRENT_WATERMARK reads; nil: always NULL.
	watermark *CurrentWatermark
}

// Compile turns a resolved expression into an Evaluator whose results are
// allocated from mem.
func Compile(e Expr, mem memory.Allocator) (Evaluator, error) {
	c := &compiler{mem: mem, ctx: exec.WithAllocator(context.Background(), mem)}
	return c.compile(e)
}

func (c *compiler) compile(e Expr) (Evaluator, error) {
	switch n := e.(type) {
	case *ColumnRef:
		return &colEval{idx: n.Index}, nil
	case *Literal:
		if _, err := literalScalar(n); err != nil {
			return nil, err
		}
		return &litEval{lit: n}, nil
	case *Call:
		def := lookup(n.Func)
		if def == nil {
			return nil, fmt.Errorf("%w: %s", ErrUnknownFunction, n.Func)
		}
		return def.compile(c, n)
	}
	return nil, fmt.Errorf("expr: cannot compile %T", e)
}

func (c *compiler) compileArgs(args []Expr) ([]Evaluator, error) {
	evs := make([]Evaluator, len(args))
	for i, a := range args {
		ev, err := c.compile(a)
		if err != nil {
			return nil, err
		}
		evs[i] = ev
	}
	return evs, nil
}

// colEval returns the referenced column itself, retained: no copy.
type colEval struct{ idx int }

func (e *colEval) Eval(b arrow.RecordBatch) (arrow.Array, error) {
	if e.idx < 0 || e.idx >= int(b.NumCols()) {
		return nil, fmt.Errorf("expr: column $%d out of range (batch has %d columns)", e.idx, b.NumCols())
	}
	col := b.Column(e.idx)
	col.Retain()
	return col, nil
}

// litEval broadcasts a constant. The materialized array is cached per batch
// length, so a stream of equally sized batches builds it once.
type litEval struct {
	lit    *Literal
	cached arrow.Array
}

func (e *litEval) Eval(b arrow.RecordBatch) (arrow.Array, error) {
	n := int(b.NumRows())
	if e.cached == nil || e.cached.Len() != n {
		arr, err := literalArray(e.lit, n, gcAlloc)
		if err != nil {
			return nil, err
		}
		e.cached = arr
	}
	e.cached.Retain()
	return e.cached, nil
}

// kernel computes a function over argument arrays of length n.
type kernel func(args []arrow.Array, n int) (arrow.Array, error)

// callEval evaluates all arguments eagerly and applies a kernel.
type callEval struct {
	args []Evaluator
	k    kernel
	vals []arrow.Array // scratch, reused between calls
}

func newCallEval(c *compiler, call *Call, k kernel) (Evaluator, error) {
	args, err := c.compileArgs(call.Args)
	if err != nil {
		return nil, err
	}
	return &callEval{args: args, k: k, vals: make([]arrow.Array, len(args))}, nil
}

func (e *callEval) Eval(b arrow.RecordBatch) (arrow.Array, error) {
	defer releaseAll(e.vals)
	for i, a := range e.args {
		v, err := a.Eval(b)
		if err != nil {
			return nil, err
		}
		e.vals[i] = v
	}
	return e.k(e.vals, int(b.NumRows()))
}

func releaseAll(arrs []arrow.Array) {
	for i, a := range arrs {
		if a != nil {
			a.Release()
			arrs[i] = nil
		}
	}
}

// computeEval calls an arrow compute function. Literal arguments are passed
// as scalars so they are never materialized.
type computeEval struct {
	c       *compiler
	fn      string
	opts    compute.FunctionOptions
	args    []Evaluator     // nil where scalars[i] is set
	scalars []scalar.Scalar // non-nil for literal arguments
	datums  []compute.Datum // scratch
}

func newComputeEval(c *compiler, fn string, opts compute.FunctionOptions, args []Expr) (Evaluator, error) {
	e := &computeEval{c: c, fn: fn, opts: opts, args: make([]Evaluator, len(args)),
		scalars: make([]scalar.Scalar, len(args)), datums: make([]compute.Datum, len(args))}
	for i, a := range args {
		if l, ok := a.(*Literal); ok {
			sc, err := literalScalar(l)
			if err != nil {
				return nil, err
			}
			e.scalars[i] = sc
			continue
		}
		ev, err := c.compile(a)
		if err != nil {
			return nil, err
		}
		e.args[i] = ev
	}
	return e, nil
}

func (e *computeEval) Eval(b arrow.RecordBatch) (arrow.Array, error) {
	n := int(b.NumRows())
	defer func() {
		for i, d := range e.datums {
			// Scalar datums borrow the evaluator's cached scalars.
			if _, ok := d.(*compute.ArrayDatum); ok {
				d.Release()
			}
			e.datums[i] = nil
		}
	}()
	allScalar := true
	for i, a := range e.args {
		if a == nil {
			e.datums[i] = compute.NewDatumWithoutOwning(e.scalars[i])
			continue
		}
		allScalar = false
		v, err := a.Eval(b)
		if err != nil {
			return nil, err
		}
		e.datums[i] = compute.NewDatum(v)
		v.Release()
	}
	if allScalar {
		// Only reachable when Fold was bypassed; keep kernels on arrays.
		for i, sc := range e.scalars {
			arr, err := scalar.MakeArrayFromScalar(sc, n, e.c.mem)
			if err != nil {
				return nil, err
			}
			e.datums[i] = compute.NewDatum(arr)
			arr.Release()
		}
	}
	out, err := compute.CallFunction(e.c.ctx, e.fn, e.opts, e.datums...)
	if err != nil {
		return nil, fmt.Errorf("expr: %s: %w", e.fn, err)
	}
	defer out.Release()
	return datumArray(out, n, e.c.mem)
}

// datumArray turns a compute result into an owned array of length n.
func datumArray(d compute.Datum, n int, mem memory.Allocator) (arrow.Array, error) {
	switch v := d.(type) {
	case *compute.ArrayDatum:
		return v.MakeArray(), nil
	case *compute.ScalarDatum:
		return scalar.MakeArrayFromScalar(v.Value, n, mem)
	}
	return nil, fmt.Errorf("expr: unexpected compute result %s", d.Kind())
}

// IsDeterministic reports whether e always yields the same value for the
// same input: false if it calls RAND, NOW, PROCTIME, CURRENT_TIMESTAMP or
// another function registered as non-deterministic.
func IsDeterministic(e Expr) bool {
	det := true
	Walk(e, func(n Expr) bool {
		if c, ok := n.(*Call); ok {
			if d := lookup(c.Func); d != nil && (d.nondeterministic || d.nondeterministicNoArgs && len(c.Args) == 0) {
				det = false
			}
		}
		return det
	})
	return det
}

// Fold evaluates a constant, deterministic expression once and returns it
// as a *Literal; any other expression is returned unchanged. Evaluation
// errors (e.g. CAST('x' AS INT), 1/0) are returned so the planner can
// report them early, as Flink's constant reduction does.
func Fold(e Expr) (Expr, error) {
	if _, ok := e.(*Literal); ok {
		return e, nil
	}
	// Nested values (ARRAY[...], ROW(...)) have no Literal form.
	if len(InputColumns(e)) > 0 || !IsDeterministic(e) || isComposite(e.Type()) || buildsLargeString(e) {
		return e, nil
	}
	// A JSON_ARRAY or JSON_OBJECT inside another one is inserted as JSON,
	// not as a string: folded to a string literal it would lose that.
	if c, ok := e.(*Call); ok && isJSONCtor(c.Func) {
		return e, nil
	}
	mem := memory.NewGoAllocator()
	ev, err := Compile(e, mem)
	if err != nil {
		return nil, err
	}
	b := array.NewRecordBatch(arrow.NewSchema(nil, nil), nil, 1)
	defer b.Release()
	arr, err := ev.Eval(b)
	if err != nil {
		return nil, err
	}
	defer arr.Release()
	v, err := valueAt(arr, 0, e.Type())
	if err != nil {
		return nil, err
	}
	return &Literal{Value: v, T: e.Type()}, nil
}

// maxFoldedString bounds the strings constant folding may build: REPEAT,
// LPAD/RPAD and PRINTF's widths make strings of any length from a small
// literal, which
// planning would otherwise allocate (gigabytes for REPEAT('a',
// 2000000000)) before the query runs.
const maxFoldedString = 1 << 20

// buildsLargeString reports whether e repeats or pads a string to more
// than maxFoldedString bytes, or by a count or format that is not a
// literal.
func buildsLargeString(e Expr) bool {
	large := false
	Walk(e, func(n Expr) bool {
		c, ok := n.(*Call)
		if !ok || large {
			return !large
		}
		if slices.ContainsFunc(c.Args, isNullLiteral) {
			return true
		}
		switch c.Func {
		case "REPEAT":
			s, sok := literalString(c.Args[0])
			count, cok := literalInt(c.Args[1])
			large = !sok || !cok || count > 0 && int64(len(s)) > maxFoldedString/count
		case "LPAD", "RPAD":
			count, cok := literalInt(c.Args[1])
			large = !cok || count > maxFoldedString/utf8.UTFMax
		case "PRINTF":
			f, ok := literalString(c.Args[0])
			specs, err := parseFormatterSpec(f)
			large = !ok || err != nil || slices.ContainsFunc(specs, func(s fmtSpec) bool {
				return s.width > maxFoldedString || s.precision > maxFoldedString
			})
		}
		return !large
	})
	return large
}

func isNullLiteral(e Expr) bool {
	l, ok := e.(*Literal)
	return ok && l.Value == nil
}

// ConstantString evaluates a constant expression and returns its value as
// Arrow prints it (how the filesystem connector names a partition
// directory), or null.
func ConstantString(e Expr) (s string, null bool, err error) {
	if len(InputColumns(e)) > 0 {
		return "", false, fmt.Errorf("%s is not a constant", e)
	}
	ev, err := Compile(e, memory.NewGoAllocator())
	if err != nil {
		return "", false, err
	}
	b := array.NewRecordBatch(arrow.NewSchema(nil, nil), nil, 1)
	defer b.Release()
	arr, err := ev.Eval(b)
	if err != nil {
		return "", false, err
	}
	defer arr.Release()
	if arr.IsNull(0) {
		return "", true, nil
	}
	return arr.ValueStr(0), false, nil
}

// FilterBatch keeps the rows of b where pred is TRUE; NULL counts as FALSE.
// When every row qualifies b itself is returned, retained. The caller
// releases the result.
func FilterBatch(b arrow.RecordBatch, pred arrow.Array, mem memory.Allocator) (arrow.RecordBatch, error) {
	p, ok := pred.(*array.Boolean)
	if !ok {
		return nil, fmt.Errorf("expr: filter predicate is %s, not BOOLEAN", pred.DataType())
	}
	n := p.Len()
	if int64(n) != b.NumRows() {
		return nil, fmt.Errorf("expr: predicate has %d rows, batch %d", n, b.NumRows())
	}
	off := p.Data().Offset()
	trues := bitutil.CountSetBits(p.Data().Buffers()[1].Bytes(), off, n)
	if p.NullN() > 0 {
		// Count only rows that are both valid and true.
		trues = 0
		vals, valid := p.Data().Buffers()[1].Bytes(), p.NullBitmapBytes()
		for i := 0; i < n; i++ {
			if bitutil.BitIsSet(valid, off+i) && bitutil.BitIsSet(vals, off+i) {
				trues++
			}
		}
	}
	if trues == n {
		b.Retain()
		return b, nil
	}
	if b.NumCols() == 0 {
		return array.NewRecordBatch(b.Schema(), nil, int64(trues)), nil
	}
	spans := keptSpans(p)
	cols := make([]arrow.Array, 0, b.NumCols())
	for _, col := range b.Columns() {
		taken, ok := takeColumn(col, spans, trues, mem)
		if !ok {
			releaseAll(cols)
			ctx := exec.WithAllocator(context.Background(), mem)
			return compute.FilterRecordBatch(ctx, b, pred, compute.DefaultFilterOptions())
		}
		cols = append(cols, taken)
	}
	defer releaseAll(cols)
	return array.NewRecordBatch(b.Schema(), cols, int64(trues)), nil
}

// validity returns the AND of the validity bitmaps of arrs over n rows as a
// new buffer, or nil when no input has nulls, plus the resulting null count.
func validity(mem memory.Allocator, n int, arrs ...arrow.Array) (*memory.Buffer, int) {
	var out *memory.Buffer
	for _, a := range arrs {
		if a.NullN() == 0 {
			continue
		}
		if a.NullN() == a.Len() && a.DataType().ID() == arrow.NULL {
			if out == nil {
				out = memory.NewResizableBuffer(mem)
				out.Resize(int(bitutil.BytesForBits(int64(n))))
			}
			bitutil.SetBitsTo(out.Bytes(), 0, int64(n), false)
			continue
		}
		bm := a.NullBitmapBytes()
		off := int64(a.Data().Offset())
		if out == nil {
			out = memory.NewResizableBuffer(mem)
			out.Resize(int(bitutil.BytesForBits(int64(n))))
			bitutil.CopyBitmap(bm, int(off), n, out.Bytes(), 0)
			continue
		}
		bitutil.BitmapAnd(out.Bytes(), bm, 0, off, out.Bytes(), 0, int64(n))
	}
	if out == nil {
		return nil, 0
	}
	return out, n - bitutil.CountSetBits(out.Bytes(), 0, n)
}

// fixedOut allocates the value buffer of a fixed-width result of n values.
func fixedOut[T arrow.FixedWidthType](mem memory.Allocator, n int) (*memory.Buffer, []T) {
	buf := memory.NewResizableBuffer(mem)
	var zero T
	buf.Resize(n * int(sizeOf(zero)))
	return buf, arrow.GetData[T](buf.Bytes())[:n]
}

func sizeOf[T arrow.FixedWidthType](v T) int {
	return len(arrow.GetBytes([]T{v}))
}

// makeArray wraps buffers into an array and drops the caller's references.
func makeArray(dt arrow.DataType, n int, valid, values *memory.Buffer, nulls int) arrow.Array {
	data := array.NewData(dt, n, []*memory.Buffer{valid, values}, nil, nulls, 0)
	if valid != nil {
		valid.Release()
	}
	values.Release()
	defer data.Release()
	return array.MakeFromData(data)
}

// valuesOf returns the typed values of a fixed-width array, offset applied.
func valuesOf[T arrow.FixedWidthType](a arrow.Array) []T {
	d := a.Data()
	return arrow.GetData[T](d.Buffers()[1].Bytes())[d.Offset() : d.Offset()+d.Len()]
}

// boolOut builds a BOOLEAN result from a per-row function; bits is
// indexed from 0.
func boolOut(mem memory.Allocator, n int, valid *memory.Buffer, nulls int, fn func(bits []byte)) arrow.Array {
	buf := memory.NewResizableBuffer(mem)
	buf.Resize(int(bitutil.BytesForBits(int64(n))))
	fn(buf.Bytes())
	return makeArray(arrow.FixedWidthTypes.Boolean, n, valid, buf, nulls)
}

// isValid reports whether row i of a is not NULL. (Arrow's NULL-typed
// arrays have no validity bitmap, so IsValid alone calls them valid.)
func isValid(a arrow.Array, i int) bool {
	return a.NullN() == 0 || a.DataType().ID() != arrow.NULL && a.IsValid(i)
}

// allNullArray returns n NULLs of type t.
func allNullArray(t types.DataType, n int, mem memory.Allocator) (arrow.Array, error) {
	return scalar.MakeArrayFromScalar(scalar.MakeNullScalar(t.Arrow()), n, mem)
}

// gather builds an array of type dt whose row i is row rows[i] of
// srcs[src[i]], or NULL when src[i] < 0. CASE, COALESCE, NULLIF, GREATEST
// and LEAST assemble their results with it, by physical layout rather than
// by logical type.
func gather(mem memory.Allocator, dt arrow.DataType, n int, src, rows []int32, srcs []arrow.Array) (arrow.Array, error) {
	valid := memory.NewResizableBuffer(mem)
	valid.Resize(int(bitutil.BytesForBits(int64(n))))
	vb := valid.Bytes()
	nulls := 0
	// The sources' validity, read once rather than through the Array
	// interface per row.
	type srcValidity struct {
		all  bool // no NULLs
		bits []byte
		off  int
	}
	sv := make([]srcValidity, len(srcs))
	for k, a := range srcs {
		switch {
		case a.NullN() == 0:
			sv[k].all = true
		case a.DataType().ID() != arrow.NULL:
			sv[k].bits, sv[k].off = a.NullBitmapBytes(), a.Data().Offset()
		}
	}
	for i := 0; i < n; i++ {
		ok := false
		if s := src[i]; s >= 0 {
			v := &sv[s]
			ok = v.all || v.bits != nil && bitutil.BitIsSet(v.bits, v.off+int(rows[i]))
		}
		bitutil.SetBitTo(vb, i, ok)
		if !ok {
			src[i] = -1
			nulls++
		}
	}
	switch dt.ID() {
	case arrow.NULL:
		valid.Release()
		return array.NewNull(n), nil
	case arrow.BOOL:
		out := memory.NewResizableBuffer(mem)
		out.Resize(int(bitutil.BytesForBits(int64(n))))
		ob := out.Bytes()
		for i := 0; i < n; i++ {
			if s := src[i]; s >= 0 {
				a := srcs[s]
				bitutil.SetBitTo(ob, i, bitutil.BitIsSet(a.Data().Buffers()[1].Bytes(), a.Data().Offset()+int(rows[i])))
			}
		}
		return makeArray(dt, n, valid, out, nulls), nil
	case arrow.STRING, arrow.BINARY:
		// Each source's offsets and value bytes, so a row is two loads.
		srcOffs, srcData := make([][]int32, len(srcs)), make([][]byte, len(srcs))
		for k, a := range srcs {
			switch a := a.(type) {
			case *array.String:
				srcOffs[k], srcData[k] = a.ValueOffsets(), a.ValueBytes()
			case *array.Binary:
				srcOffs[k], srcData[k] = a.ValueOffsets(), a.ValueBytes()
			}
		}
		value := func(s int32, r int32) []byte {
			o := srcOffs[s]
			return srcData[s][o[r]-o[0] : o[r+1]-o[0]]
		}
		total := 0
		for i := 0; i < n; i++ {
			if s := src[i]; s >= 0 {
				o := srcOffs[s]
				total += int(o[rows[i]+1] - o[rows[i]])
			}
		}
		offs := memory.NewResizableBuffer(mem)
		offs.Resize((n + 1) * 4)
		ov := arrow.GetData[int32](offs.Bytes())
		data := memory.NewResizableBuffer(mem)
		data.Resize(total)
		db := data.Bytes()[:0]
		for i := 0; i < n; i++ {
			ov[i] = int32(len(db))
			if s := src[i]; s >= 0 {
				db = append(db, value(s, rows[i])...)
			}
		}
		ov[n] = int32(len(db))
		d := array.NewData(dt, n, []*memory.Buffer{valid, offs, data}, nil, nulls, 0)
		valid.Release()
		offs.Release()
		data.Release()
		defer d.Release()
		return array.MakeFromData(d), nil
	}
	if _, nested := dt.(arrow.NestedType); nested {
		valid.Release()
		return gatherNested(mem, dt, n, src, rows, srcs)
	}
	fw, ok := dt.(arrow.FixedWidthDataType)
	if !ok || fw.BitWidth()%8 != 0 {
		valid.Release()
		return nil, fmt.Errorf("expr: cannot select values of type %s", dt)
	}
	w := fw.BitWidth() / 8
	out := memory.NewResizableBuffer(mem)
	out.Resize(n * w)
	ob := out.Bytes()
	for i := 0; i < n; i++ {
		if s := src[i]; s >= 0 {
			a := srcs[s]
			j := (a.Data().Offset() + int(rows[i])) * w
			copy(ob[i*w:(i+1)*w], a.Data().Buffers()[1].Bytes()[j:j+w])
		}
	}
	return makeArray(dt, n, valid, out, nulls), nil
}

// binaryAt returns the bytes of row i of a STRING or BINARY array. They
// alias the array's buffer (no copy per row): callers only read them.
func binaryAt(a arrow.Array, i int) []byte {
	switch v := a.(type) {
	case *array.String:
		s := v.Value(i)
		return unsafe.Slice(unsafe.StringData(s), len(s))
	case *array.Binary:
		return v.Value(i)
	}
	return nil
}

// takeRows evaluates ev only on the given rows of b (used where Flink
// evaluates lazily: CASE branches, the right side of AND/OR, COALESCE), so
// that e.g. a division guarded by a CASE condition never sees the rows the
// guard excluded. Only the columns ev reads are gathered.
func takeRows(c *compiler, ev Evaluator, cols []int, b arrow.RecordBatch, rows []int32) (arrow.Array, error) {
	if len(rows) == int(b.NumRows()) {
		return ev.Eval(b)
	}
	idxBuf := memory.NewBufferBytes(arrow.GetBytes(rows))
	idxData := array.NewData(arrow.PrimitiveTypes.Int32, len(rows), []*memory.Buffer{nil, idxBuf}, nil, 0, 0)
	idx := array.MakeFromData(idxData)
	idxData.Release()
	defer idx.Release()
	fields := make([]arrow.Field, b.NumCols())
	arrs := make([]arrow.Array, b.NumCols())
	defer releaseAll(arrs)
	for i := range fields {
		fields[i] = arrow.Field{Name: fmt.Sprintf("c%d", i), Type: arrow.Null, Nullable: true}
	}
	for _, ci := range cols {
		if ci < 0 || ci >= len(arrs) || arrs[ci] != nil {
			continue
		}
		taken, err := compute.TakeArray(c.ctx, b.Column(ci), idx)
		if err != nil {
			return nil, err
		}
		arrs[ci] = taken
		fields[ci].Type = taken.DataType()
	}
	for i := range arrs {
		if arrs[i] == nil {
			arrs[i] = array.NewNull(len(rows))
		}
	}
	sub := array.NewRecordBatch(arrow.NewSchema(fields, nil), arrs, int64(len(rows)))
	defer sub.Release()
	return ev.Eval(sub)
}
