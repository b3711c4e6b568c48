package jdbc

import (
	"encoding/binary"
	"fmt"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/table/connector/connectortest"
)

func info(opts ...string) connector.TableInfo {
	t := connector.TableInfo{Name: "t", Schema: types.Schema{Columns: []types.Column{
		{Name: "id", Type: types.DataType{Kind: types.BigInt}},
		{Name: "name", Type: types.VarcharType(types.MaxLength)},
	}}, Options: map[string]string{"connector": "jdbc", "url": "jdbc:postgresql://db:5433/shop", "table-name": "orders"}}
	for i := 0; i < len(opts); i += 2 {
		if opts[i+1] == "" {
			delete(t.Options, opts[i])
			continue
		}
		t.Options[opts[i]] = opts[i+1]
	}
	return t
}

func TestFactory(t *testing.T) {
	connectortest.CheckFactory(t, Factory{})
}

func TestConfig(t *testing.T) {
	c, err := parseConfig(info("url", "jdbc:postgresql://h1:6000,h2/my%20db?user=u&password=secret&sslmode=disable&ApplicationName=app&currentSchema=s1&connectTimeout=3",
		"table-name", "Sales.Order"))
	require.NoError(t, err)
	require.Equal(t, "my db", c.conn.Database)
	require.Equal(t, "u", c.conn.User)
	require.Equal(t, "secret", c.conn.Password)
	require.Equal(t, "h1", c.conn.Host)
	require.Equal(t, uint16(6000), c.conn.Port)
	require.Len(t, c.conn.Fallbacks, 1)
	require.Equal(t, "h2", c.conn.Fallbacks[0].Host)
	require.Equal(t, "app", c.conn.RuntimeParams["application_name"])
	require.Equal(t, "s1", c.conn.RuntimeParams["search_path"])
	require.Nil(t, c.conn.TLSConfig)
	require.NotContains(t, c.url, "secret")
	// Plain names fold to lower case as PostgreSQL folds Flink's
	// unquoted ones, and are quoted so that keywords work.
	require.Equal(t, `"sales"."order"`, c.target)
	require.Equal(t, 100, c.flushRows)
	require.Equal(t, 3, c.sinkRetries)

	c, err = parseConfig(info("url", "jdbc:postgresql:shop", "username", "u", "password", "p"))
	require.NoError(t, err)
	require.Equal(t, "localhost", c.conn.Host)
	require.Equal(t, "shop", c.conn.Database)
	require.Equal(t, "u", c.conn.User)
	require.Equal(t, "p", c.conn.Password)
	require.Equal(t, `"weird Name"`, quoteIdent("weird Name"))
	require.Equal(t, `"a""b"`, quoteIdent(`a"b`))
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		opts []string
		err  string
	}{
		{[]string{"url", "jdbc:mysql://db:3306/shop"}, "supports PostgreSQL only"},
		{[]string{"url", ""}, "missing required option 'url'"},
		{[]string{"table-name", ""}, "missing required option 'table-name'"},
		{[]string{"driver", "com.mysql.cj.jdbc.Driver"}, "driver 'com.mysql.cj.jdbc.Driver' is not supported"},
		{[]string{"driver", "org.postgresql.Driver"}, ""},
		{[]string{"username", "u"}, "set both 'username' and 'password'"},
		{[]string{"url", "jdbc:postgresql://db/shop?loginTimeout=3"}, "url parameter 'loginTimeout' is not supported"},
		{[]string{"scan.partition.column", "id"}, "must all be set"},
		{[]string{"scan.partition.column", "id", "scan.partition.num", "0", "scan.partition.lower-bound", "1", "scan.partition.upper-bound", "9"}, "must be positive"},
		{[]string{"scan.partition.column", "id", "scan.partition.num", "2", "scan.partition.lower-bound", "10", "scan.partition.upper-bound", "9"}, "must not be larger"},
		{[]string{"scan.partition.column", "name", "scan.partition.num", "2", "scan.partition.lower-bound", "1", "scan.partition.upper-bound", "9"}, "names column 'name' of type STRING; a partitioned scan needs a numeric column"},
		{[]string{"lookup.cache", "PARTIAL"}, "loads the whole lookup table"},
		{[]string{"lookup.partial-cache.max-rows", "100"}, "'lookup.partial-cache.max-rows' is not supported"},
		{[]string{"lookup.cache.ttl", "10s"}, "'lookup.cache.ttl' is not supported"},
		{[]string{"lookup.max-retries", "5"}, ""},
		{[]string{"connection.max-retry-timeout", "500ms"}, "at least 1 s"},
		{[]string{"sink.buffer-flush.max-rows", "-1"}, "must not be negative"},
		{[]string{"compatible-mode", "x"}, "unsupported option 'compatible-mode'"},
		{[]string{"scan.fetch-size", "100", "scan.auto-commit", "false", "sink.parallelism", "2"}, ""},
	} {
		t.Run(strings.Join(tc.opts, "="), func(t *testing.T) {
			_, err := Factory{}.ValidateSource(info(tc.opts...))
			if tc.err == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.err)
		})
	}
	tbl := info()
	tbl.Schema.Columns = append(tbl.Schema.Columns, types.Column{Name: "m", Type: types.MapType(types.DataType{Kind: types.Int}, types.DataType{Kind: types.Int})})
	_, err := Factory{}.ValidateSink(tbl)
	require.ErrorContains(t, err, "column 'm' of table 't' has type MAP<INT, INT>, which has no PostgreSQL counterpart")
}

