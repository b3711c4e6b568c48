package exec

import (
	"fmt"
	"math/rand"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/agg"
)

// TestNonTimeOverRandom feeds random inserts and retractions (with ties
// in the order key) in random batches, snapshotting and restoring now and
// then, and checks after every batch that the emitted changelog, applied
// as a multiset, holds exactly every live row with the result a direct
// computation over its partition gives, and that no retraction removes a
// row that was not emitted. The DISTINCT calls' value counts must follow
// the retractions and the restores.
func TestNonTimeOverRandom(t *testing.T) {
	for _, frame := range []struct {
		rows      bool
		preceding int64
	}{{true, -1}, {false, -1}, {true, 0}, {true, 2}} {
		for _, changelog := range []bool{false, true} {
			name := fmt.Sprintf("rows=%t/preceding=%d/changelog=%t", frame.rows, frame.preceding, changelog)
			t.Run(name, func(t *testing.T) {
				mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
				defer mem.AssertSize(t, 0)
				rng := rand.New(rand.NewSource(int64(len(name))))
				h := &rowOpHarness{mem: mem, metrics: NewOperatorMetrics(), cl: changelog}
				defer h.close(t)
				in := gaParseSchema(t, "k STRING, v BIGINT, id BIGINT")
				inTypes := gaColumnTypes(in)
				calls := []agg.Call{gaParseCall(t, "SUM($1)", inTypes), gaParseCall(t, "MAX($2)", inTypes), gaParseCall(t, "COUNT($0)", inTypes),
					gaParseCall(t, "COUNT(DISTINCT $1)", inTypes), gaParseCall(t, "SUM(DISTINCT $1)", inTypes),
					// (k, v) tuples: as many as v's values, k being the partition.
					gaParseCall(t, "COUNT(DISTINCT $0, $1)", inTypes)}
				out := types.Schema{Columns: slicesClone(in.Columns)}
				for _, c := range calls {
					out.Columns = append(out.Columns, types.Column{Name: c.Name, Type: c.Type})
				}
				spec := NonTimeOverAggregateSpec{PartitionKeys: []int{0}, OrderKeys: []SortKey{{Col: 1}},
					Rows: frame.rows, Preceding: frame.preceding, Calls: calls, InputChangelog: changelog}
				h.input = BatchSchema(in, changelog)
				h.spec = OperatorSpec{Kind: KindNonTimeOverAggregate, Name: "over", Schema: out, Changelog: true, Spec: mustJSON(t, spec)}
				h.newOp(t)

				type row struct {
					k     string
					v, id int64
				}
				var live []row // in arrival order
				emitted := map[string]int{}
				nextID := int64(0)
				for range 40 {
					var lines []string
					for range 1 + rng.Intn(6) {
						if changelog && len(live) > 0 && rng.Intn(3) == 0 {
							i := rng.Intn(len(live))
							r := live[i]
							live = slices.Delete(live, i, i+1)
							lines = append(lines, fmt.Sprintf("-D[%s, %d, %d]", r.k, r.v, r.id))
							continue
						}
						nextID++
						r := row{k: fmt.Sprintf("k%d", rng.Intn(3)), v: int64(rng.Intn(6)), id: nextID}
						live = append(live, r)
						lines = append(lines, fmt.Sprintf("+I[%s, %d, %d]", r.k, r.v, r.id))
					}
					b := h.build(t, lines)
					h.log.Reset()
					require.NoError(t, h.op.ProcessBatch(0, b, h))
					b.Release()
					for _, l := range strings.Split(strings.TrimSpace(h.log.String()), "\n") {
						if l == "" {
							continue
						}
						kind, body := l[:2], l[2:]
						if kind == "+I" || kind == "+U" {
							emitted[body]++
						} else {
							require.Positive(t, emitted[body], "retraction of a row never emitted: %s", l)
							if emitted[body]--; emitted[body] == 0 {
								delete(emitted, body)
							}
						}
					}
					if rng.Intn(4) == 0 {
						h.snapshotRestore(t)
					}
					// The expected results: per partition, rows sorted by v,
					// ties in arrival order.
					want := map[string]int{}
					for _, k := range []string{"k0", "k1", "k2"} {
						var part []row
						for _, r := range live {
							if r.k == k {
								part = append(part, r)
							}
						}
						slices.SortStableFunc(part, func(a, b row) int { return int(a.v - b.v) })
						for j, r := range part {
							last := j
							if !frame.rows {
								for last+1 < len(part) && part[last+1].v == r.v {
									last++
								}
							}
							first := 0
							if frame.preceding >= 0 {
								first = max(0, j-int(frame.preceding))
							}
							var sum, mx, n, dsum int64
							seen := map[int64]bool{}
							for _, f := range part[first : last+1] {
								sum += f.v
								mx = max(mx, f.id)
								n++
								if !seen[f.v] {
									seen[f.v] = true
									dsum += f.v
								}
							}
							want[fmt.Sprintf("[%s, %d, %d, %d, %d, %d, %d, %d, %d]", r.k, r.v, r.id, sum, mx, n, len(seen), dsum, len(seen))]++
						}
					}
					require.Equal(t, want, emitted)
				}
			})
		}
	}
}
