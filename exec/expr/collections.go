package expr

import (
	"bytes"
	"fmt"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/catalog/types"
)

// Value constructors and collection functions. ARRAY[...], MAP[...] and
// ROW(...) are the binder's calls "ARRAY", "MAP" and "ROW"; arr[i] and
// map[key] are "ITEM". Results are built column-wise: a constructor's child
// column interleaves its argument columns with one take, element access
// takes the addressed child rows, so no kernel walks rows through
// interfaces.
func init() {
	register(&funcDef{name: "ARRAY", resolve: resolveArrayCtor, compile: compileArrayCtor})
	register(&funcDef{name: "MAP", resolve: resolveMapCtor, compile: compileMapCtor})
	register(&funcDef{name: "ROW", resolve: resolveRowCtor, compile: compileRowCtor})
	register(&funcDef{name: "ITEM", resolve: resolveItem, compile: compileItem})
	register(&funcDef{name: "CARDINALITY", resolve: resolveCardinality, compile: compileCardinality})
	register(&funcDef{name: "ELEMENT", mayFail: true, resolve: resolveElement, compile: compileElement})
	register(&funcDef{name: "ARRAY_CONTAINS", resolve: resolveArrayContains, compile: compileArrayContains})
}

// isComposite reports whether t is a nested type, which has no Literal
// form (Fold leaves such expressions alone).
func isComposite(t types.DataType) bool {
	switch t.Kind {
	case types.Array, types.Map, types.Row, types.Multiset:
		return true
	}
	return false
}

// elementType is the common type of args, nullable iff one of them is;
// the constructors cast every argument to it.
func elementType(name string, args []Expr) (types.DataType, error) {
	t, ok := commonType(args)
	if !ok {
		return types.DataType{}, typeError(name, args)
	}
	return t.WithNullable(anyNullable(args)).WithTimeAttr(types.NoTimeAttr), nil
}

// resolveArrayCtor: ARRAY[e1, ...] is a NOT NULL array of the elements'
// common type.
func resolveArrayCtor(name string, args []Expr) (Expr, error) {
	if err := arity(name, args, 1, -1); err != nil {
		return nil, err
	}
	et, err := elementType(name, args)
	if err != nil {
		return nil, err
	}
	out, err := castAll(args, et)
	if err != nil {
		return nil, err
	}
	return &Call{Func: name, Args: out, T: types.ArrayType(et).WithNullable(false)}, nil
}

// resolveMapCtor: MAP[k1, v1, k2, v2, ...] is a NOT NULL map of the keys'
// and the values' common types. When every key is a literal, a repeated key
// keeps only its last value, as Flink's map constructor does.
func resolveMapCtor(name string, args []Expr) (Expr, error) {
	if len(args) == 0 || len(args)%2 != 0 {
		return nil, fmt.Errorf("function MAP expects an even, non-zero number of arguments, got %d", len(args))
	}
	var keys, vals []Expr
	for i := 0; i < len(args); i += 2 {
		keys, vals = append(keys, args[i]), append(vals, args[i+1])
	}
	keys, vals = dedupeLiteralKeys(keys, vals)
	kt, err := elementType(name, keys)
	if err != nil {
		return nil, err
	}
	if isComposite(kt) {
		return nil, fmt.Errorf("map keys of type %s are not supported", kt)
	}
	vt, err := elementType(name, vals)
	if err != nil {
		return nil, err
	}
	if keys, err = castAll(keys, kt); err != nil {
		return nil, err
	}
	if vals, err = castAll(vals, vt); err != nil {
		return nil, err
	}
	out := make([]Expr, 0, 2*len(keys))
	for i := range keys {
		out = append(out, keys[i], vals[i])
	}
	return &Call{Func: name, Args: out, T: types.MapType(kt, vt).WithNullable(false)}, nil
}

func dedupeLiteralKeys(keys, vals []Expr) ([]Expr, []Expr) {
	last := map[string]int{}
	for i, k := range keys {
		l, ok := k.(*Literal)
		if !ok {
			return keys, vals
		}
		last[FormatLiteral(l)] = i
	}
	if len(last) == len(keys) {
		return keys, vals
	}
	var ks, vs []Expr
	for i, k := range keys {
		if last[FormatLiteral(k.(*Literal))] == i {
			ks, vs = append(ks, k), append(vs, vals[i])
		}
	}
	return ks, vs
}

