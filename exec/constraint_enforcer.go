package exec

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/internal/errs"
)

// Flink's sink constraint options (ExecutionConfigOptions). The enforcer
// checks what a sink table's declared types promise before a batch reaches
// the connector: NOT NULL columns hold no NULL, and CHAR/VARCHAR/BINARY/
// VARBINARY values fit their declared length.
const (
	// NotNullEnforcerKey: ERROR (default) fails the job when a NULL is
	// written into a NOT NULL column; DROP drops such rows silently.
	NotNullEnforcerKey = "table.exec.sink.not-null-enforcer"
	// TypeLengthEnforcerKey: IGNORE (default) writes values of any length;
	// ERROR fails the job on a value longer than a CHAR/VARCHAR/BINARY/
	// VARBINARY column's length, or shorter than a CHAR/BINARY one's;
	// TRIM_PAD trims longer values and pads shorter CHAR (spaces) and
	// BINARY (zero bytes) values.
	TypeLengthEnforcerKey = "table.exec.sink.type-length-enforcer"
	// NestedEnforcerKey: IGNORE (default) checks top-level columns only;
	// ROWS also the fields of nested rows; ROWS_AND_COLLECTIONS also the
	// elements of arrays and multisets and the keys and values of maps.
	NestedEnforcerKey = "table.exec.sink.nested-constraint-enforcer"
)

// The values of the enforcer options.
const (
	EnforceError   = "ERROR"
	EnforceDrop    = "DROP"
	EnforceIgnore  = "IGNORE"
	EnforceTrimPad = "TRIM_PAD"
	NestedRows     = "ROWS"
	NestedAll      = "ROWS_AND_COLLECTIONS"
)

// ConstraintEnforcerSpec is how a sink enforces its table's constraints,
// read from the session by ConstraintEnforcerOptions and fixed in the plan
// (a restored job keeps the behaviour it was planned with). Empty fields
// mean Flink's defaults: ERROR, IGNORE, IGNORE.
type ConstraintEnforcerSpec struct {
	NotNull    string `json:"notNull,omitempty"`
	TypeLength string `json:"typeLength,omitempty"`
	Nested     string `json:"nested,omitempty"`
}

// ConstraintEnforcerOptions reads the enforcer options from a session or
// job configuration, with Flink's defaults.
func ConstraintEnforcerOptions(config map[string]string) (ConstraintEnforcerSpec, error) {
	s := ConstraintEnforcerSpec{NotNull: EnforceError, TypeLength: EnforceIgnore, Nested: EnforceIgnore}
	read := func(key string, dst *string, allowed ...string) error {
		v, ok := config[key]
		if !ok || v == "" {
			return nil
		}
		for _, a := range allowed {
			if strings.EqualFold(v, a) {
				*dst = a
				return nil
			}
		}
		return errs.New(errs.InvalidOption, "%s must be one of %s, not '%s'", key, strings.Join(allowed, ", "), v)
	}
	if err := read(NotNullEnforcerKey, &s.NotNull, EnforceError, EnforceDrop); err != nil {
		return s, err
	}
	if err := read(TypeLengthEnforcerKey, &s.TypeLength, EnforceIgnore, EnforceError, EnforceTrimPad); err != nil {
		return s, err
	}
	if err := read(NestedEnforcerKey, &s.Nested, EnforceIgnore, NestedRows, NestedAll); err != nil {
		return s, err
	}
	return s, nil
}

// Check returns, for a sink with the given physical schema, whether the
// enforcer has anything to check, and an error when the options cannot be
// applied to it: as in Flink, trimming and padding are not supported on
// values nested in collections.
func (s ConstraintEnforcerSpec) Check(schema types.Schema) (bool, error) {
	needed := false
	for _, c := range schema.Columns {
		ch, err := s.build(c.Name, c.Type, false)
		if err != nil {
			return false, err
		}
		needed = needed || ch != nil
	}
	return needed, nil
}

