package kafka

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/table/connector/format"
	"github.com/eddysql/eddy/table/connector/format/cdcjson"
)

// metadataKeys are the record metadata a source reads, Flink's keys, with
// the types a column may declare for each.
var metadataKeys = map[string]string{
	"topic":          "STRING: the record's topic",
	"partition":      "INT: the record's partition",
	"offset":         "BIGINT: the record's offset in its partition",
	"timestamp":      "TIMESTAMP_LTZ(3) (or TIMESTAMP(3)): the record's timestamp",
	"timestamp-type": "STRING: NoTimestampType, CreateTime or LogAppendTime",
	"headers":        "MAP<STRING, BYTES>: the record's headers (a repeated key keeps its last value; a header without a value is NULL)",
	"leader-epoch":   "INT: the leader epoch of the record, NULL when unknown",
}

// ReadableMetadata lists the metadata keys (connector.SupportsReadingMetadata).
func (Factory) ReadableMetadata() map[string]string { return metadataKeys }

// valueMetadata is the prefix of the keys of the value format's metadata,
// as in Flink: 'value.table' is the 'table' of a canal-json value.
const valueMetadata = "value."

// ReadableMetadataOf lists the record metadata keys and those of t's value
// format, prefixed by 'value.' (connector.SupportsTableMetadata).
func (f Factory) ReadableMetadataOf(t connector.TableInfo) (map[string]string, error) {
	cf := valueFormatOf(t)
	if cf == nil {
		return metadataKeys, nil
	}
	keys := make(map[string]string, len(metadataKeys))
	for k, v := range metadataKeys {
		keys[k] = v
	}
	for k, v := range cf.Metadata() {
		keys[valueMetadata+k] = v
	}
	return keys, nil
}

// valueFormatOf is the changelog JSON format of t's values, nil when its
// value format has no metadata.
func valueFormatOf(t connector.TableInfo) *cdcjson.Format {
	if v, ok := t.Options[ValueFormat]; ok {
		return cdcjson.Lookup(v)
	}
	return cdcjson.Lookup(t.Options[Format])
}

var (
	_ connector.SupportsReadingMetadata = Factory{}
	_ connector.SupportsTableMetadata   = Factory{}
)

// writableMetadata are the metadata keys a sink writes, in the order of
// their columns after the physical ones; Flink's Kafka sinks write the
// record's headers and timestamp (the other keys are the broker's to set).
var writableMetadata = []string{"headers", "timestamp"}

// WritableMetadataOf lists the keys a sink writes
// (connector.SupportsWritingMetadata).
func (Factory) WritableMetadataOf(connector.TableInfo) ([]string, error) {
	return writableMetadata, nil
}

// checkMetadata checks the declared type of each metadata column; keys
// of the value format's metadata are checked by the format.
func checkMetadata(cols []connector.MetadataColumn, valueFormat string) error {
	for _, m := range cols {
		t := m.Type
		if key, ok := strings.CutPrefix(m.Key, valueMetadata); ok {
			f := cdcjson.Lookup(valueFormat)
			if f == nil {
				return fmt.Errorf("metadata column '%s': the value format '%s' has no metadata key '%s'", m.Name, valueFormat, key)
			}
			if err := f.CheckMetadata(key, t); err != nil {
				return fmt.Errorf("metadata column '%s': %w", m.Name, err)
			}
			continue
		}
		var ok bool
		switch m.Key {
		case "topic", "timestamp-type":
			ok = t.IsString()
		case "partition", "leader-epoch":
			ok = t.Kind == types.Int || t.Kind == types.BigInt
		case "offset":
			ok = t.Kind == types.BigInt
		case "timestamp":
			ok = t.IsTimestamp()
		case "headers":
			ok = t.Kind == types.Map && t.Key != nil && t.Key.IsString() && t.Value != nil && (t.Value.IsBinary() || t.Value.IsString())
		default:
			return fmt.Errorf("unknown metadata key '%s' of column '%s'", m.Key, m.Name)
		}
		if !ok {
			return fmt.Errorf("metadata column '%s' cannot have type %s; '%s' is %s", m.Name, t, m.Key, strings.SplitN(metadataKeys[m.Key], ":", 2)[0])
		}
	}
	return nil
}

// metaCol fills one metadata column.
type metaCol struct {
	key  string
	b    array.Builder
	unit int64 // milliseconds per unit of a timestamp builder, as a divisor of nanoseconds
	// ofValue marks the value format's metadata, which its decoder fills.
	ofValue bool
}

func newMetaCols(mem memory.Allocator, cols []connector.MetadataColumn) []metaCol {
	out := make([]metaCol, len(cols))
	for i, m := range cols {
		out[i] = metaCol{key: m.Key, b: array.NewBuilder(mem, m.Type.Arrow()), ofValue: strings.HasPrefix(m.Key, valueMetadata)}
		if ts, ok := m.Type.Arrow().(*arrow.TimestampType); ok {
			out[i].unit = format.UnitNanos(ts.Unit)
		}
	}
	return out
}

