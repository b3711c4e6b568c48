// Package parquet is Flink's 'parquet' format for Eddy's filesystem
// connector: option declarations with Flink's names, a writer that encodes
// Arrow record batches as one Parquet file and a reader that decodes the
// projected columns of a Parquet file into record batches of the table's
// Arrow types. Both go through arrow-go's pqarrow, which reads and writes
// Arrow columns directly, so no value is converted row by row except
// TIMESTAMP values shifted by the local time zone (see UTCTimezone).
//
// Type mapping, as Flink's ParquetSchemaConverter:
//
//	CHAR, VARCHAR, STRING  BINARY (UTF8)
//	BOOLEAN                BOOLEAN
//	BINARY, VARBINARY      BINARY
//	DECIMAL(p, s)          FIXED_LEN_BYTE_ARRAY (DECIMAL(p, s))
//	TINYINT, SMALLINT      INT32 (INT(8), INT(16))
//	INT, BIGINT            INT32, INT64
//	FLOAT, DOUBLE          FLOAT, DOUBLE
//	DATE                   INT32 (DATE)
//	TIME                   INT32 (TIME(MILLIS))
//	TIMESTAMP[_LTZ]        INT96, or INT64 (TIMESTAMP(unit)) with
//	                       parquet.write.int64.timestamp
//	ARRAY, MULTISET        LIST
//	MAP                    MAP (keys may not be NULL)
//	ROW                    group
//	VARIANT                BINARY (UTF8): its canonical JSON text
//
// Reading matches the table's columns to the file's top-level fields by
// name, as Flink does; a column the file lacks reads as NULL, and the
// fields of a ROW likewise. A column of the file whose type does not fit
// the table's (a string for an INT) fails the scan naming the file and
// the column; types that only differ in width or encoding are cast
// (INT32 into BIGINT, any timestamp unit, dictionary-encoded or large
// strings). Columns the query does not project are never read.
package parquet

import (
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
)

// Option keys. Flink's parquet format declares the first three; the
// others are parquet-mr's ParquetOutputFormat settings, which Flink passes
// through from the table options.
const (
	UTCTimezone        = "parquet.utc-timezone"
	TimestampTimeUnit  = "parquet.timestamp.time.unit"
	WriteInt64         = "parquet.write.int64.timestamp"
	Compression        = "parquet.compression"
	BlockSize          = "parquet.block.size"
	PageSize           = "parquet.page.size"
	DictionaryPageSize = "parquet.dictionary.page.size"
	EnableDictionary   = "parquet.enable.dictionary"
)

// Options are the parquet format's option declarations, for connectors to
// include in theirs.
var Options = []connector.Option{
	{Key: UTCTimezone, Type: connector.Bool, Default: "false",
		Doc: "Convert TIMESTAMP values to and from the INT96 instants of the file in UTC instead of the local time zone (Hive 3 uses UTC, Hive 0.x-2.x the local zone)."},
	{Key: TimestampTimeUnit, Type: connector.Enum, Enum: []string{"nanos", "micros", "millis"}, Default: "micros",
		Doc: "Unit of INT64 timestamps written with parquet.write.int64.timestamp."},
	{Key: WriteInt64, Type: connector.Bool, Default: "false",
		Doc: "Write timestamps as INT64 with the TIMESTAMP logical type instead of INT96; such values are never converted between time zones."},
	{Key: Compression, Type: connector.Enum, Enum: []string{"UNCOMPRESSED", "SNAPPY", "GZIP", "BROTLI", "ZSTD", "LZ4_RAW"}, Default: "SNAPPY",
		Doc: "Compression codec of the pages written (Flink's default, SNAPPY; parquet-mr's LZO and Hadoop LZ4 codecs are not available)."},
	{Key: BlockSize, Type: connector.MemorySize, Default: "128mb",
		Doc: "Size of a row group: a writer starts a new one once the compressed pages it buffers reach this size."},
	{Key: PageSize, Type: connector.MemorySize, Default: "1mb",
		Doc: "Size of a data page."},
	{Key: DictionaryPageSize, Type: connector.MemorySize, Default: "1mb",
		Doc: "Size of a column's dictionary page; past it the column falls back to plain encoding."},
	{Key: EnableDictionary, Type: connector.Bool, Default: "true",
		Doc: "Dictionary-encode columns."},
}

// Config is the parsed parquet options.
type Config struct {
	// UTC converts TIMESTAMP values to INT96 instants in UTC; otherwise in
	// the local time zone.
	UTC          bool
	Int64        bool
	Unit         arrow.TimeUnit
	Compression  compress.Compression
	BlockSize    int64
	PageSize     int64
	DictPageSize int64
	Dictionary   bool
}