// lengthConstrained reports a type whose values must fit a length.
func lengthConstrained(t types.DataType) bool {
	switch t.Kind {
	case types.Char, types.Binary:
		return true
	case types.Varchar, types.Varbinary:
		return t.Length < types.MaxLength
	}
	return false
}

// fieldCheck is what the enforcer checks of one column or nested value,
// built once from the sink's type. Subtrees with nothing to check are
// pruned.
type fieldCheck struct {
	// name is the path segment: the column or row field name, "[]" for
	// collection elements (printed with their index), "[key]", "[value]".
	name    string
	t       types.DataType
	notNull bool
	length  bool
	// children are checked in the child arrays: Row fields (by field
	// index), the element of an array or multiset, the key and value of a
	// map.
	children []*fieldCheck
	fields   []int
}

func (s ConstraintEnforcerSpec) build(name string, t types.DataType, inCollection bool) (*fieldCheck, error) {
	c := &fieldCheck{name: name, t: t, notNull: t.NotNull}
	if (s.TypeLength == EnforceError || s.TypeLength == EnforceTrimPad) && lengthConstrained(t) {
		if inCollection && s.TypeLength == EnforceTrimPad {
			return nil, errs.New(errs.InvalidPlan, "Trimming and/or padding is not supported if constraint checking is enabled on types nested in collections.")
		}
		c.length = true
	}
	add := func(name string, t types.DataType, field int, collection bool) error {
		ch, err := s.build(name, t, inCollection || collection)
		if err != nil || ch == nil {
			return err
		}
		c.children = append(c.children, ch)
		c.fields = append(c.fields, field)
		return nil
	}
	switch {
	case t.Kind == types.Row && (s.Nested == NestedRows || s.Nested == NestedAll):
		for i, f := range t.Fields {
			if err := add("."+f.Name, f.Type, i, false); err != nil {
				return nil, err
			}
		}
	case (t.Kind == types.Array || t.Kind == types.Multiset) && s.Nested == NestedAll:
		if err := add("[]", *t.Elem, 0, true); err != nil {
			return nil, err
		}
	case t.Kind == types.Map && s.Nested == NestedAll:
		if err := add("[key]", *t.Key, 0, true); err != nil {
			return nil, err
		}
		if err := add("[value]", *t.Value, 1, true); err != nil {
			return nil, err
		}
	}
	if !c.notNull && !c.length && len(c.children) == 0 {
		return nil, nil
	}
	return c, nil
}

// constraintEnforcer applies a ConstraintEnforcerSpec to the batches of a
// sink, a column at a time: NULL and length checks are loops over validity
// bitmaps and offsets; rows are dropped with one take per batch; trimmed
// or padded columns are rebuilt only when some value changes.
type constraintEnforcer struct {
	spec   ConstraintEnforcerSpec
	mem    memory.Allocator
	checks []*fieldCheck
	cols   []int
	// tops describe the top-level columns checked (rows are the batch's).
	tops []*level

	// per batch: n rows; drop[i] marks row i dropped, valid while
	// dropped > 0
	n         int
	drop      []bool
	dropped   int
	firstRow  int
	violation error
}

func newConstraintEnforcer(spec ConstraintEnforcerSpec, schema types.Schema, mem memory.Allocator) (*constraintEnforcer, error) {
	e := &constraintEnforcer{spec: spec, mem: mem}
	for i, c := range schema.Columns {
		ch, err := spec.build(c.Name, c.Type, false)
		if err != nil {
			return nil, err
		}
		if ch != nil {
			name := c.Name
			e.checks = append(e.checks, ch)
			e.cols = append(e.cols, i)
			e.tops = append(e.tops, &level{path: func(int) string { return name }})
		}
	}
	return e, nil
}

// level is one array being checked: which top-level row each of its slots
// belongs to and how to name a slot in an error.
type level struct {
	// rows[i] is the batch row of slot i, or -1 when the slot is not
	// reached (its parent row or collection is NULL); nil means slot i is
	// row i.
	rows []int32
	// path names slot i; called only to report a violation.
	path func(i int) string
}

func (l *level) row(i int) int {
	if l.rows == nil {
		return i
	}
	return int(l.rows[i])
}

