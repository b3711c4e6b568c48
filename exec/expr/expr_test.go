package expr

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/cockroachdb/datadriven"

	"github.com/eddysql/eddy/catalog/types"
)

// The data-driven tests use these commands:
//
//	batch            input: a header "name TYPE | name TYPE ..." then one
//	                 row per line, cells separated by '|', NULL for null;
//	                 cells are parsed with CAST from STRING.
//	eval             input: one S-expression; prints the result type and
//	                 one value per row. Errors print as "error: ...".
//	resolve          prints the resolved expression and its type.
//	fold             prints Fold's result.
//	roundtrip        checks Marshal/Unmarshal and prints the JSON.
//	filter           input: a predicate; prints the rows FilterBatch keeps.
//	shared           input: a calc's condition ("-" for none), then one
//	                 projection per line; prints SharedCalls' calls and
//	                 the expressions as ReplaceShared rewrites them.
//
// S-expressions: $i is column i of the current batch; 42 is INT NOT NULL,
// 1.5 is DECIMAL(2, 1) NOT NULL, 1.5e0 DOUBLE NOT NULL, 'abc' CHAR(3) NOT
// NULL, TRUE/FALSE, NULL; (lit TEXT TYPE) casts TEXT to TYPE; (cast X TYPE)
// and (try_cast X TYPE); (interval MS) and (interval-months M);
// (F args...) resolves function F, with '-' in alphabetic names read as a
// space (is-not-null => IS NOT NULL).
func TestDataDriven(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		defer mem.AssertSize(t, 0)
		var batch arrow.RecordBatch
		defer func() {
			if batch != nil {
				batch.Release()
			}
		}()
		var schema types.Schema
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			switch d.Cmd {
			case "batch":
				if batch != nil {
					batch.Release()
				}
				var err error
				batch, schema, err = parseBatch(d.Input, mem)
				if err != nil {
					return "error: " + err.Error() + "\n"
				}
				return ""
			case "shared":
				return runShared(d.Input, schema)
			case "eval", "resolve", "fold", "roundtrip", "filter":
			default:
				d.Fatalf(t, "unknown command %s", d.Cmd)
			}
			e, err := parseExpr(d.Input, schema)
			if err != nil {
				return "error: " + err.Error() + "\n"
			}
			switch d.Cmd {
			case "resolve":
				return fmt.Sprintf("%s\ntype: %s\n", e, e.Type())
			case "fold":
				f, err := Fold(e)
				if err != nil {
					return "error: " + err.Error() + "\n"
				}
				_, isLit := f.(*Literal)
				return fmt.Sprintf("%s : %s (literal=%v)\n", f, f.Type(), isLit)
			case "roundtrip":
				raw, err := Marshal(e)
				if err != nil {
					return "error: " + err.Error() + "\n"
				}
				back, err := Unmarshal(raw)
				if err != nil {
					return "error: " + err.Error() + "\n"
				}
				if back.String() != e.String() || !back.Type().Equal(e.Type()) {
					return fmt.Sprintf("mismatch: %s : %s vs %s : %s\n", e, e.Type(), back, back.Type())
				}
				return string(raw) + "\n"
			}
			if batch == nil {
				d.Fatalf(t, "no batch")
			}
			ev, err := Compile(e, mem)
			if err != nil {
				return "error: " + err.Error() + "\n"
			}
			var sb strings.Builder
			// Evaluate twice to exercise builder and constant reuse.
			for pass := 0; pass < 2; pass++ {
				sb.Reset()
				res, err := ev.Eval(batch)
				if err != nil {
					return "error: " + err.Error() + "\n"
				}
				if d.Cmd == "filter" {
					out, err := FilterBatch(batch, res, mem)
					res.Release()
					if err != nil {
						return "error: " + err.Error() + "\n"
					}
					sb.WriteString(formatBatch(out, schema))
					out.Release()
					continue
				}
				if res.Len() != int(batch.NumRows()) {
					d.Fatalf(t, "result has %d rows, batch %d", res.Len(), batch.NumRows())
				}
				if !arrow.TypeEqual(res.DataType(), e.Type().Arrow()) {
					d.Fatalf(t, "result Arrow type %s, expected %s", res.DataType(), e.Type().Arrow())
				}
				fmt.Fprintf(&sb, "type: %s\n", e.Type())
				sb.WriteString(formatColumn(res, e.Type()))
				res.Release()
			}
			return sb.String()
		})
	})
}

