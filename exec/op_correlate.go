package exec

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/exec/expr"
)

// KindCorrelate unnests a collection per row (Flink's Correlate over
// UNNEST or a user-defined table function): for every input row it
// evaluates Collection, an ARRAY, MULTISET or MAP, and emits the row once
// per element, followed by the element's columns: a ROW element's fields,
// a MAP entry's key and value, or the element itself. A table function's
// call evaluates to the ARRAY<ROW> of each row's rows (see
// expr.RegisterTableFunction), computed for the whole batch at once.
// With Left, a row whose collection is empty or NULL is emitted once with
// NULL element columns. Output: the input's columns, the
// element columns, with Ordinality the element's position (from 1, an
// INT), and on a changelog the input's row kind column. The operator is
// stateless: watermarks pass through.
const KindCorrelate = "correlate"

// CorrelateSpec configures a correlate operator. Collection is
// expr.Marshal'ed over the input's columns.
type CorrelateSpec struct {
	Collection json.RawMessage `json:"collection"`
	Left       bool            `json:"left,omitempty"`
	Ordinality bool            `json:"ordinality,omitempty"`
}

func init() { RegisterOperator(KindCorrelate, newCorrelate) }

// correlate expands a batch with two index vectors instead of per-row
// work: parent[k] is the input row of output row k and child[k] its
// element in the collection's child array (invalid for a left join's
// padding row), so every output column is one Take over an input column
// or an element child array.
type correlate struct {
	spec      CorrelateSpec
	schema    *arrow.Schema
	changelog bool
	mem       memory.Allocator
	coll      expr.Evaluator
	ctx       context.Context

	// Scratch reused across batches.
	parent, child []int32
	ord           []int32 // with Ordinality: each element's position
	pads          []int
	childValid    []byte
	cols          []arrow.Array
}

func newCorrelate(spec OperatorSpec, _ *OperatorContext) (Operator, error) {
	c := &correlate{schema: spec.ArrowSchema(), changelog: spec.Changelog}
	if err := json.Unmarshal(spec.Spec, &c.spec); err != nil {
		return nil, fmt.Errorf("correlate spec: %w", err)
	}
	return c, nil
}

func (c *correlate) Open(ctx *OperatorContext) error {
	c.mem = ctx.Mem
	c.ctx = compute.WithAllocator(context.Background(), c.mem)
	ev, err := compileExpr(c.spec.Collection, c.mem)
	if err != nil {
		return fmt.Errorf("correlate collection: %w", err)
	}
	c.coll = ev
	c.cols = make([]arrow.Array, c.schema.NumFields())
	return nil
}

func (c *correlate) ProcessBatch(_ int, b arrow.RecordBatch, out Output) error {
	coll, err := c.coll.Eval(b)
	if err != nil {
		return err
	}
	defer coll.Release()
	list, ok := coll.(array.ListLike)
	if !ok {
		return fmt.Errorf("correlate: collection is %s, not a list or map", coll.DataType())
	}
	padded := c.expand(list)
	n := len(c.parent)
	if n == 0 {
		return nil
	}
	parentIdx := int32Array(c.parent, nil, 0)
	defer parentIdx.Release()
	nulls := 0
	var validity []byte
	if padded {
		validity = c.childValid
		nulls = n - bitutil.CountSetBits(validity, 0, n)
	}
	childIdx := int32Array(c.child, validity, nulls)
	defer childIdx.Release()

	defer c.releaseCols()
	inCols := int(b.NumCols())
	if c.changelog {
		inCols--
	}
	k := 0
	for i := 0; i < inCols; i++ {
		if c.cols[k], err = c.take(b.Column(i), parentIdx); err != nil {
			return err
		}
		k++
	}
	elems := elementArrays(list)
	defer func() {
		for _, e := range elems {
			e.Release()
		}
	}()
	// The child indexes increase strictly (list offsets never decrease),
	// so from 0 to n-1 they are the identity: the common case of a table
	// function's rows or of collections without NULL or empty ones, whose
	// element columns are then sliced instead of copied.
	identity := !padded && c.child[0] == 0 && int(c.child[n-1]) == n-1
	for _, e := range elems {
		if identity {
			c.cols[k] = array.NewSlice(e, 0, int64(n))
		} else if c.cols[k], err = c.take(e, childIdx); err != nil {
			return err
		}
		k++
	}
	if c.spec.Ordinality {
		c.cols[k] = copyInt32Array(c.mem, c.ord, validity, nulls)
		k++
	}
	if c.changelog {
		if c.cols[k], err = c.take(b.Column(inCols), parentIdx); err != nil {
			return err
		}
		k++
	}
	if k != len(c.cols) {
		return fmt.Errorf("correlate: produced %d columns, output schema has %d", k, len(c.cols))
	}
	for i, col := range c.cols {
		if want := c.schema.Field(i).Type; !arrow.TypeEqual(col.DataType(), want) {
			return fmt.Errorf("correlate: column %d is %s, output schema wants %s", i, col.DataType(), want)
		}
	}
	res := array.NewRecordBatch(c.schema, c.cols, int64(n))
	defer res.Release()
	return out.Emit(res)
}