// resolveRowCtor: ROW(e1, ...) is a NOT NULL row with fields EXPR$0, ...
// as Flink names them.
func resolveRowCtor(name string, args []Expr) (Expr, error) {
	if err := arity(name, args, 1, -1); err != nil {
		return nil, err
	}
	fields := make([]types.Field, len(args))
	for i, a := range args {
		fields[i] = types.Field{Name: "EXPR$" + strconv.Itoa(i), Type: a.Type().WithTimeAttr(types.NoTimeAttr)}
	}
	return &Call{Func: name, Args: args, T: types.RowType(fields...).WithNullable(false)}, nil
}

// interleave returns the column whose row j*k+i... is row i of cols[j]:
// cols[0][0], cols[1][0], ..., cols[0][1], ... (k = len(cols)).
func interleave(c *compiler, cols []arrow.Array, n int, idx *[]int32) (arrow.Array, error) {
	k := len(cols)
	if k == 1 {
		cols[0].Retain()
		return cols[0], nil
	}
	all, err := array.Concatenate(cols, c.mem)
	if err != nil {
		return nil, err
	}
	defer all.Release()
	ix := resize(*idx, n*k)
	for i := 0; i < n; i++ {
		for j := 0; j < k; j++ {
			ix[i*k+j] = int32(j*n + i)
		}
	}
	*idx = ix
	return takeIdx(c, all, ix)
}

// takeIdx gathers rows idx of src; a negative index yields NULL.
func takeIdx(c *compiler, src arrow.Array, idx []int32) (arrow.Array, error) {
	n := len(idx)
	var valid *memory.Buffer
	nulls := 0
	for i, v := range idx {
		if v >= 0 {
			continue
		}
		if valid == nil {
			valid = memory.NewResizableBuffer(c.mem)
			valid.Resize(int(bitutil.BytesForBits(int64(n))))
			bitutil.SetBitsTo(valid.Bytes(), 0, int64(n), true)
		}
		bitutil.ClearBit(valid.Bytes(), i)
		idx[i] = 0
		nulls++
	}
	data := array.NewData(arrow.PrimitiveTypes.Int32, n, []*memory.Buffer{valid, memory.NewBufferBytes(arrow.GetBytes(idx))}, nil, nulls, 0)
	if valid != nil {
		valid.Release()
	}
	ix := array.MakeFromData(data)
	data.Release()
	defer ix.Release()
	return compute.TakeArray(c.ctx, src, ix)
}

// listOffsets returns offsets 0, k, 2k, ..., n*k for n rows of k elements.
func listOffsets(mem memory.Allocator, n, k int) *memory.Buffer {
	buf, offs := fixedOut[int32](mem, n+1)
	for i := range offs {
		offs[i] = int32(i * k)
	}
	return buf
}

func compileArrayCtor(c *compiler, call *Call) (Evaluator, error) {
	dt := call.T.Arrow()
	var idx []int32
	return newCallEval(c, call, func(args []arrow.Array, n int) (arrow.Array, error) {
		child, err := interleave(c, args, n, &idx)
		if err != nil {
			return nil, err
		}
		defer child.Release()
		offs := listOffsets(c.mem, n, len(args))
		defer offs.Release()
		data := array.NewData(dt, n, []*memory.Buffer{nil, offs}, []arrow.ArrayData{child.Data()}, 0, 0)
		defer data.Release()
		return array.MakeFromData(data), nil
	})
}

func compileMapCtor(c *compiler, call *Call) (Evaluator, error) {
	mt := call.T.Arrow().(*arrow.ListType)
	var idx []int32
	return newCallEval(c, call, func(args []arrow.Array, n int) (arrow.Array, error) {
		k := len(args) / 2
		keys, vals := make([]arrow.Array, k), make([]arrow.Array, k)
		for j := 0; j < k; j++ {
			keys[j], vals[j] = args[2*j], args[2*j+1]
		}
		kc, err := interleave(c, keys, n, &idx)
		if err != nil {
			return nil, err
		}
		defer kc.Release()
		vc, err := interleave(c, vals, n, &idx)
		if err != nil {
			return nil, err
		}
		defer vc.Release()
		entries := array.NewData(mt.Elem(), n*k, []*memory.Buffer{nil}, []arrow.ArrayData{kc.Data(), vc.Data()}, 0, 0)
		defer entries.Release()
		offs := listOffsets(c.mem, n, k)
		defer offs.Release()
		data := array.NewData(mt, n, []*memory.Buffer{nil, offs}, []arrow.ArrayData{entries}, 0, 0)
		defer data.Release()
		return array.MakeFromData(data), nil
	})
}

// compileRowCtor shares the argument columns as the struct's children.
func compileRowCtor(c *compiler, call *Call) (Evaluator, error) {
	dt := call.T.Arrow()
	return newCallEval(c, call, func(args []arrow.Array, n int) (arrow.Array, error) {
		children := make([]arrow.ArrayData, len(args))
		for i, a := range args {
			children[i] = a.Data()
		}
		data := array.NewData(dt, n, []*memory.Buffer{nil}, children, 0, 0)
		defer data.Release()
		return array.MakeFromData(data), nil
	})
}

