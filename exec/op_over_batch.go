package exec

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/eddysql/eddy/exec/agg"
	"github.com/eddysql/eddy/internal/errs"
)

// The batch over-aggregate operator (KindBatchOverAggregate, spec
// BatchOverAggregateSpec in specs.go) computes window functions over
// whole partitions of a bounded, insert-only input, as Flink's
// BatchExecOverAggregate does: LEAD, NTILE, PERCENT_RANK and CUME_DIST,
// which read rows after the current one or the partition's size, and
// with them LAG, ROW_NUMBER, RANK and DENSE_RANK. It retains every batch;
// at end of input it concatenates them, sorts a row index into
// partitions (grouped by the hash of their keys), each by the order keys
// (stable: peers keep their arrival order), finds the bounds of each
// partition and each peer group with typed compares of the key columns
// decoded once (colView), and computes each call in one pass over those
// bounds (agg.EvalSorted). The rows leave in that order, in batches of
// table.exec.batch-size rows, each with its input columns and one column
// per call.
//
// Parallelism: the input is hash-partitioned by the partition keys, so
// every partition is whole in one subtask (a single subtask without
// PARTITION BY).
//
// Snapshot: the retained batches as an Arrow IPC stream. They are not
// split by key group, so a restore at another parallelism is refused
// (rescalePolicy), as for the sort operator.

func init() { RegisterOperator(KindBatchOverAggregate, newBatchOver) }

type batchOverOp struct {
	spec      BatchOverAggregateSpec
	ctx       *OperatorContext
	in, out   *arrow.Schema
	batchSize int
	held      heldBatches
}

func newBatchOver(spec OperatorSpec, ctx *OperatorContext) (Operator, error) {
	o := &batchOverOp{ctx: ctx, out: spec.ArrowSchema()}
	if err := json.Unmarshal(spec.Spec, &o.spec); err != nil {
		return nil, errs.Wrap(errs.InvalidPlan, err, "batch over-aggregate spec")
	}
	s := &o.spec
	nIn := o.out.NumFields() - len(s.Calls)
	if spec.Changelog || nIn <= 0 || len(s.Calls) == 0 {
		return nil, errs.New(errs.InvalidPlan, "batch over-aggregate: the output must be the insert-only input columns, then one per call")
	}
	o.in = arrow.NewSchema(o.out.Fields()[:nIn], nil)
	o.held = heldBatches{what: "batch over-aggregate", schema: o.in}
	keys := append(keyCols(s.PartitionKeys), s.OrderKeys...)
	for _, k := range keys {
		if k.Col < 0 || k.Col >= nIn {
			return nil, errs.New(errs.InvalidPlan, "batch over-aggregate: key column %d out of range", k.Col)
		}
		if _, err := kindOf(o.in.Field(k.Col).Type); err != nil {
			return nil, errs.New(errs.NotSupported, "PARTITION BY or ORDER BY a column of type %s is not supported yet", o.in.Field(k.Col).Type)
		}
	}
	for _, c := range s.Calls {
		if !agg.IsSortedFunction(c.Func) {
			return nil, errs.New(errs.InvalidPlan, "batch over-aggregate: %s is not a window function it computes", c.Func)
		}
		for _, a := range c.Args {
			if a < 0 || a >= nIn {
				return nil, errs.New(errs.InvalidPlan, "batch over-aggregate: argument column %d of %s out of range", a, c.Func)
			}
		}
	}
	var err error
	if o.batchSize, err = BatchSize(ctx.Config); err != nil {
		return nil, err
	}
	return o, nil
}

// keyCols are the partition keys as sort keys: any consistent order
// groups a partition's rows together.
func keyCols(cols []int) []SortKey {
	keys := make([]SortKey, len(cols))
	for i, c := range cols {
		keys[i] = SortKey{Col: c, NullsFirst: true}
	}
	return keys
}

func (o *batchOverOp) Open(ctx *OperatorContext) error {
	o.ctx = ctx
	return nil
}

func (o *batchOverOp) ProcessBatch(_ int, b arrow.RecordBatch, _ Output) error {
	return o.held.hold(b)
}

func (o *batchOverOp) ProcessWatermark(int, Watermark, Output) error {
	// Rows leave only at end of input; the runtime sends MaxWatermark
	// after EndInput.
	return nil
}

func (o *batchOverOp) EndInput(_ int, out Output) error {
	defer o.held.release()
	all, err := o.held.concat(o.ctx.Mem)
	if err != nil || all == nil {
		return err
	}
	defer all.Release()
	n := int(all.NumRows())
	p, err := o.sortPartitions(all)
	if err != nil {
		return err
	}
	ctx := context.Background()
	results := make([]arrow.Array, len(o.spec.Calls))
	defer func() {
		for _, r := range results {
			if r != nil {
				r.Release()
			}
		}
	}()
	for j, c := range o.spec.Calls {
		args := make([]arrow.Array, len(c.Args))
		for i, a := range c.Args {
			args[i] = all.Column(a)
		}
		if results[j], err = agg.EvalSorted(ctx, o.ctx.Mem, c.Func, args, p, o.out.Field(o.in.NumFields()+j).Type); err != nil {
			return errs.Wrap(errs.DataException, err, "batch over-aggregate")
		}
	}
	for from := 0; from < n; from += o.batchSize {
		to := min(from+o.batchSize, n)
		if err := o.emit(ctx, all, p.Rows[from:to], results, from, to, out); err != nil {
			return err
		}
	}
	return nil // the runtime sends MaxWatermark after EndInput
}