func formatColumn(a arrow.Array, t types.DataType) string {
	var sb strings.Builder
	f, err := formatter(t, a)
	for i := 0; i < a.Len(); i++ {
		switch {
		case a.IsNull(i) || t.Kind == types.Null:
			sb.WriteString("NULL")
		case err != nil:
			sb.WriteString("?" + err.Error())
		case t.IsString():
			sb.WriteString("'" + string(f(nil, i)) + "'")
		default:
			sb.Write(f(nil, i))
		}
		sb.WriteByte('\n')
	}
	return sb.String()
}

func formatBatch(b arrow.RecordBatch, s types.Schema) string {
	cols := make([][]string, b.NumCols())
	for j := range cols {
		cols[j] = strings.Split(strings.TrimSuffix(formatColumn(b.Column(j), s.Columns[j].Type), "\n"), "\n")
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "rows: %d\n", b.NumRows())
	for i := 0; i < int(b.NumRows()); i++ {
		for j := range cols {
			if j > 0 {
				sb.WriteString(" | ")
			}
			sb.WriteString(cols[j][i])
		}
		sb.WriteByte('\n')
	}
	return sb.String()
}

func parseBatch(input string, mem memory.Allocator) (arrow.RecordBatch, types.Schema, error) {
	lines := strings.Split(strings.TrimSpace(input), "\n")
	var schema types.Schema
	for _, col := range strings.Split(lines[0], "|") {
		name, typ, _ := strings.Cut(strings.TrimSpace(col), " ")
		t, err := parseType(typ)
		if err != nil {
			return nil, schema, err
		}
		schema.Columns = append(schema.Columns, types.Column{Name: name, Type: t})
	}
	rows := lines[1:]
	cols := make([]arrow.Array, len(schema.Columns))
	defer releaseAll(cols)
	for j, c := range schema.Columns {
		sb := array.NewStringBuilder(mem)
		for _, r := range rows {
			cells := strings.Split(r, "|")
			if len(cells) != len(schema.Columns) {
				sb.Release()
				return nil, schema, fmt.Errorf("row %q has %d cells", r, len(cells))
			}
			cell := strings.TrimSpace(cells[j])
			if cell == "NULL" {
				sb.AppendNull()
			} else {
				sb.Append(strings.Trim(cell, "'"))
			}
		}
		strs := sb.NewArray()
		sb.Release()
		arr, err := castColumn(strs, c.Type, mem)
		strs.Release()
		if err != nil {
			return nil, schema, err
		}
		cols[j] = arr
	}
	return array.NewRecordBatch(schema.Arrow(), cols, int64(len(rows))), schema, nil
}

func castColumn(strs arrow.Array, t types.DataType, mem memory.Allocator) (arrow.Array, error) {
	src := &ColumnRef{Index: 0, T: types.StringType}
	var e Expr = src
	switch t.Kind {
	case types.IntervalDayTime, types.IntervalYearMonth:
		// Intervals have no string cast: parse the count and reinterpret.
		k := types.BigIntType
		if t.Kind == types.IntervalYearMonth {
			k = types.IntType
		}
		ints, err := castColumn(strs, k, mem)
		if err != nil {
			return nil, err
		}
		defer ints.Release()
		data := array.NewData(t.Arrow(), ints.Len(), ints.Data().Buffers(), nil, ints.NullN(), 0)
		defer data.Release()
		return array.MakeFromData(data), nil
	}
	e, err := NewCast(e, t.WithNullable(true), false)
	if err != nil {
		return nil, err
	}
	ev, err := Compile(e, mem)
	if err != nil {
		return nil, err
	}
	b := array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true}}, nil), []arrow.Array{strs}, int64(strs.Len()))
	defer b.Release()
	return ev.Eval(b)
}

