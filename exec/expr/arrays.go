package expr

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/catalog/types"
)

// Flink's array functions (ARRAY_APPEND ... ARRAY_JOIN, ARRAY_FLATTEN, SPLIT). Every
// function that returns an array works the same way: a pass over the
// batch's offsets chooses, for each result row, which element rows of the
// argument arrays' child columns it holds (an index list, -1 for a NULL
// element); one take then gathers the chosen elements of all rows at once,
// and the result is that column under new offsets. No kernel turns an
// element into a Go value, so the functions work for elements of any type,
// nested ones included.
func init() {
	register(&funcDef{name: "ARRAY_APPEND", resolve: resolveArrayAppend, compile: compileArrayAppend})
	register(&funcDef{name: "ARRAY_PREPEND", resolve: resolveArrayAppend, compile: compileArrayAppend})
	register(&funcDef{name: "ARRAY_CONCAT", resolve: resolveArrayCommon(1, -1), compile: compileArrayConcat})
	register(&funcDef{name: "ARRAY_UNION", resolve: resolveArrayCommon(2, 2), compile: compileArraySet})
	register(&funcDef{name: "ARRAY_EXCEPT", resolve: resolveArrayCommon(2, 2), compile: compileArraySet})
	register(&funcDef{name: "ARRAY_INTERSECT", resolve: resolveArrayCommon(2, 2), compile: compileArraySet})
	register(&funcDef{name: "ARRAY_DISTINCT", resolve: resolveArrayCommon(1, 1), compile: compileArraySet})
	register(&funcDef{name: "ARRAY_REVERSE", resolve: resolveArrayCommon(1, 1), compile: compileArrayReverse})
	register(&funcDef{name: "ARRAY_POSITION", resolve: resolveArrayNeedle, compile: compileArrayPosition})
	register(&funcDef{name: "ARRAY_REMOVE", resolve: resolveArrayNeedle, compile: compileArrayRemove})
	register(&funcDef{name: "ARRAY_SLICE", resolve: resolveArraySlice, compile: compileArraySlice})
	register(&funcDef{name: "ARRAY_SORT", resolve: resolveArraySort, compile: compileArraySort})
	register(&funcDef{name: "ARRAY_MAX", resolve: resolveArrayMinMax, compile: compileArrayMinMax})
	register(&funcDef{name: "ARRAY_MIN", resolve: resolveArrayMinMax, compile: compileArrayMinMax})
	register(&funcDef{name: "ARRAY_JOIN", resolve: resolveArrayJoin, compile: compileArrayJoin})
	register(&funcDef{name: "ARRAY_FLATTEN", resolve: resolveArrayFlatten, compile: compileArrayFlatten})
	register(&funcDef{name: "SPLIT", resolve: resolveSplit, compile: compileSplit})
}

// allNullable returns t with every level nullable: two types equal after
// it differ only in nullability, and so share their physical layout.
func allNullable(t types.DataType) types.DataType {
	t = t.WithNullable(true).WithTimeAttr(types.NoTimeAttr)
	if t.Elem != nil {
		e := allNullable(*t.Elem)
		t.Elem = &e
	}
	if t.Key != nil {
		k, v := allNullable(*t.Key), allNullable(*t.Value)
		t.Key, t.Value = &k, &v
	}
	if t.Fields != nil {
		fs := make([]types.Field, len(t.Fields))
		for i, f := range t.Fields {
			fs[i] = types.Field{Name: f.Name, Type: allNullable(f.Type), Description: f.Description}
		}
		t.Fields = fs
	}
	return t
}

// coerceTo converts e to t: not at all when the two differ only in
// nullability or in string lengths (the kernels relabel the Arrow type,
// see retype), with a cast otherwise.
func coerceTo(e Expr, t types.DataType) (Expr, error) {
	if e.Type().Kind != types.Null && arrow.TypeEqual(allNullable(e.Type()).Arrow(), allNullable(t).Arrow()) {
		return e, nil
	}
	return implicitCast(e, t)
}

// retype relabels d with dt, a type of the same physical layout that may
// differ in the nullability of nested fields (ARRAY<INT NOT NULL> and
// ARRAY<INT> are different Arrow types over the same buffers).
func retype(d arrow.ArrayData, dt arrow.DataType) arrow.ArrayData {
	if arrow.TypeEqual(d.DataType(), dt) {
		d.Retain()
		return d
	}
	var kids []arrow.ArrayData
	switch t := dt.(type) {
	case *arrow.ListType:
		kids = []arrow.ArrayData{retype(d.Children()[0], t.Elem())}
	case *arrow.StructType:
		for i, f := range t.Fields() {
			kids = append(kids, retype(d.Children()[i], f.Type))
		}
	}
	out := array.NewData(dt, d.Len(), d.Buffers(), kids, d.NullN(), d.Offset())
	for _, k := range kids {
		k.Release()
	}
	return out
}