// sortPartitions sorts the rows of all by partition, then order keys, and
// finds each sorted position's partition and peer bounds.
func (o *batchOverOp) sortPartitions(all arrow.RecordBatch) (*agg.SortedPartitions, error) {
	n := int(all.NumRows())
	part, order := keyCols(o.spec.PartitionKeys), o.spec.OrderKeys
	pv, ov := make([]colView, len(part)), make([]colView, len(order))
	for j, k := range part {
		if err := pv[j].load(all.Column(k.Col)); err != nil {
			return nil, err
		}
	}
	for j, k := range order {
		if err := ov[j].load(all.Column(k.Col)); err != nil {
			return nil, err
		}
	}
	compare := func(keys []SortKey, views []colView, a, b int32) int {
		for j, k := range keys {
			if c := compareSortKey(k, &views[j], int(a), &views[j], int(b)); c != 0 {
				return c
			}
		}
		return 0
	}
	p := &agg.SortedPartitions{
		Rows:      make([]int32, n),
		PartStart: make([]int32, n), PartEnd: make([]int32, n),
		PeerStart: make([]int32, n), PeerEnd: make([]int32, n),
	}
	for i := range p.Rows {
		p.Rows[i] = int32(i)
	}
	// Peers keep their arrival order: the row index breaks ties, which
	// makes pdqsort stable and beats a stable merge sort.
	byOrder := func(a, b int32) int {
		if c := compare(order, ov, a, b); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	}
	if len(part) == 0 {
		slices.SortFunc(p.Rows, byOrder)
	} else {
		hashes := make([]uint64, n)
		if err := hashRows(all, o.spec.PartitionKeys, hashes); err != nil {
			return nil, err
		}
		sortByPartition(hashes, p.Rows, func(a, b int32) int { return compare(part, pv, a, b) }, byOrder)
	}
	// Forward: the starts; backward: the ends.
	for i := range n {
		switch {
		case i > 0 && compare(part, pv, p.Rows[i-1], p.Rows[i]) == 0:
			p.PartStart[i] = p.PartStart[i-1]
			if compare(order, ov, p.Rows[i-1], p.Rows[i]) == 0 {
				p.PeerStart[i] = p.PeerStart[i-1]
			} else {
				p.PeerStart[i] = int32(i)
			}
		default:
			p.PartStart[i], p.PeerStart[i] = int32(i), int32(i)
		}
	}
	for i := n - 1; i >= 0; i-- {
		switch {
		case i < n-1 && p.PartStart[i+1] == p.PartStart[i]:
			p.PartEnd[i] = p.PartEnd[i+1]
			if p.PeerStart[i+1] == p.PeerStart[i] {
				p.PeerEnd[i] = p.PeerEnd[i+1]
			} else {
				p.PeerEnd[i] = int32(i + 1)
			}
		default:
			p.PartEnd[i], p.PeerEnd[i] = int32(i+1), int32(i+1)
		}
	}
	return p, nil
}

// sortByPartition sorts rows into partitions (by hashes, the hash of each
// row's partition keys: any order of partitions will do), each sorted by
// byOrder. Grouping by the hash is an integer sort, and a run of rows of
// one hash, almost always one partition, then sorts by its order keys
// alone; partKeys separates the partitions of a run whose keys collide.
func sortByPartition(hashes []uint64, rows []int32, partKeys, byOrder func(a, b int32) int) {
	slices.SortFunc(rows, func(a, b int32) int { return cmp.Compare(hashes[a], hashes[b]) })
	for lo := 0; lo < len(rows); {
		hi := lo + 1
		for hi < len(rows) && hashes[rows[hi]] == hashes[rows[lo]] {
			hi++
		}
		run := rows[lo:hi]
		one := true
		for _, r := range run[1:] {
			if partKeys(run[0], r) != 0 {
				one = false
				break
			}
		}
		if one {
			slices.SortFunc(run, byOrder)
		} else {
			slices.SortFunc(run, func(a, b int32) int {
				if c := partKeys(a, b); c != 0 {
					return c
				}
				return byOrder(a, b)
			})
		}
		lo = hi
	}
}

// emit sends sorted positions from..to: the input rows rows, then the
// calls' results at those positions.
func (o *batchOverOp) emit(ctx context.Context, all arrow.RecordBatch, rows []int32, results []arrow.Array, from, to int, out Output) error {
	part, err := takeRows(ctx, o.ctx.Mem, all, rows)
	if err != nil {
		return fmt.Errorf("batch over-aggregate: %w", err)
	}
	defer part.Release()
	cols := make([]arrow.Array, 0, o.out.NumFields())
	cols = append(cols, part.Columns()...)
	for _, r := range results {
		s := array.NewSlice(r, int64(from), int64(to))
		defer s.Release()
		cols = append(cols, s)
	}
	rec := array.NewRecordBatch(o.out, cols, int64(to-from))
	defer rec.Release()
	return out.Emit(rec)
}

func (o *batchOverOp) Snapshot() ([]byte, error) { return o.held.snapshot(o.ctx.Mem) }

func (o *batchOverOp) Restore(state []byte) error { return o.held.restore(o.ctx.Mem, state) }

func (o *batchOverOp) Close() error {
	o.held.release()
	return nil
}
