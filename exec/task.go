package exec

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/exec/connector"
)

// TaskState is the lifecycle state of one subtask, reported by the
// TaskManager to the JobManager.
type TaskState string

const (
	TaskRunning  TaskState = "RUNNING"
	TaskFinished TaskState = "FINISHED"
	TaskFailed   TaskState = "FAILED"
	TaskCanceled TaskState = "CANCELED"
)

// terminal reports whether s is a final state.
func (s TaskState) terminal() bool {
	return s == TaskFinished || s == TaskFailed || s == TaskCanceled
}

// OperatorError is a failure of one operator of a task's chain; the job's
// error names the operator through it.
type OperatorError struct {
	Kind string
	Name string
	Err  error
}

func (e *OperatorError) Error() string {
	if e.Name == "" {
		return fmt.Sprintf("operator %s: %v", e.Kind, e.Err)
	}
	return fmt.Sprintf("operator %s %q: %v", e.Kind, e.Name, e.Err)
}

func (e *OperatorError) Unwrap() error { return e.Err }

// opError attributes err to the operator of spec unless an operator further
// down the chain already claimed it.
func opError(spec *OperatorSpec, err error) error {
	var oe *OperatorError
	if err == nil || errors.As(err, &oe) {
		return err
	}
	return &OperatorError{Kind: spec.Kind, Name: spec.Name, Err: err}
}

// task runs one subtask: its operator chain in one goroutine, fed by its
// input channels (or by pulling its source) and feeding its output
// partitions.
type task struct {
	d       *TaskDeploymentDescriptor
	shuffle ShuffleService
	results ResultService
	mem     memory.Allocator
	clock   Clock // nil: the wall clock
	metrics []*OperatorMetrics

	ctx    context.Context
	cancel context.CancelFunc

	// srcCtx is the context a source task's reader blocks on; stopSource
	// cancels it (and only it) when a savepoint is triggered, so a reader
	// waiting for data returns and the task can take the savepoint.
	srcCtx     context.Context
	stopSource context.CancelFunc
	stopping   atomic.Bool
	// drain is set with stopping when the savepoint drains the job
	// (Job.DrainWithSavepoint).
	drain atomic.Bool
	// savepoint is set when the task stopped at a savepoint barrier: the
	// snapshot of its chain, reported with FINISHED.
	savepoint *SubtaskState
	// final is set when the task ended its input and a sink of its chain
	// left transactions to commit: its final state, reported with
	// FINISHED.
	final *SubtaskState
	// ckpt receives checkpoint triggers and completions.
	ckpt *taskCheckpoints
}

// stopAtSavepoint asks a source task to stop pulling its reader at the next
// opportunity and take a savepoint, after MaxWatermark when it drains.
func (t *task) stopAtSavepoint(drain bool) {
	t.drain.Store(drain)
	t.stopping.Store(true)
	t.stopSource()
}

// chainLink is the Output of operator i of a chain: it counts what i emits
// and calls operator i+1 directly, or the task's output partitions after the
// last operator. It drops empty batches and watermarks that do not advance,
// so operators need not check.
type chainLink struct {
	spec    *OperatorSpec
	metrics *OperatorMetrics
	lastWM  Watermark
	idle    bool

	next        Operator // nil after the last operator
	nextSpec    *OperatorSpec
	nextMetrics *OperatorMetrics
	nextOut     *chainLink
	tail        *taskOutput
}

func (l *chainLink) Emit(b arrow.RecordBatch) error {
	n := b.NumRows()
	if n == 0 {
		return nil
	}
	l.metrics.RecordsOut.Add(n)
	l.metrics.BatchesOut.Add(1)
	if l.next == nil {
		return l.tail.emit(b)
	}
	l.nextMetrics.RecordsIn.Add(n)
	l.nextMetrics.BatchesIn.Add(1)
	return opError(l.nextSpec, l.next.ProcessBatch(0, b, l.nextOut))
}

func (l *chainLink) EmitWatermark(wm Watermark) error {
	if wm <= l.lastWM {
		return nil
	}
	l.lastWM = wm
	l.metrics.Watermark.Store(int64(wm))
	if l.next == nil {
		return l.tail.broadcast(Element{Kind: ElementWatermark, Watermark: wm})
	}
	return opError(l.nextSpec, l.next.ProcessWatermark(0, wm, l.nextOut))
}