// expand fills the parent and child index vectors for list and reports
// whether any output row is a left join's padding; then childValid marks
// the rows with an element (a padding row's child index is a placeholder).
func (c *correlate) expand(list array.ListLike) bool {
	c.parent, c.child, c.ord, c.pads = c.parent[:0], c.child[:0], c.ord[:0], c.pads[:0]
	for i := 0; i < list.Len(); i++ {
		start, end := list.ValueOffsets(i)
		if list.IsNull(i) || start == end {
			if c.spec.Left {
				c.pads = append(c.pads, len(c.parent))
				c.parent = append(c.parent, int32(i))
				c.child = append(c.child, 0)
				c.ord = append(c.ord, 0)
			}
			continue
		}
		for j := start; j < end; j++ {
			c.parent = append(c.parent, int32(i))
			c.child = append(c.child, int32(j))
			c.ord = append(c.ord, int32(j-start+1))
		}
	}
	if len(c.pads) == 0 {
		return false
	}
	size := int(bitutil.BytesForBits(int64(len(c.child))))
	c.childValid = append(c.childValid[:0], make([]byte, size)...)
	bitutil.SetBitsTo(c.childValid, 0, int64(len(c.child)), true)
	for _, k := range c.pads {
		bitutil.ClearBit(c.childValid, k)
	}
	return true
}

// elementArrays returns the arrays the element columns are taken from,
// each retained for the caller: a ROW element's fields (with the element's
// own NULLs pushed into them; a MAP's entries are ROW<key, value>s that
// are never NULL), or the element values.
func elementArrays(list array.ListLike) []arrow.Array {
	values := list.ListValues()
	st, ok := values.(*array.Struct)
	if !ok {
		values.Retain()
		return []arrow.Array{values}
	}
	fields := make([]arrow.Array, st.NumField())
	for i := range fields {
		if st.NullN() > 0 {
			fields[i] = withParentNulls(st.Field(i), st)
		} else {
			fields[i] = st.Field(i)
			fields[i].Retain()
		}
	}
	return fields
}

// withParentNulls returns field (not retained) viewed with the NULLs of its
// struct added, so that a NULL ROW element unnests to NULL fields. The
// result shares field's buffers except for the validity bitmap.
func withParentNulls(field arrow.Array, st *array.Struct) arrow.Array {
	n := field.Len()
	d := field.Data()
	off := d.Offset()
	bits := make([]byte, bitutil.BytesForBits(int64(off+n)))
	stOff := st.Data().Offset()
	if field.NullN() == 0 {
		bitutil.CopyBitmap(st.NullBitmapBytes(), stOff, n, bits, off)
	} else {
		bitutil.BitmapAnd(st.NullBitmapBytes(), field.NullBitmapBytes(), int64(stOff), int64(off), bits, int64(off), int64(n))
	}
	bufs := append([]*memory.Buffer{memory.NewBufferBytes(bits)}, d.Buffers()[1:]...)
	nd := array.NewData(d.DataType(), n, bufs, d.Children(), n-bitutil.CountSetBits(bits, off, n), off)
	defer nd.Release()
	return array.MakeFromData(nd)
}

func (c *correlate) take(col arrow.Array, idx arrow.Array) (arrow.Array, error) {
	out, err := compute.TakeArray(c.ctx, col, idx)
	if err != nil {
		return nil, fmt.Errorf("correlate: %w", err)
	}
	return out, nil
}

// int32Array wraps vals (and an optional validity bitmap) as an Arrow
// array without copying; the caller keeps vals alive while it is used.
func int32Array(vals []int32, validity []byte, nulls int) arrow.Array {
	var valid *memory.Buffer
	if validity != nil {
		valid = memory.NewBufferBytes(validity)
	}
	d := array.NewData(arrow.PrimitiveTypes.Int32, len(vals),
		[]*memory.Buffer{valid, memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(vals))}, nil, nulls, 0)
	defer d.Release()
	return array.NewInt32Data(d)
}

// copyInt32Array copies vals (and an optional validity bitmap) into an
// Arrow array allocated from mem, which the output may keep while the
// scratch vectors are reused.
func copyInt32Array(mem memory.Allocator, vals []int32, validity []byte, nulls int) arrow.Array {
	data := memory.NewResizableBuffer(mem)
	data.Resize(arrow.Int32Traits.BytesRequired(len(vals)))
	copy(arrow.Int32Traits.CastFromBytes(data.Bytes()), vals)
	var valid *memory.Buffer
	if validity != nil {
		valid = memory.NewResizableBuffer(mem)
		valid.Resize(len(validity))
		copy(valid.Bytes(), validity)
	}
	d := array.NewData(arrow.PrimitiveTypes.Int32, len(vals), []*memory.Buffer{valid, data}, nil, nulls, 0)
	data.Release()
	if valid != nil {
		valid.Release()
	}
	defer d.Release()
	return array.NewInt32Data(d)
}

func (c *correlate) releaseCols() {
	for i, col := range c.cols {
		if col != nil {
			col.Release()
			c.cols[i] = nil
		}
	}
}

func (c *correlate) ProcessWatermark(_ int, wm Watermark, out Output) error {
	return out.EmitWatermark(wm)
}

func (c *correlate) EndInput(int, Output) error { return nil }
func (c *correlate) Snapshot() ([]byte, error)  { return nil, nil }
func (c *correlate) Restore([]byte) error       { return nil }
func (c *correlate) Close() error               { c.releaseCols(); return nil }
