package exec

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/cockroachdb/datadriven"
	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/catalog/types"
)

// TestRowOperators runs the scripts in testdata/rank, dedup, over, sort
// and limit. The first command of a script creates the operator; its
// input block's first line is the input schema ("name TYPE, ..."), then,
// for over, one aggregate call per line (as in the group_agg scripts):
//
//	rank partition=(0) order=(1,2:desc,3:nulls-first) end=3 [start=2] [output-rank] [changelog] [ttl=<ms>]
//	dedup keys=(0) time=2 [keep-last] [proctime] [output-rank] [ttl=<ms>]
//	over [partition=(0)] time=2 (rows|range) preceding=<n|unbounded> [proctime]
//	over [partition=(0)] order=(1:desc) (rows [preceding=<n>]|range) [changelog] [ttl=<ms>]   (non-time OVER)
//	(rank, dedup and non-time over also take [drop-update-before]: updates
//	as +U alone, the specs' DropUpdateBefore)
//	sort keys=(1:desc) [offset=<n>] limit=<n>
//	limit [offset=<n>] limit=<n> [changelog]
//	temporal-sort keys=(2,1:desc) [proctime]
//	batch-over [partition=(0)] order=(1:desc)   (window functions, one
//	                call per line: LEAD($1, $2), NTILE($3), RANK())
//
// Then:
//
//	feed            input rows, one per line: +I[a, 1, 1000] (timestamps
//	                in ms, null for NULL); kinds other than +I need a
//	                changelog input
//	watermark ms=<ms>
//	time ms=<ms>    sets the processing-time clock
//	tick            calls OnProcessingTime
//	end             MaxWatermark, then end of input
//	snapshot        takes a snapshot
//	restore         replaces the operator by a fresh one restored from it
//	state           prints the operator's state size
//	state-bytes     prints the operator's StateSizer estimate
//	metrics         prints the late rows dropped
//
// Each command prints the emitted changelog, one row per line. Scripts
// are replayed as replayScripts describes.
func TestRowOperators(t *testing.T) {
	replayRowOperatorScripts(t, []string{"rank", "dedup", "over", "sort", "limit"}, nil)
}

// state prints the live partitions (not expired at the clock's time) and
// the rows held.
func (h *rowOpHarness) state() string {
	live := h.liveParts
	switch op := h.op.(type) {
	case *rankOp:
		rows := 0
		for p := range op.parts.n {
			if op.parts.live[p] && !op.parts.expired(p, op.spec.StateTTLMillis, h.clock.now) {
				rows += len(op.rows[p])
			}
		}
		return fmt.Sprintf("partitions=%d rows=%d\n", live(op.parts, op.spec.StateTTLMillis), rows)
	case *dedupOp:
		rows := 0
		if op.store != nil {
			rows = live(op.parts, op.spec.StateTTLMillis)
		}
		return fmt.Sprintf("keys=%d rows=%d\n", live(op.parts, op.spec.StateTTLMillis), rows)
	case *overOp:
		return fmt.Sprintf("partitions=%d rows=%d waiting=%d\n", op.parts.count, op.store.live, len(op.pending))
	case *nonTimeOverOp:
		return fmt.Sprintf("partitions=%d rows=%d\n", op.parts.count, op.store.live)
	}
	return "no state\n"
}