func TestSinkProperties(t *testing.T) {
	p, err := Factory{}.ValidateSink(info())
	require.NoError(t, err)
	require.False(t, p.AcceptsUpdates, "append mode without a primary key")
	tbl := info()
	tbl.PrimaryKey = []string{"id"}
	p, err = Factory{}.ValidateSink(tbl)
	require.NoError(t, err)
	require.True(t, p.AcceptsUpdates)
	require.True(t, p.DeletesByKey)
}

// TestPartitionRanges checks the split against Flink's
// JdbcNumericBetweenParametersProvider(min, max).ofBatchNum(n).
func TestPartitionRanges(t *testing.T) {
	for _, tc := range []struct {
		lower, upper int64
		num          int
		want         string
	}{
		{0, 9, 3, "[[0 3] [4 6] [7 9]]"},
		{1, 10, 5, "[[1 2] [3 4] [5 6] [7 8] [9 10]]"},
		{-5, 5, 4, "[[-5 -3] [-2 0] [1 3] [4 5]]"},
		{1, 2, 5, "[[1 1] [2 2]]"},
		{7, 7, 1, "[[7 7]]"},
		{0, 1000, 7, "[[0 142] [143 285] [286 428] [429 571] [572 714] [715 857] [858 1000]]"},
		{0, 999, 7, "[[0 142] [143 285] [286 428] [429 571] [572 714] [715 857] [858 999]]"},
	} {
		p := &partition{lower: tc.lower, upper: tc.upper, num: tc.num}
		require.Equal(t, tc.want, fmt.Sprint(p.ranges()), "%d..%d in %d", tc.lower, tc.upper, tc.num)
	}
}

