package exec

import (
	"encoding/json"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
)

// KindCollect is a sink that hands its input to the client that submitted
// the job (SELECT results printed by the CLI, the Go Table API): every
// batch goes to the job's ResultStream named by the spec's ID, which the
// client reads through Job.Results. It emits nothing.
const KindCollect = "collect"

// CollectSpec is the JSON spec of a collect operator.
type CollectSpec struct {
	// ID names the result stream; unique among the collect operators of a
	// job.
	ID string `json:"id"`
}

func init() { RegisterOperator(KindCollect, newCollect) }

type collect struct {
	spec CollectSpec
	w    ResultWriter
}

func newCollect(spec OperatorSpec, _ *OperatorContext) (Operator, error) {
	c := &collect{}
	if err := json.Unmarshal(spec.Spec, &c.spec); err != nil {
		return nil, fmt.Errorf("collect spec: %w", err)
	}
	return c, nil
}

func (c *collect) Open(ctx *OperatorContext) error {
	if ctx.Results == nil {
		return fmt.Errorf("collect %q: this TaskManager has no result service", c.spec.ID)
	}
	w, err := ctx.Results.OpenResult(ctx.JobID, c.spec.ID, ctx.Subtask)
	if err != nil {
		return err
	}
	c.w = w
	return nil
}

func (c *collect) ProcessBatch(_ int, b arrow.RecordBatch, _ Output) error { return c.w.Write(b) }
func (c *collect) ProcessWatermark(int, Watermark, Output) error           { return nil }
func (c *collect) EndInput(int, Output) error                              { return c.w.Finish() }
func (c *collect) Snapshot() ([]byte, error)                               { return nil, nil }
func (c *collect) Restore([]byte) error                                    { return nil }
func (c *collect) Close() error                                            { return nil }