// EmitWatermarkStatus passes a change of the stream's idleness on to the
// next operator, or to every output channel.
func (l *chainLink) EmitWatermarkStatus(idle bool) error {
	if idle == l.idle {
		return nil
	}
	l.idle = idle
	if l.next == nil {
		return l.tail.broadcast(Element{Kind: ElementWatermarkStatus, Idle: idle})
	}
	return opError(l.nextSpec, deliverStatus(l.next, 0, idle, l.nextOut))
}

// deliverStatus hands an input's status to op, or passes it through for
// operators that do not track idleness themselves.
func deliverStatus(op Operator, input int, idle bool, out *chainLink) error {
	if so, ok := op.(WatermarkStatusOperator); ok {
		return so.ProcessWatermarkStatus(input, idle, out)
	}
	return out.EmitWatermarkStatus(idle)
}

// end runs once the operator before the link has ended all its inputs: it
// guarantees the MaxWatermark, then ends the next operator's input (or the
// task's output channels).
func (l *chainLink) end() error {
	if err := l.EmitWatermark(MaxWatermark); err != nil {
		return err
	}
	if l.next == nil {
		return l.tail.broadcast(Element{Kind: ElementEnd})
	}
	return opError(l.nextSpec, l.next.EndInput(0, l.nextOut))
}

// run executes the task to its end and returns why it stopped. A task
// stops either at the end of its input (all operators' inputs are ended,
// the outputs get MaxWatermark and ElementEnd) or at a savepoint: a source
// task once stopAtSavepoint was called, other tasks once every input
// channel that had not ended delivered ElementSavepoint (aligned: a
// channel is not read after its barrier). Then the task snapshots every
// operator of its chain into t.savepoint, sends ElementSavepoint on all its
// output channels and returns without ending any operator's input: a
// savepoint is not the end of the input.
func (t *task) run() (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("internal error: panic in task %s: %v\n%s", t.d.name(), r, debug.Stack())
		}
	}()
	d := t.d
	isSource := len(d.Inputs) == 0
	var src SourceOperator
	ops := make([]Operator, len(d.Operators))
	defer func() {
		// Close everything even after a failure; the first error wins.
		if src != nil {
			err = errors.Join(err, opError(&d.Operators[0], src.Close()))
		}
		for i, op := range ops {
			if op != nil {
				if cerr := op.Close(); cerr != nil && err == nil {
					err = opError(&d.Operators[i], cerr)
				}
			}
		}
	}()

	var splits *sourceSplits
	if isSource {
		splits = &sourceSplits{}
	}
	for i := range d.Operators {
		spec := &d.Operators[i]
		octx := &OperatorContext{
			Subtask: d.Subtask, Parallelism: d.Parallelism, Vertex: d.Vertex, Mem: t.mem,
			Metrics: t.metrics[i], Config: d.Config, JobID: d.JobID, Results: t.results,
			Clock: t.clock, splits: splits,
		}
		e, ok := lookupKind(spec.Kind)
		if !ok {
			return opError(spec, fmt.Errorf("unknown operator kind"))
		}
		if i == 0 && isSource {
			if e.src == nil {
				return opError(spec, fmt.Errorf("not a source, but heads a vertex without inputs"))
			}
			s, err := e.src(*spec, octx)
			if err != nil {
				return opError(spec, err)
			}
			src = s
			if err := src.Open(octx); err != nil {
				return opError(spec, err)
			}
			for _, state := range t.restoreState(i) {
				if err := src.Restore(state); err != nil {
					return opError(spec, fmt.Errorf("restoring from the savepoint: %w", err))
				}
			}
			continue
		}
		if e.op == nil {
			return opError(spec, fmt.Errorf("a source cannot take input"))
		}
		op, err := e.op(*spec, octx)
		if err != nil {
			return opError(spec, err)
		}
		ops[i] = op
		if err := op.Open(octx); err != nil {
			return opError(spec, err)
		}
		for _, state := range t.restoreState(i) {
			if err := op.Restore(state); err != nil {
				return opError(spec, fmt.Errorf("restoring from the savepoint: %w", err))
			}
		}
	}

	if d.Restore != nil && d.Restore.Finished {
		// The subtask ended its input before the checkpoint it restores
		// (Flink deploys it with a FinishedOperatorChain): its input ends
		// again at once, and its sinks must not act a second time, since
		// the JobManager commits what they finished with.
		for _, op := range ops {
			if s, ok := op.(*sink); ok {
				s.finishedOnRestore = true
			}
		}
	}

	out, err := t.openOutputs()
	if err != nil {
		return err
	}
	links := make([]*chainLink, len(ops))
	for i := len(ops) - 1; i >= 0; i-- {
		l := &chainLink{spec: &d.Operators[i], metrics: t.metrics[i], lastWM: MinWatermark, tail: out}
		if i+1 < len(ops) {
			l.next, l.nextSpec, l.nextMetrics, l.nextOut = ops[i+1], &d.Operators[i+1], t.metrics[i+1], links[i+1]
		}
		links[i] = l
	}

	var stopped bool
	switch {
	case isSource && d.Restore != nil && d.Restore.Finished:
		// The source had been exhausted when the savepoint was taken.
	case isSource:
		stopped, err = t.pullSource(src, ops, links, out, splits)
	default:
		stopped, err = t.readInputs(ops, links, out)
	}
	if err != nil {
		return err
	}
	if stopped {
		if t.drain.Load() {
			// Flink's drain: the end of event time reaches every operator
			// of the chain and every downstream task ahead of the barrier.
			for _, l := range links {
				if err := l.EmitWatermark(MaxWatermark); err != nil {
					return err
				}
			}
		}
		return t.takeSavepoint(src, ops, links, out)
	}
	for _, l := range links {
		if err := l.end(); err != nil {
			return err
		}
	}
	t.final = finalState(d, ops)
	return nil
}

