package exec

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/exec/model"
	"github.com/eddysql/eddy/internal/errs"
)

// KindMLPredict is Flink's ML_PREDICT(TABLE t, MODEL m, DESCRIPTOR(cols)
// [, config]): every input row is sent to the model's provider
// (exec/model), and joins each output row the model returns for it; a row
// for which the model returns nothing (a NULL input, or an error its
// provider's error handling ignores) has no output. The input is
// insert-only, and so is the output.
//
// The requests run as Flink's AsyncWaitOperator runs them (see
// MLPredictOptions): up to max-concurrent-operations at once across the
// input's batches, each row's prediction bounded by the timeout; a new
// batch waits while that many rows are held unemitted (waitRoom). The
// operator emits whole input batches, each once all its rows have their
// answers: in input order, or with output-mode ALLOW_UNORDERED in the
// order batches complete. A watermark waits in the queue for the batches
// before it and batches never pass a watermark, as in Flink's unordered
// queue, so results never fall behind the watermarks; later batches are
// requested meanwhile. What is ready is emitted as batches and
// watermarks arrive and on processing-time wake-ups. A snapshot holds the
// input batches not yet emitted and the latest watermark held; after a
// restore their rows are requested again, followed by that watermark, so
// no row is lost and a row emitted before the snapshot is not requested
// again.
//
// Output: the input columns, then the model's output columns.
const KindMLPredict = "ml-predict"

// MLPredictSpec configures ML_PREDICT.
type MLPredictSpec struct {
	Model model.Info `json:"model"`
	// InputColumns are the input columns sent as the model's input
	// columns, in the model's order (the DESCRIPTOR).
	InputColumns []int `json:"inputColumns"`
	// InputWidth is the number of input columns.
	InputWidth int `json:"inputWidth"`
	// Config is the call's runtime config map (MLPredictOptions).
	Config map[string]string `json:"config,omitempty"`
}

// The session options of ML_PREDICT, Flink's ExecutionConfigOptions,
// which a call's config map overrides with the keys of Flink's
// MLPredictRuntimeConfigOptions.
const (
	MLPredictMaxConcurrentKey = "table.exec.async-ml-predict.max-concurrent-operations"
	MLPredictTimeoutKey       = "table.exec.async-ml-predict.timeout"
	MLPredictOutputModeKey    = "table.exec.async-ml-predict.output-mode"
)

// MLPredictRuntime is how an ML_PREDICT call runs its requests.
type MLPredictRuntime struct {
	MaxConcurrent int
	Timeout       time.Duration
	Ordered       bool
}

// MLPredictOptions resolves a call's runtime config over the session
// options: 'async' = 'false' asks for Flink's synchronous prediction (one
// request at a time, in order); 'max-concurrent-operations', 'timeout'
// and 'output-mode' (ORDERED or ALLOW_UNORDERED, which is unordered as
// the input is insert-only) tune the asynchronous one. Other keys are the
// provider's business, as in Flink. A value that does not parse is an
// InvalidOption error with Flink's message.
func MLPredictOptions(session, call map[string]string) (MLPredictRuntime, error) {
	rt := MLPredictRuntime{MaxConcurrent: 10, Timeout: 3 * time.Minute, Ordered: true}
	failed := func(key, v string) error {
		return errs.New(errs.InvalidOption, "Failed to parse the config. Could not parse value '%s' for key '%s'.", v, key)
	}
	apply := func(m map[string]string, conc, timeout, mode string) error {
		if v, ok := m[conc]; ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				return failed(conc, v)
			}
			if n <= 0 {
				return errs.New(errs.InvalidOption, "Invalid runtime config option '%s'. Its value should be positive integer but was %d.", conc, n)
			}
			rt.MaxConcurrent = n
		}
		if v, ok := m[timeout]; ok {
			d, err := connector.ParseDuration(v)
			if err != nil || d <= 0 {
				return failed(timeout, v)
			}
			rt.Timeout = d
		}
		if v, ok := m[mode]; ok {
			switch strings.ToUpper(strings.TrimSpace(v)) {
			case "ORDERED":
				rt.Ordered = true
			case "ALLOW_UNORDERED":
				rt.Ordered = false
			default:
				return failed(mode, v)
			}
		}
		return nil
	}
	if err := apply(session, MLPredictMaxConcurrentKey, MLPredictTimeoutKey, MLPredictOutputModeKey); err != nil {
		return rt, err
	}
	if err := apply(call, "max-concurrent-operations", "timeout", "output-mode"); err != nil {
		return rt, err
	}
	if v, ok := call["async"]; ok {
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "true":
		case "false":
			rt.MaxConcurrent, rt.Ordered = 1, true
		default:
			return rt, failed("async", v)
		}
	}
	return rt, nil
}