// resolveItem types arr[i] (1-based, any integer index) and map[key] (key
// cast to the map's key type). The result is the element type, nullable:
// an index out of range or a missing key gives NULL, as in Flink.
func resolveItem(name string, args []Expr) (Expr, error) {
	if err := arity(name, args, 2, 2); err != nil {
		return nil, err
	}
	ct, kt := args[0].Type(), args[1].Type()
	switch {
	case ct.Kind == types.Variant:
		return resolveVariantItem(name, args)
	case ct.Kind == types.Array && (kt.IsInteger() || kt.Kind == types.Null):
		k, err := implicitCast(args[1], types.IntType)
		if err != nil {
			return nil, err
		}
		return &Call{Func: name, Args: []Expr{args[0], k}, T: ct.Elem.WithNullable(true)}, nil
	case ct.Kind == types.Map:
		k, err := probeCast(name, args, *ct.Key)
		if err != nil {
			return nil, err
		}
		return &Call{Func: name, Args: []Expr{args[0], k}, T: ct.Value.WithNullable(true)}, nil
	}
	return nil, fmt.Errorf("cannot apply [] to a value of type %s with an index of type %s", ct, kt)
}

func compileItem(c *compiler, call *Call) (Evaluator, error) {
	if call.Args[0].Type().Kind == types.Variant {
		return compileVariantItem(c, call)
	}
	isMap := call.Args[0].Type().Kind == types.Map
	var idx []int32
	return newCallEval(c, call, func(args []arrow.Array, n int) (arrow.Array, error) {
		if args[1].DataType().ID() == arrow.NULL {
			return allNullArray(call.T, n, c.mem)
		}
		coll := args[0].(array.ListLike)
		idx = resize(idx, n)
		if isMap {
			m, keys, values := types.MapEntries(args[0])
			eq, err := equalAt(keys, args[1])
			if err != nil {
				return nil, err
			}
			for i := 0; i < n; i++ {
				idx[i] = -1
				if !isValid(m, i) || !isValid(args[1], i) {
					continue
				}
				start, end := coll.ValueOffsets(i)
				for j := start; j < end; j++ {
					if isValid(keys, int(j)) && eq(int(j), i) {
						idx[i] = int32(j)
						break
					}
				}
			}
			return takeIdx(c, values, idx)
		}
		pos := int64Getter(args[1])
		for i := 0; i < n; i++ {
			idx[i] = -1
			if !isValid(args[0], i) || !isValid(args[1], i) {
				continue
			}
			start, end := coll.ValueOffsets(i)
			if p := pos(i); p >= 1 && p <= end-start {
				idx[i] = int32(start + p - 1)
			}
		}
		return takeIdx(c, coll.ListValues(), idx)
	})
}

// probeCast prepares the value searched for among a collection's keys or
// elements of type et (args[1]): strings compare as they are (casting to a
// shorter CHAR(n) would truncate), other values must widen to et.
func probeCast(name string, args []Expr, et types.DataType) (Expr, error) {
	p := args[1]
	if p.Type().IsString() && et.IsString() {
		return p, nil
	}
	if c, ok := types.CommonType(et, p.Type()); !ok || !c.EqualIgnoringNull(et.WithTimeAttr(types.NoTimeAttr)) {
		return nil, typeError(name, args)
	}
	return implicitCast(p, et)
}

// equalAt returns whether row i of a equals row j of b, comparing the
// physical values of two arrays of the same Arrow type (both rows valid).
func equalAt(a, b arrow.Array) (func(i, j int) bool, error) {
	switch x := a.(type) {
	case *array.String:
		y := b.(*array.String)
		return func(i, j int) bool { return x.Value(i) == y.Value(j) }, nil
	case *array.Binary:
		y := b.(*array.Binary)
		return func(i, j int) bool { return bytes.Equal(x.Value(i), y.Value(j)) }, nil
	case *array.Boolean:
		y := b.(*array.Boolean)
		return func(i, j int) bool { return x.Value(i) == y.Value(j) }, nil
	case array.ListLike:
		// Arrays: the same elements in order (see compileArrayCompare).
		y, ok := b.(array.ListLike)
		if !ok {
			return nil, fmt.Errorf("cannot compare %s with %s", a.DataType(), b.DataType())
		}
		xv, yv := x.ListValues(), y.ListValues()
		return func(i, j int) bool {
			xb, xe := x.ValueOffsets(i)
			yb, ye := y.ValueOffsets(j)
			return xe-xb == ye-yb && array.SliceEqual(xv, xb, xe, yv, yb, ye)
		}, nil
	}
	fw, ok := a.DataType().(arrow.FixedWidthDataType)
	if !ok || fw.BitWidth()%8 != 0 {
		return nil, fmt.Errorf("cannot compare values of type %s", a.DataType())
	}
	w := fw.BitWidth() / 8
	xb, xo := a.Data().Buffers()[1].Bytes(), a.Data().Offset()
	yb, yo := b.Data().Buffers()[1].Bytes(), b.Data().Offset()
	return func(i, j int) bool {
		return bytes.Equal(xb[(xo+i)*w:(xo+i+1)*w], yb[(yo+j)*w:(yo+j+1)*w])
	}, nil
}