// Apply enforces the constraints on b. It returns b itself (retained) when
// nothing changes, else a new batch; the caller releases the result. A
// violation under ERROR is returned as the error of the row that comes
// first in the batch.
func (e *constraintEnforcer) Apply(b arrow.RecordBatch) (arrow.RecordBatch, error) {
	n := int(b.NumRows())
	e.n, e.dropped, e.firstRow, e.violation = n, 0, n, nil
	var replaced []arrow.Array
	defer func() {
		for _, a := range replaced {
			if a != nil {
				a.Release()
			}
		}
	}()
	for k, ch := range e.checks {
		col := e.cols[k]
		out, err := e.check(ch, b.Column(col), e.tops[k])
		if err != nil {
			return nil, err
		}
		if out != nil {
			if replaced == nil {
				replaced = make([]arrow.Array, b.NumCols())
			}
			replaced[col] = out
		}
	}
	if e.violation != nil {
		return nil, e.violation
	}
	if replaced == nil && e.dropped == 0 {
		b.Retain()
		return b, nil
	}
	out := b
	if replaced != nil {
		cols := make([]arrow.Array, b.NumCols())
		for i := range cols {
			cols[i] = b.Column(i)
			if replaced[i] != nil {
				cols[i] = replaced[i]
			}
		}
		out = array.NewRecordBatch(b.Schema(), cols, b.NumRows())
		defer out.Release()
	}
	if e.dropped == 0 {
		out.Retain()
		return out, nil
	}
	keep := make([]int32, 0, n-e.dropped)
	for i, d := range e.drop {
		if !d {
			keep = append(keep, int32(i))
		}
	}
	return takeRows(context.Background(), e.mem, out, keep)
}

// failNotNull records a NULL in a NOT NULL value of row: the row is
// dropped, or the violation reported if it is the earliest.
func (e *constraintEnforcer) failNotNull(row int, l *level, slot int) {
	if e.spec.NotNull == EnforceDrop {
		e.dropRow(row)
		return
	}
	if row < e.firstRow {
		e.firstRow = row
		e.violation = errs.New(errs.NotNullViolation, "Column '%s' is NOT NULL, however, a null value is being written into it. You can set job configuration '%s'='%s' to suppress this exception and drop such records silently.",
			l.path(slot), NotNullEnforcerKey, EnforceDrop)
	}
}

// failLength records a value of the wrong length in row under ERROR.
func (e *constraintEnforcer) failLength(row int, l *level, slot int, t types.DataType, length int) {
	// A row the NOT NULL enforcer drops is not written, whatever its lengths.
	if (e.dropped == 0 || !e.drop[row]) && row < e.firstRow {
		e.firstRow = row
		e.violation = errs.New(errs.StringDataLengthMismatch, "Column '%s' is %s(%d), however, a string of length %d is being written into it. You can set job configuration '%s' to control this behaviour.",
			l.path(slot), t.Kind, t.Length, length, TypeLengthEnforcerKey)
	}
}

// dropRow marks row dropped; the marks are cleared by the batch's first
// drop, so batches without drops cost nothing.
func (e *constraintEnforcer) dropRow(row int) {
	if e.dropped == 0 {
		e.drop = resize(e.drop, e.n)
		clear(e.drop)
	}
	if !e.drop[row] {
		e.drop[row] = true
		e.dropped++
	}
}