func init() { RegisterOperator(KindMLPredict, newMLPredict) }

// mlInflight is an input batch whose rows are being predicted, or (batch
// nil) a watermark waiting for the batches before it.
type mlInflight struct {
	batch   arrow.RecordBatch
	wm      Watermark
	results [][][]any // per row: the model's output rows
	pending int       // rows without an answer; guarded by mlPredict.mu
	err     error
}

type mlPredict struct {
	spec     MLPredictSpec
	schema   *arrow.Schema // output
	inSchema *arrow.Schema
	ctx      *OperatorContext
	rt       MLPredictRuntime

	pred   model.Predictor
	goCtx  context.Context
	cancel context.CancelFunc
	slots  chan struct{} // one token per request in flight
	wg     sync.WaitGroup

	mu    sync.Mutex
	queue []*mlInflight // not yet emitted, in arrival order
	// changed is signalled when a batch completes.
	changed chan struct{}
}

func newMLPredict(spec OperatorSpec, ctx *OperatorContext) (Operator, error) {
	p := &mlPredict{schema: spec.ArrowSchema(), ctx: ctx, changed: make(chan struct{}, 1)}
	if err := json.Unmarshal(spec.Spec, &p.spec); err != nil {
		return nil, fmt.Errorf("ml predict spec: %w", err)
	}
	s := p.spec
	if spec.Changelog || s.InputWidth < 0 || s.InputWidth+s.Model.Output.Len() != spec.Schema.Len() ||
		len(s.InputColumns) != s.Model.Input.Len() {
		return nil, fmt.Errorf("ml predict spec: bad columns")
	}
	for _, c := range s.InputColumns {
		if c < 0 || c >= s.InputWidth {
			return nil, fmt.Errorf("ml predict spec: input column %d out of range", c)
		}
	}
	p.inSchema = arrow.NewSchema(p.schema.Fields()[:s.InputWidth], nil)
	return p, nil
}

func (p *mlPredict) Open(ctx *OperatorContext) error {
	p.ctx = ctx
	var err error
	if p.rt, err = MLPredictOptions(ctx.Config, p.spec.Config); err != nil {
		return err
	}
	prov, opts, err := model.Find(p.spec.Model)
	if err != nil {
		return err
	}
	if p.pred, err = prov.Open(p.spec.Model, opts); err != nil {
		return err
	}
	p.goCtx, p.cancel = context.WithCancel(context.Background())
	p.slots = make(chan struct{}, p.rt.MaxConcurrent)
	return nil
}

func (p *mlPredict) ProcessBatch(_ int, b arrow.RecordBatch, out Output) error {
	if err := p.waitRoom(out); err != nil {
		return err
	}
	if err := p.dispatch(b); err != nil {
		return err
	}
	return p.emitReady(out)
}

// waitRoom emits what is ready and waits until the rows held (in flight
// or answered but not emitted) are fewer than max-concurrent-operations,
// as the capacity of Flink's async queue bounds them: an ordered output
// whose oldest batch is slow holds up the input instead of buffering
// without bound.
func (p *mlPredict) waitRoom(out Output) error {
	for {
		if err := p.emitReady(out); err != nil {
			return err
		}
		p.mu.Lock()
		held := 0
		for _, f := range p.queue {
			held += len(f.results)
		}
		p.mu.Unlock()
		if held < p.rt.MaxConcurrent {
			return nil
		}
		select {
		case <-p.changed:
		case <-p.goCtx.Done():
			return p.goCtx.Err()
		}
	}
}

// dispatch starts the requests of b's rows, waiting for a free slot
// before each: a full operator holds up its input, Flink's backpressure.
func (p *mlPredict) dispatch(b arrow.RecordBatch) error {
	n := int(b.NumRows())
	if n == 0 {
		return nil
	}
	b.Retain()
	f := &mlInflight{batch: b, results: make([][][]any, n), pending: n}
	p.mu.Lock()
	p.queue = append(p.queue, f)
	p.mu.Unlock()
	cols := make([]arrow.Array, len(p.spec.InputColumns))
	for i, c := range p.spec.InputColumns {
		cols[i] = b.Column(c)
	}
	for row := range n {
		select {
		case p.slots <- struct{}{}:
		case <-p.goCtx.Done():
			return p.goCtx.Err()
		}
		input := make([]any, len(cols))
		for i, c := range cols {
			input[i] = c.GetOneForMarshal(row)
		}
		p.wg.Add(1)
		go p.predict(f, row, input)
	}
	return nil
}