// finalState is the state a task that ended its input finishes with: per
// operator of the chain, the final state of a sink whose transactional
// writer pre-committed its last transactions (connector.EndOfInput); nil
// when no operator has one.
func finalState(d *TaskDeploymentDescriptor, ops []Operator) *SubtaskState {
	var st *SubtaskState
	for i, op := range ops {
		s, ok := op.(*sink)
		if !ok || s.finalState() == nil {
			continue
		}
		if st == nil {
			st = &SubtaskState{Vertex: d.Vertex, Subtask: d.Subtask, Finished: true, Operators: make([]OperatorState, len(d.Operators))}
			for k := range d.Operators {
				st.Operators[k].Kind = d.Operators[k].Kind
			}
		}
		st.Operators[i].State = s.finalState()
	}
	return st
}

// deliverTaskStatus hands a change of input in's idleness to the head
// operator; operators that do not track idleness see the task's stream as
// idle while all of its inputs are.
func (t *task) deliverTaskStatus(head Operator, tracker *inputTracker, in int, idle bool, out *chainLink) error {
	if so, ok := head.(WatermarkStatusOperator); ok {
		return so.ProcessWatermarkStatus(in, idle, out)
	}
	return out.EmitWatermarkStatus(tracker.idle())
}

func (t *task) openOutputs() (*taskOutput, error) {
	d := t.d
	out := &taskOutput{}
	for _, od := range d.Outputs {
		p := &resultPartition{ctx: t.ctx, mem: t.mem, part: od.Partitioning, keys: od.Keys, metrics: t.metrics[len(t.metrics)-1]}
		for _, c := range od.Consumers {
			s, err := t.shuffle.Sender(ChannelID{Job: d.JobID, Edge: od.Edge, Producer: d.Subtask, Consumer: c})
			if err != nil {
				return nil, err
			}
			p.senders = append(p.senders, s)
		}
		if p.part == Hash {
			p.indices = make([][]int32, len(p.senders))
		}
		out.partitions = append(out.partitions, p)
	}
	return out, nil
}

// restoreState is the savepoint state of operator i of the chain, one
// Restore call each: none if the task does not restore or the operator had
// no state, the states of several old subtasks when the vertex is
// rescaled (see Savepoint). A subtask restored as finished restores
// nothing: its operators' states are the final states of its sinks, which
// the JobManager commits.
func (t *task) restoreState(i int) [][]byte {
	r := t.d.Restore
	if r == nil || r.Finished || i >= len(r.Operators) {
		return nil
	}
	if os := r.Operators[i]; len(os.State) > 0 {
		return [][]byte{os.State}
	}
	return r.Operators[i].Rescaled
}

// takeSavepoint lets the chain's operators flush what they buffer
// (PreSnapshotOperator), snapshots the chain, forwards the savepoint
// barrier and records the state for the FINISHED report.
func (t *task) takeSavepoint(src SourceOperator, ops []Operator, links []*chainLink, out *taskOutput) error {
	st, err := t.snapshotChain(src, ops, links, "savepoint", 0)
	if err != nil {
		return err
	}
	if err := out.broadcast(Element{Kind: ElementSavepoint}); err != nil {
		return err
	}
	t.savepoint = st
	return nil
}

