package agg

import (
	"context"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/catalog/types"
)

// partitionFunctions are the window functions whose result depends on the
// rows after the current one, or on the size of its whole partition:
// LEAD(value [, offset [, default]]), NTILE(n), PERCENT_RANK() and
// CUME_DIST(). An unbounded stream never completes a partition, so Flink
// computes them only in batch mode (BatchExecOverAggregate), over
// partitions sorted in full; so does Eddy (EvalSorted).
var partitionFunctions = map[string]signature{
	"LEAD":         {1, 3, leadType},
	"NTILE":        {1, 1, ntileType},
	"PERCENT_RANK": {0, 0, distributionType},
	"CUME_DIST":    {0, 0, distributionType},
}

// IsPartitionFunction reports whether name is a window function that
// needs its whole sorted partition: LEAD, NTILE, PERCENT_RANK, CUME_DIST.
func IsPartitionFunction(name string) bool {
	_, ok := partitionFunctions[strings.ToUpper(name)]
	return ok
}

// IsSortedFunction reports whether EvalSorted computes name: the partition
// functions, LAG, and the ranking functions ROW_NUMBER, RANK and
// DENSE_RANK.
func IsSortedFunction(name string) bool {
	switch strings.ToUpper(name) {
	case "LAG", "ROW_NUMBER", "RANK", "DENSE_RANK":
		return true
	}
	return IsPartitionFunction(name)
}

// PartitionFunctionType is the result type of a partition function, as
// Flink types it: LEAD its value's type, nullable; NTILE BIGINT NOT NULL
// (Calcite's ReturnTypes.RANK, Flink's NTILEAggFunction); PERCENT_RANK
// and CUME_DIST DOUBLE NOT NULL.
func PartitionFunctionType(name string, args []types.DataType) (types.DataType, error) {
	sig, ok := partitionFunctions[strings.ToUpper(name)]
	if !ok {
		return types.DataType{}, fmt.Errorf("%s is not a window function", name)
	}
	if len(args) < sig.minArgs || len(args) > sig.maxArgs {
		if sig.minArgs == sig.maxArgs {
			return types.DataType{}, fmt.Errorf("%s takes %d arguments, got %d", name, sig.minArgs, len(args))
		}
		return types.DataType{}, fmt.Errorf("%s takes %d to %d arguments, got %d", name, sig.minArgs, sig.maxArgs, len(args))
	}
	return sig.result(args)
}

// leadType is LEAD's result: its value's type, the default (or NULL)
// past the partition's end. The planner casts the default to the value's
// type, as for LAG.
func leadType(args []types.DataType) (types.DataType, error) {
	if len(args) > 1 && !args[1].IsInteger() {
		return types.DataType{}, fmt.Errorf("the offset of LEAD must be an integer, not %s", args[1])
	}
	if len(args) > 2 && !args[2].EqualIgnoringNull(args[0]) {
		return types.DataType{}, fmt.Errorf("the default of LEAD must have its value's type %s, not %s", args[0], args[2])
	}
	return args[0].WithNullable(true), nil
}

func ntileType(args []types.DataType) (types.DataType, error) {
	if !args[0].IsInteger() {
		return types.DataType{}, fmt.Errorf("the argument of NTILE must be an integer, not %s", args[0])
	}
	return types.BigIntType.WithNullable(false), nil
}

func distributionType([]types.DataType) (types.DataType, error) {
	return types.DataType{Kind: types.Double}.WithNullable(false), nil
}

// SortedPartitions describes a batch of rows sorted by their partition
// keys, then their order keys: per sorted position i, the input row it
// holds and the bounds [start, end) of its partition and of its peers
// (the rows of its partition with equal order keys), as sorted
// positions. EvalSorted computes window functions from these bounds alone,
// so every function is a typed loop over int32 slices (or one Take).
type SortedPartitions struct {
	Rows               []int32
	PartStart, PartEnd []int32
	PeerStart, PeerEnd []int32
}

// EvalSorted computes the window function fn over p: one result per
// sorted position, of Arrow type dt. args are fn's argument columns in
// input row order (constants included: LEAD's and LAG's offset, NTILE's
// bucket count, which the planner requires to be literals and reads from
// the first row). Semantics are PostgreSQL's and Flink's batch ones:
//
//   - ROW_NUMBER: the position in the partition, from 1. RANK: the
//     position of the first peer. DENSE_RANK: the number of distinct
//     peer groups up to the row.
//   - LEAD(value, offset, default) and LAG: the value offset rows after
//     (before) the row in its partition, else the row's default (NULL
//     without one); a negative offset looks the other way, a NULL offset
//     gives NULL.
//   - NTILE(n): buckets 1..n of sizes differing by at most one, the larger
//     ones first.
//   - PERCENT_RANK: (rank - 1) / (partition rows - 1), 0 for a partition
//     of one row. CUME_DIST: (rows up to the row's last peer) / (partition
//     rows).
func EvalSorted(ctx context.Context, mem memory.Allocator, fn string, args []arrow.Array, p *SortedPartitions, dt arrow.DataType) (arrow.Array, error) {
	n := len(p.Rows)
	switch fn = strings.ToUpper(fn); fn {
	case "ROW_NUMBER", "RANK", "DENSE_RANK", "NTILE":
		vals := make([]int64, n)
		if err := ranks(fn, args, p, vals); err != nil {
			return nil, err
		}
		b := array.NewInt64Builder(mem)
		defer b.Release()
		b.AppendValues(vals, nil)
		return b.NewArray(), nil
	case "PERCENT_RANK", "CUME_DIST":
		vals := make([]float64, n)
		cume := fn == "CUME_DIST"
		for i := range vals {
			size := float64(p.PartEnd[i] - p.PartStart[i])
			switch {
			case cume:
				vals[i] = float64(p.PeerEnd[i]-p.PartStart[i]) / size
			case size > 1:
				vals[i] = float64(p.PeerStart[i]-p.PartStart[i]) / (size - 1)
			}
		}
		b := array.NewFloat64Builder(mem)
		defer b.Release()
		b.AppendValues(vals, nil)
		return b.NewArray(), nil
	case "LEAD":
		return shifted(ctx, mem, fn, args, p, dt, 1)
	case "LAG":
		return shifted(ctx, mem, fn, args, p, dt, -1)
	}
	return nil, fmt.Errorf("%s cannot be computed over sorted partitions", fn)
}