// append appends rec's metadata n times (a changelog event makes several
// rows of one record); the value format's metadata is left to its decoder.
func (m *metaCol) append(rec *kgo.Record, n int) {
	if m.ofValue {
		return
	}
	for range n {
		switch b := m.b.(type) {
		case *array.StringBuilder:
			if m.key == "topic" {
				b.Append(rec.Topic)
			} else {
				b.Append(timestampType(rec))
			}
		case *array.Int32Builder:
			if m.key == "partition" {
				b.Append(rec.Partition)
			} else if rec.LeaderEpoch >= 0 {
				b.Append(rec.LeaderEpoch)
			} else {
				b.AppendNull()
			}
		case *array.Int64Builder:
			switch m.key {
			case "partition":
				b.Append(int64(rec.Partition))
			case "offset":
				b.Append(rec.Offset)
			default:
				if rec.LeaderEpoch >= 0 {
					b.Append(int64(rec.LeaderEpoch))
				} else {
					b.AppendNull()
				}
			}
		case *array.TimestampBuilder:
			b.Append(arrow.Timestamp(rec.Timestamp.UnixNano() / m.unit))
		case *array.ListBuilder: // the headers MAP
			list, eb, keys, values := types.MapBuilders(b)
			list.Append(true)
			kb := keys.(*array.StringBuilder)
			for i, h := range rec.Headers {
				if lastOf(rec.Headers, i) != i { // a repeated key keeps its last value
					continue
				}
				eb.Append(true)
				kb.Append(h.Key)
				if h.Value == nil { // a header without a value
					values.AppendNull()
					continue
				}
				switch ib := values.(type) {
				case *array.BinaryBuilder:
					ib.Append(h.Value)
				case *array.StringBuilder:
					ib.BinaryBuilder.Append(h.Value)
				}
			}
		}
	}
}

// lastOf is the index of the last header with the key of hs[i].
func lastOf(hs []kgo.RecordHeader, i int) int {
	last := i
	for j := i + 1; j < len(hs); j++ {
		if hs[j].Key == hs[i].Key {
			last = j
		}
	}
	return last
}

func timestampType(rec *kgo.Record) string {
	switch {
	case rec.Attrs.TimestampType() < 0:
		return "NoTimestampType"
	case rec.Attrs.TimestampType() == 1:
		return "LogAppendTime"
	}
	return "CreateTime"
}

// metaWriter sets the written metadata of the records of a sink: the
// columns that follow the physical ones of its batches.
type metaWriter struct {
	// tsCol and hdrCol are the batch columns of the 'timestamp' and
	// 'headers' metadata, -1 when the table writes no such column.
	tsCol, hdrCol int
	ts            *array.Timestamp
	tsUnit        int64 // nanoseconds per unit of ts
	hdrs          *array.List
	keys          *array.String
	items         arrow.Array
}

// newMetaWriter locates the persisted metadata columns of cfg's table in
// its sink batches, ordered as writableMetadata lists their keys.
func newMetaWriter(cfg *config) metaWriter {
	m := metaWriter{tsCol: -1, hdrCol: -1}
	col := cfg.physical.Len()
	for _, k := range writableMetadata {
		for _, c := range cfg.metadata {
			if c.Virtual || c.Key != k {
				continue
			}
			switch {
			case k == "timestamp" && m.tsCol < 0:
				m.tsCol = col
			case k == "headers" && m.hdrCol < 0:
				m.hdrCol = col
			}
			col++
		}
	}
	return m
}

// bind takes the metadata columns of b.
func (m *metaWriter) bind(b arrow.RecordBatch) error {
	m.ts, m.hdrs = nil, nil
	if m.tsCol >= 0 {
		ts, ok := b.Column(m.tsCol).(*array.Timestamp)
		if !ok {
			return fmt.Errorf("kafka: the 'timestamp' metadata column is %s, not a timestamp", b.Column(m.tsCol).DataType())
		}
		m.ts, m.tsUnit = ts, format.UnitNanos(ts.DataType().(*arrow.TimestampType).Unit)
	}
	if m.hdrCol >= 0 {
		h, hkeys, items := types.MapEntries(b.Column(m.hdrCol))
		keys, ok := hkeys.(*array.String)
		if !ok {
			return fmt.Errorf("kafka: the keys of the 'headers' metadata column are %s, not STRING", hkeys.DataType())
		}
		m.hdrs, m.keys, m.items = h, keys, items
	}
	return nil
}

// set writes row i's metadata into r. Header values are copied into slab,
// which it returns grown: the producer keeps them past the batch. A NULL
// header key is an error, as in Kafka's Java client.
func (m *metaWriter) set(r *kgo.Record, i int, slab []byte) ([]byte, error) {
	if m.ts != nil && m.ts.IsValid(i) {
		// A NULL timestamp leaves the record's zero, which the producer
		// replaces by the current time, as Kafka's Java client does.
		r.Timestamp = time.Unix(0, int64(m.ts.Value(i))*m.tsUnit)
	}
	if m.hdrs == nil || !m.hdrs.IsValid(i) {
		return slab, nil
	}
	start, end := m.hdrs.ValueOffsets(i)
	r.Headers = make([]kgo.RecordHeader, 0, end-start)
	for j := int(start); j < int(end); j++ {
		if m.keys.IsNull(j) {
			return slab, errors.New("kafka: a NULL key in the 'headers' metadata column: Kafka header keys cannot be NULL")
		}
		h := kgo.RecordHeader{Key: strings.Clone(m.keys.Value(j))}
		if m.items.IsValid(j) {
			p := len(slab)
			switch it := m.items.(type) {
			case *array.Binary:
				slab = append(slab, it.Value(j)...)
			case *array.String:
				slab = append(slab, it.Value(j)...)
			}
			h.Value = slab[p:len(slab):len(slab)]
		}
		r.Headers = append(r.Headers, h)
	}
	return slab, nil
}
