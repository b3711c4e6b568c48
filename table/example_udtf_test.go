package table_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/table"
)

type Sentence struct {
	ID   int64  `eddy:"id"`
	Text string `eddy:"text"`
}

var sampleSentences = []Sentence{{1, "to be or"}, {2, ""}, {3, "not"}}

// A Go func returning a slice is a table function: each input row joins
// the rows the func returns for it, in SQL with LATERAL TABLE and in the
// Table API with JoinLateral. A slice of structs gives one column per
// field.
func ExampleTable_JoinLateral() {
	ctx := context.Background()
	env := must(table.NewEnvironment(table.Settings{Mode: table.Batch}))
	type Word struct {
		Word   string `eddy:"word"`
		Length int32  `eddy:"length"`
	}
	err := env.CreateFunction("words", func(s string) []Word {
		var words []Word
		for _, w := range strings.Fields(s) {
			words = append(words, Word{w, int32(len(w))})
		}
		return words
	})
	if err != nil {
		panic(err)
	}
	if err := env.CreateTemporaryView("sentences", env.FromSlice(sampleSentences)); err != nil {
		panic(err)
	}
	fromSQL := env.SQLQuery("SELECT id, word, length FROM sentences, LATERAL TABLE(words(text)) WHERE length > 2")
	fmt.Println(must(must(fromSQL.Execute(ctx)).All(ctx)))
	// The left outer form keeps the sentence without words, with NULLs.
	fromGo := env.From("sentences").
		LeftOuterJoinLateral(table.Call("words", table.Col("text")).As("w", "n")).
		Select(table.Col("id"), table.Col("w"))
	fmt.Println(must(must(fromGo.Execute(ctx)).All(ctx)))
	// Output:
	// [+I[3 not 3]]
	// [+I[1 to] +I[1 be] +I[1 or] +I[2 <nil>] +I[3 not]]
}

// TableFunction works on Arrow arrays a batch at a time: parent maps each
// output row to the input row it came from.
func ExampleTableFunction() {
	ctx := context.Background()
	env := must(table.NewEnvironment(table.Settings{Mode: table.Batch}))
	err := env.CreateFunction("range_to", table.TableFunction{
		Params: []types.DataType{types.BigIntType},
		Result: []types.Field{{Name: "i", Type: types.BigIntType.WithNullable(false)}},
		Eval: func(args []arrow.Array, n int, mem memory.Allocator) ([]arrow.Array, []int32, error) {
			upTo := args[0].(*array.Int64)
			b := array.NewInt64Builder(mem)
			defer b.Release()
			var parent []int32
			for row := 0; row < n; row++ {
				for i := int64(1); upTo.IsValid(row) && i <= upTo.Value(row); i++ {
					b.Append(i)
					parent = append(parent, int32(row))
				}
			}
			return []arrow.Array{b.NewArray()}, parent, nil
		},
	})
	if err != nil {
		panic(err)
	}
	q := env.SQLQuery("SELECT x, i FROM (VALUES (CAST(2 AS BIGINT)), (0), (3)) AS v(x) CROSS JOIN LATERAL TABLE(range_to(x))")
	fmt.Println(must(must(q.Execute(ctx)).All(ctx)))
	fmt.Println(must(must(env.SQLQuery("SELECT * FROM TABLE(range_to(2)) AS t(k)").Execute(ctx)).All(ctx)))
	// Output:
	// [+I[2 1] +I[2 2] +I[3 1] +I[3 2] +I[3 3]]
	// [+I[1] +I[2]]
}
