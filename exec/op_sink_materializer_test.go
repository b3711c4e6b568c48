package exec

import (
	"flag"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/cockroachdb/datadriven"
	"github.com/stretchr/testify/require"
)

// TestSinkUpsertMaterializer runs the scripts in testdata/sink_materializer
// with the row operators' harness (see TestRowOperators for its commands).
// The first command creates the operator; its input block is the input
// schema:
//
//	materialize keys=(0) [ttl=<ms>]
//
// state prints the keys not expired at the clock's time and their rows. Every script is replayed with input
// batches of 1 and 7 rows and whole, each with and without a snapshot and
// restore into a fresh operator after every batch and watermark: the
// output must not change.
func TestSinkUpsertMaterializer(t *testing.T) {
	rewrite := false
	if f := flag.Lookup("rewrite"); f != nil {
		rewrite = f.Value.String() == "true"
	}
	datadriven.Walk(t, "testdata/sink_materializer", func(t *testing.T, path string) {
		for _, bs := range []int{0, 1, 7} {
			for _, restore := range []bool{false, true} {
				if rewrite && (bs != 0 || restore) {
					continue
				}
				t.Run(fmt.Sprintf("batch=%d/restore=%t", bs, restore), func(t *testing.T) {
					mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
					defer mem.AssertSize(t, 0)
					h := &rowOpHarness{mem: mem, batch: bs, restoreEach: restore, metrics: NewOperatorMetrics()}
					defer h.close(t)
					datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
						switch d.Cmd {
						case "materialize":
							h.close(t)
							in := gaParseSchema(t, strings.TrimSpace(d.Input))
							var s SinkUpsertMaterializerSpec
							var keys []string
							d.ScanArgs(t, "keys", &keys)
							for _, k := range keys {
								if k == "" {
									continue
								}
								i, err := strconv.Atoi(k)
								require.NoError(t, err)
								s.Keys = append(s.Keys, i)
							}
							if d.HasArg("ttl") {
								d.ScanArgs(t, "ttl", &s.StateTTLMillis)
							}
							h.cl = true
							h.input = BatchSchema(in, true)
							h.spec = OperatorSpec{Kind: KindSinkUpsertMaterializer, Name: d.Cmd, Schema: in,
								Changelog: true, Spec: mustJSON(t, s)}
							if err := h.tryNewOp(); err != nil {
								h.op = nil
								return "error: " + err.Error() + "\n"
							}
							return "ok\n"
						case "state":
							op := h.op.(*sinkMaterializer)
							keys, rows := 0, 0
							for p := range op.parts.n {
								if op.parts.live[p] && !op.parts.expired(p, op.spec.StateTTLMillis, h.clock.now) {
									keys++
									rows += len(op.rows[p])
								}
							}
							return fmt.Sprintf("keys=%d rows=%d\n", keys, rows)
						}
						return h.run(t, d)
					})
				})
			}
		}
	})
}
