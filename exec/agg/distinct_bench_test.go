package agg

import (
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// BenchmarkDistinctShared builds, from empty, the distinct state of
// Nexmark q16's COUNT(DISTINCT auction) and its three FILTERed copies: one
// distinct over BIGINT shared by four consumers, one unfiltered and three
// with disjoint price ranges. Rows arrive in 8192-row batches at the
// shape of q16's groups at 2M events: half the rows in 4 hot groups, each
// gathering about 100K values, the other half spread over 10000 groups of
// a hundred values. It reports ns per row, and CPU ns per row (the
// process's, GC included: steadier than the wall time on a shared
// machine); allocations are the tables'.
func BenchmarkDistinctShared(b *testing.B) {
	const (
		rows, batch      = 1_840_000, 8192
		hot, cold, vals  = 4, 10_000, 120_000
		consumers        = 4
		groups           = hot + cold
		batches          = (rows + batch - 1) / batch
		rank1, rank1And2 = 50, 90 // percent of rows in the first price ranges
	)
	mem := memory.NewGoAllocator()
	rng := rand.New(rand.NewPCG(1, 2))
	type input struct {
		col   arrow.Array
		slots []int32
		acts  [][]bool
	}
	in := make([]input, batches)
	for j := range in {
		n := min(batch, rows-j*batch)
		bld := array.NewInt64Builder(mem)
		slots := make([]int32, n)
		acts := make([][]bool, consumers)
		for c := range acts {
			acts[c] = make([]bool, n)
		}
		for i := range n {
			if rng.IntN(2) == 0 {
				slots[i] = int32(rng.IntN(hot))
			} else {
				slots[i] = int32(hot + rng.IntN(cold))
			}
			bld.Append(rng.Int64N(vals))
			acts[0][i] = true
			switch p := rng.IntN(100); {
			case p < rank1:
				acts[1][i] = true
			case p < rank1And2:
				acts[2][i] = true
			default:
				acts[3][i] = true
			}
		}
		in[j] = input{bld.NewArray(), slots, acts}
		bld.Release()
	}
	defer func() {
		for _, x := range in {
			x.col.Release()
		}
	}()
	retract := make([]bool, batch)
	acts := make([][]bool, consumers)
	for c := range acts {
		acts[c] = make([]bool, batch)
	}
	cols := make([]arrow.Array, consumers)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for range b.N {
		d, err := newDistinct(arrow.PrimitiveTypes.Int64, consumers)
		if err != nil {
			b.Fatal(err)
		}
		d.grow(groups)
		for _, x := range in {
			n := len(x.slots)
			for c := range acts {
				acts[c] = acts[c][:n]
				copy(acts[c], x.acts[c])
				cols[c] = x.col
			}
			d.mask(cols, x.slots, retract[:n], acts)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*rows), "ns/row")
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N*rows), "cpu-ns/row")
}

// cpuTime is the user and system time of the process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
