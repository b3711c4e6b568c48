package exec

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"
)

// TestSinkUpsertMaterializer runs the scripts in testdata/sink_materializer
// with the row operators' harness (see TestRowOperators for its commands).
// The first command creates the operator; its input block is the input
// schema:
//
//	materialize keys=(0) [ttl=<ms>] [conflict=NOTHING|ERROR] [upsert-key=(1)] [insert-only]
//
// conflict makes it the ON CONFLICT DO NOTHING/ERROR variant, whose
// output comes at watermarks; insert-only feeds it rows without a row kind
// column. state prints the keys not expired at the clock's time and their
// rows (for the conflict variant: the keys, the rows held, and the
// changes buffered).
// Scripts are replayed as replayScripts describes.
func TestSinkUpsertMaterializer(t *testing.T) {
	replayRowOperatorScripts(t, []string{"sink_materializer"}, runSinkMaterializer)
}

// runSinkMaterializer handles the commands specific to the
// sink_materializer scripts and hands the rest to the row operators'
// harness.
func runSinkMaterializer(t *testing.T, h *rowOpHarness, d *datadriven.TestData) string {
	switch d.Cmd {
	case "materialize":
		h.close(t)
		in := gaParseSchema(t, strings.TrimSpace(d.Input))
		s := SinkUpsertMaterializerSpec{Keys: intsArg(t, d, "keys"), UpsertKey: intsArg(t, d, "upsert-key"),
			InsertOnlyInput: d.HasArg("insert-only")}
		if d.HasArg("ttl") {
			d.ScanArgs(t, "ttl", &s.StateTTLMillis)
		}
		if d.HasArg("conflict") {
			d.ScanArgs(t, "conflict", &s.Conflict)
		}
		h.cl = !s.InsertOnlyInput
		h.input = BatchSchema(in, h.cl)
		h.spec = OperatorSpec{Kind: KindSinkUpsertMaterializer, Name: d.Cmd, Schema: in,
			Changelog: true, Spec: mustJSON(t, s)}
		return h.start()
	case "watermark":
		// As the harness's, but DO ERROR fails here: print the error.
		var ms int64
		d.ScanArgs(t, "ms", &ms)
		h.log.Reset()
		if err := h.op.ProcessWatermark(0, Watermark(ms), h); err != nil {
			return "error: " + err.Error() + "\n"
		}
		if h.restoreEach {
			h.snapshotRestore(t)
		}
		if h.log.Len() == 0 {
			return "ok\n"
		}
		return h.log.String()
	case "state":
		if op, ok := h.op.(*sinkConflictMaterializer); ok {
			keys, held, pending := 0, 0, 0
			for p := range op.parts.n {
				if op.parts.live[p] {
					keys++
					if op.held[p] >= 0 {
						held++
					}
					pending += len(op.pending[p])
				}
			}
			return fmt.Sprintf("keys=%d held=%d pending=%d\n", keys, held, pending)
		}
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
}
