package exec

import (
	"github.com/apache/arrow-go/v18/arrow"

	"github.com/eddysql/eddy/exec/connector"
)

// splitBatch is a batch of a connector.SplitAware reader together with its
// split runs and the reader's assigned splits at the time it was read. The
// source operator returns it from Next so that the description travels
// with its batch even when the reader runs a batch ahead of the chain
// (pullSourceAsync); the task unwraps it before the chain sees it.
type splitBatch struct {
	arrow.RecordBatch
	runs     []connector.SplitRun
	assigned []string
}

// sourceSplits tells the operators chained after a source which splits the
// rows of the batch being emitted came from. The task sets it around each
// emit of a source batch; a watermark assigner reads it while processing
// that batch, which arrives synchronously, row for row (the planner keeps
// filters above the watermark assigner, so only projections run between).
// It is nil in tasks without a source.
type sourceSplits struct {
	rows     int64
	runs     []connector.SplitRun
	assigned []string
}

// set describes the batch about to be emitted; clear ends it.
func (s *sourceSplits) set(b *splitBatch) {
	s.rows, s.runs, s.assigned = b.NumRows(), b.runs, b.assigned
}

func (s *sourceSplits) clear() { *s = sourceSplits{} }

// of returns the split runs and assigned splits of the batch being emitted
// if it has rows rows, or nil when there is no such description: no split
// aware source in the task, or a batch whose rows do not map one to one.
func (s *sourceSplits) of(rows int64) ([]connector.SplitRun, []string) {
	if s == nil || s.runs == nil || s.rows != rows {
		return nil, nil
	}
	return s.runs, s.assigned
}