// pullSource drives a source until it is exhausted (false) or a savepoint
// stops it (true). The reader blocks on srcCtx, which a savepoint cancels;
// whatever the reader returns then is taken as the stop, since a Next that
// fails emitted nothing and leaves the position at the last batch.
//
// A reader that reports connector.IdleAware makes the subtask idle from
// the start; its first batch makes it active again. When operators of the
// chain act on processing time, the reader runs in its own goroutine
// (pullSourceAsync) so that they are woken while it blocks; otherwise it
// is pulled directly, without the hand-over.
//
// A checkpoint is taken between two batches: its trigger interrupts a Next
// that waits for data (taskCheckpoints.pullContext), and the reader is
// pulled again after the snapshot.
func (t *task) pullSource(src SourceOperator, ops []Operator, links []*chainLink, out *taskOutput, splits *sourceSplits) (bool, error) {
	defer t.ckpt.release()
	head := links[0]
	idle := false
	if ia, ok := src.(connector.IdleAware); ok && ia.Idle() {
		idle = true
		if err := head.EmitWatermarkStatus(true); err != nil {
			return false, err
		}
	}
	gauges := newStateGauges(ops, t.metrics)
	emit := func(b arrow.RecordBatch) error {
		defer b.Release()
		defer gauges.refresh()
		if sb, ok := b.(*splitBatch); ok {
			// The chain sees the plain batch; its split runs wait in
			// splits for the watermark assigner while it passes.
			splits.set(sb)
			defer splits.clear()
			b = sb.RecordBatch
		}
		if idle {
			idle = false
			if err := head.EmitWatermarkStatus(false); err != nil {
				return err
			}
		}
		return head.Emit(b)
	}
	checkpoint := func() error {
		if id := t.ckpt.takeRequest(); id != 0 {
			if err := t.takeCheckpoint(id, src, ops, links, out); err != nil {
				return err
			}
		}
		return t.notifyComplete(src, ops)
	}
	if timed := timedOperators(ops); len(timed) > 0 {
		return t.pullSourceAsync(src, ops, links, timed, emit, checkpoint)
	}
	for {
		if t.stopping.Load() {
			return true, nil
		}
		if err := checkpoint(); err != nil {
			return false, err
		}
		b, err := src.Next(t.ckpt.pullContext(t.srcCtx))
		if err == io.EOF {
			return false, nil
		}
		if err != nil {
			if t.interrupted() {
				continue
			}
			return t.sourceFailed(head, err)
		}
		if err := emit(b); err != nil {
			return false, err
		}
	}
}

// interrupted reports whether a failed Next of the source reader was
// interrupted by a checkpoint trigger rather than by the task's end.
func (t *task) interrupted() bool {
	return t.srcCtx.Err() == nil && t.ckpt.pending()
}

// sourceFailed interprets an error of the reader: the task's cancellation,
// the stop at a savepoint, or a failure of the source.
func (t *task) sourceFailed(out *chainLink, err error) (bool, error) {
	if t.ctx.Err() != nil {
		return false, t.ctx.Err()
	}
	if t.stopping.Load() {
		return true, nil
	}
	return false, opError(out.spec, err)
}

// pulled is one result of a source reader's Next, or the mark of a reader
// paused for a checkpoint.
type pulled struct {
	b     arrow.RecordBatch
	err   error
	pause bool
}

