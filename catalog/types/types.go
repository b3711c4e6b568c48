// Package types is Eddy's logical type system: Flink SQL's data types, how
// each maps onto an Arrow type, and the rules for implicit widening and
// explicit casts. Every layer above the parser speaks these types; the
// Arrow mapping is the single place where the physical layout is chosen.
package types

import (
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
)

// Kind is the root of a logical type (Flink's LogicalTypeRoot).
type Kind uint8

const (
	Null Kind = iota
	Boolean
	TinyInt
	SmallInt
	Int
	BigInt
	Float
	Double
	Decimal
	Char
	Varchar
	Binary
	Varbinary
	Date
	Time
	Timestamp
	TimestampLTZ
	IntervalDayTime
	IntervalYearMonth
	Array
	Map
	Multiset
	Row
	// Variant is Flink 2.1's semi-structured VARIANT: a JSON value (object,
	// array, string, number, boolean or JSON null) that keeps its structure
	// without a schema. See DataType.Arrow for its representation.
	Variant
)

// MaxLength is the length of VARCHAR/VARBINARY without a bound: STRING is
// VARCHAR(MaxLength) and BYTES is VARBINARY(MaxLength), as in Flink.
const MaxLength = 2147483647

// MaxDecimalPrecision is the largest DECIMAL precision (Arrow decimal128).
const MaxDecimalPrecision = 38

var kindNames = [...]string{
	Null: "NULL", Boolean: "BOOLEAN", TinyInt: "TINYINT", SmallInt: "SMALLINT",
	Int: "INT", BigInt: "BIGINT", Float: "FLOAT", Double: "DOUBLE", Decimal: "DECIMAL",
	Char: "CHAR", Varchar: "VARCHAR", Binary: "BINARY", Varbinary: "VARBINARY",
	Date: "DATE", Time: "TIME", Timestamp: "TIMESTAMP", TimestampLTZ: "TIMESTAMP_LTZ",
	IntervalDayTime: "INTERVAL DAY TO SECOND", IntervalYearMonth: "INTERVAL YEAR TO MONTH",
	Array: "ARRAY", Map: "MAP", Multiset: "MULTISET", Row: "ROW", Variant: "VARIANT",
}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", k)
}

// DataType is an immutable logical type. Length holds the length of
// CHAR/VARCHAR/BINARY/VARBINARY, Precision the precision of DECIMAL, TIME and
// the timestamps, Scale the scale of DECIMAL. Time attributes (rowtime,
// proctime) are marked on the type, as Flink does, so they survive
// projections and are visible in DESCRIBE and EXPLAIN.
type DataType struct {
	Kind      Kind         `json:"kind"`
	NotNull   bool         `json:"notNull,omitempty"`
	Length    int          `json:"length,omitempty"`
	Precision int          `json:"precision,omitempty"`
	Scale     int          `json:"scale,omitempty"`
	Elem      *DataType    `json:"elem,omitempty"`
	Key       *DataType    `json:"key,omitempty"`
	Value     *DataType    `json:"value,omitempty"`
	Fields    []Field      `json:"fields,omitempty"`
	TimeAttr  TimeAttrKind `json:"timeAttr,omitempty"`
}

// TimeAttrKind marks a timestamp column as a time attribute.
type TimeAttrKind uint8

const (
	NoTimeAttr TimeAttrKind = iota
	RowtimeAttr
	ProctimeAttr
)

// Field is a named member of a ROW type.
type Field struct {
	Name        string   `json:"name"`
	Type        DataType `json:"type"`
	Description string   `json:"description,omitempty"`
}

