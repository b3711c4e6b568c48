// Package blackhole is Flink's 'blackhole' sink: it accepts every row,
// updates included, and discards it. It is for benchmarks and for queries
// run only for their side effects. It has no options.
package blackhole

import (
	"errors"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/eddysql/eddy/exec/connector"
)

// Identifier is the value of the 'connector' option.
const Identifier = "blackhole"

// Factory is the blackhole sink.
type Factory struct{}

var _ connector.SinkFactory = Factory{}

func init() { connector.Register(Factory{}) }

func (Factory) Identifier() string          { return Identifier }
func (Factory) Options() []connector.Option { return nil }

// ValidateSink accepts any table without options; the sink takes updates
// without their -U rows, as Flink's BlackHoleSink asks for the requested
// changelog without UPDATE_BEFORE.
func (Factory) ValidateSink(t connector.TableInfo) (connector.SinkProperties, error) {
	return connector.SinkProperties{AcceptsUpdates: true, DropsUpdateBefore: true}, connector.Validate(Factory{}, t)
}

func (Factory) CreateWriter(connector.SinkSpec, connector.ReaderContext) (connector.SinkWriter, error) {
	return &writer{}, nil
}

type writer struct{ closed bool }

func (w *writer) Write(arrow.RecordBatch) error {
	if w.closed {
		return errors.New("blackhole: Write after Close")
	}
	return nil
}

func (w *writer) Finish() error { return nil }

func (w *writer) Close() error {
	w.closed = true
	return nil
}
