package types

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestString(t *testing.T) {
	require.Equal(t, "STRING", StringType.String())
	require.Equal(t, "DECIMAL(10, 2) NOT NULL", DecimalType(10, 2).WithNullable(false).String())
	require.Equal(t, "TIMESTAMP(3) *ROWTIME*", TimestampType(3).WithTimeAttr(RowtimeAttr).String())
	require.Equal(t, "MAP<STRING, ARRAY<INT NOT NULL>>", MapType(StringType, ArrayType(IntType.WithNullable(false))).String())
	require.Equal(t, "ROW<`a` INT, `b` BYTES>", RowType(Field{Name: "a", Type: IntType}, Field{Name: "b", Type: BytesType}).String())
}

func TestArrow(t *testing.T) {
	require.Equal(t, "timestamp[ms]", TimestampType(3).Arrow().String())
	require.Equal(t, "timestamp[us]", TimestampType(6).Arrow().String())
	require.Equal(t, "timestamp[ns, tz=UTC]", TimestampLTZType(9).Arrow().String())
	require.Equal(t, "decimal(10, 2)", DecimalType(10, 2).Arrow().String())
	require.Equal(t, "utf8", CharType(3).Arrow().String())
	require.Equal(t, "list<item: int32, nullable>", ArrayType(IntType).Arrow().String())
}

func TestCommonType(t *testing.T) {
	for _, c := range []struct {
		a, b DataType
		want string
	}{
		{IntType.WithNullable(false), BigIntType.WithNullable(false), "BIGINT NOT NULL"},
		{IntType, DecimalType(5, 2), "DECIMAL(12, 2)"},
		{DecimalType(5, 2), DoubleType, "DOUBLE"},
		{CharType(3), VarcharType(10), "VARCHAR(10)"},
		{NullType, IntType.WithNullable(false), "INT"},
		{DateType, TimestampType(3), "TIMESTAMP(3)"},
		{TimestampType(3).WithTimeAttr(RowtimeAttr), TimestampType(6), "TIMESTAMP(6)"},
	} {
		got, ok := CommonType(c.a, c.b)
		require.True(t, ok, "%s, %s", c.a, c.b)
		require.Equal(t, c.want, got.String(), "%s, %s", c.a, c.b)
	}
	_, ok := CommonType(StringType, IntType)
	require.False(t, ok, "Flink does not widen strings to numbers implicitly")
}

func TestDecimalArithmetic(t *testing.T) {
	require.Equal(t, "DECIMAL(11, 2)", DecimalArithmetic('+', DecimalType(10, 2), DecimalType(5, 1)).String())
	require.Equal(t, "DECIMAL(15, 3)", DecimalArithmetic('*', DecimalType(10, 2), DecimalType(5, 1)).String())
	require.Equal(t, "DECIMAL(21, 13)", DecimalArithmetic('/', DecimalType(10, 2), IntType).String())
	require.Equal(t, "DECIMAL(38, 6)", DecimalArithmetic('*', DecimalType(38, 10), DecimalType(10, 0)).String())
}

func TestCasts(t *testing.T) {
	require.True(t, CanCast(StringType, IntType))
	require.True(t, CanCast(TimestampType(3), DateType))
	require.False(t, CanCast(DateType, IntType))
	require.True(t, CanImplicitCast(IntType, BigIntType))
	require.False(t, CanImplicitCast(BigIntType, IntType))
	require.False(t, CanImplicitCast(IntType, StringType))
}