// Constructors for the common types. All are nullable; use NotNullable.
var (
	NullType     = DataType{Kind: Null}
	BooleanType  = DataType{Kind: Boolean}
	TinyIntType  = DataType{Kind: TinyInt}
	SmallIntType = DataType{Kind: SmallInt}
	IntType      = DataType{Kind: Int}
	BigIntType   = DataType{Kind: BigInt}
	FloatType    = DataType{Kind: Float}
	DoubleType   = DataType{Kind: Double}
	StringType   = DataType{Kind: Varchar, Length: MaxLength}
	BytesType    = DataType{Kind: Varbinary, Length: MaxLength}
	DateType     = DataType{Kind: Date}
	VariantType  = DataType{Kind: Variant}
)

func DecimalType(precision, scale int) DataType {
	return DataType{Kind: Decimal, Precision: precision, Scale: scale}
}
func CharType(n int) DataType      { return DataType{Kind: Char, Length: n} }
func VarcharType(n int) DataType   { return DataType{Kind: Varchar, Length: n} }
func BinaryType(n int) DataType    { return DataType{Kind: Binary, Length: n} }
func VarbinaryType(n int) DataType { return DataType{Kind: Varbinary, Length: n} }
func TimeType(p int) DataType      { return DataType{Kind: Time, Precision: p} }
func TimestampType(p int) DataType { return DataType{Kind: Timestamp, Precision: p} }
func TimestampLTZType(p int) DataType {
	return DataType{Kind: TimestampLTZ, Precision: p}
}
func IntervalDayTimeType() DataType   { return DataType{Kind: IntervalDayTime, Precision: 3} }
func IntervalYearMonthType() DataType { return DataType{Kind: IntervalYearMonth} }
func ArrayType(elem DataType) DataType {
	return DataType{Kind: Array, Elem: &elem}
}
func MultisetType(elem DataType) DataType {
	return DataType{Kind: Multiset, Elem: &elem}
}
func MapType(key, value DataType) DataType {
	return DataType{Kind: Map, Key: &key, Value: &value}
}
func RowType(fields ...Field) DataType { return DataType{Kind: Row, Fields: fields} }

// Nullable reports whether the type admits NULL.
func (t DataType) Nullable() bool { return !t.NotNull }

// WithNullable returns a copy with the given nullability.
func (t DataType) WithNullable(nullable bool) DataType {
	t.NotNull = !nullable
	return t
}

// WithTimeAttr returns a copy marked as a time attribute (or unmarked).
func (t DataType) WithTimeAttr(a TimeAttrKind) DataType {
	t.TimeAttr = a
	return t
}

// IsInteger reports TINYINT..BIGINT.
func (t DataType) IsInteger() bool { return t.Kind >= TinyInt && t.Kind <= BigInt }

// IsNumeric reports the exact and approximate numeric types.
func (t DataType) IsNumeric() bool { return t.Kind >= TinyInt && t.Kind <= Decimal }

// IsApprox reports FLOAT and DOUBLE.
func (t DataType) IsApprox() bool { return t.Kind == Float || t.Kind == Double }

// IsString reports CHAR and VARCHAR.
func (t DataType) IsString() bool { return t.Kind == Char || t.Kind == Varchar }

// IsBinary reports BINARY and VARBINARY.
func (t DataType) IsBinary() bool { return t.Kind == Binary || t.Kind == Varbinary }

// IsTimestamp reports TIMESTAMP and TIMESTAMP_LTZ.
func (t DataType) IsTimestamp() bool { return t.Kind == Timestamp || t.Kind == TimestampLTZ }

// IsTemporal reports DATE, TIME and the timestamps.
func (t DataType) IsTemporal() bool { return t.Kind == Date || t.Kind == Time || t.IsTimestamp() }

// IsInterval reports the two interval types.
func (t DataType) IsInterval() bool {
	return t.Kind == IntervalDayTime || t.Kind == IntervalYearMonth
}