// retypeArray is retype for an array.
func retypeArray(a arrow.Array, dt arrow.DataType) arrow.Array {
	d := retype(a.Data(), dt)
	defer d.Release()
	return array.MakeFromData(d)
}

// isArray reports whether e is an array or an untyped NULL.
func isArray(e Expr) bool {
	k := e.Type().Kind
	return k == types.Array || k == types.Null
}

// resolveArrayCommon types the functions over arrays of a common type
// (ARRAY_CONCAT, ARRAY_UNION, ARRAY_EXCEPT, ARRAY_INTERSECT,
// ARRAY_DISTINCT, ARRAY_REVERSE): the result is that type. ARRAY_EXCEPT
// keeps the first array's type; every result is nullable iff an argument
// is, since a NULL array gives NULL.
func resolveArrayCommon(lo, hi int) func(string, []Expr) (Expr, error) {
	return func(name string, args []Expr) (Expr, error) {
		if err := arity(name, args, lo, hi); err != nil {
			return nil, err
		}
		for _, a := range args {
			if !isArray(a) {
				return nil, typeError(name, args)
			}
		}
		t, ok := commonType(args)
		if !ok || t.Kind != types.Array {
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
		rt := t
		if name == "ARRAY_EXCEPT" {
			rt = args[0].Type()
		}
		return &Call{Func: name, Args: out, T: strict(rt, args)}, nil
	}
}

// arrayAndElement checks the (array, element) arguments of name and
// returns the array's type and the common type of its elements and the
// element.
func arrayAndElement(name string, args []Expr) (types.DataType, types.DataType, error) {
	if err := arity(name, args, 2, 2); err != nil {
		return types.DataType{}, types.DataType{}, err
	}
	at := args[0].Type()
	if at.Kind != types.Array {
		return types.DataType{}, types.DataType{}, typeError(name, args)
	}
	et, ok := types.CommonType(*at.Elem, args[1].Type())
	if !ok {
		return types.DataType{}, types.DataType{}, typeError(name, args)
	}
	return at, et, nil
}

// resolveArrayAppend: ARRAY_APPEND(array, element) and ARRAY_PREPEND(array,
// element) widen the element type to take the new element (appending NULL
// to an ARRAY<STRING NOT NULL> gives an ARRAY<STRING>); the result is NULL
// only when the array is.
func resolveArrayAppend(name string, args []Expr) (Expr, error) {
	at, et, err := arrayAndElement(name, args)
	if err != nil {
		return nil, err
	}
	et = et.WithNullable(at.Elem.Nullable() || args[1].Type().Nullable())
	arr, err := coerceTo(args[0], types.ArrayType(et).WithNullable(at.Nullable()))
	if err != nil {
		return nil, err
	}
	el, err := coerceTo(args[1], et)
	if err != nil {
		return nil, err
	}
	return &Call{Func: name, Args: []Expr{arr, el}, T: types.ArrayType(et).WithNullable(at.Nullable())}, nil
}

// resolveArrayNeedle: ARRAY_POSITION(haystack, needle) is the 1-based
// position of needle's first occurrence (0 if absent), NULL when an
// argument is; ARRAY_REMOVE(haystack, needle) drops every element equal to
// needle, NULL elements for a NULL needle, and is NULL only when haystack is.
func resolveArrayNeedle(name string, args []Expr) (Expr, error) {
	at, et, err := arrayAndElement(name, args)
	if err != nil {
		return nil, err
	}
	arr, err := coerceTo(args[0], types.ArrayType(et.WithNullable(at.Elem.Nullable())).WithNullable(at.Nullable()))
	if err != nil {
		return nil, err
	}
	needle, err := coerceTo(args[1], et.WithNullable(args[1].Type().Nullable()))
	if err != nil {
		return nil, err
	}
	out := []Expr{arr, needle}
	if name == "ARRAY_POSITION" {
		return &Call{Func: name, Args: out, T: strict(types.IntType, args)}, nil
	}
	return &Call{Func: name, Args: out, T: arr.Type().WithTimeAttr(types.NoTimeAttr)}, nil
}

// resolveArraySlice: ARRAY_SLICE(array, start[, end]) with INT offsets.
func resolveArraySlice(name string, args []Expr) (Expr, error) {
	if err := arity(name, args, 2, 3); err != nil {
		return nil, err
	}
	if !isArray(args[0]) || args[0].Type().Kind == types.Null {
		return nil, typeError(name, args)
	}
	out := []Expr{args[0]}
	for _, a := range args[1:] {
		if t := a.Type(); !t.IsInteger() && t.Kind != types.Null {
			return nil, typeError(name, args)
		}
		c, err := implicitCast(a, types.IntType)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return &Call{Func: name, Args: out, T: strict(args[0].Type(), args)}, nil
}

// comparable reports whether ARRAY_SORT, ARRAY_MIN and ARRAY_MAX can order
// elements of type t (Flink's COMPARABLE: no nested types).
func orderable(t types.DataType) bool {
	return t.IsNumeric() || t.IsString() || t.IsTemporal() || t.Kind == types.Boolean ||
		t.Kind == types.Binary || t.Kind == types.Varbinary
}

// resolveArraySort: ARRAY_SORT(array[, ascending[, nullsFirst]]) sorts
// ascending with NULLs first by default; descending puts NULLs last unless
// nullsFirst says otherwise. Any NULL argument gives NULL.
func resolveArraySort(name string, args []Expr) (Expr, error) {
	if err := arity(name, args, 1, 3); err != nil {
		return nil, err
	}
	at := args[0].Type()
	if at.Kind != types.Array || !orderable(*at.Elem) {
		return nil, typeError(name, args)
	}
	out := []Expr{args[0]}
	for _, a := range args[1:] {
		if k := a.Type().Kind; k != types.Boolean && k != types.Null {
			return nil, typeError(name, args)
		}
		c, err := implicitCast(a, types.BooleanType)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return &Call{Func: name, Args: out, T: strict(at, args)}, nil
}

// resolveArrayMinMax: ARRAY_MAX(array) and ARRAY_MIN(array) skip NULL
// elements and are NULL for a NULL or empty array. Flink accepts neither
// BOOLEAN nor nested elements.
func resolveArrayMinMax(name string, args []Expr) (Expr, error) {
	if err := arity(name, args, 1, 1); err != nil {
		return nil, err
	}
	at := args[0].Type()
	if at.Kind != types.Array || !orderable(*at.Elem) || at.Elem.Kind == types.Boolean {
		return nil, typeError(name, args)
	}
	return &Call{Func: name, Args: args, T: at.Elem.WithNullable(true).WithTimeAttr(types.NoTimeAttr)}, nil
}

// resolveArrayJoin: ARRAY_JOIN(array, delimiter[, nullReplacement]) joins
// the string elements; NULL elements are skipped, or replaced when a
// replacement is given. Any NULL argument gives NULL.
func resolveArrayJoin(name string, args []Expr) (Expr, error) {
	if err := arity(name, args, 2, 3); err != nil {
		return nil, err
	}
	if at := args[0].Type(); at.Kind != types.Array || !at.Elem.IsString() {
		return nil, typeError(name, args)
	}
	out := []Expr{args[0]}
	for _, a := range args[1:] {
		c, err := coerceParam(name, args, a, types.StringType)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return &Call{Func: name, Args: out, T: strict(types.StringType, args)}, nil
}

// resolveSplit: SPLIT(string, delimiter) is an ARRAY<STRING> of the pieces
// between occurrences of delimiter (a plain string), empty pieces kept;
// an empty delimiter splits into characters, an empty string into none.
func resolveSplit(name string, args []Expr) (Expr, error) {
	e, err := fixedSig(types.StringType, false, types.StringType, types.StringType)(name, args)
	if err != nil {
		return nil, err
	}
	call := e.(*Call)
	call.T = types.ArrayType(types.StringType).WithNullable(call.T.Nullable())
	return call, nil
}

// listOut collects the element choices of an array result: idx holds the
// chosen element rows of all result rows, offs where each row's start.
type listOut struct {
	offs  []int32
	idx   []int32
	nulls []int
}

func (o *listOut) start() {
	o.offs, o.idx, o.nulls = append(o.offs[:0], 0), o.idx[:0], o.nulls[:0]
}

// end closes the current row.
func (o *listOut) end() { o.offs = append(o.offs, int32(len(o.idx))) }

// null closes the current row as NULL (dropping any choices made for it).
func (o *listOut) null() {
	o.idx = o.idx[:o.offs[len(o.offs)-1]]
	o.nulls = append(o.nulls, len(o.offs)-1)
	o.end()
}

// finish gathers the chosen rows of src into an array of type dt.
func (o *listOut) finish(c *compiler, dt arrow.DataType, src arrow.Array) (arrow.Array, error) {
	n := len(o.offs) - 1
	child, err := takeIdx(c, src, o.idx)
	if err != nil {
		return nil, err
	}
	defer child.Release()
	return listFrom(c.mem, dt, n, o.offs, o.nulls, child), nil
}

// listFrom wraps a child column under offs (n+1 of them) as an array of
// list type dt with the given NULL rows.
func listFrom(mem memory.Allocator, dt arrow.DataType, n int, offs []int32, nulls []int, child arrow.Array) arrow.Array {
	kid := retype(child.Data(), dt.(*arrow.ListType).Elem())
	defer kid.Release()
	ob, ov := fixedOut[int32](mem, n+1)
	copy(ov, offs)
	valid := validityOf(mem, n, nulls)
	data := array.NewData(dt, n, []*memory.Buffer{valid, ob}, []arrow.ArrayData{kid}, len(nulls), 0)
	ob.Release()
	if valid != nil {
		valid.Release()
	}
	defer data.Release()
	return array.MakeFromData(data)
}

// elementSource concatenates the child columns of the list arrays lists
// and the plain columns cols, relabeled to et, so one take can draw from
// all of them; base[k] is where the k-th of lists, then cols, starts.
func elementSource(c *compiler, et arrow.DataType, lists []arrow.Array, cols ...arrow.Array) (arrow.Array, []int32, error) {
	srcs := make([]arrow.Array, 0, len(lists)+len(cols))
	for _, l := range lists {
		srcs = append(srcs, l.(array.ListLike).ListValues())
	}
	srcs = append(srcs, cols...)
	parts := make([]arrow.Array, len(srcs))
	base := make([]int32, len(srcs))
	var total int32
	for k, s := range srcs {
		parts[k] = retypeArray(s, et)
		base[k] = total
		total += int32(s.Len())
	}
	defer releaseAll(parts)
	if len(parts) == 1 {
		parts[0].Retain()
		return parts[0], base, nil
	}
	all, err := array.Concatenate(parts, c.mem)
	if err != nil {
		return nil, nil, err
	}
	return all, base, nil
}

func compileArrayAppend(c *compiler, call *Call) (Evaluator, error) {
	dt := call.T.Arrow()
	prepend := call.Func == "ARRAY_PREPEND"
	var out listOut
	return newCallEval(c, call, func(args []arrow.Array, n int) (arrow.Array, error) {
		src, base, err := elementSource(c, dt.(*arrow.ListType).Elem(), args[:1], args[1])
		if err != nil {
			return nil, err
		}
		defer src.Release()
		l := args[0].(*array.List)
		out.start()
		for i := 0; i < n; i++ {
			if !isValid(l, i) {
				out.null()
				continue
			}
			if prepend {
				out.idx = append(out.idx, base[1]+int32(i))
			}
			s, e := l.ValueOffsets(i)
			for j := s; j < e; j++ {
				out.idx = append(out.idx, int32(j))
			}
			if !prepend {
				out.idx = append(out.idx, base[1]+int32(i))
			}
			out.end()
		}
		return out.finish(c, dt, src)
	})
}

func compileArrayConcat(c *compiler, call *Call) (Evaluator, error) {
	dt := call.T.Arrow()
	var out listOut
	return newCallEval(c, call, func(args []arrow.Array, n int) (arrow.Array, error) {
		src, base, err := elementSource(c, dt.(*arrow.ListType).Elem(), args)
		if err != nil {
			return nil, err
		}
		defer src.Release()
		out.start()
		for i := 0; i < n; i++ {
			if anyNullAt(args, i) {
				out.null()
				continue
			}
			for k, a := range args {
				s, e := a.(*array.List).ValueOffsets(i)
				for j := s; j < e; j++ {
					out.idx = append(out.idx, base[k]+int32(j))
				}
			}
			out.end()
		}
		return out.finish(c, dt, src)
	})
}

func compileArrayReverse(c *compiler, call *Call) (Evaluator, error) {
	dt := call.T.Arrow()
	var out listOut
	return newCallEval(c, call, func(args []arrow.Array, n int) (arrow.Array, error) {
		l := args[0].(*array.List)
		out.start()
		for i := 0; i < n; i++ {
			if !isValid(l, i) {
				out.null()
				continue
			}
			s, e := l.ValueOffsets(i)
			for j := e - 1; j >= s; j-- {
				out.idx = append(out.idx, int32(j))
			}
			out.end()
		}
		return out.finish(c, dt, l.ListValues())
	})
}

// keyWriter returns a function appending a canonical encoding of row i of
// a to a buffer: two rows encode alike iff their values are equal, NULLs
// nested in them included. The set functions hash these encodings.
func keyWriter(a arrow.Array) (func(d []byte, i int) []byte, error) {
	switch x := a.(type) {
	case *array.String:
		return func(d []byte, i int) []byte {
			v := x.Value(i)
			d = appendUvarint(d, len(v))
			return append(d, v...)
		}, nil
	case *array.Binary:
		return func(d []byte, i int) []byte {
			v := x.Value(i)
			d = appendUvarint(d, len(v))
			return append(d, v...)
		}, nil
	case *array.Boolean:
		return func(d []byte, i int) []byte {
			if x.Value(i) {
				return append(d, 1)
			}
			return append(d, 0)
		}, nil
	case *array.Struct:
		fields := make([]func([]byte, int) []byte, x.NumField())
		for k := range fields {
			f, err := keyWriter(x.Field(k))
			if err != nil {
				return nil, err
			}
			fields[k] = f
		}
		return func(d []byte, i int) []byte {
			for k, f := range fields {
				if !isValid(x.Field(k), i) {
					d = append(d, 0)
					continue
				}
				d = f(append(d, 1), i)
			}
			return d
		}, nil
	case array.ListLike: // arrays and maps (whose elements are key-value structs)
		vals := x.ListValues()
		elem, err := keyWriter(vals)
		if err != nil {
			return nil, err
		}
		return func(d []byte, i int) []byte {
			s, e := x.ValueOffsets(i)
			d = appendUvarint(d, int(e-s))
			for j := int(s); j < int(e); j++ {
				if !isValid(vals, j) {
					d = append(d, 0)
					continue
				}
				d = elem(append(d, 1), j)
			}
			return d
		}, nil
	}
	fw, ok := a.DataType().(arrow.FixedWidthDataType)
	if !ok || fw.BitWidth()%8 != 0 {
		return nil, fmt.Errorf("cannot compare values of type %s", a.DataType())
	}
	w := fw.BitWidth() / 8
	buf, off := a.Data().Buffers()[1].Bytes(), a.Data().Offset()
	return func(d []byte, i int) []byte { return append(d, buf[(off+i)*w:(off+i+1)*w]...) }, nil
}

func appendUvarint(d []byte, n int) []byte {
	for n >= 0x80 {
		d = append(d, byte(n)|0x80)
		n >>= 7
	}
	return append(d, byte(n))
}

// compileArraySet implements ARRAY_DISTINCT, ARRAY_UNION, ARRAY_EXCEPT and
// ARRAY_INTERSECT as Flink does: results hold each value once, in the order
// of first appearance, and a NULL element is a value like the others (kept
// once, where it first appears, by DISTINCT and UNION; by EXCEPT when the
// second array has none, by INTERSECT when it has one).
func compileArraySet(c *compiler, call *Call) (Evaluator, error) {
	dt := call.T.Arrow()
	fn := call.Func
	var out listOut
	seen := map[string]struct{}{}
	other := map[string]struct{}{}
	var key []byte
	return newCallEval(c, call, func(args []arrow.Array, n int) (arrow.Array, error) {
		src, base, err := elementSource(c, dt.(*arrow.ListType).Elem(), args)
		if err != nil {
			return nil, err
		}
		defer src.Release()
		keyOf, err := keyWriter(src)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", fn, err)
		}
		out.start()
		for i := 0; i < n; i++ {
			if anyNullAt(args, i) {
				out.null()
				continue
			}
			clear(seen)
			// elemKey is element j's key: a NULL's is empty, which no
			// value encodes to.
			elemKey := func(j int32) []byte {
				key = key[:0]
				if isValid(src, int(j)) {
					key = keyOf(append(key, 1), int(j))
				}
				return key
			}
			// add appends the elements of args[k] not seen yet that keep
			// accepts.
			add := func(k int, keep func(string) bool) {
				s, e := args[k].(*array.List).ValueOffsets(i)
				for j := base[k] + int32(s); j < base[k]+int32(e); j++ {
					key := elemKey(j)
					if _, dup := seen[string(key)]; dup || !keep(string(key)) {
						continue
					}
					seen[string(key)] = struct{}{}
					out.idx = append(out.idx, j)
				}
			}
			switch fn {
			case "ARRAY_DISTINCT", "ARRAY_UNION":
				for k := range args {
					add(k, func(string) bool { return true })
				}
			case "ARRAY_EXCEPT", "ARRAY_INTERSECT":
				clear(other)
				s, e := args[1].(*array.List).ValueOffsets(i)
				for j := base[1] + int32(s); j < base[1]+int32(e); j++ {
					other[string(elemKey(j))] = struct{}{}
				}
				except := fn == "ARRAY_EXCEPT"
				add(0, func(k string) bool {
					_, in := other[k]
					return in != except
				})
			}
			out.end()
		}
		return out.finish(c, dt, src)
	})
}

// elemEqual returns whether element i of elems equals row j of needle
// (both valid), by value for nested types too.
func elemEqual(elems, needle arrow.Array) (func(i, j int) bool, error) {
	if _, nested := elems.DataType().(arrow.NestedType); !nested {
		return equalAt(elems, needle)
	}
	ke, err := keyWriter(elems)
	if err != nil {
		return nil, err
	}
	kn, err := keyWriter(retypeArray(needle, elems.DataType()))
	if err != nil {
		return nil, err
	}
	var a, b []byte
	return func(i, j int) bool {
		a, b = ke(a[:0], i), kn(b[:0], j)
		return bytes.Equal(a, b)
	}, nil
}

func compileArrayPosition(c *compiler, call *Call) (Evaluator, error) {
	return newCallEval(c, call, func(args []arrow.Array, n int) (arrow.Array, error) {
		l, needle := args[0].(*array.List), args[1]
		if needle.DataType().ID() == arrow.NULL {
			return allNullArray(call.T, n, c.mem)
		}
		elems := l.ListValues()
		eq, err := elemEqual(elems, needle)
		if err != nil {
			return nil, fmt.Errorf("ARRAY_POSITION: %v", err)
		}
		valid, nulls := validity(c.mem, n, l, needle)
		buf, pos := fixedOut[int32](c.mem, n)
		for i := 0; i < n; i++ {
			pos[i] = 0
			if !isValid(l, i) || !isValid(needle, i) {
				continue
			}
			s, e := l.ValueOffsets(i)
			for j := s; j < e; j++ {
				if isValid(elems, int(j)) && eq(int(j), i) {
					pos[i] = int32(j - s + 1)
					break
				}
			}
		}
		return makeArray(arrow.PrimitiveTypes.Int32, n, valid, buf, nulls), nil
	})
}

func compileArrayRemove(c *compiler, call *Call) (Evaluator, error) {
	dt := call.T.Arrow()
	var out listOut
	return newCallEval(c, call, func(args []arrow.Array, n int) (arrow.Array, error) {
		l, needle := args[0].(*array.List), args[1]
		elems := l.ListValues()
		var eq func(i, j int) bool
		if needle.DataType().ID() != arrow.NULL {
			var err error
			if eq, err = elemEqual(elems, needle); err != nil {
				return nil, fmt.Errorf("ARRAY_REMOVE: %v", err)
			}
		}
		out.start()
		for i := 0; i < n; i++ {
			if !isValid(l, i) {
				out.null()
				continue
			}
			wantNull := !isValid(needle, i)
			s, e := l.ValueOffsets(i)
			for j := s; j < e; j++ {
				elemNull := !isValid(elems, int(j))
				if elemNull == wantNull && (elemNull || eq(int(j), i)) {
					continue
				}
				out.idx = append(out.idx, int32(j))
			}
			out.end()
		}
		return out.finish(c, dt, elems)
	})
}

// sliceBounds returns the 0-based element range [from, to) of
// ARRAY_SLICE(array of size elements, start, end), as Flink computes it:
// negative offsets count from the end, 0 means the first element, and
// bounds beyond the array are clamped.
func sliceBounds(size, start, end int64) (int64, int64) {
	if size == 0 {
		return 0, 0
	}
	if start < 0 {
		start += size + 1
	}
	if end < 0 {
		end += size + 1
	}
	start = max(start, 1)
	if end == 0 {
		end = 1
	}
	end = min(end, size)
	if end < start {
		return 0, 0
	}
	return start - 1, end
}

func compileArraySlice(c *compiler, call *Call) (Evaluator, error) {
	dt := call.T.Arrow()
	var out listOut
	return newCallEval(c, call, func(args []arrow.Array, n int) (arrow.Array, error) {
		l := args[0].(*array.List)
		start := intAt(args[1])
		end := func(int) int64 { return math.MaxInt32 }
		if len(args) == 3 {
			end = intAt(args[2])
		}
		out.start()
		for i := 0; i < n; i++ {
			if anyNullAt(args, i) {
				out.null()
				continue
			}
			s, e := l.ValueOffsets(i)
			from, to := sliceBounds(e-s, start(i), end(i))
			for j := s + from; j < s+to; j++ {
				out.idx = append(out.idx, int32(j))
			}
			out.end()
		}
		return out.finish(c, dt, l.ListValues())
	})
}

// compareAt returns a three-way comparison of two valid rows of a, in the
// order Flink sorts values of its type (Java's Double.compare for floats:
// NaN last, -0.0 before 0.0; strings and bytes by their bytes).
func compareAt(a arrow.Array) (func(i, j int) int, error) {
	switch x := a.(type) {
	case *array.String:
		return func(i, j int) int { return cmpStrings(x.Value(i), x.Value(j)) }, nil
	case *array.Binary:
		return func(i, j int) int { return bytes.Compare(x.Value(i), x.Value(j)) }, nil
	case *array.Boolean:
		return func(i, j int) int { return cmpBool(x.Value(i), x.Value(j)) }, nil
	case *array.Decimal128:
		return func(i, j int) int { return x.Value(i).Cmp(x.Value(j)) }, nil
	case *array.Float32:
		v := x.Float32Values()
		return func(i, j int) int { return javaCompare(float64(v[i]), float64(v[j])) }, nil
	case *array.Float64:
		v := x.Float64Values()
		return func(i, j int) int { return javaCompare(v[i], v[j]) }, nil
	case *array.Int8:
		return cmpValues(x.Int8Values()), nil
	case *array.Int16:
		return cmpValues(x.Int16Values()), nil
	case *array.Int32:
		return cmpValues(x.Int32Values()), nil
	case *array.Int64:
		return cmpValues(x.Int64Values()), nil
	case *array.Date32:
		return cmpValues(valuesOf[arrow.Date32](a)), nil
	case *array.Time32:
		return cmpValues(valuesOf[arrow.Time32](a)), nil
	case *array.Time64:
		return cmpValues(valuesOf[arrow.Time64](a)), nil
	case *array.Timestamp:
		return cmpValues(valuesOf[arrow.Timestamp](a)), nil
	case *array.Duration:
		return cmpValues(valuesOf[arrow.Duration](a)), nil
	case *array.MonthInterval:
		return cmpValues(valuesOf[arrow.MonthInterval](a)), nil
	}
	return nil, fmt.Errorf("cannot order values of type %s", a.DataType())
}

func cmpValues[T int8 | int16 | int32 | int64 | arrow.Date32 | arrow.Time32 | arrow.Time64 | arrow.Timestamp | arrow.Duration | arrow.MonthInterval](v []T) func(i, j int) int {
	return func(i, j int) int {
		switch {
		case v[i] < v[j]:
			return -1
		case v[i] > v[j]:
			return 1
		}
		return 0
	}
}

func cmpStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case b:
		return -1
	}
	return 1
}

// javaCompare is Java's Double.compare.
func javaCompare(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	ab, bb := int64(math.Float64bits(a)), int64(math.Float64bits(b))
	if math.IsNaN(a) {
		ab = 0x7ff8000000000000
	}
	if math.IsNaN(b) {
		bb = 0x7ff8000000000000
	}
	switch {
	case ab < bb:
		return -1
	case ab > bb:
		return 1
	}
	return 0
}

func compileArraySort(c *compiler, call *Call) (Evaluator, error) {
	dt := call.T.Arrow()
	var out listOut
	return newCallEval(c, call, func(args []arrow.Array, n int) (arrow.Array, error) {
		l := args[0].(*array.List)
		elems := l.ListValues()
		cmp, err := compareAt(elems)
		if err != nil {
			return nil, fmt.Errorf("ARRAY_SORT: %v", err)
		}
		flag := func(k int, i int, def bool) bool {
			if len(args) <= k {
				return def
			}
			return args[k].(*array.Boolean).Value(i)
		}
		out.start()
		for i := 0; i < n; i++ {
			if anyNullAt(args, i) {
				out.null()
				continue
			}
			asc := flag(1, i, true)
			nullsFirst := flag(2, i, asc)
			s, e := l.ValueOffsets(i)
			row := len(out.idx)
			nulls := 0
			for j := s; j < e; j++ {
				if !isValid(elems, int(j)) {
					nulls++
					continue
				}
				out.idx = append(out.idx, int32(j))
			}
			vals := out.idx[row:]
			slices.SortStableFunc(vals, func(a, b int32) int {
				if asc {
					return cmp(int(a), int(b))
				}
				return cmp(int(b), int(a))
			})
			if nulls > 0 {
				if nullsFirst {
					out.idx = slices.Insert(out.idx, row, make([]int32, nulls)...)
					for k := row; k < row+nulls; k++ {
						out.idx[k] = -1
					}
				} else {
					for k := 0; k < nulls; k++ {
						out.idx = append(out.idx, -1)
					}
				}
			}
			out.end()
		}
		return out.finish(c, dt, elems)
	})
}

func compileArrayMinMax(c *compiler, call *Call) (Evaluator, error) {
	sign := 1
	if call.Func == "ARRAY_MIN" {
		sign = -1
	}
	var idx []int32
	return newCallEval(c, call, func(args []arrow.Array, n int) (arrow.Array, error) {
		l := args[0].(*array.List)
		elems := l.ListValues()
		cmp, err := compareAt(elems)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", call.Func, err)
		}
		idx = resize(idx, n)
		for i := 0; i < n; i++ {
			idx[i] = -1
			if !isValid(l, i) {
				continue
			}
			s, e := l.ValueOffsets(i)
			for j := s; j < e; j++ {
				if isValid(elems, int(j)) && (idx[i] < 0 || sign*cmp(int(j), int(idx[i])) > 0) {
					idx[i] = int32(j)
				}
			}
		}
		res, err := takeIdx(c, elems, idx)
		if err != nil {
			return nil, err
		}
		defer res.Release()
		return retypeArray(res, call.T.Arrow()), nil
	})
}