// pullSourceAsync runs the reader in its own goroutine, which hands each
// batch over an unbuffered channel: it is at most one batch ahead of the
// chain, and that batch is emitted before a savepoint is taken, so
// Snapshot sees the position of the last batch emitted. Meanwhile the
// timed operators are woken every ProcessingTimeInterval. Whatever the
// outcome (end, stop, failure or panic) the reader goroutine has exited
// when this returns, so that Snapshot and Close do not race with Next.
//
// For a checkpoint the reader goroutine pauses between two Nexts (it hands
// over a pause mark and waits for t.ckpt.resume), so that the task
// snapshots the reader while no Next runs.
func (t *task) pullSourceAsync(src SourceOperator, ops []Operator, links []*chainLink, timed []int,
	emit func(arrow.RecordBatch) error, checkpoint func() error) (stopped bool, err error) {
	ch := make(chan pulled)
	quit := make(chan struct{})
	go func() {
		defer close(ch)
		for !t.stopping.Load() {
			if t.ckpt.pending() {
				select {
				case ch <- pulled{pause: true}:
				case <-quit:
					return
				}
				select {
				case <-t.ckpt.resume:
				case <-t.srcCtx.Done():
				case <-quit:
					return
				}
				continue
			}
			var p pulled
			func() {
				defer func() {
					if r := recover(); r != nil {
						p = pulled{err: fmt.Errorf("internal error: panic in source reader of task %s: %v\n%s",
							t.d.name(), r, debug.Stack())}
					}
				}()
				p.b, p.err = src.Next(t.ckpt.pullContext(t.srcCtx))
			}()
			if p.err != nil && p.err != io.EOF && t.interrupted() {
				continue
			}
			select {
			case ch <- p:
			case <-quit:
				if p.b != nil {
					p.b.Release()
				}
				return
			}
			if p.err != nil {
				return
			}
		}
	}()
	defer func() {
		// Unblock the reader (a no-op once it exited) and release what it
		// still hands over.
		close(quit)
		t.stopSource()
		t.ckpt.release()
		for p := range ch {
			if p.b != nil {
				p.b.Release()
			}
		}
	}()
	ticker := time.NewTicker(ProcessingTimeInterval)
	defer ticker.Stop()
	out := links[0]
	for {
		select {
		case <-t.ctx.Done():
			return false, t.ctx.Err()
		case <-ticker.C:
			if err := wake(ops, links, timed, t.d); err != nil {
				return false, err
			}
			continue
		case <-t.ckpt.wake:
			// A trigger pauses the reader (handled below); a completed
			// checkpoint is delivered at once.
			if err := t.notifyComplete(src, ops); err != nil {
				return false, err
			}
			continue
		case p, ok := <-ch:
			switch {
			case ok && p.pause:
				err := checkpoint()
				// A reader whose wait for resume ended with srcCtx (the
				// task cancelled) left the previous token unread, and the
				// buffer may be full: only the cancellation ends the task.
				select {
				case t.ckpt.resume <- struct{}{}:
				case <-t.ctx.Done():
					return false, t.ctx.Err()
				}
				if err != nil {
					return false, err
				}
				continue
			case !ok:
				// The reader saw the stop before calling Next again.
				return true, nil
			case p.err == io.EOF:
				return false, nil
			case p.err != nil:
				return t.sourceFailed(out, p.err)
			}
			if err := emit(p.b); err != nil {
				return false, err
			}
		}
		if t.stopping.Load() {
			// The reader returns after its current Next; a batch it still
			// read belongs before the savepoint.
			for p := range ch {
				if p.err != nil || p.pause {
					continue
				}
				if err := emit(p.b); err != nil {
					return false, err
				}
			}
			return true, nil
		}
	}
}

// timedOperators are the indices of the chain's operators to wake on
// processing time: ProcessingTimeOperators, except those that tell they
// do not use it (a watermark assigner without an idle timeout).
func timedOperators(ops []Operator) []int {
	var timed []int
	for i, op := range ops {
		if _, ok := op.(ProcessingTimeOperator); !ok {
			continue
		}
		if u, ok := op.(interface{ usesProcessingTime() bool }); ok && !u.usesProcessingTime() {
			continue
		}
		timed = append(timed, i)
	}
	return timed
}

// wake calls OnProcessingTime on the timed operators of the chain.
func wake(ops []Operator, links []*chainLink, timed []int, d *TaskDeploymentDescriptor) error {
	for _, i := range timed {
		if err := ops[i].(ProcessingTimeOperator).OnProcessingTime(links[i]); err != nil {
			return opError(&d.Operators[i], err)
		}
	}
	return nil
}