// Equal compares types including nullability, ignoring time attribute marks
// and field descriptions.
func (t DataType) Equal(o DataType) bool {
	if t.Kind != o.Kind || t.NotNull != o.NotNull || t.Length != o.Length ||
		t.Precision != o.Precision || t.Scale != o.Scale || len(t.Fields) != len(o.Fields) {
		return false
	}
	if !ptrEqual(t.Elem, o.Elem) || !ptrEqual(t.Key, o.Key) || !ptrEqual(t.Value, o.Value) {
		return false
	}
	for i := range t.Fields {
		if t.Fields[i].Name != o.Fields[i].Name || !t.Fields[i].Type.Equal(o.Fields[i].Type) {
			return false
		}
	}
	return true
}

// EqualIgnoringNull compares types without regard to top-level nullability.
func (t DataType) EqualIgnoringNull(o DataType) bool {
	return t.WithNullable(true).Equal(o.WithNullable(true))
}

func ptrEqual(a, b *DataType) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

// String prints the type the way Flink's DESCRIBE does, e.g. "STRING",
// "DECIMAL(10, 2) NOT NULL", "TIMESTAMP(3) *ROWTIME*".
func (t DataType) String() string {
	var b strings.Builder
	t.write(&b)
	return b.String()
}

func (t DataType) write(b *strings.Builder) {
	switch t.Kind {
	case Varchar:
		if t.Length == MaxLength {
			b.WriteString("STRING")
		} else {
			fmt.Fprintf(b, "VARCHAR(%d)", t.Length)
		}
	case Varbinary:
		if t.Length == MaxLength {
			b.WriteString("BYTES")
		} else {
			fmt.Fprintf(b, "VARBINARY(%d)", t.Length)
		}
	case Char, Binary:
		fmt.Fprintf(b, "%s(%d)", t.Kind, t.Length)
	case Decimal:
		fmt.Fprintf(b, "DECIMAL(%d, %d)", t.Precision, t.Scale)
	case Time, Timestamp:
		fmt.Fprintf(b, "%s(%d)", t.Kind, t.Precision)
	case TimestampLTZ:
		fmt.Fprintf(b, "TIMESTAMP_LTZ(%d)", t.Precision)
	case Array, Multiset:
		fmt.Fprintf(b, "%s<", t.Kind)
		t.Elem.write(b)
		b.WriteString(">")
	case Map:
		b.WriteString("MAP<")
		t.Key.write(b)
		b.WriteString(", ")
		t.Value.write(b)
		b.WriteString(">")
	case Row:
		b.WriteString("ROW<")
		for i, f := range t.Fields {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(b, "`%s` ", strings.ReplaceAll(f.Name, "`", "``"))
			f.Type.write(b)
		}
		b.WriteString(">")
	default:
		b.WriteString(t.Kind.String())
	}
	if t.NotNull {
		b.WriteString(" NOT NULL")
	}
	switch t.TimeAttr {
	case RowtimeAttr:
		b.WriteString(" *ROWTIME*")
	case ProctimeAttr:
		b.WriteString(" *PROCTIME*")
	}
}

