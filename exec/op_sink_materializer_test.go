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
//	materialize keys=(0) [ttl=<ms>]
//
// state prints the keys not expired at the clock's time and their rows.
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
		s := SinkUpsertMaterializerSpec{Keys: intsArg(t, d, "keys")}
		if d.HasArg("ttl") {
			d.ScanArgs(t, "ttl", &s.StateTTLMillis)
		}
		h.cl = true
		h.input = BatchSchema(in, true)
		h.spec = OperatorSpec{Kind: KindSinkUpsertMaterializer, Name: d.Cmd, Schema: in,
			Changelog: true, Spec: mustJSON(t, s)}
		return h.start()
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
}
