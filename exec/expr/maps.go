package expr

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/catalog/types"
)

// Flink's map functions. MAP_KEYS, MAP_VALUES and MAP_ENTRIES reuse the
// map's own buffers: a MAP column is a list of key-value structs, so its
// keys, values or entries under the map's offsets are the result, without
// a copy. MAP_FROM_ARRAYS and MAP_UNION choose entries per row and gather
// them with one take per column, as the array functions do.
func init() {
	register(&funcDef{name: "MAP_KEYS", resolve: resolveMapParts, compile: compileMapParts})
	register(&funcDef{name: "MAP_VALUES", resolve: resolveMapParts, compile: compileMapParts})
	register(&funcDef{name: "MAP_ENTRIES", resolve: resolveMapParts, compile: compileMapParts})
	register(&funcDef{name: "MAP_FROM_ARRAYS", mayFail: true, resolve: resolveMapFromArrays, compile: compileMapFromArrays})
	register(&funcDef{name: "MAP_UNION", resolve: resolveMapUnion, compile: compileMapUnion})
}

// resolveMapParts: MAP_KEYS(map) is ARRAY<K>, MAP_VALUES(map) ARRAY<V>,
// MAP_ENTRIES(map) ARRAY<ROW<key K, value V>>; each is NULL iff the map is.
func resolveMapParts(name string, args []Expr) (Expr, error) {
	if err := arity(name, args, 1, 1); err != nil {
		return nil, err
	}
	mt := args[0].Type()
	if mt.Kind != types.Map {
		return nil, typeError(name, args)
	}
	var et types.DataType
	switch name {
	case "MAP_KEYS":
		et = *mt.Key
	case "MAP_VALUES":
		et = *mt.Value
	default:
		et = types.RowType(types.Field{Name: "key", Type: *mt.Key}, types.Field{Name: "value", Type: *mt.Value}).WithNullable(false)
	}
	return &Call{Func: name, Args: args, T: types.ArrayType(et).WithNullable(mt.Nullable())}, nil
}

func compileMapParts(c *compiler, call *Call) (Evaluator, error) {
	dt := call.T.Arrow().(*arrow.ListType)
	return newCallEval(c, call, func(args []arrow.Array, n int) (arrow.Array, error) {
		m, keys, values := types.MapEntries(args[0])
		var child arrow.ArrayData
		switch call.Func {
		case "MAP_KEYS":
			child = keys.Data()
		case "MAP_VALUES":
			child = values.Data()
		default:
			child = m.ListValues().Data()
		}
		kid := retype(child, dt.Elem())
		defer kid.Release()
		d := m.Data()
		data := array.NewData(dt, d.Len(), d.Buffers()[:2], []arrow.ArrayData{kid}, d.NullN(), d.Offset())
		defer data.Release()
		return array.MakeFromData(data), nil
	})
}

// resolveMapFromArrays: MAP_FROM_ARRAYS(keys, values) pairs the arrays'
// elements in order, as Flink's ArrayBasedMapData does (a repeated key is
// not merged, a NULL key is kept); NULL if either array is, an error if
// their lengths differ.
func resolveMapFromArrays(name string, args []Expr) (Expr, error) {
	if err := arity(name, args, 2, 2); err != nil {
		return nil, err
	}
	kt, vt := args[0].Type(), args[1].Type()
	if kt.Kind != types.Array || vt.Kind != types.Array || isComposite(*kt.Elem) {
		return nil, typeError(name, args)
	}
	mt := types.MapType(*kt.Elem, *vt.Elem).WithNullable(kt.Nullable() || vt.Nullable())
	return &Call{Func: name, Args: args, T: mt}, nil
}

// mapOut collects the chosen key and value rows of a map result; pos
// finds the keys a row already has when it merges maps.
type mapOut struct {
	keys listOut
	vals []int32
	pos  map[string]int // a row's keys, to find repeated ones
	key  []byte
}

func (o *mapOut) start() {
	o.keys.start()
	o.vals = o.vals[:0]
	if o.pos == nil {
		o.pos = map[string]int{}
	}
}

// add appends entry (key row k, value row v) to the current row.
func (o *mapOut) add(k, v int32) {
	o.keys.idx = append(o.keys.idx, k)
	o.vals = append(o.vals, v)
}

// addNew appends the entry unless the row already has its key (a NULL
// key included).
func (o *mapOut) addNew(keys arrow.Array, keyOf func([]byte, int) []byte, k, v int32) {
	if isValid(keys, int(k)) {
		o.key = keyOf(append(o.key[:0], 1), int(k))
	} else {
		o.key = append(o.key[:0], 0)
	}
	if _, dup := o.pos[string(o.key)]; dup {
		return
	}
	o.pos[string(o.key)] = len(o.vals)
	o.add(k, v)
}

