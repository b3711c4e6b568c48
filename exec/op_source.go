package exec

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/eddysql/eddy/exec/connector"
)

// KindSource is the head of a scan vertex. Its spec is a connector.ScanSpec:
//
//	{"table": {"name": ..., "schema": ..., "options": {"connector": "datagen", ...}},
//	 "projection": [0, 2]}
//
// It creates the connector's SourceReader for its subtask (the connector
// splits the table among subtasks) and is pulled by the task loop.
const KindSource = "source"

func init() { RegisterSource(KindSource, newScanSource) }

type scanSource struct {
	spec    connector.ScanSpec
	reader  connector.SourceReader
	metrics *OperatorMetrics
}

func newScanSource(spec OperatorSpec, _ *OperatorContext) (SourceOperator, error) {
	s := &scanSource{}
	if err := json.Unmarshal(spec.Spec, &s.spec); err != nil {
		return nil, fmt.Errorf("source spec: %w", err)
	}
	return s, nil
}

func (s *scanSource) Open(ctx *OperatorContext) error {
	id := s.spec.Table.Options["connector"]
	f, ok := connector.Source(id)
	if !ok {
		return fmt.Errorf("no source connector %q for table %s", id, s.spec.Table.Name)
	}
	bs, err := BatchSize(ctx.Config)
	if err != nil {
		return err
	}
	r, err := f.CreateReader(s.spec, connector.ReaderContext{
		Subtask: ctx.Subtask, Parallelism: ctx.Parallelism, Mem: ctx.Mem, BatchSize: bs,
	})
	if err != nil {
		return fmt.Errorf("creating reader for table %s: %w", s.spec.Table.Name, err)
	}
	s.reader = r
	s.metrics = ctx.Metrics
	return nil
}

// Next returns the reader's next batch; for a connector.SplitAware reader
// it is a splitBatch carrying the batch's split runs. The backlog of a
// connector.SplitBacklogReporter and the error count of a
// connector.ErrorCountReporter go to the metrics.
func (s *scanSource) Next(ctx context.Context) (arrow.RecordBatch, error) {
	b, err := s.reader.Next(ctx)
	if err != nil {
		return b, err
	}
	if br, ok := s.reader.(connector.SplitBacklogReporter); ok && s.metrics != nil {
		s.metrics.setBacklog(br.SplitBacklog)
	}
	if er, ok := s.reader.(connector.ErrorCountReporter); ok && s.metrics != nil {
		s.metrics.RecordsInErrors.Store(er.RecordsInErrors())
	}
	if sa, ok := s.reader.(connector.SplitAware); ok {
		return &splitBatch{RecordBatch: b, runs: sa.BatchSplits(), assigned: sa.AssignedSplits()}, nil
	}
	return b, nil
}

// Idle implements connector.IdleAware for the task: the reader's answer, or
// false for readers that do not tell.
func (s *scanSource) Idle() bool {
	ia, ok := s.reader.(connector.IdleAware)
	return ok && ia.Idle()
}

// checkpointSnapshotter is implemented by source operators and operators
// whose snapshot for a checkpoint depends on its id; the task calls it instead of
// Snapshot at a checkpoint's barrier.
type checkpointSnapshotter interface {
	snapshotCheckpoint(id int64) ([]byte, error)
}

var (
	_ checkpointSnapshotter = (*scanSource)(nil)
	_ CheckpointListener    = (*scanSource)(nil)
)

// snapshotCheckpoint snapshots a connector.CheckpointSnapshotter reader
// with the checkpoint's id, other readers as Snapshot does.
func (s *scanSource) snapshotCheckpoint(id int64) ([]byte, error) {
	if cs, ok := s.reader.(connector.CheckpointSnapshotter); ok {
		return cs.SnapshotCheckpoint(id)
	}
	return s.reader.Snapshot()
}

// NotifyCheckpointComplete passes the notification on to a
// connector.CheckpointListener reader.
func (s *scanSource) NotifyCheckpointComplete(id int64) error {
	if l, ok := s.reader.(connector.CheckpointListener); ok {
		return l.NotifyCheckpointComplete(id)
	}
	return nil
}

func (s *scanSource) Snapshot() ([]byte, error)  { return s.reader.Snapshot() }
func (s *scanSource) Restore(state []byte) error { return s.reader.Restore(state) }

func (s *scanSource) Close() error {
	if s.reader == nil {
		return nil
	}
	r := s.reader
	s.reader = nil
	return r.Close()
}
