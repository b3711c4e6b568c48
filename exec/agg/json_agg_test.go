package agg

import (
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/catalog/types"
)

// TestJSONAggs accumulates and retracts rows of two groups through each
// JSON aggregate, snapshots the groups in the middle, and checks that the
// restored state continues exactly as the original.
func TestJSONAggs(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	in := []arrow.DataType{arrow.BinaryTypes.String, arrow.BinaryTypes.String}
	// batch builds rows of (key, JSON text of the value); "-" is NULL.
	batch := func(rows [][2]string) arrow.RecordBatch {
		fields := []arrow.Field{{Name: "k", Type: in[0], Nullable: true}, {Name: "v", Type: in[1], Nullable: true}}
		b := array.NewRecordBuilder(mem, arrow.NewSchema(fields, nil))
		defer b.Release()
		for _, r := range rows {
			for j, s := range r {
				if s == "-" {
					b.Field(j).AppendNull()
				} else {
					b.Field(j).(*array.StringBuilder).Append(s)
				}
			}
		}
		return b.NewRecordBatch()
	}
	run := func(st *State, b arrow.RecordBatch, slots []int32, retract []bool) string {
		st.Update(b, slots, retract)
		rows := make([]int32, len(slots))
		for i := range rows {
			rows[i] = int32(i)
		}
		col := st.Build(mem, rows, make([]bool, len(rows)))
		defer col.Release()
		out := make([]string, col.Len())
		for i := range out {
			out[i] = col.(*array.String).Value(i)
		}
		return strings.Join(out, " | ")
	}
	b1 := batch([][2]string{{"a", "1"}, {"b", `"x"`}, {"c", "-"}, {"d", "[1,2]"}})
	defer b1.Release()
	b2 := batch([][2]string{{"a", "1"}, {"e", "-"}, {"b", `"y"`}})
	defer b2.Release()
	for _, tc := range []struct {
		fn          string
		args        []int
		first, then string
	}{
		{jsonArrayAggAbsent, []int{1},
			`[1] | ["x"] | [1] | ["x",[1,2]]`,
			`[] | [] | ["x",[1,2],"y"]`},
		{jsonArrayAggNull, []int{1},
			`[1] | ["x"] | [1,null] | ["x",[1,2]]`,
			`[null] | [null,null] | ["x",[1,2],"y"]`},
		{jsonObjectAggNull, []int{0, 1},
			`{"a":1} | {"b":"x"} | {"a":1,"c":null} | {"b":"x","d":[1,2]}`,
			`{"c":null} | {"c":null,"e":null} | {"b":"x","d":[1,2]}`},
		{jsonObjectAggAbsent, []int{0, 1},
			`{"a":1} | {"b":"x"} | {"a":1} | {"b":"x","d":[1,2]}`,
			`{} | {} | {"b":"x","d":[1,2]}`},
	} {
		t.Run(tc.fn, func(t *testing.T) {
			args := make([]types.DataType, len(tc.args))
			for i := range args {
				args[i] = types.StringType
			}
			rt, err := ResultType(tc.fn, args)
			require.NoError(t, err)
			call := Call{Func: tc.fn, Args: tc.args, Filter: -1, Type: rt}
			st, err := NewState(call, in, true)
			require.NoError(t, err)
			st.Grow(2)
			require.Equal(t, tc.first, run(st, b1, []int32{0, 1, 0, 1}, make([]bool, 4)))

			restored, err := NewState(call, in, true)
			require.NoError(t, err)
			restored.Grow(2)
			for s := int32(0); s < 2; s++ {
				rest, err := restored.ReadState(st.AppendState(nil, s), s)
				require.NoError(t, err)
				require.Empty(t, rest)
			}
			// The second batch retracts a, then adds e to group 0 and
			// b again to group 1: JSON_ARRAYAGG appends it, JSON_OBJECTAGG
			// refuses the duplicate key (Flink fails the job) and keeps
			// the group as it was.
			retract := []bool{true, false, false}
			slots := []int32{0, 0, 1}
			require.Equal(t, tc.then, run(st, b2, slots, retract))
			require.Equal(t, tc.then, run(restored, b2, slots, retract))
			for _, s := range []*State{st, restored} {
				if err := s.Err(); len(tc.args) == 2 {
					require.EqualError(t, err, "duplicate key 'b' in JSON_OBJECTAGG")
				} else {
					require.NoError(t, err)
				}
				require.NoError(t, s.Err(), "Err forgets the error it returned")
			}
		})
	}
}
