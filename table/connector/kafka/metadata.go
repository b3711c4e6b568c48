package kafka

import (
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/table/connector/format"
)

// metadataKeys are the record metadata a source reads, Flink's keys, with
// the types a column may declare for each.
var metadataKeys = map[string]string{
	"topic":          "STRING: the record's topic",
	"partition":      "INT: the record's partition",
	"offset":         "BIGINT: the record's offset in its partition",
	"timestamp":      "TIMESTAMP_LTZ(3) (or TIMESTAMP(3)): the record's timestamp",
	"timestamp-type": "STRING: NoTimestampType, CreateTime or LogAppendTime",
	"headers":        "MAP<STRING, BYTES>: the record's headers (a repeated key keeps its last value)",
	"leader-epoch":   "INT: the leader epoch of the record, NULL when unknown",
}

// ReadableMetadata lists the metadata keys (connector.SupportsReadingMetadata).
func (Factory) ReadableMetadata() map[string]string { return metadataKeys }

var _ connector.SupportsReadingMetadata = Factory{}

// checkMetadata checks the declared type of each metadata column.
func checkMetadata(cols []connector.MetadataColumn) error {
	for _, m := range cols {
		t := m.Type
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
}

func newMetaCols(mem memory.Allocator, cols []connector.MetadataColumn) []metaCol {
	out := make([]metaCol, len(cols))
	for i, m := range cols {
		out[i] = metaCol{key: m.Key, b: array.NewBuilder(mem, m.Type.Arrow())}
		if ts, ok := m.Type.Arrow().(*arrow.TimestampType); ok {
			out[i].unit = format.UnitNanos(ts.Unit)
		}
	}
	return out
}

// append appends rec's metadata to every column, n times (a Debezium
// update makes two rows of one record).
func (m *metaCol) append(rec *kgo.Record, n int) {
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
		case *array.MapBuilder:
			b.Append(true)
			kb := b.KeyBuilder().(*array.StringBuilder)
			for i, h := range rec.Headers {
				if lastOf(rec.Headers, i) != i { // a repeated key keeps its last value
					continue
				}
				kb.Append(h.Key)
				switch ib := b.ItemBuilder().(type) {
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
