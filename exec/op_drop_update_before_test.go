package exec

import (
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/cockroachdb/datadriven"
	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/catalog/types"
)

// TestDropUpdateBefore runs the scripts in testdata/drop_update_before
// with the row operators' harness (see TestRowOperators for its
// commands), replayed as replayScripts describes. The first command
// creates the operator, its input block the input (and output) schema:
//
//	drop-update-before [insert-only]
//
// insert-only declares the input insert-only (an invalid plan).
func TestDropUpdateBefore(t *testing.T) {
	replayRowOperatorScripts(t, []string{"drop_update_before"}, func(t *testing.T, h *rowOpHarness, d *datadriven.TestData) string {
		if d.Cmd != "drop-update-before" {
			return h.run(t, d)
		}
		h.close(t)
		in := gaParseSchema(t, strings.TrimSpace(d.Input))
		h.cl = true
		h.input = BatchSchema(in, true)
		h.spec = OperatorSpec{Kind: KindDropUpdateBefore, Name: d.Cmd, Schema: in,
			Changelog: !d.HasArg("insert-only"), Spec: []byte("{}")}
		return h.start()
	})
}

// TestDropUpdateBeforePassesBatch checks that a batch without -U rows
// goes out as the very batch that came in (a split-aware watermark
// assigner after the operator matches its rows to the source's), and that
// the operator has no state.
func TestDropUpdateBeforePassesBatch(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	in := types.Schema{Columns: []types.Column{{Name: "k", Type: types.BigIntType}}}
	spec := OperatorSpec{Kind: KindDropUpdateBefore, Schema: in, Changelog: true, Spec: []byte("{}")}
	ctx := &OperatorContext{Parallelism: 1, Mem: mem, Metrics: NewOperatorMetrics()}
	op := openOperator(t, spec, ctx)
	defer func() { require.NoError(t, op.Close()) }()
	b := buildRows(t, mem, BatchSchema(in, true), true, []string{"+I[1]", "+U[2]", "-D[3]"}, gaAppendValue)
	defer b.Release()
	var out capturedBatches
	require.NoError(t, op.ProcessBatch(0, b, &out))
	require.Len(t, out, 1)
	require.Same(t, b, out[0])
	state, err := op.Snapshot()
	require.NoError(t, err)
	require.Nil(t, state)
	op = reopen(t, op, spec, ctx)
}

// capturedBatches is an Output that keeps the batches emitted to it
// without retaining them: they may only be compared, not read, after the
// call that emitted them.
type capturedBatches []arrow.RecordBatch

func (c *capturedBatches) Emit(b arrow.RecordBatch) error { *c = append(*c, b); return nil }

func (c *capturedBatches) EmitWatermark(Watermark) error { return nil }