func (p *mlPredict) predict(f *mlInflight, row int, input []any) {
	defer p.wg.Done()
	ctx, cancel := context.WithTimeout(p.goCtx, p.rt.Timeout)
	rows, err := p.pred.Predict(ctx, input)
	if errors.Is(ctx.Err(), context.DeadlineExceeded) && p.goCtx.Err() == nil {
		// Whatever the provider made of it, the row ran out of time.
		rows, err = nil, errs.New(errs.ConnectorFailure, "Async function call has timed out.")
	} else if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	cancel()
	<-p.slots
	p.mu.Lock()
	f.results[row] = rows
	if err != nil && f.err == nil {
		f.err = err
	}
	f.pending--
	done := f.pending == 0
	p.mu.Unlock()
	if done {
		select {
		case p.changed <- struct{}{}:
		default:
		}
	}
}

// emitReady emits what may go, in queue order: a watermark once nothing
// before it waits; a completed batch once nothing before it waits when
// ordered, once no watermark before it waits otherwise.
func (p *mlPredict) emitReady(out Output) error {
	p.mu.Lock()
	var ready []*mlInflight
	keep := p.queue[:0]
	kept, wmKept := false, false
	for _, f := range p.queue {
		var goes bool
		if f.batch == nil {
			goes = !kept
		} else {
			goes = f.pending == 0 && !wmKept && !(p.rt.Ordered && kept)
		}
		if goes {
			ready = append(ready, f)
			continue
		}
		kept = true
		wmKept = wmKept || f.batch == nil
		keep = append(keep, f)
	}
	clear(p.queue[len(keep):])
	p.queue = keep
	p.mu.Unlock()
	var err error
	for _, f := range ready {
		if f.batch == nil {
			if err == nil {
				err = out.EmitWatermark(f.wm)
			}
			continue
		}
		if err == nil {
			err = p.emit(f, out)
		}
		f.batch.Release()
	}
	return err
}

// drain waits for every request in flight and emits all batches.
func (p *mlPredict) drain(out Output) error {
	for {
		p.mu.Lock()
		waiting := false
		for _, f := range p.queue {
			if f.pending > 0 {
				waiting = true
				break
			}
		}
		p.mu.Unlock()
		if !waiting {
			return p.emitReady(out)
		}
		select {
		case <-p.changed:
		case <-p.goCtx.Done():
			return p.goCtx.Err()
		}
	}
}

// emit joins each row of f with its output rows: the input columns are
// taken by row index, the model columns built from the answers.
func (p *mlPredict) emit(f *mlInflight, out Output) error {
	if f.err != nil {
		return f.err
	}
	var idx []int32
	for row, rs := range f.results {
		for range rs {
			idx = append(idx, int32(row))
		}
	}
	if len(idx) == 0 {
		return nil
	}
	in, err := takeRows(p.goCtx, p.ctx.Mem, f.batch, idx)
	if err != nil {
		return err
	}
	defer in.Release()
	cols := make([]arrow.Array, 0, p.schema.NumFields())
	defer func() {
		for _, c := range cols[in.NumCols():] {
			c.Release()
		}
	}()
	cols = append(cols, in.Columns()...)
	for j, field := range p.schema.Fields()[p.spec.InputWidth:] {
		bld := array.NewBuilder(p.ctx.Mem, field.Type)
		for _, rs := range f.results {
			for _, r := range rs {
				if j >= len(r) {
					bld.Release()
					return fmt.Errorf("ml predict: model %s returned %d output values, expected %d", p.spec.Model.Name, len(r), p.schema.NumFields()-p.spec.InputWidth)
				}
				if err := appendPrediction(bld, r[j]); err != nil {
					bld.Release()
					return fmt.Errorf("ml predict: model %s, output column %s: %w", p.spec.Model.Name, field.Name, err)
				}
			}
		}
		cols = append(cols, bld.NewArray())
		bld.Release()
	}
	batch := array.NewRecordBatch(p.schema, cols, int64(len(idx)))
	defer batch.Release()
	return out.Emit(batch)
}