// parseType reads a type name such as INT, DECIMAL(10,2), VARCHAR(5),
// TIMESTAMP(3), with an optional NOT NULL.
func parseType(s string) (types.DataType, error) {
	s = strings.ToUpper(strings.TrimSpace(s))
	notNull := strings.HasSuffix(s, " NOT NULL")
	s = strings.TrimSpace(strings.TrimSuffix(s, " NOT NULL"))
	name, params := s, []int(nil)
	if i := strings.IndexByte(s, '('); i >= 0 {
		name = s[:i]
		for _, p := range strings.Split(strings.TrimSuffix(s[i+1:], ")"), ",") {
			v, err := strconv.Atoi(strings.TrimSpace(p))
			if err != nil {
				return types.DataType{}, fmt.Errorf("bad type %q", s)
			}
			params = append(params, v)
		}
	}
	p := func(i, def int) int {
		if i < len(params) {
			return params[i]
		}
		return def
	}
	var t types.DataType
	switch name {
	case "NULL":
		t = types.NullType
	case "BOOLEAN":
		t = types.BooleanType
	case "TINYINT":
		t = types.TinyIntType
	case "SMALLINT":
		t = types.SmallIntType
	case "INT":
		t = types.IntType
	case "BIGINT":
		t = types.BigIntType
	case "FLOAT":
		t = types.FloatType
	case "DOUBLE":
		t = types.DoubleType
	case "DECIMAL":
		t = types.DecimalType(p(0, 10), p(1, 0))
	case "STRING":
		t = types.StringType
	case "VARCHAR":
		t = types.VarcharType(p(0, 1))
	case "CHAR":
		t = types.CharType(p(0, 1))
	case "BYTES":
		t = types.BytesType
	case "DATE":
		t = types.DateType
	case "TIME":
		t = types.TimeType(p(0, 0))
	case "TIMESTAMP":
		t = types.TimestampType(p(0, 6))
	case "TIMESTAMP_LTZ":
		t = types.TimestampLTZType(p(0, 6))
	case "INTERVAL_DT":
		t = types.IntervalDayTimeType()
	case "INTERVAL_YM":
		t = types.IntervalYearMonthType()
	default:
		return t, fmt.Errorf("unknown type %q", s)
	}
	return t.WithNullable(!notNull), nil
}

// S-expression parser.

type sexpParser struct {
	toks   []string
	pos    int
	schema types.Schema
}

func tokenize(s string) []string {
	var toks []string
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case unicode.IsSpace(rune(c)):
			i++
		case c == '(' || c == ')':
			toks = append(toks, string(c))
			i++
		case c == '\'':
			j := i + 1
			for ; j < len(s); j++ {
				if s[j] == '\'' {
					if j+1 < len(s) && s[j+1] == '\'' {
						j++
						continue
					}
					break
				}
			}
			toks = append(toks, s[i:j+1])
			i = j + 1
		default:
			j := i
			for j < len(s) && !unicode.IsSpace(rune(s[j])) && s[j] != '(' && s[j] != ')' {
				j++
			}
			toks = append(toks, s[i:j])
			i = j
		}
	}
	return toks
}

func parseExpr(s string, schema types.Schema) (Expr, error) {
	p := &sexpParser{toks: tokenize(s), schema: schema}
	e, err := p.expr()
	if err != nil {
		return nil, err
	}
	if p.pos != len(p.toks) {
		return nil, fmt.Errorf("trailing tokens %v", p.toks[p.pos:])
	}
	return e, nil
}

func (p *sexpParser) next() (string, error) {
	if p.pos >= len(p.toks) {
		return "", errors.New("unexpected end of expression")
	}
	p.pos++
	return p.toks[p.pos-1], nil
}

// typeTokens reads a type, which may span tokens: DECIMAL(10,2) NOT NULL.
func (p *sexpParser) typeTokens() (types.DataType, error) {
	var parts []string
	for p.pos < len(p.toks) && p.toks[p.pos] != ")" {
		parts = append(parts, p.toks[p.pos])
		p.pos++
		if p.pos < len(p.toks) && p.toks[p.pos] == "(" {
			// Type parameters: DECIMAL ( 10,2 )
			parts[len(parts)-1] += "("
			p.pos++
			for p.pos < len(p.toks) && p.toks[p.pos] != ")" {
				parts[len(parts)-1] += p.toks[p.pos]
				p.pos++
			}
			parts[len(parts)-1] += ")"
			p.pos++
		}
	}
	return parseType(strings.Join(parts, " "))
}

