package exec

import (
	"context"
	"encoding/json"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/internal/errs"
)

// KindWindowTableFunction = "window-tvf": appends window_start, window_end
// (TIMESTAMP(3)) and window_time (TIMESTAMP(3) *ROWTIME*, = window_end - 1ms)
// to each row, one output row per window the row belongs to (HOP and
// CUMULATE replicate rows). Windows are assigned as Flink's assigners do,
// in their order: HOP from the latest start back, CUMULATE by ascending
// end. Stateless: watermarks pass through. SESSION windows are stateful,
// keyed by Partition: see op_window_session_tvf.go.
//
// Over a changelog (OperatorSpec.Changelog) each output row keeps the row
// kind of its input row, as Flink's WindowTableFunctionOperatorBase does
// since FLINK-34100: a row's windows depend on its time only, so the -U or
// -D of a row lands in the windows its +I did and retracts exactly the
// rows that +I produced.
const KindWindowTableFunction = "window-tvf"

// WindowTableFunctionSpec is the JSON spec of a window-tvf.
type WindowTableFunctionSpec struct {
	Window WindowSpec `json:"window"`
	// TimeCol is a TIMESTAMP(p<=3) or TIMESTAMP_LTZ rowtime column of the
	// input.
	TimeCol int `json:"timeCol"`
	// Partition are a SESSION window's PARTITION BY columns: sessions are
	// per partition, and the input is hash-partitioned by them.
	Partition []int `json:"partition,omitempty"`
}

func init() { RegisterOperator(KindWindowTableFunction, newWindowTVF) }

type windowTVF struct {
	spec   WindowTableFunctionSpec
	schema *arrow.Schema
	mem    memory.Allocator
	// changelog: the input and output carry the trailing row kind column.
	changelog bool

	ms, starts []int64
	idx        []int32
}

func newWindowTVF(spec OperatorSpec, ctx *OperatorContext) (Operator, error) {
	w := &windowTVF{schema: spec.ArrowSchema(), changelog: spec.Changelog}
	if err := json.Unmarshal(spec.Spec, &w.spec); err != nil {
		return nil, errs.Wrap(errs.InvalidPlan, err, "window-tvf spec")
	}
	if w.spec.Window.Kind == WindowSession {
		return newSessionTVF(w.spec, spec, ctx)
	}
	if err := w.spec.Window.Validate(false); err != nil {
		return nil, err
	}
	if spec.Schema.Len() < 3 {
		return nil, errs.Internalf("window-tvf: output schema has %d columns", spec.Schema.Len())
	}
	return w, nil
}

func (w *windowTVF) Open(ctx *OperatorContext) error {
	w.mem = ctx.Mem
	return nil
}

func (w *windowTVF) ProcessBatch(_ int, b arrow.RecordBatch, out Output) error {
	n := int(b.NumRows())
	if n == 0 {
		return nil
	}
	if int(b.NumCols())+3 != w.schema.NumFields() {
		return errs.Internalf("window-tvf: input has %d columns, output schema %d (changelog %t)", b.NumCols(), w.schema.NumFields(), w.changelog)
	}
	w.ms = resize(w.ms, n)
	if err := rowtimeMillis(b.Column(w.spec.TimeCol), w.ms, "window table function"); err != nil {
		return err
	}
	ws := w.spec.Window
	w.starts, w.idx = w.starts[:0], w.idx[:0]
	var ends []int64
	switch ws.Kind {
	case WindowTumble:
		w.starts = resize(w.starts, n)
		ends = make([]int64, n)
		for i, t := range w.ms {
			w.starts[i] = windowStart(t, ws.Offset, ws.Size)
			ends[i] = w.starts[i] + ws.Size
		}
	case WindowHop:
		for i, t := range w.ms {
			for s := windowStart(t, ws.Offset, ws.Slide); s > t-ws.Size; s -= ws.Slide {
				w.idx = append(w.idx, int32(i))
				w.starts = append(w.starts, s)
			}
		}
		ends = make([]int64, len(w.starts))
		for i, s := range w.starts {
			ends[i] = s + ws.Size
		}
	case WindowCumulate:
		for i, t := range w.ms {
			start := windowStart(t, ws.Offset, ws.Size)
			for e := windowStart(t, ws.Offset, ws.Step) + ws.Step; e <= start+ws.Size; e += ws.Step {
				w.idx = append(w.idx, int32(i))
				w.starts = append(w.starts, start)
				ends = append(ends, e)
			}
		}
	}
	var rows arrow.RecordBatch
	if ws.Kind == WindowTumble {
		b.Retain()
		rows = b
	} else {
		if len(w.idx) == 0 {
			return nil
		}
		var err error
		if rows, err = takeRows(context.Background(), w.mem, b, w.idx); err != nil {
			return err
		}
	}
	defer rows.Release()
	m := len(ends)
	times := make([]int64, m)
	for i, e := range ends {
		times[i] = e - 1
	}
	cols := make([]arrow.Array, 0, w.schema.NumFields())
	defer func() {
		for _, c := range cols {
			c.Release()
		}
	}()
	// The row kind column, if any, is the input's last and the output's
	// last: the window columns go between.
	data := rows.Columns()
	var kinds arrow.Array
	if w.changelog {
		data, kinds = data[:len(data)-1], data[len(data)-1]
		if kinds.DataType().ID() != arrow.INT8 {
			return errs.Internalf("window-tvf: the changelog input's last column is %s, not the int8 row kind", kinds.DataType())
		}
	}
	for i, c := range data {
		if want := w.schema.Field(i).Type; !arrow.TypeEqual(c.DataType(), want) {
			return errs.Internalf("window-tvf: input column %d is %s, output schema wants %s", i, c.DataType(), want)
		}
		c.Retain()
		cols = append(cols, c)
	}
	nin := len(cols)
	for i, v := range [][]int64{w.starts, ends, times} {
		a, err := buildArray(w.mem, w.schema.Field(nin+i).Type, &colView{kind: vkInt, ints: v}, m)
		if err != nil {
			return err
		}
		cols = append(cols, a)
	}
	if kinds != nil {
		kinds.Retain()
		cols = append(cols, kinds)
	}
	res := array.NewRecordBatch(w.schema, cols, int64(m))
	defer res.Release()
	return out.Emit(res)
}

func (w *windowTVF) ProcessWatermark(_ int, wm Watermark, out Output) error {
	return out.EmitWatermark(wm)
}

func (w *windowTVF) EndInput(int, Output) error { return nil }
func (w *windowTVF) Snapshot() ([]byte, error)  { return nil, nil }
func (w *windowTVF) Restore([]byte) error       { return nil }
func (w *windowTVF) Close() error               { return nil }
