package exec

import (
	"encoding/json"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
)

// timedSinkFactory is the "test-timed-sink" connector, whose writers
// record the processing times they are woken at.
type timedSinkFactory struct{}

func init() { connector.Register(timedSinkFactory{}) }

func (timedSinkFactory) Identifier() string          { return "test-timed-sink" }
func (timedSinkFactory) Options() []connector.Option { return nil }
func (timedSinkFactory) ValidateSink(connector.TableInfo) (connector.SinkProperties, error) {
	return connector.SinkProperties{}, nil
}
func (timedSinkFactory) CreateWriter(_ connector.SinkSpec, rc connector.ReaderContext) (connector.SinkWriter, error) {
	return &timedWriter{now: rc.NowMillis}, nil
}

type timedWriter struct {
	now   func() int64
	woken []int64
}

func (w *timedWriter) Write(arrow.RecordBatch) error { return nil }
func (w *timedWriter) Finish() error                 { return nil }
func (w *timedWriter) Close() error                  { return nil }
func (w *timedWriter) OnProcessingTime(now int64) error {
	w.woken = append(w.woken, now)
	return nil
}

// TestSinkProcessingTime: a sink whose writer is a
// connector.ProcessingTimeWriter is woken on processing time with its
// task's clock, which the writer also reads, until its input ends; a sink
// whose writer is not ("test-sink") is not woken at all.
func TestSinkProcessingTime(t *testing.T) {
	spec := func(id string) OperatorSpec {
		s, err := json.Marshal(SinkSpec{SinkSpec: connector.SinkSpec{Table: connector.TableInfo{Name: "out",
			Schema:  types.Schema{Columns: []types.Column{{Name: "v", Type: types.BigIntType}}},
			Options: map[string]string{"connector": id, "discard": "true"}}}})
		require.NoError(t, err)
		return OperatorSpec{Kind: KindSink, Name: "Sink", Spec: s}
	}
	clock := &manualClock{now: 1000}
	open := func(id string) *sink {
		op, err := newSink(spec(id), nil)
		require.NoError(t, err)
		require.NoError(t, op.Open(&OperatorContext{Parallelism: 1, Metrics: NewOperatorMetrics(), Clock: clock}))
		return op.(*sink)
	}
	s := open("test-timed-sink")
	defer s.Close()
	require.Equal(t, []int{0}, timedOperators([]Operator{s}))
	w := s.writer.(*timedWriter)
	require.EqualValues(t, 1000, w.now())
	require.NoError(t, s.OnProcessingTime(nil))
	clock.now = 1100
	require.NoError(t, s.OnProcessingTime(nil))
	require.NoError(t, s.EndInput(0, nil))
	require.NoError(t, s.OnProcessingTime(nil))
	require.Equal(t, []int64{1000, 1100}, w.woken)

	plain := open("test-sink")
	defer plain.Close()
	require.Empty(t, timedOperators([]Operator{plain}))
}
