package agg

import (
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/eddysql/eddy/catalog/types"
)

// COLLECT(value) is Flink's multiset aggregate: the group's non-NULL
// values, each as often as it arrived, as a MULTISET, which is empty
// rather than NULL when every value was NULL. A MULTISET travels as an
// Arrow list, so COLLECT runs ARRAY_AGG's kernel told to skip NULLs and
// never to give NULL. A retraction removes one occurrence of its value, as
// Flink's CollectAggFunction decrements the value's count.

func init() {
	signatures["COLLECT"] = signature{1, 1, collectType}
}

// collectType: MULTISET<T> NOT NULL of the argument's type T, as Calcite
// types COLLECT.
func collectType(args []types.DataType) (types.DataType, error) {
	switch args[0].Kind {
	case types.Array, types.Map, types.Multiset, types.Row, types.Null:
		return types.DataType{}, fmt.Errorf("COLLECT of %s is not supported", args[0])
	}
	return types.MultisetType(args[0].WithTimeAttr(types.NoTimeAttr)).WithNullable(false), nil
}

// AppendEmptyResult appends to b the value of aggregate fn over no rows,
// which a global aggregate of an empty input emits: 0 for COUNT, an empty
// collection for COLLECT, '[]' and '{}' for the JSON aggregates (their
// results are NOT NULL in Flink), NULL for every other aggregate.
func AppendEmptyResult(b array.Builder, fn string) {
	switch x := b.(type) {
	case *array.Int64Builder:
		if strings.EqualFold(fn, "COUNT") {
			x.Append(0)
			return
		}
	case *array.ListBuilder:
		if strings.EqualFold(fn, "COLLECT") {
			x.Append(true)
			return
		}
	case *array.StringBuilder:
		switch strings.ToUpper(fn) {
		case jsonArrayAggNull, jsonArrayAggAbsent:
			x.Append("[]")
			return
		case jsonObjectAggNull, jsonObjectAggAbsent:
			x.Append("{}")
			return
		}
	}
	b.AppendNull()
}
