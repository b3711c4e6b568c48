package types

import "strconv"

// PostgreSQL clients see Eddy's types as PostgreSQL's built-in types: the
// wire protocol describes result columns by pg_type OID and type modifier,
// and pg_catalog (pg_type, pg_attribute, format_type) lists them. This
// table is the one place the correspondence is written down.

// PGType is one PostgreSQL built-in type Eddy's values travel as.
type PGType struct {
	OID uint32
	// Name is pg_type.typname; SQLName is what format_type prints.
	Name, SQLName string
	// Len is pg_type.typlen (-1: variable length).
	Len int16
	// Collatable types (the string types) have typcollation 100, the
	// default collation.
	Collatable bool
}

// PostgreSQL's OIDs of the types in PGTypes.
const (
	PGBool        = 16
	PGBytea       = 17
	PGChar        = 18
	PGName        = 19
	PGInt8        = 20
	PGInt2        = 21
	PGInt4        = 23
	PGText        = 25
	PGOid         = 26
	PGFloat4      = 700
	PGFloat8      = 701
	PGUnknown     = 705
	PGBpchar      = 1042
	PGVarchar     = 1043
	PGDate        = 1082
	PGTime        = 1083
	PGTimestamp   = 1114
	PGTimestamptz = 1184
	PGInterval    = 1186
	PGNumeric     = 1700
)

// PGTypes lists the built-in types pg_type shows, by OID.
var PGTypes = []PGType{
	{PGBool, "bool", "boolean", 1, false},
	{PGBytea, "bytea", "bytea", -1, false},
	{PGChar, "char", `"char"`, 1, true},
	{PGName, "name", "name", 64, true},
	{PGInt8, "int8", "bigint", 8, false},
	{PGInt2, "int2", "smallint", 2, false},
	{PGInt4, "int4", "integer", 4, false},
	{PGText, "text", "text", -1, true},
	{PGOid, "oid", "oid", 4, false},
	{PGFloat4, "float4", "real", 4, false},
	{PGFloat8, "float8", "double precision", 8, false},
	{PGBpchar, "bpchar", "character", -1, true},
	{PGVarchar, "varchar", "character varying", -1, true},
	{PGDate, "date", "date", 4, false},
	{PGTime, "time", "time without time zone", 8, false},
	{PGTimestamp, "timestamp", "timestamp without time zone", 8, false},
	{PGTimestamptz, "timestamptz", "timestamp with time zone", 8, false},
	{PGInterval, "interval", "interval", 16, false},
	{PGNumeric, "numeric", "numeric", -1, false},
}

// PGTypeByOID returns the built-in type with that OID.
func PGTypeByOID(oid int64) (PGType, bool) {
	for _, t := range PGTypes {
		if int64(t.OID) == oid {
			return t, true
		}
	}
	return PGType{}, false
}

// PGTypeOf is how a value of type t is described to PostgreSQL clients:
// the OID of its PostgreSQL type, pg_type.typlen and the type modifier
// (atttypmod: -1 for none, else the length, precision and scale as
// PostgreSQL encodes them).
func PGTypeOf(t DataType) (oid uint32, size int16, mod int32) {
	switch t.Kind {
	case Boolean:
		return PGBool, 1, -1
	case TinyInt, SmallInt:
		return PGInt2, 2, -1
	case Int:
		return PGInt4, 4, -1
	case BigInt:
		return PGInt8, 8, -1
	case Float:
		return PGFloat4, 4, -1
	case Double:
		return PGFloat8, 8, -1
	case Decimal:
		return PGNumeric, -1, int32(t.Precision<<16|t.Scale) + 4
	case Char:
		return PGBpchar, -1, int32(t.Length) + 4
	case Varchar:
		if t.Length >= MaxLength {
			return PGText, -1, -1
		}
		return PGVarchar, -1, int32(t.Length) + 4
	case Binary, Varbinary:
		return PGBytea, -1, -1
	case Date:
		return PGDate, 4, -1
	case Time:
		return PGTime, 8, int32(t.Precision)
	case Timestamp:
		return PGTimestamp, 8, int32(t.Precision)
	case TimestampLTZ:
		return PGTimestamptz, 8, int32(t.Precision)
	case IntervalDayTime, IntervalYearMonth:
		return PGInterval, 16, -1
	}
	// NULL, arrays, maps and rows travel as their text form.
	return PGText, -1, -1
}

// PGFormatType is PostgreSQL's format_type(oid, typmod): the SQL name of
// a type with its modifier ("character varying(10)", "numeric(10,2)",
// "timestamp(3) without time zone"); typmod < 0 means none. An OID that
// names no type prints as "???", as PostgreSQL does.
func PGFormatType(oid, typmod int64) string {
	t, ok := PGTypeByOID(oid)
	if !ok {
		return "???"
	}
	if typmod < 0 {
		return t.SQLName
	}
	switch oid {
	case PGBpchar, PGVarchar:
		return t.SQLName + "(" + strconv.FormatInt(typmod-4, 10) + ")"
	case PGNumeric:
		m := typmod - 4
		return "numeric(" + strconv.FormatInt(m>>16, 10) + "," + strconv.FormatInt(m&0xffff, 10) + ")"
	case PGTime:
		return "time(" + strconv.FormatInt(typmod, 10) + ") without time zone"
	case PGTimestamp:
		return "timestamp(" + strconv.FormatInt(typmod, 10) + ") without time zone"
	case PGTimestamptz:
		return "timestamp(" + strconv.FormatInt(typmod, 10) + ") with time zone"
	}
	return t.SQLName
}
