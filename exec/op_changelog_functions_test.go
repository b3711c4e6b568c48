package exec

import (
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/cockroachdb/datadriven"
	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
)

// TestChangelogFunctions runs the scripts in testdata/changelog_functions
// with the row operators' harness (see TestRowOperators for its commands).
// The first command creates the operator; its input block is the input
// schema:
//
//	to-changelog columns=(-1,0,1) codes=(INSERT,-,UPDATE_AFTER,DELETE) [null-on-delete=(2)] [insert-only-input]
//	from-changelog columns=(0,2) op=1 kinds=(c:INSERT,d:DELETE) [skip] [insert-only]
//
// codes lists the op code of each row kind (+I, -U, +U, -D), - for none;
// the op column (-1 in columns) is a STRING. Scripts are replayed as
// replayScripts describes.
func TestChangelogFunctions(t *testing.T) {
	replayRowOperatorScripts(t, []string{"changelog_functions"}, runChangelogFunction)
}

func runChangelogFunction(t *testing.T, h *rowOpHarness, d *datadriven.TestData) string {
	ints := func(key string) []int { return intsArg(t, d, key) }
	switch d.Cmd {
	case "to-changelog":
		h.close(t)
		in := gaParseSchema(t, strings.TrimSpace(d.Input))
		s := ToChangelogSpec{Columns: ints("columns"), NullOnDelete: ints("null-on-delete"), InputChangelog: !d.HasArg("insert-only-input")}
		var codes []string
		d.ScanArgs(t, "codes", &codes)
		require.Len(t, codes, 4)
		for k, c := range codes {
			if c != "-" {
				s.Codes[k] = &c
			}
		}
		var out types.Schema
		for i, c := range s.Columns {
			col := types.Column{Name: "op", Type: types.StringType}
			if c >= 0 && c < in.Len() {
				col = in.Columns[c]
			}
			for _, n := range s.NullOnDelete {
				if n == i {
					col.Type = col.Type.WithNullable(true)
				}
			}
			out.Columns = append(out.Columns, col)
		}
		h.cl = s.InputChangelog
		h.input = BatchSchema(in, h.cl)
		h.spec = OperatorSpec{Kind: KindToChangelog, Name: d.Cmd, Schema: out, Spec: mustJSON(t, s)}
	case "from-changelog":
		h.close(t)
		in := gaParseSchema(t, strings.TrimSpace(d.Input))
		s := FromChangelogSpec{Columns: ints("columns"), SkipInvalid: d.HasArg("skip"), Kinds: map[string]int8{}}
		d.ScanArgs(t, "op", &s.OpCol)
		var kinds []string
		d.ScanArgs(t, "kinds", &kinds)
		names := map[string]connector.RowKind{"INSERT": connector.Insert, "UPDATE_BEFORE": connector.UpdateBefore,
			"UPDATE_AFTER": connector.UpdateAfter, "DELETE": connector.Delete, "BAD": 9}
		for _, kv := range kinds {
			code, name, _ := strings.Cut(kv, ":")
			s.Kinds[code] = int8(names[name])
		}
		var out types.Schema
		for _, c := range s.Columns {
			if c < in.Len() {
				out.Columns = append(out.Columns, in.Columns[c])
			}
		}
		h.cl = false
		h.input = BatchSchema(in, false)
		h.spec = OperatorSpec{Kind: KindFromChangelog, Name: d.Cmd, Schema: out, Changelog: !d.HasArg("insert-only"), Spec: mustJSON(t, s)}
	default:
		return h.run(t, d)
	}
	return h.start()
}

// TestNullWhereSliced nulls rows of arrays that start at an offset into
// their buffers, with and without nulls of their own.
func TestNullWhereSliced(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	sb := array.NewStringBuilder(mem)
	defer sb.Release()
	sb.AppendValues([]string{"a", "b", "c", "d", "e", "f"}, []bool{true, true, false, true, true, true})
	strs := sb.NewArray()
	defer strs.Release()
	ib := array.NewInt64Builder(mem)
	defer ib.Release()
	ib.AppendValues([]int64{1, 2, 3, 4, 5, 6}, nil)
	ints := ib.NewArray()
	defer ints.Release()
	kinds := []int8{3, 0, 3, 2}
	for _, tc := range []struct {
		col  arrow.Array
		want string
	}{
		{strs, `[(null) "d" (null) "f"]`},
		{ints, `[(null) 4 (null) 6]`},
	} {
		sliced := array.NewSlice(tc.col, 2, 6)
		got := nullWhere(mem, sliced, kinds, int8(connector.Delete))
		require.Equal(t, tc.want, got.String())
		got.Release()
		sliced.Release()
	}
}
