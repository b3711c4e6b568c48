package expr

import (
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/eddysql/eddy/catalog/types"
)

// PostgreSQL's object size functions, which psql's \dt+, \dv+, \di+ and
// \d+ print: pg_table_size(oid), pg_relation_size(oid) and
// pg_total_relation_size(oid) are 0, since Eddy stores no table's data
// itself (its tables are views of their connectors' systems), and
// pg_size_pretty(bytes) prints a size as PostgreSQL 15 does.
func init() {
	for _, name := range []string{"PG_TABLE_SIZE", "PG_RELATION_SIZE", "PG_TOTAL_RELATION_SIZE", "PG_INDEXES_SIZE"} {
		register(&funcDef{name: name, resolve: func(name string, args []Expr) (Expr, error) {
			if err := arity(name, args, 1, 1); err != nil {
				return nil, err
			}
			return NewLiteral(int64(0), types.BigIntType.WithNullable(false)), nil
		}})
	}
	register(&funcDef{name: "PG_SIZE_PRETTY", resolve: fixedSig(types.StringType, false, types.BigIntType), compile: compileSizePretty})
}

// sizeUnits are PostgreSQL 15's units of pg_size_pretty (dbsize.c): a
// size is printed in the first unit whose limit it is below, rounded
// half away from zero in all but bytes.
var sizeUnits = []struct {
	name     string
	limit    int64
	round    bool
	unitBits uint
}{
	{"bytes", 10 * 1024, false, 0},
	{"kB", 20*1024 - 1, true, 10},
	{"MB", 20*1024 - 1, true, 20},
	{"GB", 20*1024 - 1, true, 30},
	{"TB", 20*1024 - 1, true, 40},
	{"PB", 20*1024 - 1, true, 50},
}

func compileSizePretty(c *compiler, call *Call) (Evaluator, error) {
	return newStrEval(c, call, func(args []arrow.Array) rowFn {
		size := intAt(args[0])
		return func(d []byte, i int) ([]byte, bool) { return appendSizePretty(d, size(i)), true }
	}, false)
}

// appendSizePretty appends size as PostgreSQL 15's pg_size_pretty(bigint)
// prints it: 10239 bytes, 10 kB, 20 MB ...; each step keeps one more bit
// than the next unit needs, for the rounding.
func appendSizePretty(d []byte, size int64) []byte {
	for i, u := range sizeUnits {
		last := i == len(sizeUnits)-1
		if last || abs64(size) < u.limit {
			if u.round {
				size = halfRounded(size)
			}
			d = strconv.AppendInt(d, size, 10)
			return append(append(d, ' '), u.name...)
		}
		next := sizeUnits[i+1]
		bits := next.unitBits - u.unitBits
		if next.round {
			bits--
		}
		if u.round {
			bits++
		}
		size /= int64(1) << bits
	}
	return d
}

// halfRounded halves a size kept with one extra bit, rounding half away
// from zero, as PostgreSQL's half_rounded.
func halfRounded(v int64) int64 {
	if v < 0 {
		return (v - 1) / 2
	}
	return (v + 1) / 2
}