// appendPrediction appends one output value of the kinds the
// model.Predictor contract allows.
func appendPrediction(b array.Builder, v any) error {
	if v == nil {
		b.AppendNull()
		return nil
	}
	switch b := b.(type) {
	case *array.StringBuilder:
		if s, ok := v.(string); ok {
			b.Append(s)
			return nil
		}
	case *array.BooleanBuilder:
		if x, ok := v.(bool); ok {
			b.Append(x)
			return nil
		}
	case *array.Int32Builder:
		if x, ok := v.(int32); ok {
			b.Append(x)
			return nil
		}
	case *array.Int64Builder:
		if x, ok := v.(int64); ok {
			b.Append(x)
			return nil
		}
	case *array.Float32Builder:
		if x, ok := v.(float32); ok {
			b.Append(x)
			return nil
		}
	case *array.Float64Builder:
		if x, ok := v.(float64); ok {
			b.Append(x)
			return nil
		}
	case *array.ListBuilder:
		switch vb := b.ValueBuilder().(type) {
		case *array.StructBuilder:
			// A MAP<STRING, ARRAY<STRING>> is a list of (key, value)
			// entries (types.DataType.Arrow), keys in order.
			m, ok := v.(map[string][]string)
			if !ok || vb.NumField() != 2 {
				break
			}
			kb, ok1 := vb.FieldBuilder(0).(*array.StringBuilder)
			lb, ok2 := vb.FieldBuilder(1).(*array.ListBuilder)
			if !ok1 || !ok2 {
				break
			}
			sb, ok := lb.ValueBuilder().(*array.StringBuilder)
			if !ok {
				break
			}
			b.Append(true)
			for _, k := range slices.Sorted(maps.Keys(m)) {
				vb.Append(true)
				kb.Append(k)
				lb.Append(true)
				sb.AppendValues(m[k], nil)
			}
			return nil
		case *array.Float32Builder:
			if xs, ok := v.([]float32); ok {
				b.Append(true)
				vb.AppendValues(xs, nil)
				return nil
			}
		case *array.Float64Builder:
			if xs, ok := v.([]float64); ok {
				b.Append(true)
				vb.AppendValues(xs, nil)
				return nil
			}
		}
	}
	return fmt.Errorf("value of type %T does not fit %s", v, b.Type())
}

// ProcessWatermark queues the watermark behind the batches before it.
func (p *mlPredict) ProcessWatermark(_ int, wm Watermark, out Output) error {
	p.enqueueWatermark(wm)
	return p.emitReady(out)
}

func (p *mlPredict) enqueueWatermark(wm Watermark) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := len(p.queue); n > 0 && p.queue[n-1].batch == nil {
		// A watermark right behind another replaces it.
		p.queue[n-1].wm = wm
		return
	}
	p.queue = append(p.queue, &mlInflight{wm: wm})
}

func (p *mlPredict) EndInput(_ int, out Output) error { return p.drain(out) }

// OnProcessingTime emits the batches completed since the last input.
func (p *mlPredict) OnProcessingTime(out Output) error { return p.emitReady(out) }

// mlPredictState is the operator's snapshot: the input batches not
// emitted (Arrow IPC) and the latest watermark held back, if any.
type mlPredictState struct {
	Batches   []byte     `json:"batches,omitempty"`
	Watermark *Watermark `json:"watermark,omitempty"`
}

// Snapshot keeps the batches not emitted yet, whose rows a restored
// operator requests again, and the latest watermark held back.
func (p *mlPredict) Snapshot() ([]byte, error) {
	p.mu.Lock()
	var batches []arrow.RecordBatch
	var st mlPredictState
	for _, f := range p.queue {
		if f.batch == nil {
			wm := f.wm
			st.Watermark = &wm
			continue
		}
		batches = append(batches, f.batch)
	}
	p.mu.Unlock()
	if len(batches) == 0 && st.Watermark == nil {
		return nil, nil
	}
	if len(batches) > 0 {
		var err error
		if st.Batches, err = writeIPC(p.ctx.Mem, p.inSchema, batches); err != nil {
			return nil, err
		}
	}
	return json.Marshal(st)
}

// Restore requests the rows of the snapshot's batches again; the held
// watermark follows them all.
func (p *mlPredict) Restore(state []byte) error {
	var st mlPredictState
	if err := json.Unmarshal(state, &st); err != nil {
		return fmt.Errorf("ml predict restore: %w", err)
	}
	batches, err := readIPC(p.ctx.Mem, st.Batches)
	if err != nil {
		return fmt.Errorf("ml predict restore: %w", err)
	}
	defer releaseBatches(batches)
	for _, b := range batches {
		if err := p.dispatch(b); err != nil {
			return err
		}
	}
	if st.Watermark != nil {
		p.enqueueWatermark(*st.Watermark)
	}
	return nil
}

func (p *mlPredict) Close() error {
	if p.cancel != nil {
		p.cancel()
	}
	p.wg.Wait()
	p.mu.Lock()
	for _, f := range p.queue {
		if f.batch != nil {
			f.batch.Release()
		}
	}
	p.queue = nil
	p.mu.Unlock()
	var err error
	if p.pred != nil {
		err = p.pred.Close()
		p.pred = nil
	}
	return err
}
