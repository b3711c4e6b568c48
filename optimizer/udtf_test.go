package optimizer_test

import (
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/expr"
)

// The table function testdata/udtf plans: split_words(line STRING) gives
// the rows (word STRING, length INT NOT NULL) of a line's words.
func init() {
	err := expr.RegisterTableFunction(expr.TableFunction{
		Name:    "split_words",
		Params:  []types.DataType{types.StringType},
		Columns: []types.Field{{Name: "word", Type: types.StringType}, {Name: "length", Type: types.IntType.WithNullable(false)}},
		Eval: func(args []arrow.Array, n int, mem memory.Allocator) ([]arrow.Array, []int32, error) {
			lines := args[0].(*array.String)
			words, lens := array.NewStringBuilder(mem), array.NewInt32Builder(mem)
			defer words.Release()
			defer lens.Release()
			var parent []int32
			for i := 0; i < n; i++ {
				for _, w := range strings.Fields(lines.Value(i)) {
					words.Append(w)
					lens.Append(int32(len(w)))
					parent = append(parent, int32(i))
				}
			}
			return []arrow.Array{words.NewArray(), lens.NewArray()}, parent, nil
		},
	})
	if err != nil {
		panic(err)
	}
}
