package exec

import (
	"maps"
	"sync"
	"sync/atomic"
)

// OperatorMetrics counts what flows through one operator instance. The
// runtime updates it from the task goroutine (operators do not count
// themselves: the chain links around them do), and metrics readers on other
// goroutines call Snapshot; every field is atomic so that is race-free.
type OperatorMetrics struct {
	RecordsIn  atomic.Int64
	RecordsOut atomic.Int64
	BatchesIn  atomic.Int64
	BatchesOut atomic.Int64
	// Watermark is the last watermark the operator emitted.
	Watermark atomic.Int64
	// LateRecordsDropped counts input rows an event-time operator dropped
	// because the watermark had passed them (the operator counts these
	// itself).
	LateRecordsDropped atomic.Int64
	// RecordsInErrors is a source's connector.ErrorCountReporter answer:
	// malformed records it skipped.
	RecordsInErrors atomic.Int64
	// BackPressuredNanos is how long the last operator of a chain waited
	// for room in a full output channel: the time its subtask was
	// backpressured by a slower consumer.
	BackPressuredNanos atomic.Int64

	// backlog is a source's connector.SplitBacklogReporter answer: records
	// left to read per split, set from the source goroutine.
	backlogMu sync.Mutex
	backlog   map[string]int64
}

// setBacklog replaces the per-split backlog with what fill sets.
func (m *OperatorMetrics) setBacklog(fill func(map[string]int64)) {
	m.backlogMu.Lock()
	defer m.backlogMu.Unlock()
	if m.backlog == nil {
		m.backlog = map[string]int64{}
	}
	clear(m.backlog)
	fill(m.backlog)
}

// addLate counts n late rows dropped; operators built without metrics
// (nil) count nothing.
func (m *OperatorMetrics) addLate(n int64) {
	if n > 0 && m != nil {
		m.LateRecordsDropped.Add(n)
	}
}

// NewOperatorMetrics returns zeroed metrics whose watermark is MinWatermark.
func NewOperatorMetrics() *OperatorMetrics {
	m := &OperatorMetrics{}
	m.Watermark.Store(int64(MinWatermark))
	return m
}

// MetricsSnapshot is a point-in-time copy of OperatorMetrics; it is plain
// data so a TaskManager can send it to a remote JobManager.
type MetricsSnapshot struct {
	RecordsIn  int64     `json:"recordsIn"`
	RecordsOut int64     `json:"recordsOut"`
	BatchesIn  int64     `json:"batchesIn"`
	BatchesOut int64     `json:"batchesOut"`
	Watermark  Watermark `json:"watermark"`
	// LateRecordsDropped is OperatorMetrics.LateRecordsDropped.
	LateRecordsDropped int64 `json:"lateRecordsDropped,omitempty"`
	// PendingRecords is a source's backlog summed over its splits (Flink's
	// pendingRecords); SplitBacklog is the backlog per split, for Kafka
	// the consumer lag per partition ("topic-partition"). Both are absent
	// for sources that do not report a backlog.
	PendingRecords int64            `json:"pendingRecords,omitempty"`
	SplitBacklog   map[string]int64 `json:"splitBacklog,omitempty"`
	// RecordsInErrors is the malformed records a source skipped (Flink's
	// numRecordsInErrors); absent for sources that do not report it.
	RecordsInErrors int64 `json:"numRecordsInErrors,omitempty"`
	// BackPressuredTimeMs is OperatorMetrics.BackPressuredNanos in
	// milliseconds, summed over subtasks (Flink reports its rate,
	// backPressuredTimeMsPerSecond).
	BackPressuredTimeMs int64 `json:"backPressuredTimeMs,omitempty"`
}

// Snapshot copies the counters. The fields are read one by one, so a
// snapshot taken while the task runs may mix two instants; it is for
// monitoring, not accounting.
func (m *OperatorMetrics) Snapshot() MetricsSnapshot {
	s := MetricsSnapshot{
		RecordsIn:  m.RecordsIn.Load(),
		RecordsOut: m.RecordsOut.Load(),
		BatchesIn:  m.BatchesIn.Load(),
		BatchesOut: m.BatchesOut.Load(),
		Watermark:  Watermark(m.Watermark.Load()),

		LateRecordsDropped:  m.LateRecordsDropped.Load(),
		RecordsInErrors:     m.RecordsInErrors.Load(),
		BackPressuredTimeMs: m.BackPressuredNanos.Load() / 1e6,
	}
	m.backlogMu.Lock()
	defer m.backlogMu.Unlock()
	if len(m.backlog) > 0 {
		s.SplitBacklog = maps.Clone(m.backlog)
		for _, n := range m.backlog {
			s.PendingRecords += n
		}
	}
	return s
}

// SubtaskMetrics is the metrics report of one subtask: one snapshot per
// operator of its chain, in chain order.
type SubtaskMetrics struct {
	Vertex    int               `json:"vertex"`
	Subtask   int               `json:"subtask"`
	Operators []MetricsSnapshot `json:"operators"`
}

// OperatorStats is one operator of a job with its metrics summed over the
// subtasks of its vertex; Watermark is the minimum over the subtasks, the
// watermark the operator as a whole has reached.
type OperatorStats struct {
	Vertex     int    `json:"vertex"`
	VertexName string `json:"vertexName"`
	// Index is the operator's position in the vertex's chain.
	Index    int    `json:"index"`
	Kind     string `json:"kind"`
	Name     string `json:"name"`
	Subtasks int    `json:"subtasks"`
	MetricsSnapshot
}