func resolveCardinality(name string, args []Expr) (Expr, error) {
	if err := arity(name, args, 1, 1); err != nil {
		return nil, err
	}
	switch args[0].Type().Kind {
	case types.Array, types.Map, types.Multiset:
		return &Call{Func: name, Args: args, T: strict(types.IntType, args)}, nil
	}
	return nil, typeError(name, args)
}

func compileCardinality(c *compiler, call *Call) (Evaluator, error) {
	return newCallEval(c, call, func(args []arrow.Array, n int) (arrow.Array, error) {
		coll := args[0].(array.ListLike)
		return map1idx(c.mem, arrow.PrimitiveTypes.Int32, args[0], func(i int) (int32, bool, error) {
			start, end := coll.ValueOffsets(i)
			return int32(end - start), true, nil
		})
	})
}

// resolveElement: ELEMENT(arr) is the sole element of arr, NULL for an
// empty array, and an error for more than one element.
func resolveElement(name string, args []Expr) (Expr, error) {
	if err := arity(name, args, 1, 1); err != nil {
		return nil, err
	}
	if args[0].Type().Kind != types.Array {
		return nil, typeError(name, args)
	}
	return &Call{Func: name, Args: args, T: args[0].Type().Elem.WithNullable(true)}, nil
}

func compileElement(c *compiler, call *Call) (Evaluator, error) {
	var idx []int32
	return newCallEval(c, call, func(args []arrow.Array, n int) (arrow.Array, error) {
		l := args[0].(*array.List)
		idx = resize(idx, n)
		for i := 0; i < n; i++ {
			idx[i] = -1
			if !isValid(l, i) {
				continue
			}
			start, end := l.ValueOffsets(i)
			switch end - start {
			case 0:
			case 1:
				idx[i] = int32(start)
			default:
				return nil, fmt.Errorf("ELEMENT: the array has %d elements, not one", end-start)
			}
		}
		return takeIdx(c, l.ListValues(), idx)
	})
}

// resolveArrayContains: ARRAY_CONTAINS(arr, needle) casts needle to the
// element type; a NULL needle looks for a NULL element. The result is NULL
// only when the array is.
func resolveArrayContains(name string, args []Expr) (Expr, error) {
	if err := arity(name, args, 2, 2); err != nil {
		return nil, err
	}
	at := args[0].Type()
	if at.Kind != types.Array || isComposite(*at.Elem) {
		return nil, typeError(name, args)
	}
	needle, err := probeCast(name, args, *at.Elem)
	if err != nil {
		return nil, err
	}
	return &Call{Func: name, Args: []Expr{args[0], needle}, T: types.BooleanType.WithNullable(at.Nullable())}, nil
}

func compileArrayContains(c *compiler, call *Call) (Evaluator, error) {
	return newCallEval(c, call, func(args []arrow.Array, n int) (arrow.Array, error) {
		l, needle := args[0].(*array.List), args[1]
		elems := l.ListValues()
		var eq func(i, j int) bool
		if needle.DataType().ID() != arrow.NULL {
			var err error
			if eq, err = equalAt(elems, needle); err != nil {
				return nil, err
			}
		}
		valid, nulls := validity(c.mem, n, l)
		return boolOut(c.mem, n, valid, nulls, func(bits []byte) {
			clear(bits)
			for i := 0; i < n; i++ {
				if !isValid(l, i) {
					continue
				}
				start, end := l.ValueOffsets(i)
				wantNull := !isValid(needle, i)
				for j := int(start); j < int(end); j++ {
					if elemNull := !isValid(elems, j); elemNull || wantNull {
						if elemNull && wantNull {
							bitutil.SetBit(bits, i)
							break
						}
						continue
					}
					if eq(j, i) {
						bitutil.SetBit(bits, i)
						break
					}
				}
			}
		}), nil
	})
}