// ranks fills vals with the BIGINT results of ROW_NUMBER, RANK,
// DENSE_RANK or NTILE per sorted position.
func ranks(fn string, args []arrow.Array, p *SortedPartitions, vals []int64) error {
	switch fn {
	case "ROW_NUMBER":
		for i := range vals {
			vals[i] = int64(int32(i)-p.PartStart[i]) + 1
		}
	case "RANK":
		for i := range vals {
			vals[i] = int64(p.PeerStart[i]-p.PartStart[i]) + 1
		}
	case "DENSE_RANK":
		var dense int64
		for i := range vals {
			switch int32(i) {
			case p.PartStart[i]:
				dense = 1
			case p.PeerStart[i]:
				dense++
			}
			vals[i] = dense
		}
	case "NTILE":
		if len(args) != 1 {
			return fmt.Errorf("NTILE takes 1 argument, got %d", len(args))
		}
		buckets, ok := constantOf(args[0])
		if !ok || buckets <= 0 {
			return fmt.Errorf("the argument of NTILE must be a positive integer")
		}
		for i := range vals {
			vals[i] = ntile(int64(int32(i)-p.PartStart[i]), int64(p.PartEnd[i]-p.PartStart[i]), buckets)
		}
	}
	return nil
}

// ntile is the bucket of the row at position k of a partition of size
// rows split into buckets: the first size % buckets buckets hold one row
// more than the others.
func ntile(k, size, buckets int64) int64 {
	q, r := size/buckets, size%buckets
	big := r * (q + 1) // the rows of the larger buckets
	if k < big {
		return k/(q+1) + 1
	}
	return r + (k-big)/q + 1
}

// shifted computes LEAD (dir 1) or LAG (dir -1) with one Take: over the
// values, followed by the defaults when there are some, the row at sorted
// position i takes value Rows[i+dir*offset] inside its partition, else
// its own default (or NULL).
func shifted(ctx context.Context, mem memory.Allocator, fn string, args []arrow.Array, p *SortedPartitions, dt arrow.DataType, dir int64) (arrow.Array, error) {
	if len(args) < 1 || len(args) > 3 {
		return nil, fmt.Errorf("%s takes 1 to 3 arguments, got %d", fn, len(args))
	}
	n := len(p.Rows)
	offset, known := int64(1), true
	if len(args) > 1 {
		offset, known = constantOf(args[1])
	}
	if !known {
		// A NULL offset: PostgreSQL's answer is NULL for every row.
		return array.MakeArrayOfNull(mem, dt, n), nil
	}
	src := args[0]
	base := int64(src.Len())
	if len(args) > 2 {
		cat, err := array.Concatenate([]arrow.Array{args[0], args[2]}, mem)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", fn, err)
		}
		defer cat.Release()
		src = cat
	}
	idx := make([]int32, n)
	valid := make([]bool, n)
	for i := range n {
		switch t := int64(i) + dir*offset; {
		case t >= int64(p.PartStart[i]) && t < int64(p.PartEnd[i]):
			idx[i], valid[i] = p.Rows[t], true
		case len(args) > 2:
			idx[i], valid[i] = int32(base)+p.Rows[i], true
		}
	}
	b := array.NewInt32Builder(mem)
	defer b.Release()
	b.AppendValues(idx, valid)
	indices := b.NewInt32Array()
	defer indices.Release()
	out, err := compute.TakeArray(compute.WithAllocator(ctx, mem), src, indices)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fn, err)
	}
	return out, nil
}

// constantOf reads the first value of an integer column of constants;
// false when it is NULL.
func constantOf(a arrow.Array) (int64, bool) {
	if a.Len() == 0 || a.IsNull(0) {
		return 0, false
	}
	switch c := a.(type) {
	case *array.Int8:
		return int64(c.Value(0)), true
	case *array.Int16:
		return int64(c.Value(0)), true
	case *array.Int32:
		return int64(c.Value(0)), true
	case *array.Int64:
		return c.Value(0), true
	}
	return 0, false
}
