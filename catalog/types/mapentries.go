package types

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// A MAP column is an Arrow list of key-value structs, not Arrow's Map
// type: Flink's MAP may hold a NULL key (MAP<INT, INT> accepts
// MAP[CAST(NULL AS INT), 1]), and arrow-go refuses to build a Map array
// whose keys hold a NULL. The layout is otherwise the same as Arrow's Map,
// so the list, struct and take kernels apply unchanged; the logical type
// (Kind Map) is what tells a MAP from an ARRAY<ROW<key, value>>.

// MapEntryType is the Arrow struct of one entry of a MAP<key, value>.
func MapEntryType(key, value DataType) *arrow.StructType {
	return arrow.StructOf(
		arrow.Field{Name: "key", Type: key.Arrow(), Nullable: key.Nullable()},
		arrow.Field{Name: "value", Type: value.Arrow(), Nullable: value.Nullable()})
}

// MapEntries splits a MAP column into its list of entries and the keys
// and values the list's offsets index into. It panics when a is not a
// MAP column, which only an internal planning error can cause.
func MapEntries(a arrow.Array) (entries *array.List, keys, values arrow.Array) {
	l := a.(*array.List)
	st := l.ListValues().(*array.Struct)
	return l, st.Field(0), st.Field(1)
}

// MapBuilders returns the builders under the builder of a MAP column: b
// itself as a list builder, the entries' struct builder, and the key and
// value builders. An entry is entries.Append(true) plus one value appended
// to each of keys and values.
func MapBuilders(b array.Builder) (list *array.ListBuilder, entries *array.StructBuilder, keys, values array.Builder) {
	list = b.(*array.ListBuilder)
	entries = list.ValueBuilder().(*array.StructBuilder)
	return list, entries, entries.FieldBuilder(0), entries.FieldBuilder(1)
}