func (h *rowOpHarness) create(t *testing.T, d *datadriven.TestData) {
	lines := strings.Split(strings.TrimSpace(d.Input), "\n")
	in := gaParseSchema(t, lines[0])
	out := in
	var spec any
	changelog := false
	h.cl = false
	ints := func(key string) []int { return intsArg(t, d, key) }
	int64Arg := func(key string, def int64) int64 {
		if d.HasArg(key) {
			d.ScanArgs(t, key, &def)
		}
		return def
	}
	rankCol := types.Column{Name: "rn", Type: types.BigIntType.WithNullable(false)}
	switch d.Cmd {
	case "rank":
		s := RankSpec{PartitionKeys: ints("partition"), OrderKeys: parseSortKeys(t, d, "order"), RankType: "row_number",
			Start: int64Arg("start", 1), End: int64Arg("end", 1), OutputRank: d.HasArg("output-rank"),
			InputChangelog: d.HasArg("changelog"), StateTTLMillis: int64Arg("ttl", 0), DropUpdateBefore: d.HasArg("drop-update-before")}
		if d.HasArg("type") {
			d.ScanArgs(t, "type", &s.RankType)
		}
		h.cl, changelog, spec = s.InputChangelog, true, s
		if s.OutputRank {
			out.Columns = append(slicesClone(out.Columns), rankCol)
		}
	case "dedup":
		s := DeduplicateSpec{Keys: ints("keys"), TimeCol: int(int64Arg("time", 0)), KeepLast: d.HasArg("keep-last"),
			ProcTime: d.HasArg("proctime"), OutputRank: d.HasArg("output-rank"), StateTTLMillis: int64Arg("ttl", 0),
			DropUpdateBefore: d.HasArg("drop-update-before")}
		changelog, spec = s.KeepLast || !s.ProcTime || d.HasArg("changelog-output"), s
		if s.OutputRank {
			out.Columns = append(slicesClone(out.Columns), rankCol)
		}
	case "over":
		if d.HasArg("order") {
			s := NonTimeOverAggregateSpec{PartitionKeys: ints("partition"), OrderKeys: parseSortKeys(t, d, "order"),
				Rows: d.HasArg("rows"), Preceding: int64Arg("preceding", -1), InputChangelog: d.HasArg("changelog"),
				StateTTLMillis: int64Arg("ttl", 0), DropUpdateBefore: d.HasArg("drop-update-before")}
			out.Columns = slicesClone(out.Columns)
			for _, line := range lines[1:] {
				c := gaParseCall(t, strings.TrimSpace(line), gaColumnTypes(in))
				s.Calls = append(s.Calls, c)
				out.Columns = append(out.Columns, types.Column{Name: c.Name, Type: c.Type})
			}
			h.cl, changelog, spec = s.InputChangelog, true, s
			break
		}
		s := OverAggregateSpec{PartitionKeys: ints("partition"), TimeCol: int(int64Arg("time", 0)),
			ProcTime: d.HasArg("proctime"), Rows: d.HasArg("rows"), Preceding: -1}
		if d.HasArg("preceding") {
			var p string
			d.ScanArgs(t, "preceding", &p)
			if p != "unbounded" {
				var err error
				s.Preceding, err = strconv.ParseInt(p, 10, 64)
				require.NoError(t, err)
			}
		}
		inTypes := make([]types.DataType, in.Len())
		for i, c := range in.Columns {
			inTypes[i] = c.Type
		}
		out.Columns = slicesClone(out.Columns)
		for _, line := range lines[1:] {
			c := gaParseCall(t, strings.TrimSpace(line), inTypes)
			s.Calls = append(s.Calls, c)
			out.Columns = append(out.Columns, types.Column{Name: c.Name, Type: c.Type})
		}
		spec = s
	case "sort":
		spec = SortSpec{Keys: parseSortKeys(t, d, "keys"), Offset: int64Arg("offset", 0), Limit: int64Arg("limit", -1)}
	case "limit":
		h.cl = d.HasArg("changelog")
		changelog = h.cl
		spec = LimitSpec{Offset: int64Arg("offset", 0), Limit: int64Arg("limit", -1)}
	case "temporal-sort":
		spec = TemporalSortSpec{Keys: parseSortKeys(t, d, "keys"), ProcTime: d.HasArg("proctime")}
	case "batch-over":
		s := BatchOverAggregateSpec{PartitionKeys: ints("partition"), OrderKeys: parseSortKeys(t, d, "order")}
		out.Columns = slicesClone(out.Columns)
		for _, line := range lines[1:] {
			c := boParseCall(t, strings.TrimSpace(line), gaColumnTypes(in))
			s.Calls = append(s.Calls, c)
			out.Columns = append(out.Columns, types.Column{Name: c.Name, Type: c.Type})
		}
		spec = s
	}
	kind := map[string]string{"rank": KindRank, "dedup": KindDeduplicate, "over": KindOverAggregate, "sort": KindSort,
		"limit": KindLimit, "temporal-sort": KindTemporalSort, "batch-over": KindBatchOverAggregate}[d.Cmd]
	if _, ok := spec.(NonTimeOverAggregateSpec); ok {
		kind = KindNonTimeOverAggregate
	}
	h.input = BatchSchema(in, h.cl)
	h.spec = OperatorSpec{Kind: kind, Name: d.Cmd, Schema: out, Changelog: changelog, Spec: mustJSON(t, spec)}
}