// TestNumeric round-trips DECIMAL values through PostgreSQL's binary
// numeric and decodes numerics of other scales and sizes.
func TestNumeric(t *testing.T) {
	for _, tc := range []struct {
		v    string
		p, s int32
	}{
		{"0", 10, 0}, {"0.00", 10, 2}, {"1", 1, 0}, {"-1.5", 5, 1}, {"12345.6789", 20, 4},
		{"0.00001", 10, 5}, {"-99999999999999999999999999999999999999", 38, 0},
		{"99999999999999999999.999999999999999999", 38, 18}, {"10000", 5, 0}, {"123.45", 12, 7},
		{"-0.1", 3, 3},
	} {
		n, err := decimal128.FromString(tc.v, tc.p, tc.s)
		require.NoError(t, err, tc.v)
		enc := appendNumeric(nil, n, tc.s)
		got, err := decodeNumeric(enc, tc.p, tc.s)
		require.NoError(t, err, tc.v)
		require.Equal(t, n.ToString(tc.s), got.ToString(tc.s), tc.v)
	}
	// 1234.5678 read as DECIMAL(6, 2) rounds half up; as DECIMAL(5, 2)
	// it does not fit.
	n, _ := decimal128.FromString("1234.5678", 8, 4)
	enc := appendNumeric(nil, n, 4)
	got, err := decodeNumeric(enc, 6, 2)
	require.NoError(t, err)
	require.Equal(t, "1234.57", got.ToString(2))
	_, err = decodeNumeric(enc, 5, 2)
	require.ErrorContains(t, err, "does not fit DECIMAL(5, 2)")
	// More than nine base-10000 digits take the big.Int path.
	bi, _ := new(big.Int).SetString("1234567890123456789012345678901234567", 10)
	n = decimal128.FromBigInt(bi)
	enc = appendNumeric(nil, n, 1)
	got, err = decodeNumeric(enc, 38, 2)
	require.NoError(t, err)
	require.Equal(t, n.IncreaseScaleBy(1).ToString(2), got.ToString(2))
}

// TestNumericFastPath compares the 128-bit decoding of random numerics
// with math/big's, rounding and overflow included.
func TestNumericFastPath(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		nd := rng.IntN(10)
		v := make([]byte, 8, 8+2*nd)
		weight := rng.IntN(14) - 8
		sgn := uint16(numericPos)
		if rng.IntN(2) == 0 {
			sgn = numericNeg
		}
		binary.BigEndian.PutUint16(v, uint16(nd))
		binary.BigEndian.PutUint16(v[2:], uint16(int16(weight)))
		binary.BigEndian.PutUint16(v[4:], sgn)
		for range nd {
			v = binary.BigEndian.AppendUint16(v, uint16(rng.IntN(10000)))
		}
		p := int32(1 + rng.IntN(38))
		s := int32(rng.IntN(int(p) + 1))
		got, err := decodeNumeric(v, p, s)
		want, wantErr := decodeNumericBig(v[8:], nd, 4*(weight-nd+1), sgn, p, s)
		if wantErr != nil {
			require.Error(t, err, "%x as DECIMAL(%d, %d)", v, p, s)
			continue
		}
		require.NoError(t, err, "%x as DECIMAL(%d, %d)", v, p, s)
		require.Equal(t, want.ToString(s), got.ToString(s), "%x as DECIMAL(%d, %d)", v, p, s)
	}
}

func TestTypeMapping(t *testing.T) {
	str := types.VarcharType(types.MaxLength)
	require.True(t, readable(oidInt4, str), "any type reads as text")
	require.True(t, textual(oidInt4, str))
	require.False(t, textual(oidBpchar, str))
	require.True(t, readable(1009, types.ArrayType(str)))
	require.False(t, readable(1007, types.ArrayType(str)), "array elements arrive in binary")
	require.True(t, readable(oidInt2, types.DataType{Kind: types.BigInt}))
	require.False(t, readable(oidInt8, types.DataType{Kind: types.Int}))
	require.False(t, readable(oidTimestamptz, types.TimestampType(6)))
	require.True(t, writable(types.DataType{Kind: types.Int}, oidInt8))
	require.False(t, writable(types.DataType{Kind: types.BigInt}, oidInt4))
	require.False(t, writable(types.DataType{Kind: types.Double}, oidFloat4))
	require.True(t, writable(types.DecimalType(10, 2), oidNumeric))
	require.True(t, writable(types.ArrayType(types.DataType{Kind: types.Int}), 1016))
	require.False(t, writable(types.ArrayType(types.DataType{Kind: types.BigInt}), 1007))
	require.True(t, writable(str, oidJSONB))
	require.False(t, writable(str, oidName))
	require.False(t, writable(str, 2950), "uuid")
}