// Arrow returns the Arrow type that carries values of t. Strings are UTF-8
// (CHAR padding is not materialized), time-like types use the unit matching
// their precision, TIMESTAMP_LTZ carries a UTC zone, DAY-TIME intervals are
// millisecond durations as in Flink's internal representation.
func (t DataType) Arrow() arrow.DataType {
	switch t.Kind {
	case Null:
		return arrow.Null
	case Boolean:
		return arrow.FixedWidthTypes.Boolean
	case TinyInt:
		return arrow.PrimitiveTypes.Int8
	case SmallInt:
		return arrow.PrimitiveTypes.Int16
	case Int:
		return arrow.PrimitiveTypes.Int32
	case BigInt:
		return arrow.PrimitiveTypes.Int64
	case Float:
		return arrow.PrimitiveTypes.Float32
	case Double:
		return arrow.PrimitiveTypes.Float64
	case Decimal:
		return &arrow.Decimal128Type{Precision: int32(t.Precision), Scale: int32(t.Scale)}
	case Char, Varchar:
		return arrow.BinaryTypes.String
	case Binary, Varbinary:
		return arrow.BinaryTypes.Binary
	case Date:
		return arrow.FixedWidthTypes.Date32
	case Time:
		switch TimeUnitFor(t.Precision) {
		case arrow.Millisecond:
			return arrow.FixedWidthTypes.Time32ms
		case arrow.Microsecond:
			return arrow.FixedWidthTypes.Time64us
		default:
			return arrow.FixedWidthTypes.Time64ns
		}
	case Timestamp:
		return &arrow.TimestampType{Unit: TimeUnitFor(t.Precision)}
	case TimestampLTZ:
		return &arrow.TimestampType{Unit: TimeUnitFor(t.Precision), TimeZone: "UTC"}
	case IntervalDayTime:
		return arrow.FixedWidthTypes.Duration_ms
	case IntervalYearMonth:
		return arrow.FixedWidthTypes.MonthInterval
	case Array, Multiset:
		return arrow.ListOfField(arrow.Field{Name: "item", Type: t.Elem.Arrow(), Nullable: t.Elem.Nullable()})
	case Map:
		return arrow.ListOfField(arrow.Field{Name: "entries", Type: MapEntryType(*t.Key, *t.Value)})
	case Variant:
		// A VARIANT travels as its canonical JSON text: no insignificant
		// whitespace, object keys sorted and unique, numbers as written.
		// Flink's binary variant encoding would need its own Arrow
		// extension type; the canonical text keeps equality, hashing
		// (GROUP BY, COUNT DISTINCT, joins) and sink output byte-wise
		// correct on a plain utf8 column, and the logical type (not the
		// Arrow type) tells a VARIANT from a STRING everywhere above the
		// Arrow layer. SQL NULL is a null slot; a JSON null is the text
		// "null".
		return arrow.BinaryTypes.String
	case Row:
		fs := make([]arrow.Field, len(t.Fields))
		for i, f := range t.Fields {
			fs[i] = arrow.Field{Name: f.Name, Type: f.Type.Arrow(), Nullable: f.Type.Nullable()}
		}
		return arrow.StructOf(fs...)
	}
	panic(fmt.Sprintf("types: no Arrow mapping for %s", t.Kind))
}

// TimeUnitFor maps a fractional-second precision to the Arrow unit that
// holds it exactly.
func TimeUnitFor(precision int) arrow.TimeUnit {
	switch {
	case precision <= 3:
		return arrow.Millisecond
	case precision <= 6:
		return arrow.Microsecond
	default:
		return arrow.Nanosecond
	}
}

// Schema is the ordered, named columns of a table or of an operator's output.
type Schema struct {
	Columns []Column `json:"columns"`
}

// Column is one named, typed column of a Schema.
type Column struct {
	Name string   `json:"name"`
	Type DataType `json:"type"`
}

// Len is the number of columns.
func (s Schema) Len() int { return len(s.Columns) }

// Index finds a column by exact name, or -1.
func (s Schema) Index(name string) int {
	for i, c := range s.Columns {
		if c.Name == name {
			return i
		}
	}
	return -1
}

// Names lists the column names in order.
func (s Schema) Names() []string {
	names := make([]string, len(s.Columns))
	for i, c := range s.Columns {
		names[i] = c.Name
	}
	return names
}

// Arrow returns the Arrow schema of record batches that carry this schema.
func (s Schema) Arrow() *arrow.Schema {
	fs := make([]arrow.Field, len(s.Columns))
	for i, c := range s.Columns {
		fs[i] = arrow.Field{Name: c.Name, Type: c.Type.Arrow(), Nullable: c.Type.Nullable()}
	}
	return arrow.NewSchema(fs, nil)
}

// String prints the schema as a ROW type.
func (s Schema) String() string {
	fs := make([]Field, len(s.Columns))
	for i, c := range s.Columns {
		fs[i] = Field{Name: c.Name, Type: c.Type}
	}
	return RowType(fs...).String()
}
