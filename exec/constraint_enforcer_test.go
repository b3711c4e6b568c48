package exec

import (
	"bytes"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/internal/errs"
)

// TestConstraintEnforcer checks NOT NULL, length and nested enforcement
// on batches given as JSON rows: the rows written, or the violation of the
// first offending row.
func TestConstraintEnforcer(t *testing.T) {
	nn := func(t types.DataType) types.DataType { return t.WithNullable(false) }
	f := func(name string, t types.DataType) types.Field { return types.Field{Name: name, Type: t} }
	nestedRow := types.Schema{Columns: []types.Column{{Name: "a", Type: nn(types.RowType(
		f("id", nn(types.BigIntType)),
		f("ab", nn(types.RowType(f("aba", nn(types.BigIntType)), f("ignore", types.BigIntType)))),
	))}}}
	strs := types.Schema{Columns: []types.Column{
		{Name: "a", Type: nn(types.IntType)},
		{Name: "c", Type: types.CharType(3)},
		{Name: "v", Type: types.VarcharType(3)},
		{Name: "b", Type: types.BinaryType(2)},
		{Name: "vb", Type: types.VarbinaryType(2)},
	}}
	lengthsInRow := types.Schema{Columns: []types.Column{{Name: "a", Type: types.RowType(
		f("c", nn(types.CharType(2))), f("b", nn(types.BinaryType(2))))}}}
	arrays := types.Schema{Columns: []types.Column{{Name: "a", Type: nn(types.RowType(
		f("id", nn(types.BigIntType)),
		f("ab", nn(types.ArrayType(nn(types.ArrayType(nn(types.BigIntType)))))),
	))}}}
	maps := types.Schema{Columns: []types.Column{
		{Name: "m", Type: types.MapType(nn(types.VarcharType(2)), nn(types.BigIntType))},
	}}
	arrayOfRows := types.Schema{Columns: []types.Column{{Name: "a", Type: types.ArrayType(nn(types.RowType(f("c", nn(types.CharType(2))))))}}}

	for _, tc := range []struct {
		name   string
		schema types.Schema
		// arrow overrides the batch schema: Arrow's map builder cannot
		// build a NULL into a non-nullable map value.
		arrow *arrow.Schema
		spec  ConstraintEnforcerSpec
		in    string
		// from slices the input batch from that row on.
		from int64
		want string
		code errs.Code
	}{{
		name: "top-level NOT NULL error names the column", schema: strs,
		in:   `[{"a": 1}, {"a": null}]`,
		want: "Column 'a' is NOT NULL, however, a null value is being written into it. You can set job configuration 'table.exec.sink.not-null-enforcer'='DROP' to suppress this exception and drop such records silently.",
		code: errs.NotNullViolation,
	}, {
		name: "top-level NOT NULL drop", schema: strs, spec: ConstraintEnforcerSpec{NotNull: EnforceDrop},
		in:   `[{"a": null}, {"a": 2}, {"a": null}]`,
		want: `[{"a":2,"b":null,"c":null,"v":null,"vb":null}]`,
	}, {
		name: "nested rows are not checked by default", schema: nestedRow,
		in:   `[{"a": {"id": 1, "ab": {"aba": null, "ignore": 1}}}]`,
		want: `[{"a":{"ab":{"aba":null,"ignore":1},"id":1}}]`,
	}, {
		name: "nested row field NULL under ROWS", schema: nestedRow, spec: ConstraintEnforcerSpec{Nested: NestedRows},
		in:   `[{"a": {"id": 1, "ab": {"aba": 1, "ignore": 1}}}, {"a": {"id": 2, "ab": {"aba": null, "ignore": 1}}}]`,
		want: "Column 'a.ab.aba' is NOT NULL, however, a null value is being written into it.",
		code: errs.NotNullViolation,
	}, {
		name: "nested rows dropped; fields of a NULL row are not checked", schema: nestedRow,
		spec: ConstraintEnforcerSpec{Nested: NestedRows, NotNull: EnforceDrop},
		in:   `[{"a": {"id": 1, "ab": {"aba": null, "ignore": 1}}}, {"a": {"id": 2, "ab": null}}, {"a": {"id": 3, "ab": {"aba": 1, "ignore": null}}}]`,
		want: `[{"a":{"ab":{"aba":1,"ignore":null},"id":3}}]`,
	}, {
		name: "a dropped row is not length-checked", schema: strs,
		spec: ConstraintEnforcerSpec{NotNull: EnforceDrop, TypeLength: EnforceError},
		in:   `[{"a": null, "c": "x"}, {"a": 1, "c": "abc"}]`,
		want: `[{"a":1,"b":null,"c":"abc","v":null,"vb":null}]`,
	}, {
		name: "length error: CHAR too short", schema: strs, spec: ConstraintEnforcerSpec{TypeLength: EnforceError},
		in:   `[{"a": 1, "c": "abc", "v": "ab"}, {"a": 2, "c": "ab"}]`,
		want: "Column 'c' is CHAR(3), however, a string of length 2 is being written into it. You can set job configuration 'table.exec.sink.type-length-enforcer' to control this behaviour.",
		code: errs.StringDataLengthMismatch,
	}, {
		name: "length error counts characters, not bytes", schema: strs, spec: ConstraintEnforcerSpec{TypeLength: EnforceError},
		in:   `[{"a": 1, "c": "äöü", "v": "äöüx"}]`,
		want: "Column 'v' is VARCHAR(3), however, a string of length 4 is being written into it.",
		code: errs.StringDataLengthMismatch,
	}, {
		name: "length error: VARBINARY too long", schema: strs, spec: ConstraintEnforcerSpec{TypeLength: EnforceError},
		in:   `[{"a": 1, "vb": "AQID"}]`,
		want: "Column 'vb' is VARBINARY(2), however, a string of length 3 is being written into it.",
		code: errs.StringDataLengthMismatch,
	}, {
		name: "TRIM_PAD trims and pads, NULLs stay", schema: strs, spec: ConstraintEnforcerSpec{TypeLength: EnforceTrimPad},
		in:   `[{"a": 1, "c": "a", "v": "äöüx", "b": "AQID", "vb": "AQID"}, {"a": 2, "c": "abcd", "v": "ab", "b": "AQ==", "vb": "AQ=="}, {"a": 3}]`,
		want: `[{"a":1,"b":"AQI=","c":"a  ","v":"äöü","vb":"AQI="},{"a":2,"b":"AQA=","c":"abc","v":"ab","vb":"AQ=="},{"a":3,"b":null,"c":null,"v":null,"vb":null}]`,
	}, {
		name: "TRIM_PAD in nested rows, NULL rows stay NULL", schema: lengthsInRow,
		spec: ConstraintEnforcerSpec{TypeLength: EnforceTrimPad, Nested: NestedRows},
		in:   `[{"a": {"c": "a", "b": "AQID"}}, {"a": null}, {"a": {"c": "abc", "b": "AQI="}}]`,
		want: `[{"a":{"b":"AQI=","c":"a "}},{"a":null},{"a":{"b":"AQI=","c":"ab"}}]`,
	}, {
		name: "nested arrays name the element", schema: arrays, spec: ConstraintEnforcerSpec{Nested: NestedAll},
		in:   `[{"a": {"id": 1, "ab": [[1, 2], []]}}, {"a": {"id": 2, "ab": [[1], [3, null]]}}]`,
		want: "Column 'a.ab[1][1]' is NOT NULL, however, a null value is being written into it.",
		code: errs.NotNullViolation,
	}, {
		name: "nested arrays dropped", schema: arrays, spec: ConstraintEnforcerSpec{Nested: NestedAll, NotNull: EnforceDrop},
		in:   `[{"a": {"id": 1, "ab": [null]}}, {"a": {"id": 2, "ab": [[null]]}}, {"a": {"id": 3, "ab": [[1]]}}]`,
		want: `[{"a":{"ab":[[1]],"id":3}}]`,
	}, {
		name: "map keys", schema: maps, spec: ConstraintEnforcerSpec{Nested: NestedAll, TypeLength: EnforceError},
		in:   `[{"m": [{"key": "ab", "value": 1}]}, {"m": [{"key": "abc", "value": 1}]}]`,
		want: "Column 'm[key]' is VARCHAR(2), however, a string of length 3 is being written into it.",
		code: errs.StringDataLengthMismatch,
	}, {
		name: "map values", schema: maps, spec: ConstraintEnforcerSpec{Nested: NestedAll},
		arrow: arrow.NewSchema([]arrow.Field{{Name: "m", Type: types.MapType(types.StringType, types.BigIntType).Arrow(), Nullable: true}}, nil),
		in:    `[{"m": null}, {"m": [{"key": "ab", "value": 1}, {"key": "a", "value": null}]}]`,
		want:  "Column 'm[value]' is NOT NULL, however, a null value is being written into it.",
		code:  errs.NotNullViolation,
	}, {
		name: "rows in arrays", schema: arrayOfRows, spec: ConstraintEnforcerSpec{Nested: NestedAll, TypeLength: EnforceError},
		in:   `[{"a": [{"c": "ab"}, {"c": "abc"}]}]`,
		want: "Column 'a[1].c' is CHAR(2), however, a string of length 3 is being written into it.",
		code: errs.StringDataLengthMismatch,
	}, {
		name: "rows in arrays are not checked under ROWS", schema: arrayOfRows, spec: ConstraintEnforcerSpec{Nested: NestedRows, TypeLength: EnforceError},
		in:   `[{"a": [{"c": "ab"}, {"c": "abc"}]}]`,
		want: `[{"a":[{"c":"ab"},{"c":"abc"}]}]`,
	}, {
		// A sliced list's offsets start at its offset into the buffer.
		name: "rows in a sliced array column", schema: arrayOfRows, spec: ConstraintEnforcerSpec{Nested: NestedAll, TypeLength: EnforceError},
		in:   `[{"a": [{"c": "abc"}, {"c": "xyz"}]}, {"a": [{"c": "ab"}]}, {"a": [{"c": "cd"}, {"c": "abcd"}]}]`,
		from: 1,
		want: "Column 'a[1].c' is CHAR(2), however, a string of length 4 is being written into it.",
		code: errs.StringDataLengthMismatch,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			as := tc.schema.Arrow()
			if tc.arrow != nil {
				as = tc.arrow
			}
			in, _, err := array.RecordFromJSON(mem, as, strings.NewReader(tc.in))
			require.NoError(t, err)
			if tc.from > 0 {
				sliced := in.NewSlice(tc.from, in.NumRows())
				in.Release()
				in = sliced
			}
			defer in.Release()
			e, err := newConstraintEnforcer(tc.spec, tc.schema, mem)
			require.NoError(t, err)
			out, err := e.Apply(in)
			if tc.code != (errs.Code{}) {
				require.Error(t, err)
				require.Contains(t, err.Error(), tc.want)
				var ee *errs.Error
				require.ErrorAs(t, err, &ee)
				require.Equal(t, tc.code, ee.Code)
				return
			}
			require.NoError(t, err)
			defer out.Release()
			var buf bytes.Buffer
			require.NoError(t, array.RecordToJSON(out, &buf))
			got := "[" + strings.ReplaceAll(strings.TrimSpace(buf.String()), "\n", ",") + "]"
			require.Equal(t, tc.want, got)
		})
	}
}