func (p *sexpParser) expr() (Expr, error) {
	tok, err := p.next()
	if err != nil {
		return nil, err
	}
	if tok != "(" {
		return p.atom(tok)
	}
	head, err := p.next()
	if err != nil {
		return nil, err
	}
	var e Expr
	switch strings.ToLower(head) {
	case "lit":
		text, err := p.next()
		if err != nil {
			return nil, err
		}
		t, err := p.typeTokens()
		if err != nil {
			return nil, err
		}
		if text == "NULL" {
			e = &Literal{T: t.WithNullable(true)}
			break
		}
		c, err := NewCast(NewLiteral(strings.Trim(text, "'"), types.StringType.WithNullable(false)), t, false)
		if err != nil {
			return nil, err
		}
		if e, err = Fold(c); err != nil {
			return nil, err
		}
		e.(*Literal).T = t
	case "cast", "try_cast":
		x, err := p.expr()
		if err != nil {
			return nil, err
		}
		t, err := p.typeTokens()
		if err != nil {
			return nil, err
		}
		if e, err = NewCast(x, t, head == "try_cast"); err != nil {
			return nil, err
		}
	case "interval", "interval-months":
		text, err := p.next()
		if err != nil {
			return nil, err
		}
		v, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			return nil, err
		}
		if head == "interval" {
			e = NewLiteral(v, types.IntervalDayTimeType().WithNullable(false))
		} else {
			e = NewLiteral(int32(v), types.IntervalYearMonthType().WithNullable(false))
		}
	default:
		var args []Expr
		for p.pos < len(p.toks) && p.toks[p.pos] != ")" {
			a, err := p.expr()
			if err != nil {
				return nil, err
			}
			args = append(args, a)
		}
		name := head
		if strings.IndexFunc(name, unicode.IsLetter) >= 0 {
			name = strings.ReplaceAll(name, "-", " ")
		}
		if e, err = Resolve(name, args); err != nil {
			return nil, err
		}
	}
	if tok, err := p.next(); err != nil || tok != ")" {
		return nil, fmt.Errorf("expected ) got %q", tok)
	}
	return e, nil
}

func (p *sexpParser) atom(tok string) (Expr, error) {
	switch {
	case strings.HasPrefix(tok, "$"):
		i, err := strconv.Atoi(tok[1:])
		if err != nil || i >= len(p.schema.Columns) {
			return nil, fmt.Errorf("bad column %s", tok)
		}
		return &ColumnRef{Index: i, Name: p.schema.Columns[i].Name, T: p.schema.Columns[i].Type}, nil
	case strings.HasPrefix(tok, "'"):
		s := strings.ReplaceAll(tok[1:len(tok)-1], "''", "'")
		return NewLiteral(s, types.CharType(len([]rune(s))).WithNullable(false)), nil
	case tok == "NULL":
		return &Literal{T: types.NullType}, nil
	case tok == "TRUE" || tok == "FALSE":
		return NewLiteral(tok == "TRUE", types.BooleanType.WithNullable(false)), nil
	}
	if v, err := strconv.ParseInt(tok, 10, 32); err == nil {
		return NewLiteral(v, types.IntType.WithNullable(false)), nil
	}
	if v, err := strconv.ParseInt(tok, 10, 64); err == nil {
		return NewLiteral(v, types.BigIntType.WithNullable(false)), nil
	}
	if strings.ContainsAny(tok, "eE") {
		f, err := strconv.ParseFloat(tok, 64)
		if err != nil {
			return nil, err
		}
		return NewLiteral(f, types.DoubleType.WithNullable(false)), nil
	}
	if i := strings.IndexByte(tok, '.'); i >= 0 {
		digits := strings.TrimLeft(strings.ReplaceAll(strings.TrimPrefix(tok, "-"), ".", ""), "0")
		prec := max(len(digits), len(tok)-i-1, 1)
		t := types.DecimalType(prec, len(tok)-i-1).WithNullable(false)
		v, _, err := parseDecimal(tok, int32(prec), int32(t.Scale))
		if err != nil {
			return nil, err
		}
		return NewLiteral(v, t), nil
	}
	return nil, fmt.Errorf("bad token %q", tok)
}
