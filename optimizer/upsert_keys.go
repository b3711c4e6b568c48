package optimizer

import (
	"slices"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/expr"
	"github.com/eddysql/eddy/planner"
)

// UpsertKeys derives the upsert keys of a plan node's changelog, as
// Flink's FlinkRelMdUpsertKeys does: sets of output columns (sorted
// indexes) such that every change of the stream belongs to the one row
// identified by its values in those columns, and the changes of a row
// arrive in order. nil means the node has none the planner can prove.
//
// Upsert keys differ from unique keys in one respect: an operator that
// shuffles its input by some columns keeps an input's upsert key only
// when the key contains those columns, since the changes of one key must
// not take different paths (a join keeps the keys of a side that contain
// its join keys).
//
// The sink uses them to decide whether its primary key identifies the
// query's rows (no SinkUpsertMaterializer, no ON CONFLICT needed).
func UpsertKeys(n planner.Node) [][]int {
	switch x := n.(type) {
	case *planner.Scan:
		return scanUpsertKeys(x)
	case *planner.Calc:
		return projectKeys(UpsertKeys(x.Input), x.Exprs)
	case *planner.Project:
		return projectKeys(UpsertKeys(x.Input), x.Exprs)
	case *planner.Filter, *planner.WatermarkAssigner, *planner.Limit, *planner.Sort,
		*planner.TemporalSort, *planner.Sink, *planner.Collect:
		// Rows pass unchanged.
		return UpsertKeys(n.Children()[0])
	case *planner.Over:
		// Rows pass with columns appended, shuffled by each aggregate's
		// PARTITION BY columns.
		keys := UpsertKeys(x.Input)
		for _, c := range x.Calls {
			keys = keysContaining(keys, c.Partition)
		}
		return keys
	case *planner.Aggregate:
		// One row per group: the grouping columns, which lead the output.
		return [][]int{leadingColumns(len(x.Keys))}
	case *planner.WindowAggregate:
		// One row per group and window: the grouping columns with the
		// window's start or its end, which follow them.
		k := len(x.Keys)
		return normalizeKeys([][]int{append(leadingColumns(k), k), append(leadingColumns(k), k+1)})
	case *planner.Rank:
		return rankUpsertKeys(x)
	case *planner.WindowRank:
		return rankUpsertKeys(&x.Rank)
	case *planner.FromChangelog:
		if x.Upsert {
			// Keyed by its PARTITION BY columns, which lead the output.
			return [][]int{leadingColumns(len(x.Partition))}
		}
		return nil
	case *planner.Join:
		return joinUpsertKeys(x)
	}
	// Values, UNION ALL, UNNEST, lookups, MATCH_RECOGNIZE, TO_CHANGELOG and
	// window joins: no key is known (UNION ALL may repeat rows).
	return nil
}

// scanUpsertKeys is a table's primary key, when the scan produces all its
// columns.
func scanUpsertKeys(s *planner.Scan) [][]int {
	pk := s.Table.PrimaryKey
	if len(pk) == 0 {
		return nil
	}
	// out maps a table column to its position in the scan's output.
	out := map[int]int{}
	switch {
	case s.NestedProjection != nil:
		for i, p := range s.NestedProjection {
			if len(p) == 1 {
				out[p[0]] = i
			}
		}
	case s.Projection != nil:
		for i, c := range s.Projection {
			out[c] = i
		}
	default:
		for i := range s.Table.Schema.Len() {
			out[i] = i
		}
	}
	key := make([]int, 0, len(pk))
	for _, name := range pk {
		i, ok := out[s.Table.Schema.Index(name)]
		if !ok {
			return nil
		}
		key = append(key, i)
	}
	return normalizeKeys([][]int{key})
}

// projectKeys maps keys through a projection: a key survives when each of
// its columns is projected unchanged (a plain column reference, or a cast
// that loses nothing, as Flink's isFidelityCast: an implicit widening such
// as INT to BIGINT, which the sink's schema adds), at the first position
// that does so.
func projectKeys(keys [][]int, exprs []expr.Expr) [][]int {
	if keys == nil {
		return nil
	}
	at := map[int]int{}
	for i, e := range exprs {
		if c, ok := keyColumn(e); ok {
			if _, seen := at[c.Index]; !seen {
				at[c.Index] = i
			}
		}
	}
	var out [][]int
next:
	for _, k := range keys {
		m := make([]int, len(k))
		for j, c := range k {
			i, ok := at[c]
			if !ok {
				continue next
			}
			m[j] = i
		}
		out = append(out, m)
	}
	return normalizeKeys(out)
}