// check checks arr, whose slots are described by l, against c. It returns
// a replacement for arr when TRIM_PAD changed a value in it (or in a
// nested row field), else nil.
func (e *constraintEnforcer) check(c *fieldCheck, arr arrow.Array, l *level) (arrow.Array, error) {
	n := arr.Len()
	if c.notNull && arr.NullN() > 0 {
		for i := 0; i < n; i++ {
			if arr.IsNull(i) {
				if r := l.row(i); r >= 0 {
					e.failNotNull(r, l, i)
				}
			}
		}
	}
	var out arrow.Array
	if c.length {
		var err error
		if out, err = e.checkLength(c, arr, l); err != nil {
			return nil, err
		}
	}
	if len(c.children) == 0 {
		return out, nil
	}
	switch a := arr.(type) {
	case *array.Struct:
		return e.checkStruct(c, a, l)
	case *array.List:
		if c.t.Kind == types.Map {
			return nil, e.checkMap(c, a, l)
		}
		child := e.elements(a, a.Offsets()[a.Data().Offset():], l, func(p string, idx int) string { return fmt.Sprintf("%s[%d]", p, idx) })
		if _, err := e.check(c.children[0], a.ListValues(), child); err != nil {
			return nil, err
		}
	default:
		return nil, errs.New(errs.InternalError, "constraint enforcer: column '%s' of type %s is an Arrow %s", l.path(0), c.t, arr.DataType())
	}
	return nil, nil
}

// checkMap checks the keys and values of the MAP column a.
func (e *constraintEnforcer) checkMap(c *fieldCheck, a *array.List, l *level) error {
	_, keys, values := types.MapEntries(a)
	child := e.elements(a, a.Offsets()[a.Data().Offset():], l, func(p string, _ int) string { return p })
	keyLevel := &level{rows: child.rows, path: func(i int) string { return child.path(i) + "[key]" }}
	valueLevel := &level{rows: child.rows, path: func(i int) string { return child.path(i) + "[value]" }}
	for k, ch := range c.children {
		arr, lv := keys, keyLevel
		if c.fields[k] == 1 {
			arr, lv = values, valueLevel
		}
		if _, err := e.check(ch, arr, lv); err != nil {
			return err
		}
	}
	return nil
}

// elements describes the child slots of a list or map: each element
// belongs to its list's row; elements of unreached or NULL lists are not
// reached. name appends an element's position to its list's path.
func (e *constraintEnforcer) elements(a arrow.Array, offs []int32, l *level, name func(p string, idx int) string) *level {
	// offs are the list's own (sliced) offsets; they index the unsliced
	// child array.
	size := 0
	if len(offs) > 0 {
		size = int(offs[len(offs)-1])
	}
	rows := make([]int32, size)
	parent := make([]int32, size)
	for i := range rows {
		rows[i] = -1
	}
	for i := 0; i < a.Len(); i++ {
		r := l.row(i)
		if r < 0 || a.IsNull(i) {
			continue
		}
		for j := offs[i]; j < offs[i+1]; j++ {
			rows[j] = int32(r)
			parent[j] = int32(i)
		}
	}
	return &level{rows: rows, path: func(j int) string {
		p := int(parent[j])
		return name(l.path(p), j-int(offs[p]))
	}}
}

// checkStruct checks the fields of a row; a field's slots are reached
// where the row is. It rebuilds the row when a field was trimmed or padded.
func (e *constraintEnforcer) checkStruct(c *fieldCheck, a *array.Struct, l *level) (arrow.Array, error) {
	n := a.Len()
	rows := l.rows
	if a.NullN() > 0 {
		rows = make([]int32, n)
		for i := range rows {
			rows[i] = int32(l.row(i))
			if a.IsNull(i) {
				rows[i] = -1
			}
		}
	}
	var fields []arrow.Array
	defer func() {
		for _, f := range fields {
			if f != nil {
				f.Release()
			}
		}
	}()
	for k, ch := range c.children {
		name := ch.name
		fl := &level{rows: rows, path: func(i int) string { return l.path(i) + name }}
		out, err := e.check(ch, a.Field(c.fields[k]), fl)
		if err != nil {
			return nil, err
		}
		if out != nil {
			if fields == nil {
				fields = make([]arrow.Array, a.NumField())
			}
			fields[c.fields[k]] = out
		}
	}
	if fields == nil {
		return nil, nil
	}
	children := make([]arrow.ArrayData, a.NumField())
	for i := range children {
		children[i] = a.Field(i).Data()
		if fields[i] != nil {
			children[i] = fields[i].Data()
		}
	}
	// The fields of a are sliced to its rows; the rebuilt row starts at
	// offset 0, so its validity bitmap is re-based too.
	var validity *memory.Buffer
	if a.NullN() > 0 {
		validity = memory.NewResizableBuffer(e.mem)
		validity.Resize(int(bitutil.BytesForBits(int64(n))))
		bitutil.CopyBitmap(a.NullBitmapBytes(), a.Data().Offset(), n, validity.Bytes(), 0)
		defer validity.Release()
	}
	data := array.NewData(a.DataType(), n, []*memory.Buffer{validity}, children, a.NullN(), 0)
	defer data.Release()
	return array.MakeFromData(data), nil
}

