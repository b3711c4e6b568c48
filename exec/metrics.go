package exec

import (
	"maps"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
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
	// StateBytes is the operator's StateSizer answer, refreshed by its
	// task after every input element; 0 for stateless operators.
	StateBytes atomic.Int64

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
	// StateBytes is the estimated size of the operator's state in bytes
	// (OperatorMetrics.StateBytes), summed over subtasks; absent for
	// stateless operators.
	StateBytes int64 `json:"stateBytes,omitempty"`
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
		StateBytes:          m.StateBytes.Load(),
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

// StateSizer is implemented by stateful operators that report the size of
// their state, Flink's state size metric. StateBytes is called by the task
// goroutine after every input element, so it must be O(1): an estimate
// kept from counters the operator maintains anyway (live keys, rows,
// buffered bytes), never a walk over the state or a serialized snapshot.
// The estimate counts the fixed-width part of every value and the header
// of variable-width ones (valueBytes): the order of magnitude and the
// growth of the state, not an exact memory account.
type StateSizer interface {
	StateBytes() int64
}

// varWidthBytes is what valueBytes counts for a value of variable width
// (strings, binary, nested types): its slice or string header.
const varWidthBytes = 16

// valueBytes is the estimated size of one value of each of types, summed.
func valueBytes(types []arrow.DataType) int64 {
	var n int64
	for _, t := range types {
		if fw, ok := t.(arrow.FixedWidthDataType); ok {
			n += int64(max(fw.BitWidth()/8, 1)) // a BOOLEAN counts as a byte
		} else {
			n += varWidthBytes
		}
	}
	return n
}

// stateGauges refreshes the StateBytes metric of a chain's stateful
// operators.
type stateGauges []stateGauge

type stateGauge struct {
	op StateSizer
	m  *OperatorMetrics
}

func newStateGauges(ops []Operator, metrics []*OperatorMetrics) stateGauges {
	var g stateGauges
	for i, op := range ops {
		if s, ok := op.(StateSizer); ok && i < len(metrics) {
			g = append(g, stateGauge{op: s, m: metrics[i]})
		}
	}
	return g
}

func (g stateGauges) refresh() {
	for _, s := range g {
		s.m.StateBytes.Store(s.op.StateBytes())
	}
}

// joinStoresBytes estimates the rows of a two-input join's stores (nil
// until an input's first batch): per row its values (slotValuesBytes),
// key hash, multiplicity and key links, per join key its hash and row
// list. The optional per-row metadata (joinMeta) is not counted.
func joinStoresBytes(stores [2]*joinStore) int64 {
	var n int64
	for _, s := range stores {
		if s == nil {
			continue
		}
		n += int64(s.live)*(slotValuesBytes(s.cols)+8+8+4+4+4) + int64(s.liveEnts)*(8+4+4+4+4)
	}
	return n
}