// rankUpsertKeys: a Top-N keeps those of its input's keys that contain its
// partition columns (it forwards whole rows, shuffled by the partition);
// with the rank number in its output, the partition with the rank number
// is a key, and a Top-1 without it is keyed by its partition alone.
func rankUpsertKeys(r *planner.Rank) [][]int {
	keys := keysContaining(UpsertKeys(r.Input), r.Partition)
	switch {
	case r.OutputRank && r.RankType == "ROW_NUMBER":
		// RANK and DENSE_RANK give tied rows the same number, so only
		// ROW_NUMBER makes (partition, number) a key, as in Flink's
		// FlinkRelMdUniqueKeys.getRankUniqueKeys.
		keys = append(keys, append(slices.Clone(r.Partition), r.Input.Schema().Len()))
	case r.End == 1 && r.RankType == "ROW_NUMBER":
		keys = append(keys, slices.Clone(r.Partition))
	}
	return normalizeKeys(keys)
}

// joinUpsertKeys follows Flink's FlinkRelMdUpsertKeys for joins. Each
// side's upsert keys count only when they contain the side's join keys
// (the join shuffles by them). A side keyed by (a subset of) its join
// keys has at most one row per join key, so the other side's keys stay
// keys of the join, unless the join pads that other side with NULLs; and
// any left key with any right key is a key of the join.
func joinUpsertKeys(j *planner.Join) [][]int {
	nl := j.Left.Schema().Len()
	lk, rk, _ := splitEquiConditions(j.Condition, nl)
	leftKeys, rightKeys := UpsertKeys(j.Left), UpsertKeys(j.Right)
	switch j.Type {
	case planner.SemiJoin, planner.AntiJoin:
		return keysContaining(leftKeys, lk)
	}
	if j.SystemTime >= 0 {
		// A temporal join emits each left row once, with the right
		// table's version at its time: the left keys remain.
		return keysContaining(leftKeys, lk)
	}
	leftUnique := anySubset(leftKeys, lk)
	rightUnique := anySubset(rightKeys, rk)
	leftKeys, rightKeys = keysContaining(leftKeys, lk), keysContaining(rightKeys, rk)
	shifted := make([][]int, len(rightKeys))
	for i, k := range rightKeys {
		shifted[i] = make([]int, len(k))
		for m, c := range k {
			shifted[i][m] = c + nl
		}
	}
	nullsLeft := j.Type == planner.RightJoin || j.Type == planner.FullJoin
	nullsRight := j.Type == planner.LeftJoin || j.Type == planner.FullJoin
	var out [][]int
	if rightUnique && !nullsLeft {
		out = append(out, leftKeys...)
	}
	if leftUnique && !nullsRight {
		out = append(out, shifted...)
	}
	for _, l := range leftKeys {
		for _, r := range shifted {
			out = append(out, append(slices.Clone(l), r...))
		}
	}
	return normalizeKeys(out)
}

// keysContaining keeps the keys that contain every column of cols.
func keysContaining(keys [][]int, cols []int) [][]int {
	var out [][]int
	for _, k := range keys {
		if containsAll(k, cols) {
			out = append(out, k)
		}
	}
	return out
}

// anySubset reports whether some key lies within cols.
func anySubset(keys [][]int, cols []int) bool {
	for _, k := range keys {
		if containsAll(cols, k) {
			return true
		}
	}
	return false
}

func containsAll(set, cols []int) bool {
	for _, c := range cols {
		if !slices.Contains(set, c) {
			return false
		}
	}
	return true
}

// normalizeKeys sorts each key's columns and drops duplicate keys; nil
// for none.
func normalizeKeys(keys [][]int) [][]int {
	var out [][]int
	for _, k := range keys {
		k = slices.Clone(k)
		slices.Sort(k)
		k = slices.Compact(k)
		if !slices.ContainsFunc(out, func(o []int) bool { return slices.Equal(o, k) }) {
			out = append(out, k)
		}
	}
	return out
}

func leadingColumns(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// keyColumn returns the column e projects without losing information: a
// column reference, or an implicit widening CAST of one.
func keyColumn(e expr.Expr) (*expr.ColumnRef, bool) {
	if c, ok := e.(*expr.Call); ok && c.Func == "CAST" && len(c.Args) == 1 {
		if ref, ok := c.Args[0].(*expr.ColumnRef); ok && types.CanImplicitCast(ref.T, c.T) {
			return ref, true
		}
		return nil, false
	}
	c, ok := e.(*expr.ColumnRef)
	return c, ok
}