// checkLength checks the lengths of a CHAR/VARCHAR/BINARY/VARBINARY
// array: characters for strings, bytes for binary strings. Under TRIM_PAD
// it returns the trimmed and padded array when a value changed.
func (e *constraintEnforcer) checkLength(c *fieldCheck, arr arrow.Array, l *level) (arrow.Array, error) {
	max := c.t.Length
	exact := c.t.Kind == types.Char || c.t.Kind == types.Binary
	switch a := arr.(type) {
	case *array.String:
		change := e.lengthViolations(c, arr, l, func(i int) int {
			s := a.Value(i)
			if len(s) <= max && !exact {
				return len(s) // at most max bytes: at most max characters
			}
			return utf8.RuneCountInString(s)
		})
		if change < 0 {
			return nil, nil
		}
		bld := array.NewStringBuilder(e.mem)
		defer bld.Release()
		bld.Reserve(a.Len())
		for i := 0; i < a.Len(); i++ {
			if a.IsNull(i) {
				bld.AppendNull()
				continue
			}
			s := a.Value(i)
			if i >= change && l.row(i) >= 0 {
				s = trimPadString(s, max, exact)
			}
			bld.Append(s)
		}
		return bld.NewArray(), nil
	case *array.Binary:
		change := e.lengthViolations(c, arr, l, func(i int) int { return len(a.Value(i)) })
		if change < 0 {
			return nil, nil
		}
		bld := array.NewBinaryBuilder(e.mem, arrow.BinaryTypes.Binary)
		defer bld.Release()
		bld.Reserve(a.Len())
		var pad []byte
		for i := 0; i < a.Len(); i++ {
			if a.IsNull(i) {
				bld.AppendNull()
				continue
			}
			v := a.Value(i)
			switch {
			case i < change || l.row(i) < 0:
			case len(v) > max:
				v = v[:max]
			case exact && len(v) < max:
				pad = append(pad[:0], v...)
				for len(pad) < max {
					pad = append(pad, 0)
				}
				v = pad
			}
			bld.Append(v)
		}
		return bld.NewArray(), nil
	}
	return nil, errs.New(errs.InternalError, "constraint enforcer: column '%s' of type %s is an Arrow %s", l.path(0), c.t, arr.DataType())
}

// lengthViolations checks the length (as length measures it) of each
// non-NULL value of arr that belongs to a live row against the column's
// type. Under TRIM_PAD it returns the first value to trim or pad (-1 for
// none); otherwise it records each violation and returns -1.
func (e *constraintEnforcer) lengthViolations(c *fieldCheck, arr arrow.Array, l *level, length func(i int) int) int {
	max := c.t.Length
	exact := c.t.Kind == types.Char || c.t.Kind == types.Binary
	trimPad := e.spec.TypeLength == EnforceTrimPad
	for i := 0; i < arr.Len(); i++ {
		if arr.IsNull(i) {
			continue
		}
		if n := length(i); n > max || (exact && n < max) {
			r := l.row(i)
			if r < 0 {
				continue
			}
			if !trimPad {
				e.failLength(r, l, i, c.t, n)
				continue
			}
			return i
		}
	}
	return -1
}

// trimPadString cuts s to max characters, or pads a CHAR value with
// spaces to max characters.
func trimPadString(s string, max int, pad bool) string {
	n := 0
	for i := range s {
		if n == max {
			return s[:i]
		}
		n++
	}
	if pad && n < max {
		return s + strings.Repeat(" ", max-n)
	}
	return s
}