// readInputs feeds the head operator from the input channels until every
// channel ended (false) or every channel that did not end delivered a
// savepoint barrier (true).
//
// A checkpoint barrier blocks its channel until it arrived on every
// channel that has not ended; the chain is then snapshotted, the barrier
// forwarded and the channels read again.
func (t *task) readInputs(ops []Operator, links []*chainLink, taskOut *taskOutput) (bool, error) {
	d := t.d
	head, out := ops[0], links[0]
	// Processing-time operators (windows, joins, OVER on PROCTIME) are
	// woken regularly, so their timers fire without new input.
	timed := timedOperators(ops)
	var tick <-chan time.Time
	if len(timed) > 0 {
		ticker := time.NewTicker(ProcessingTimeInterval)
		defer ticker.Stop()
		tick = ticker.C
	}
	var chans []<-chan Element
	var chanInput []int
	inputs := 0
	for _, g := range d.Inputs {
		inputs = max(inputs, g.Input+1)
		for _, p := range g.Producers {
			r, err := t.shuffle.Receiver(ChannelID{Job: d.JobID, Edge: g.Edge, Producer: p, Consumer: d.Subtask})
			if err != nil {
				return false, err
			}
			chans = append(chans, r.C())
			chanInput = append(chanInput, g.Input)
		}
	}
	spec := &d.Operators[0]
	m := t.metrics[0]
	tracker := newInputTracker(chanInput, inputs)
	// An input without channels (a Global edge's consumers other than 0) has
	// ended before it began.
	for in, open := range tracker.open {
		if open == 0 {
			if err := head.ProcessWatermark(in, MaxWatermark, out); err != nil {
				return false, opError(spec, err)
			}
			if err := head.EndInput(in, out); err != nil {
				return false, opError(spec, err)
			}
		}
	}
	gate := newInputGate(t.ctx, chans, tick)
	gate.setWake(t.ckpt.wake)
	selector, _ := head.(InputSelectingOperator)
	gauges := newStateGauges(ops, t.metrics)
	barriers := 0
	var aligner barrierAligner
	for gate.active() > 0 {
		gauges.refresh()
		if id := aligner.aligned(gate); id != 0 {
			if err := t.takeCheckpoint(id, nil, ops, links, taskOut); err != nil {
				return false, err
			}
			gate.unblockAll()
		}
		if selector != nil {
			aligning := barriers
			if aligner.id != 0 {
				aligning++
			}
			gate.hold(heldInput(selector, tracker, aligning), chanInput)
		}
		c, e, err := gate.next(t.ctx)
		if err != nil {
			return false, err
		}
		switch c {
		case tickChannel:
			if err := wake(ops, links, timed, d); err != nil {
				return false, err
			}
			continue
		case wakeChannel:
			if err := t.notifyComplete(nil, ops); err != nil {
				return false, err
			}
			continue
		}
		switch e.Kind {
		case ElementBatch:
			m.RecordsIn.Add(e.Batch.NumRows())
			m.BatchesIn.Add(1)
			err = head.ProcessBatch(chanInput[c], e.Batch, out)
			e.Batch.Release()
		case ElementWatermark:
			if in, wm, ok := tracker.watermark(c, e.Watermark); ok {
				err = head.ProcessWatermark(in, wm, out)
			}
		case ElementWatermarkStatus:
			in, wm, advanced, changed, idle := tracker.status(c, e.Idle)
			if advanced {
				err = head.ProcessWatermark(in, wm, out)
			}
			if err == nil && changed {
				err = t.deliverTaskStatus(head, tracker, in, idle, out)
			}
		case ElementEnd:
			gate.remove(c)
			in, wm, advanced, ended, changed := tracker.end(c)
			if advanced {
				err = head.ProcessWatermark(in, wm, out)
			}
			if err == nil && changed {
				err = t.deliverTaskStatus(head, tracker, in, tracker.inputIdle[in], out)
			}
			if err == nil && ended {
				err = head.EndInput(in, out)
			}
		case ElementSavepoint:
			// Aligned: what follows the barrier on c belongs after the
			// savepoint, so c is not read until the job is restored.
			gate.remove(c)
			barriers++
		case ElementCheckpointBarrier:
			aligner.barrier(gate, c, e.Checkpoint)
		}
		if err != nil {
			return false, opError(spec, err)
		}
	}
	gauges.refresh()
	return barriers > 0, nil
}

// heldInput is the input the task stops reading for an
// InputSelectingOperator: the one it asks to hold, unless the other input
// could then stall the task, because it has no open channel left (ended),
// is idle (it may send nothing for a long time) or a savepoint or
// checkpoint barrier stopped one of the task's channels (the held input's
// barrier must still arrive). Holding cannot deadlock while tasks forward watermarks in
// order: a producer blocked on a held channel has sent every earlier
// watermark on all its channels, so once the task (or another subtask
// holding the other input) has read those, the held input is no longer
// ahead.
func heldInput(sel InputSelectingOperator, t *inputTracker, barriers int) int {
	h := sel.HeldInput()
	if h < 0 || h > 1 || len(t.open) != 2 || barriers > 0 {
		return -1
	}
	if other := 1 - h; t.open[other] == 0 || t.inputIdle[other] {
		return -1
	}
	return h
}