// TestConstraintEnforcerPlanCheck: TRIM_PAD cannot apply inside
// collections (Flink rejects the plan), and a sink without constraints
// needs no enforcer.
func TestConstraintEnforcerPlanCheck(t *testing.T) {
	arr := types.Schema{Columns: []types.Column{{Name: "a", Type: types.ArrayType(types.CharType(2))}}}
	_, err := ConstraintEnforcerSpec{TypeLength: EnforceTrimPad, Nested: NestedAll}.Check(arr)
	require.ErrorContains(t, err, "Trimming and/or padding is not supported if constraint checking is enabled on types nested in collections.")

	needed, err := ConstraintEnforcerSpec{TypeLength: EnforceTrimPad, Nested: NestedRows}.Check(arr)
	require.NoError(t, err)
	require.False(t, needed)

	plain := types.Schema{Columns: []types.Column{{Name: "a", Type: types.StringType}, {Name: "b", Type: types.CharType(2)}}}
	needed, err = ConstraintEnforcerSpec{}.Check(plain)
	require.NoError(t, err)
	require.False(t, needed)

	spec, err := ConstraintEnforcerOptions(map[string]string{TypeLengthEnforcerKey: "trim_pad"})
	require.NoError(t, err)
	require.Equal(t, ConstraintEnforcerSpec{NotNull: EnforceError, TypeLength: EnforceTrimPad, Nested: EnforceIgnore}, spec)
	_, err = ConstraintEnforcerOptions(map[string]string{NotNullEnforcerKey: "IGNORE"})
	require.ErrorContains(t, err, "table.exec.sink.not-null-enforcer must be one of ERROR, DROP, not 'IGNORE'")
}
