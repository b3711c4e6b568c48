package planner

import (
	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/sql"
)

// resolveType turns a type as written into a logical type, applying Flink's
// defaults for omitted parameters and checking their ranges.
func (s source) resolveType(t *sql.TypeName) (types.DataType, error) {
	param := func(i, def int) int {
		if i < len(t.Params) {
			return t.Params[i]
		}
		return def
	}
	bad := func(format string, args ...any) (types.DataType, error) {
		return types.DataType{}, s.errAt(errs.DatatypeMismatch, t, format, args...)
	}
	if len(t.Params) > 2 || (len(t.Params) == 2 && t.Name != "DECIMAL") {
		return bad("too many parameters for type %s", t.Name)
	}
	var dt types.DataType
	switch t.Name {
	case "BOOLEAN":
		dt = types.BooleanType
	case "TINYINT":
		dt = types.TinyIntType
	case "SMALLINT":
		dt = types.SmallIntType
	case "INT":
		dt = types.IntType
	case "BIGINT":
		dt = types.BigIntType
	case "FLOAT":
		dt = types.FloatType
	case "DOUBLE":
		dt = types.DoubleType
	case "DECIMAL":
		p, sc := param(0, 10), param(1, 0)
		if p < 1 || p > types.MaxDecimalPrecision {
			return bad("DECIMAL precision must be between 1 and %d", types.MaxDecimalPrecision)
		}
		if sc < 0 || sc > p {
			return bad("DECIMAL scale must be between 0 and the precision %d", p)
		}
		dt = types.DecimalType(p, sc)
	case "CHAR", "VARCHAR", "BINARY", "VARBINARY":
		// Flink SQL (FlinkTypeSystem.getDefaultPrecision) defaults CHAR and
		// BINARY to length 1 but VARCHAR and VARBINARY to the maximum: a
		// bare VARCHAR is STRING, not VARCHAR(1).
		def := 1
		if t.Name == "VARCHAR" || t.Name == "VARBINARY" {
			def = types.MaxLength
		}
		n := param(0, def)
		if n < 1 {
			return bad("%s length must be at least 1", t.Name)
		}
		dt = map[string]func(int) types.DataType{
			"CHAR": types.CharType, "VARCHAR": types.VarcharType,
			"BINARY": types.BinaryType, "VARBINARY": types.VarbinaryType,
		}[t.Name](n)
	case "STRING":
		dt = types.StringType
	case "BYTES":
		dt = types.BytesType
	case "DATE":
		dt = types.DateType
	case "VARIANT":
		dt = types.VariantType
	case "TIME", "TIMESTAMP", "TIMESTAMP_LTZ":
		def := 6
		if t.Name == "TIME" {
			def = 0
		}
		p := param(0, def)
		if p < 0 || p > 9 {
			return bad("%s precision must be between 0 and 9", t.Name)
		}
		dt = map[string]func(int) types.DataType{
			"TIME": types.TimeType, "TIMESTAMP": types.TimestampType, "TIMESTAMP_LTZ": types.TimestampLTZType,
		}[t.Name](p)
	case "ARRAY", "MULTISET":
		elem, err := s.resolveType(t.Elem)
		if err != nil {
			return types.DataType{}, err
		}
		if t.Name == "ARRAY" {
			dt = types.ArrayType(elem)
		} else {
			dt = types.MultisetType(elem)
		}
	case "MAP":
		k, err := s.resolveType(t.Key)
		if err != nil {
			return types.DataType{}, err
		}
		v, err := s.resolveType(t.Value)
		if err != nil {
			return types.DataType{}, err
		}
		dt = types.MapType(k, v)
	case "ROW":
		fields := make([]types.Field, len(t.Fields))
		seen := map[string]bool{}
		for i, f := range t.Fields {
			if seen[f.Name] {
				return bad("duplicate field name %q in ROW type", f.Name)
			}
			seen[f.Name] = true
			ft, err := s.resolveType(f.Type)
			if err != nil {
				return types.DataType{}, err
			}
			fields[i] = types.Field{Name: f.Name, Type: ft, Description: f.Comment}
		}
		dt = types.RowType(fields...)
	case "INTERVAL":
		switch t.FromUnit {
		case "YEAR", "MONTH":
			dt = types.IntervalYearMonthType()
		default:
			dt = types.IntervalDayTimeType()
		}
	case "NULL":
		dt = types.NullType
	default:
		return bad("unknown type %s", t.Name)
	}
	return dt.WithNullable(!t.NotNull), nil
}
