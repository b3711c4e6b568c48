package exec

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/exec/expr"
	"github.com/eddysql/eddy/internal/errs"
)

// KindFromChangelog runs Flink's FROM_CHANGELOG process table function: it
// reads an insert-only stream whose OpCol holds each row's change
// operation as an op code and emits the rows (the Columns) as a changelog
// of the kinds the codes map to. A NULL or unmapped code fails the job,
// as Flink's TableRuntimeException does, unless SkipInvalid drops the row.
// The operator is stateless; in upsert mode the planner puts a changelog
// normalize, which keeps the last row per key, after it. Watermarks pass
// through.
const KindFromChangelog = "from-changelog"

// FromChangelogSpec is the JSON spec of a FROM_CHANGELOG operator.
type FromChangelogSpec struct {
	// Columns are the input columns of the output, in order.
	Columns []int `json:"columns"`
	// OpCol is the input column of op codes, a string.
	OpCol int `json:"opCol"`
	// Kinds maps each op code to its row kind (connector.RowKind).
	Kinds map[string]int8 `json:"kinds"`
	// SkipInvalid drops rows with a NULL or unmapped op code.
	SkipInvalid bool `json:"skipInvalid,omitempty"`
}

func init() { RegisterOperator(KindFromChangelog, newFromChangelog) }

type fromChangelogOp struct {
	spec      FromChangelogSpec
	schema    *arrow.Schema
	changelog bool
	mem       memory.Allocator
	keep      *array.BooleanBuilder
	kinds     *array.Int8Builder
	// rowKinds is the scratch kind per input row, -1 for a dropped row.
	rowKinds []int8
	cols     []arrow.Array
}

func newFromChangelog(spec OperatorSpec, ctx *OperatorContext) (Operator, error) {
	f := &fromChangelogOp{schema: spec.ArrowSchema(), changelog: spec.Changelog, mem: ctx.Mem}
	if err := json.Unmarshal(spec.Spec, &f.spec); err != nil {
		return nil, errs.Wrap(errs.InvalidPlan, err, "from_changelog spec")
	}
	if len(f.spec.Columns) != spec.Schema.Len() {
		return nil, errs.New(errs.InvalidPlan, "from_changelog: %d columns for %d output columns", len(f.spec.Columns), spec.Schema.Len())
	}
	if len(f.spec.Kinds) == 0 {
		return nil, errs.New(errs.InvalidPlan, "from_changelog: no op codes")
	}
	for code, k := range f.spec.Kinds {
		if k < 0 || k > int8(connector.Delete) {
			return nil, errs.New(errs.InvalidPlan, "from_changelog: op code '%s' maps to invalid row kind %d", code, k)
		}
		if k != int8(connector.Insert) && !spec.Changelog {
			return nil, errs.New(errs.InvalidPlan, "from_changelog: op code '%s' maps to %s, but the output is insert-only", code, connector.RowKind(k))
		}
	}
	return f, nil
}

func (f *fromChangelogOp) Open(ctx *OperatorContext) error {
	f.mem = ctx.Mem
	f.keep = array.NewBooleanBuilder(f.mem)
	f.kinds = array.NewInt8Builder(f.mem)
	f.cols = make([]arrow.Array, f.schema.NumFields())
	return nil
}

func (f *fromChangelogOp) ProcessBatch(_ int, b arrow.RecordBatch, out Output) error {
	nIn := int(b.NumCols())
	if f.spec.OpCol >= nIn {
		return fmt.Errorf("from_changelog: op column %d of %d", f.spec.OpCol, nIn)
	}
	for _, c := range f.spec.Columns {
		if c >= nIn {
			return fmt.Errorf("from_changelog: input column %d of %d", c, nIn)
		}
	}
	ops, ok := b.Column(f.spec.OpCol).(*array.String)
	if !ok {
		return fmt.Errorf("from_changelog: op column is %s, not a string", b.Column(f.spec.OpCol).DataType())
	}
	n := ops.Len()
	f.rowKinds = f.rowKinds[:0]
	dropped := 0
	for i := range n {
		if ops.IsNull(i) {
			if !f.spec.SkipInvalid {
				return errs.New(errs.DataException, "Received NULL op code. Every changelog row must carry an operation code.")
			}
			f.rowKinds = append(f.rowKinds, -1)
			dropped++
			continue
		}
		// Value views the batch's bytes without copying them.
		k, ok := f.spec.Kinds[ops.Value(i)]
		if !ok {
			if !f.spec.SkipInvalid {
				return errs.New(errs.DataException, "Received invalid op code '%s'. Defined op codes are: %s.", ops.Value(i), f.definedCodes())
			}
			k = -1
			dropped++
		}
		f.rowKinds = append(f.rowKinds, k)
	}
	if dropped == n {
		return nil
	}
	in := b
	in.Retain()
	defer func() { in.Release() }()
	if dropped > 0 {
		f.keep.Reserve(n)
		for _, k := range f.rowKinds {
			f.keep.UnsafeAppend(k >= 0)
		}
		pred := f.keep.NewBooleanArray()
		filtered, err := expr.FilterBatch(b, pred, f.mem)
		pred.Release()
		if err != nil {
			return fmt.Errorf("from_changelog: %w", err)
		}
		in.Release()
		in = filtered
	}
	defer f.releaseCols()
	for i, c := range f.spec.Columns {
		col := in.Column(c)
		col.Retain()
		f.cols[i] = col
	}
	if f.changelog {
		f.kinds.Reserve(n - dropped)
		for _, k := range f.rowKinds {
			if k >= 0 {
				f.kinds.UnsafeAppend(k)
			}
		}
		f.cols[len(f.spec.Columns)] = f.kinds.NewArray()
	}
	res := array.NewRecordBatch(f.schema, f.cols, int64(n-dropped))
	defer res.Release()
	return out.Emit(res)
}

// definedCodes lists the op codes for an error message, sorted.
func (f *fromChangelogOp) definedCodes() string {
	codes := make([]string, 0, len(f.spec.Kinds))
	for c := range f.spec.Kinds {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	return "[" + strings.Join(codes, ", ") + "]"
}

func (f *fromChangelogOp) releaseCols() {
	for i, c := range f.cols {
		if c != nil {
			c.Release()
			f.cols[i] = nil
		}
	}
}

func (f *fromChangelogOp) ProcessWatermark(_ int, wm Watermark, out Output) error {
	return out.EmitWatermark(wm)
}

func (f *fromChangelogOp) EndInput(int, Output) error { return nil }
func (f *fromChangelogOp) Snapshot() ([]byte, error)  { return nil, nil }
func (f *fromChangelogOp) Restore([]byte) error       { return nil }

func (f *fromChangelogOp) Close() error {
	f.releaseCols()
	if f.keep != nil {
		f.keep.Release()
		f.keep = nil
	}
	if f.kinds != nil {
		f.kinds.Release()
		f.kinds = nil
	}
	return nil
}