func gaColumnTypes(s types.Schema) []types.DataType {
	out := make([]types.DataType, s.Len())
	for i, c := range s.Columns {
		out[i] = c.Type
	}
	return out
}

// BenchmarkTopN runs an insert-only Top-3 per partition over 8192-row
// batches of 1000 partitions with random order values: most rows are
// rejected after one comparison with the partition's 3rd row.
func BenchmarkTopN(b *testing.B) {
	const rows, parts = 8192, 1000
	mem := memory.NewGoAllocator()
	in := types.Schema{Columns: []types.Column{
		{Name: "k", Type: types.BigIntType}, {Name: "v", Type: types.BigIntType}, {Name: "s", Type: types.StringType}}}
	spec := OperatorSpec{Kind: KindRank, Schema: in, Changelog: true,
		Spec: mustJSON(b, RankSpec{PartitionKeys: []int{0}, OrderKeys: []SortKey{{Col: 1, Desc: true}}, RankType: "row_number", Start: 1, End: 3})}
	ctx := &OperatorContext{Parallelism: 1, Mem: mem, Metrics: NewOperatorMetrics(), Clock: &manualClock{}}
	op, err := newRank(spec, ctx)
	require.NoError(b, err)
	require.NoError(b, op.Open(ctx))
	defer op.Close()
	benchOperator(b, op, mem, in.Arrow(), rows, func(rb *array.RecordBuilder, x uint64) {
		rb.Field(0).(*array.Int64Builder).Append(int64(x % parts))
		rb.Field(1).(*array.Int64Builder).Append(int64(x>>20) % 1000000)
		rb.Field(2).(*array.StringBuilder).Append("payload")
	})
}

// TestRowOperatorsRescale restores one snapshot into the two subtasks of
// a rescaled job: each keeps exactly the partitions the Hash exchange
// sends it.
func TestRowOperatorsRescale(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	in := types.Schema{Columns: []types.Column{{Name: "k", Type: types.BigIntType}, {Name: "v", Type: types.BigIntType}}}
	spec := OperatorSpec{Kind: KindRank, Schema: in, Changelog: true,
		Spec: mustJSON(t, RankSpec{PartitionKeys: []int{0}, OrderKeys: []SortKey{{Col: 1}}, RankType: "row_number", Start: 1, End: 2})}
	open := func(subtask, par int) *rankOp {
		ctx := &OperatorContext{Subtask: subtask, Parallelism: par, Mem: mem, Metrics: NewOperatorMetrics(), Clock: &manualClock{}}
		op, err := newRank(spec, ctx)
		require.NoError(t, err)
		require.NoError(t, op.Open(ctx))
		return op.(*rankOp)
	}
	src := open(0, 1)
	rb := array.NewRecordBuilder(mem, in.Arrow())
	for k := range int64(64) {
		rb.Field(0).(*array.Int64Builder).AppendValues([]int64{k, k, k}, nil)
		rb.Field(1).(*array.Int64Builder).AppendValues([]int64{3, 1, 2}, nil)
	}
	b := rb.NewRecordBatch()
	rb.Release()
	require.NoError(t, src.ProcessBatch(0, b, gaDiscard{}))
	// The state size: 64 partitions of one BIGINT key, each ranking its 2
	// best rows of two BIGINT columns.
	srcBytes := src.StateBytes()
	require.Equal(t, int64(64*(9+25)+128*(18+20+4)), srcBytes)
	state, err := src.Snapshot()
	require.NoError(t, err)
	require.NoError(t, src.Close())
	hashes := make([]uint64, b.NumRows())
	require.NoError(t, hashRows(b, []int{0}, hashes))
	b.Release()
	owned := [2]int{}
	var restoredBytes int64
	for i := 0; i < len(hashes); i += 3 {
		owned[targetOf(hashes[i], 2)]++
	}
	for sub := range 2 {
		op := open(sub, 2)
		require.NoError(t, op.Restore(state))
		require.Equal(t, owned[sub], op.parts.count, "subtask %d", sub)
		require.Equal(t, 2*owned[sub], op.store.live)
		restoredBytes += op.StateBytes()
		require.NoError(t, op.Close())
	}
	require.Equal(t, srcBytes, restoredBytes, "the subtasks' state sizes add up to the rescaled one's")
	require.Positive(t, owned[0])
	require.Positive(t, owned[1])
}
