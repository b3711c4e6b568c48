package table

import (
	"context"
	"fmt"
	"io"
	"iter"
	"reflect"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/internal/errs"
)

// goValue reads row i of a column of type t as the Go value Row documents.
func goValue(a arrow.Array, i int, t types.DataType) any {
	if a.IsNull(i) {
		return nil
	}
	switch c := a.(type) {
	case *array.Boolean:
		return c.Value(i)
	case *array.Int8:
		return c.Value(i)
	case *array.Int16:
		return c.Value(i)
	case *array.Int32:
		return c.Value(i)
	case *array.Int64:
		return c.Value(i)
	case *array.Float32:
		return c.Value(i)
	case *array.Float64:
		return c.Value(i)
	case *array.String:
		return strings.Clone(c.Value(i))
	case *array.Binary:
		return append([]byte(nil), c.Value(i)...)
	case *array.Decimal128:
		return decimalString(c.Value(i), t.Scale)
	case *array.Date32:
		return c.Value(i).ToTime().UTC()
	case *array.Timestamp:
		return c.Value(i).ToTime(c.DataType().(*arrow.TimestampType).Unit).UTC()
	case *array.Time32:
		return time.Duration(c.Value(i)) * c.DataType().(*arrow.Time32Type).Unit.Multiplier()
	case *array.Time64:
		return time.Duration(c.Value(i)) * c.DataType().(*arrow.Time64Type).Unit.Multiplier()
	case *array.Duration:
		return time.Duration(c.Value(i)) * c.DataType().(*arrow.DurationType).Unit.Multiplier()
	case *array.MonthInterval:
		return int32(c.Value(i))
	}
	return a.ValueStr(i)
}

// Collect runs a bounded table and scans its final rows into structs of
// type T: each column goes to the exported field tagged `eddy:"name"` or,
// without a tag, the field whose name matches case-insensitively; columns
// without a field are skipped. Numeric values convert to the field's
// numeric type, NULL leaves a field zero (or a pointer field nil).
// Changelog results (a streaming aggregation) are materialized: an update
// or delete retracts the row it replaces, so Collect returns the final
// table. An unbounded table never ends; cancel ctx to stop it.
func Collect[T any](ctx context.Context, t *Table) ([]T, error) {
	res, err := t.Execute(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := res.All(ctx)
	if err != nil {
		return nil, err
	}
	sc, err := newScanner[T](res.Schema())
	if err != nil {
		return nil, err
	}
	final := Materialize(rows)
	out := make([]T, len(final))
	for i, r := range final {
		if err := sc.scan(r.Values, &out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Rows runs t and yields its rows as structs of type T as they arrive,
// with their row kinds (see Collect for the mapping). Stop the loop to
// cancel the query.
func Rows[T any](ctx context.Context, t *Table) iter.Seq2[Typed[T], error] {
	return func(yield func(Typed[T], error) bool) {
		res, err := t.Execute(ctx)
		if err != nil {
			yield(Typed[T]{}, err)
			return
		}
		defer res.Close()
		sc, err := newScanner[T](res.Schema())
		if err != nil {
			yield(Typed[T]{}, err)
			return
		}
		for {
			r, err := res.Next(ctx)
			if err == io.EOF {
				return
			}
			var v Typed[T]
			if err == nil {
				v.Kind = r.Kind
				err = sc.scan(r.Values, &v.Value)
			}
			if !yield(v, err) || err != nil {
				return
			}
		}
	}
}

// Typed is a row scanned into T with its changelog kind.
type Typed[T any] struct {
	Kind  connector.RowKind
	Value T
}

// Materialize applies a changelog to an empty table and returns the final
// rows in arrival order: +I and +U add a row, -U and -D remove the most
// recent equal row.
func Materialize(rows []Row) []Row {
	var out []Row
	for _, r := range rows {
		if !r.Kind.IsRetraction() {
			r.Kind = connector.Insert
			out = append(out, r)
			continue
		}
		for i := len(out) - 1; i >= 0; i-- {
			if reflect.DeepEqual(out[i].Values, r.Values) {
				out = append(out[:i], out[i+1:]...)
				break
			}
		}
	}
	return out
}

// scanner maps the columns of a result onto the fields of T.
type scanner[T any] struct {
	fields [][]int // per column, the field index path, or nil
}

func newScanner[T any](s types.Schema) (*scanner[T], error) {
	st := reflect.TypeFor[T]()
	if st.Kind() != reflect.Struct {
		return nil, errs.New(errs.DatatypeMismatch, "Collect scans rows into structs, not %s", st)
	}
	byName := map[string][]int{}
	byFold := map[string][]int{}
	for _, f := range reflect.VisibleFields(st) {
		if !f.IsExported() || f.Anonymous {
			continue
		}
		if tag, ok := f.Tag.Lookup("eddy"); ok {
			if tag != "-" {
				byName[tag] = f.Index
			}
			continue
		}
		byFold[strings.ToLower(f.Name)] = f.Index
	}
	sc := &scanner[T]{fields: make([][]int, s.Len())}
	matched := 0
	for i, c := range s.Columns {
		if idx, ok := byName[c.Name]; ok {
			sc.fields[i] = idx
		} else if idx, ok := byFold[strings.ToLower(c.Name)]; ok {
			sc.fields[i] = idx
		}
		if sc.fields[i] != nil {
			matched++
		}
	}
	if matched == 0 && s.Len() > 0 {
		return nil, errs.New(errs.UndefinedColumn, "no field of %s matches a column of %s", st, strings.Join(s.Names(), ", "))
	}
	return sc, nil
}

func (sc *scanner[T]) scan(vals []any, dst *T) error {
	v := reflect.ValueOf(dst).Elem()
	for i, idx := range sc.fields {
		if idx == nil || vals[i] == nil {
			continue
		}
		if err := assign(v.FieldByIndex(idx), vals[i]); err != nil {
			return errs.New(errs.DatatypeMismatch, "field %s: %v", v.Type().FieldByIndex(idx).Name, err)
		}
	}
	return nil
}

// assign stores a Go value of a Row into field f, converting numbers.
func assign(f reflect.Value, val any) error {
	if f.Kind() == reflect.Pointer {
		p := reflect.New(f.Type().Elem())
		if err := assign(p.Elem(), val); err != nil {
			return err
		}
		f.Set(p)
		return nil
	}
	v := reflect.ValueOf(val)
	if v.Type().AssignableTo(f.Type()) {
		f.Set(v)
		return nil
	}
	numeric := func(k reflect.Kind) bool {
		return (k >= reflect.Int && k <= reflect.Float64) && k != reflect.Uintptr
	}
	if numeric(v.Kind()) && numeric(f.Kind()) {
		f.Set(v.Convert(f.Type()))
		return nil
	}
	if s, ok := val.(string); ok && (f.Kind() == reflect.Float64 || f.Kind() == reflect.Float32) {
		// DECIMAL values arrive as exact text.
		var x float64
		if _, err := fmt.Sscan(s, &x); err != nil {
			return err
		}
		f.SetFloat(x)
		return nil
	}
	if f.Kind() == reflect.String {
		f.SetString(fmt.Sprint(val))
		return nil
	}
	return fmt.Errorf("cannot store %T in %s", val, f.Type())
}