func (o *mapOut) end()  { o.keys.end(); clear(o.pos) }
func (o *mapOut) null() { o.keys.null(); o.vals = o.vals[:len(o.keys.idx)]; clear(o.pos) }

// finish gathers the chosen keys and values into a map array of type mt.
func (o *mapOut) finish(c *compiler, mt *arrow.ListType, keys, vals arrow.Array) (arrow.Array, error) {
	n := len(o.keys.offs) - 1
	kc, err := takeIdx(c, keys, o.keys.idx)
	if err != nil {
		return nil, err
	}
	defer kc.Release()
	vc, err := takeIdx(c, vals, o.vals)
	if err != nil {
		return nil, err
	}
	defer vc.Release()
	et := mt.Elem().(*arrow.StructType)
	kd, vd := retype(kc.Data(), et.Field(0).Type), retype(vc.Data(), et.Field(1).Type)
	defer kd.Release()
	defer vd.Release()
	entries := array.NewData(et, kc.Len(), []*memory.Buffer{nil}, []arrow.ArrayData{kd, vd}, 0, 0)
	defer entries.Release()
	ob, ov := fixedOut[int32](c.mem, n+1)
	copy(ov, o.keys.offs)
	valid := validityOf(c.mem, n, o.keys.nulls)
	data := array.NewData(mt, n, []*memory.Buffer{valid, ob}, []arrow.ArrayData{entries}, len(o.keys.nulls), 0)
	ob.Release()
	if valid != nil {
		valid.Release()
	}
	defer data.Release()
	return array.MakeFromData(data), nil
}

func compileMapFromArrays(c *compiler, call *Call) (Evaluator, error) {
	mt := call.T.Arrow().(*arrow.ListType)
	var out mapOut
	return newCallEval(c, call, func(args []arrow.Array, n int) (arrow.Array, error) {
		kl, vl := args[0].(*array.List), args[1].(*array.List)
		keys, vals := kl.ListValues(), vl.ListValues()
		out.start()
		for i := 0; i < n; i++ {
			if anyNullAt(args, i) {
				out.null()
				continue
			}
			ks, ke := kl.ValueOffsets(i)
			vs, ve := vl.ValueOffsets(i)
			if ke-ks != ve-vs {
				return nil, fmt.Errorf("MAP_FROM_ARRAYS: the keys array has %d elements and the values array %d; their lengths must be equal", ke-ks, ve-vs)
			}
			for j := int64(0); j < ke-ks; j++ {
				out.add(int32(ks+j), int32(vs+j))
			}
			out.end()
		}
		return out.finish(c, mt, keys, vals)
	})
}

// resolveMapUnion: MAP_UNION(map1, ...) merges maps of a common type, a
// later map's value winning for a repeated key; NULL if any map is. The
// entries come in Flink's order: the last map's, then each earlier map's
// new keys.
func resolveMapUnion(name string, args []Expr) (Expr, error) {
	if err := arity(name, args, 1, -1); err != nil {
		return nil, err
	}
	for _, a := range args {
		if k := a.Type().Kind; k != types.Map && k != types.Null {
			return nil, typeError(name, args)
		}
	}
	t, ok := commonType(args)
	if !ok || t.Kind != types.Map {
		return nil, typeError(name, args)
	}
	out := make([]Expr, len(args))
	for i, a := range args {
		c, err := coerceTo(a, t.WithNullable(a.Type().Nullable()))
		if err != nil {
			return nil, err
		}
		out[i] = c
	}
	return &Call{Func: name, Args: out, T: strict(t, args)}, nil
}

func compileMapUnion(c *compiler, call *Call) (Evaluator, error) {
	mt := call.T.Arrow().(*arrow.ListType)
	et := mt.Elem().(*arrow.StructType)
	var out mapOut
	return newCallEval(c, call, func(args []arrow.Array, n int) (arrow.Array, error) {
		ks, vs := make([]arrow.Array, len(args)), make([]arrow.Array, len(args))
		for k, a := range args {
			_, ks[k], vs[k] = types.MapEntries(a)
		}
		keys, base, err := elementSource(c, et.Field(0).Type, nil, ks...)
		if err != nil {
			return nil, err
		}
		defer keys.Release()
		vals, _, err := elementSource(c, et.Field(1).Type, nil, vs...)
		if err != nil {
			return nil, err
		}
		defer vals.Release()
		keyOf, err := keyWriter(keys)
		if err != nil {
			return nil, fmt.Errorf("MAP_UNION: %v", err)
		}
		out.start()
		for i := 0; i < n; i++ {
			if anyNullAt(args, i) {
				out.null()
				continue
			}
			for k := len(args) - 1; k >= 0; k-- {
				s, e := args[k].(*array.List).ValueOffsets(i)
				for j := base[k] + int32(s); j < base[k]+int32(e); j++ {
					out.addNew(keys, keyOf, j, j)
				}
			}
			out.end()
		}
		return out.finish(c, mt, keys, vals)
	})
}
