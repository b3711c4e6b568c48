package sql

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"
)

// TestParse runs testdata/*: `parse` dumps the AST of a script, `format`
// prints each statement's query canonically. Errors print as messages.
func TestParse(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			s, err := ParseScript(d.Input)
			if err != nil {
				e, ok := err.(*Error)
				if !ok {
					t.Fatalf("error is %T, not *Error", err)
				}
				return fmt.Sprintf("error: %s\n", e)
			}
			var b strings.Builder
			for i, st := range s.Stmts {
				switch d.Cmd {
				case "parse":
					line, col := s.LineCol(st.Start)
					fmt.Fprintf(&b, "-- statement %d at %d:%d\n", i+1, line, col)
					dump(&b, reflect.ValueOf(st.Stmt), 0)
				case "format":
					out := formatStmt(st.Stmt)
					b.WriteString(out + "\n")
					if _, ok := st.Stmt.(*QueryStatement); ok {
						// Canonical text must parse back to the same tree.
						again, err := ParseStatement(out)
						if err != nil {
							t.Fatalf("formatted query does not parse: %v\n%s", err, out)
						}
						if got := formatStmt(again); got != out {
							t.Fatalf("format is not stable:\n%s\n%s", out, got)
						}
					}
				default:
					t.Fatalf("unknown command %s", d.Cmd)
				}
			}
			return b.String()
		})
	})
}

func formatStmt(s Statement) string {
	switch s := s.(type) {
	case *QueryStatement:
		return FormatQuery(s.Query)
	case *Insert:
		return "INSERT INTO " + joinPath(s.Table.Parts) + " " + FormatQuery(s.Query)
	case *CreateView:
		return FormatQuery(s.Query)
	case *CreateTable:
		var parts []string
		for _, c := range s.Columns {
			if c.Expr != nil {
				parts = append(parts, c.Name+" AS "+c.Expr.String())
			} else {
				parts = append(parts, c.Name+" "+c.Type.String())
			}
		}
		if s.Watermark != nil {
			parts = append(parts, "WATERMARK FOR "+s.Watermark.Column+" AS "+s.Watermark.Expr.String())
		}
		return strings.Join(parts, ", ")
	}
	return fmt.Sprintf("%T", s)
}

var posType = reflect.TypeOf(Pos(0))

// dump writes a deterministic indented tree: one line per node with its
// position and scalar fields, child nodes indented below.
func dump(b *strings.Builder, v reflect.Value, depth int) {
	for v.Kind() == reflect.Interface || v.Kind() == reflect.Pointer {
		if v.IsNil() {
			b.WriteString("nil\n")
			return
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		fmt.Fprintf(b, "%v\n", scalar(v))
		return
	}
	t := v.Type()
	b.WriteString(t.Name())
	type child struct {
		name string
		v    reflect.Value
	}
	var children []child
	for i := 0; i < t.NumField(); i++ {
		f, fv := t.Field(i), v.Field(i)
		if fv.IsZero() {
			continue
		}
		switch {
		case f.Type == posType:
			fmt.Fprintf(b, "@%d", fv.Int())
		case isScalar(fv):
			fmt.Fprintf(b, " %s=%s", f.Name, scalar(fv))
		default:
			children = append(children, child{f.Name, fv})
		}
	}
	b.WriteByte('\n')
	ind := strings.Repeat("  ", depth+1)
	for _, c := range children {
		if c.v.Kind() == reflect.Slice {
			dumpSlice(b, ind, c.name, c.v, depth)
			continue
		}
		fmt.Fprintf(b, "%s%s: ", ind, c.name)
		dump(b, c.v, depth+1)
	}
}

func dumpSlice(b *strings.Builder, ind, name string, v reflect.Value, depth int) {
	for j := 0; j < v.Len(); j++ {
		label := fmt.Sprintf("%s[%d]", name, j)
		if e := v.Index(j); e.Kind() == reflect.Slice {
			if e.Len() == 0 {
				// An empty inner list is meaningful (the grouping set ()).
				fmt.Fprintf(b, "%s%s: ()\n", ind, label)
			}
			dumpSlice(b, ind, label, e, depth)
			continue
		}
		fmt.Fprintf(b, "%s%s: ", ind, label)
		dump(b, v.Index(j), depth+1)
	}
}

func isScalar(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Slice:
		k := v.Type().Elem().Kind()
		return k == reflect.String || k == reflect.Int
	case reflect.Struct, reflect.Interface:
		return false
	case reflect.Pointer:
		return v.Elem().Kind() == reflect.Bool
	}
	return true
}

func scalar(v reflect.Value) string {
	if v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	if s, ok := v.Interface().(fmt.Stringer); ok {
		return s.String()
	}
	if v.Kind() == reflect.String {
		return fmt.Sprintf("%q", v.String())
	}
	return fmt.Sprintf("%v", v.Interface())
}
