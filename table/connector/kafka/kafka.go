package kafka

import (
	"fmt"

	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/table/connector/format/avro"
	"github.com/eddysql/eddy/table/connector/format/cdcjson"
)

// Factory is the 'kafka' (Upsert false) or 'upsert-kafka' (Upsert true)
// source and sink.
type Factory struct{ Upsert bool }

var (
	_ connector.SourceFactory = Factory{}
	_ connector.SinkFactory   = Factory{}

	_ connector.SupportsProjectionPushdown = Factory{}
	_ connector.SupportsWritingMetadata    = Factory{}

	kafkaOptions  = commonOptions(false)
	upsertOptions = commonOptions(true)
)

func init() {
	connector.Register(Factory{})
	connector.Register(Factory{Upsert: true})
}

// SupportsRescaling implements connector.SupportsRescaling: a reader
// keeps an offset per partition and reads the partitions its subtask is
// assigned (as Flink's KafkaSourceEnumerator assigns splits), so a source
// restored at another parallelism resumes every partition once.
func (Factory) SupportsRescaling() bool { return true }

// Identifier is 'kafka' or 'upsert-kafka'.
func (f Factory) Identifier() string {
	if f.Upsert {
		return UpsertIdentifier
	}
	return Identifier
}

// Options declares the options.
func (f Factory) Options() []connector.Option {
	if f.Upsert {
		return upsertOptions
	}
	return kafkaOptions
}

func (f Factory) config(t connector.TableInfo) (*config, error) {
	return parseConfig(f, t, f.Upsert)
}

// ValidateSource checks the options without contacting the brokers. A read
// is bounded when scan.bounded.mode is not 'unbounded'; upsert-kafka's is
// an upsert changelog.
func (f Factory) ValidateSource(t connector.TableInfo) (connector.ScanProperties, error) {
	c, err := f.config(t)
	if err != nil {
		return connector.ScanProperties{}, err
	}
	p := connector.ScanProperties{Bounded: c.bounded != modeUnbounded}
	switch {
	case f.Upsert:
		p.Changelog = connector.UpsertChangelog
	case isChangelog(c.value.format):
		p.Changelog = connector.RetractChangelog
	}
	return p, nil
}

// ValidateSink checks the options; a sink writes to one topic, and only
// upsert-kafka and the changelog value formats accept updates, the latter
// as retractions: -U and -D rows are written as delete events.
func (f Factory) ValidateSink(t connector.TableInfo) (connector.SinkProperties, error) {
	c, err := f.config(t)
	if err != nil {
		return connector.SinkProperties{}, err
	}
	if len(c.topics) != 1 {
		return connector.SinkProperties{}, fmt.Errorf("a '%s' sink writes to exactly one topic; set '%s' to one topic", f.Identifier(), Topic)
	}
	if cf := cdcjson.Lookup(c.value.format); cf != nil {
		cc, err := cf.ParseConfig(c.value.opts)
		if err == nil {
			err = cf.CheckEncoding(cc)
		}
		if err != nil {
			return connector.SinkProperties{}, fmt.Errorf("value format '%s': %w", cf.Name, err)
		}
		return connector.SinkProperties{AcceptsUpdates: true, RequiresUpdateBefore: true}, nil
	}
	if c.value.format == avro.Debezium {
		return connector.SinkProperties{AcceptsUpdates: true, RequiresUpdateBefore: true}, nil
	}
	return connector.SinkProperties{AcceptsUpdates: f.Upsert}, nil
}

// SupportsProjectionPushdown is true: a reader decodes only the columns
// of ScanSpec.Projection (connector.SupportsProjectionPushdown).
func (Factory) SupportsProjectionPushdown() bool { return true }

// CreateReader creates the reader of one subtask; it connects on its first
// Next.
func (f Factory) CreateReader(spec connector.ScanSpec, rc connector.ReaderContext) (connector.SourceReader, error) {
	if spec.NestedProjection != nil {
		return nil, fmt.Errorf("kafka: internal error: nested projection pushed into a scan that does not support it")
	}
	c, err := f.config(spec.Table)
	if err != nil {
		return nil, err
	}
	return newReader(c, spec, rc)
}

// CreateWriter creates the writer of one subtask.
func (f Factory) CreateWriter(spec connector.SinkSpec, rc connector.ReaderContext) (connector.SinkWriter, error) {
	c, err := f.config(spec.Table)
	if err != nil {
		return nil, err
	}
	if len(c.topics) != 1 {
		return nil, fmt.Errorf("a '%s' sink writes to exactly one topic", f.Identifier())
	}
	return newWriter(c, rc)
}
