package expr

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/eddysql/eddy/catalog/types"
)

// sameNestedLayout reports whether from and to are composite types (ARRAY,
// MAP, ROW, MULTISET) that differ only in the nullability of their
// elements, keys, values or fields, their ROW field names, or CHAR
// against VARCHAR (BINARY against VARBINARY) lengths. Such a
// CAST (the implicit one CASE inserts to make ARRAY<INT NOT NULL> an
// ARRAY<INT>, say) copies no data: the Arrow arrays share their buffers
// and only their types' labels change.
func sameNestedLayout(from, to types.DataType) bool {
	if !isComposite(from) || from.Kind != to.Kind {
		return false
	}
	return layoutOf(from).EqualIgnoringNull(layoutOf(to))
}

// layoutOf returns t with every nested type nullable, strings STRING,
// binaries BYTES and ROW fields renamed by position.
func layoutOf(t types.DataType) types.DataType {
	switch {
	case t.IsString():
		return types.StringType
	case t.IsBinary():
		return types.BytesType
	}
	t = t.WithNullable(true).WithTimeAttr(types.NoTimeAttr)
	sub := func(p *types.DataType) *types.DataType {
		if p == nil {
			return nil
		}
		l := layoutOf(*p)
		return &l
	}
	t.Elem, t.Key, t.Value = sub(t.Elem), sub(t.Key), sub(t.Value)
	if t.Fields != nil {
		fs := make([]types.Field, len(t.Fields))
		for i, f := range t.Fields {
			fs[i] = types.Field{Type: layoutOf(f.Type)}
		}
		t.Fields = fs
	}
	return t
}

// relabelKernel is the CAST between types of the same nested layout.
func relabelKernel(to types.DataType) kernel {
	dt := to.Arrow()
	return func(args []arrow.Array, _ int) (arrow.Array, error) {
		d := relabel(args[0].Data(), dt)
		defer d.Release()
		return array.MakeFromData(d), nil
	}
}

// relabel returns d's buffers and children under type dt (same layout).
func relabel(d arrow.ArrayData, dt arrow.DataType) arrow.ArrayData {
	children := d.Children()
	var fields []arrow.Field
	if nt, ok := dt.(arrow.NestedType); ok {
		fields = nt.Fields()
	}
	kids := make([]arrow.ArrayData, len(children))
	for i, c := range children {
		if i < len(fields) {
			kids[i] = relabel(c, fields[i].Type)
		} else {
			c.Retain()
			kids[i] = c
		}
	}
	out := array.NewData(dt, d.Len(), d.Buffers(), kids, d.NullN(), d.Offset())
	for _, k := range kids {
		k.Release()
	}
	return out
}