func compileArrayJoin(c *compiler, call *Call) (Evaluator, error) {
	out := newStrOut(c.mem)
	return newCallEval(c, call, func(args []arrow.Array, n int) (arrow.Array, error) {
		l := args[0].(*array.List)
		elems := strAt(l.ListValues())
		vals := l.ListValues()
		delim := strAt(args[1])
		repl := func(int) (string, bool) { return "", false }
		if len(args) == 3 {
			r := strAt(args[2])
			repl = func(i int) (string, bool) { return r(i), true }
		}
		out.start(n, n*8)
		for i := 0; i < n; i++ {
			if anyNullAt(args, i) {
				out.null()
				continue
			}
			d := out.scratch[:0]
			first := true
			s, e := l.ValueOffsets(i)
			for j := int(s); j < int(e); j++ {
				v := elems(j)
				if !isValid(vals, j) {
					r, ok := repl(i)
					if !ok {
						continue
					}
					v = r
				}
				if !first {
					d = append(d, delim(i)...)
				}
				first = false
				d = append(d, v...)
			}
			out.scratch = d
			out.append(d)
		}
		return out.finish(), nil
	})
}

// compileSplit builds the pieces' string column and the offsets directly.
func compileSplit(c *compiler, call *Call) (Evaluator, error) {
	dt := call.T.Arrow()
	pieces := newStrOut(c.mem)
	var offs []int32
	var nulls []int
	return newCallEval(c, call, func(args []arrow.Array, n int) (arrow.Array, error) {
		s, delim := strAt(args[0]), strAt(args[1])
		pieces.start(n, n*8)
		offs, nulls = append(offs[:0], 0), nulls[:0]
		count := int32(0)
		for i := 0; i < n; i++ {
			if anyNullAt(args, i) {
				nulls = append(nulls, i)
				offs = append(offs, count)
				continue
			}
			v, d := s(i), delim(i)
			if d == "" {
				for len(v) > 0 {
					_, size := utf8.DecodeRuneInString(v)
					pieces.appendString(v[:size])
					v = v[size:]
					count++
				}
			} else if v != "" {
				// An empty string has no pieces (commons-lang's
				// splitByWholeSeparatorPreserveAllTokens, which Flink uses).
				for {
					k := strings.Index(v, d)
					if k < 0 {
						break
					}
					pieces.appendString(v[:k])
					v = v[k+len(d):]
					count++
				}
				pieces.appendString(v)
				count++
			}
			offs = append(offs, count)
		}
		child := pieces.finish()
		defer child.Release()
		return listFrom(c.mem, dt, n, offs, nulls, child), nil
	})
}