// ParseConfig reads and checks the parquet options.
func ParseConfig(o connector.Options) (Config, error) {
	c := Config{
		UTC:          o.Bool(UTCTimezone),
		Int64:        o.Bool(WriteInt64),
		BlockSize:    o.MemorySize(BlockSize),
		PageSize:     o.MemorySize(PageSize),
		DictPageSize: o.MemorySize(DictionaryPageSize),
		Dictionary:   o.Bool(EnableDictionary),
	}
	switch o.Enum(TimestampTimeUnit) {
	case "nanos":
		c.Unit = arrow.Nanosecond
	case "millis":
		c.Unit = arrow.Millisecond
	default:
		c.Unit = arrow.Microsecond
	}
	var ok bool
	if c.Compression, ok = codecs[o.Enum(Compression)]; !ok {
		return c, fmt.Errorf("option '%s': unsupported codec '%s'", Compression, o.Enum(Compression))
	}
	for _, k := range []string{BlockSize, PageSize, DictionaryPageSize} {
		if o.MemorySize(k) <= 0 {
			return c, fmt.Errorf("option '%s' must be positive", k)
		}
	}
	return c, nil
}

var codecs = map[string]compress.Compression{
	"UNCOMPRESSED": compress.Codecs.Uncompressed,
	"SNAPPY":       compress.Codecs.Snappy,
	"GZIP":         compress.Codecs.Gzip,
	"BROTLI":       compress.Codecs.Brotli,
	"ZSTD":         compress.Codecs.Zstd,
	"LZ4_RAW":      compress.Codecs.Lz4Raw,
}

// CheckSchema reports a column whose type Parquet cannot hold.
func CheckSchema(s types.Schema) error {
	for _, c := range s.Columns {
		if err := checkType(c.Type); err != nil {
			return fmt.Errorf("column '%s': %w", c.Name, err)
		}
	}
	return nil
}

func checkType(t types.DataType) error {
	switch t.Kind {
	case types.Null, types.IntervalDayTime, types.IntervalYearMonth:
		return fmt.Errorf("type %s is not supported by the parquet format", t)
	case types.Array, types.Multiset:
		return checkType(*t.Elem)
	case types.Map:
		if err := checkType(*t.Key); err != nil {
			return err
		}
		return checkType(*t.Value)
	case types.Row:
		for _, f := range t.Fields {
			if err := checkType(f.Type); err != nil {
				return err
			}
		}
	}
	return nil
}

// fileType is the Arrow type pqarrow writes for a column of type t: the
// table's Arrow type, except that a MAP (a list of key-value structs in
// Eddy) becomes Arrow's Map type so that it is written as a Parquet MAP.
func fileType(t types.DataType) arrow.DataType {
	switch t.Kind {
	case types.Map:
		return arrow.MapOf(fileType(*t.Key), fileType(*t.Value))
	case types.Array, types.Multiset:
		return arrow.ListOfField(arrow.Field{Name: "item", Type: fileType(*t.Elem), Nullable: t.Elem.Nullable()})
	case types.Row:
		fs := make([]arrow.Field, len(t.Fields))
		for i, f := range t.Fields {
			fs[i] = arrow.Field{Name: f.Name, Type: fileType(f.Type), Nullable: f.Type.Nullable()}
		}
		return arrow.StructOf(fs...)
	}
	return t.Arrow()
}

// hasMap reports whether t holds a MAP anywhere, which is the only case in
// which the written Arrow type differs from the table's.
func hasMap(t types.DataType) bool {
	switch t.Kind {
	case types.Map:
		return true
	case types.Array, types.Multiset:
		return hasMap(*t.Elem)
	case types.Row:
		for _, f := range t.Fields {
			if hasMap(f.Type) {
				return true
			}
		}
	}
	return false
}

func writerProperties(c Config, mem memory.Allocator) (*parquet.WriterProperties, pqarrow.ArrowWriterProperties) {
	props := parquet.NewWriterProperties(
		parquet.WithCompression(c.Compression),
		parquet.WithDataPageSize(c.PageSize),
		parquet.WithDictionaryPageSizeLimit(c.DictPageSize),
		parquet.WithDictionaryDefault(c.Dictionary),
		parquet.WithCreatedBy("eddy"),
		parquet.WithAllocator(mem),
	)
	opts := []pqarrow.WriterOption{pqarrow.WithAllocator(mem)}
	if c.Int64 {
		opts = append(opts, pqarrow.WithCoerceTimestamps(c.Unit), pqarrow.WithTruncatedTimestamps(true))
	} else {
		// INT96 holds nanoseconds; pqarrow converts from the column's unit.
		opts = append(opts, pqarrow.WithDeprecatedInt96Timestamps(true), pqarrow.WithCoerceTimestamps(arrow.Nanosecond))
	}
	return props, pqarrow.NewArrowWriterProperties(opts...)
}

func describe(t arrow.DataType) string { return strings.ReplaceAll(t.String(), "\n", " ") }