// resolveArrayFlatten: ARRAY_FLATTEN(ARRAY<ARRAY<T>>) is the ARRAY<T> of
// the inner arrays' elements in order, NULL inner arrays skipped; NULL
// only when the outer array is.
func resolveArrayFlatten(name string, args []Expr) (Expr, error) {
	if err := arity(name, args, 1, 1); err != nil {
		return nil, err
	}
	at := args[0].Type()
	if at.Kind != types.Array || at.Elem.Kind != types.Array {
		return nil, typeError(name, args)
	}
	return &Call{Func: name, Args: args, T: types.ArrayType(*at.Elem.Elem).WithNullable(at.Nullable())}, nil
}

func compileArrayFlatten(c *compiler, call *Call) (Evaluator, error) {
	dt := call.T.Arrow()
	var out listOut
	return newCallEval(c, call, func(args []arrow.Array, n int) (arrow.Array, error) {
		outer := args[0].(*array.List)
		inner := outer.ListValues().(*array.List)
		out.start()
		for i := 0; i < n; i++ {
			if !isValid(outer, i) {
				out.null()
				continue
			}
			s, e := outer.ValueOffsets(i)
			for j := int(s); j < int(e); j++ {
				if !isValid(inner, j) {
					continue
				}
				is, ie := inner.ValueOffsets(j)
				for k := is; k < ie; k++ {
					out.idx = append(out.idx, int32(k))
				}
			}
			out.end()
		}
		return out.finish(c, dt, inner.ListValues())
	})
}
