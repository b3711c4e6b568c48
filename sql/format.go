package sql

import (
	"regexp"
	"strconv"
	"strings"
)

// FormatExpr renders e canonically: binary operators and predicates are
// fully parenthesized, names and keywords upper-cased, literals normalized.
// EXPLAIN output and derived names rely on it being deterministic.
func FormatExpr(e Expr) string {
	var b strings.Builder
	formatExpr(&b, e)
	return b.String()
}

var plainIdent = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_$]*$`)

func quoteIdent(s string) string {
	if plainIdent.MatchString(s) {
		return s
	}
	return "`" + strings.ReplaceAll(s, "`", "``") + "`"
}

func quoteString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func formatList(b *strings.Builder, es []Expr) {
	for i, e := range es {
		if i > 0 {
			b.WriteString(", ")
		}
		formatExpr(b, e)
	}
}

func formatExpr(b *strings.Builder, e Expr) {
	switch e := e.(type) {
	case *Ident:
		for i, p := range e.Parts {
			if i > 0 {
				b.WriteByte('.')
			}
			b.WriteString(quoteIdent(p))
		}
	case *Literal:
		switch e.Kind {
		case StringLit:
			b.WriteString(quoteString(e.Text))
		case DateLit, TimeLit, TimestampLit:
			b.WriteString(e.Kind.String() + " " + quoteString(e.Text))
		case BinaryLit:
			b.WriteString("X" + quoteString(e.Text))
		default:
			b.WriteString(e.Text)
		}
	case *IntervalLit:
		b.WriteString("INTERVAL " + quoteString(e.Value) + " " + e.Unit)
		if e.Precision > 0 {
			b.WriteString("(" + strconv.Itoa(e.Precision) + ")")
		}
		if e.ToUnit != "" {
			b.WriteString(" TO " + e.ToUnit)
			if e.ToPrecision > 0 {
				b.WriteString("(" + strconv.Itoa(e.ToPrecision) + ")")
			}
		}
	case *Unary:
		if e.Op == Not {
			b.WriteString("NOT ")
		} else {
			b.WriteString(e.Op.String())
		}
		formatExpr(b, e.Expr)
	case *Binary:
		b.WriteByte('(')
		formatExpr(b, e.Left)
		b.WriteString(" " + e.Op.String() + " ")
		formatExpr(b, e.Right)
		b.WriteByte(')')
	case *FuncCall:
		if formatJSONCall(b, e) || formatOverlaps(b, e) || formatSpecialCall(b, e) {
			return
		}
		b.WriteString(e.Name + "(")
		if e.Distinct {
			b.WriteString("DISTINCT ")
		}
		if e.Star {
			b.WriteByte('*')
		}
		formatList(b, e.Args)
		b.WriteByte(')')
		if e.Filter != nil {
			b.WriteString(" FILTER (WHERE ")
			formatExpr(b, e.Filter)
			b.WriteByte(')')
		}
		if e.Over != nil {
			b.WriteString(" OVER (")
			formatWindow(b, e.Over)
			b.WriteByte(')')
		}
		if e.OverName != "" {
			b.WriteString(" OVER " + quoteIdent(e.OverName))
		}
	case *Cast:
		if e.Try {
			b.WriteString("TRY_")
		}
		b.WriteString("CAST(")
		formatExpr(b, e.Expr)
		b.WriteString(" AS " + e.Type.String() + ")")
	case *Case:
		b.WriteString("CASE")
		if e.Operand != nil {
			b.WriteByte(' ')
			formatExpr(b, e.Operand)
		}
		for _, w := range e.Whens {
			b.WriteString(" WHEN ")
			formatExpr(b, w.Cond)
			b.WriteString(" THEN ")
			formatExpr(b, w.Result)
		}
		if e.Else != nil {
			b.WriteString(" ELSE ")
			formatExpr(b, e.Else)
		}
		b.WriteString(" END")
	case *InList:
		b.WriteByte('(')
		formatExpr(b, e.Expr)
		b.WriteString(not(e.Not) + " IN (")
		formatList(b, e.List)
		b.WriteString("))")
	case *Between:
		b.WriteByte('(')
		formatExpr(b, e.Expr)
		b.WriteString(not(e.Not) + " BETWEEN ")
		if e.Symmetric {
			b.WriteString("SYMMETRIC ")
		}
		formatExpr(b, e.Low)
		b.WriteString(" AND ")
		formatExpr(b, e.High)
		b.WriteByte(')')
	case *Like:
		b.WriteByte('(')
		formatExpr(b, e.Expr)
		op := " LIKE "
		if e.SimilarTo {
			op = " SIMILAR TO "
		}
		b.WriteString(not(e.Not) + op)
		formatExpr(b, e.Pattern)
		if e.Escape != nil {
			b.WriteString(" ESCAPE ")
			formatExpr(b, e.Escape)
		}
		b.WriteByte(')')
	case *IsNull:
		b.WriteByte('(')
		formatExpr(b, e.Expr)
		b.WriteString(" IS" + not(e.Not) + " NULL)")
	case *IsBool:
		b.WriteByte('(')
		formatExpr(b, e.Expr)
		b.WriteString(" IS" + not(e.Not) + " " + strings.ToUpper(strconv.FormatBool(e.Value)) + ")")
	case *Extract:
		b.WriteString("EXTRACT(" + e.Unit + " FROM ")
		formatExpr(b, e.Expr)
		b.WriteByte(')')
	case *Index:
		formatExpr(b, e.Expr)
		b.WriteByte('[')
		formatExpr(b, e.Index)
		b.WriteByte(']')
	case *FieldAccess:
		formatExpr(b, e.Expr)
		for _, f := range e.Fields {
			b.WriteString("." + quoteIdent(f))
		}
	case *SubqueryExpr:
		if e.Array {
			b.WriteString("ARRAY")
		}
		b.WriteString("(" + FormatQuery(e.Query) + ")")
	case *Exists:
		if e.Not {
			b.WriteString("NOT ")
		}
		b.WriteString("EXISTS (" + FormatQuery(e.Query) + ")")
	case *InSubquery:
		b.WriteByte('(')
		formatExpr(b, e.Expr)
		b.WriteString(not(e.Not) + " IN (" + FormatQuery(e.Query) + "))")
	case *Quantified:
		if e.All {
			b.WriteString("ALL(")
		} else {
			b.WriteString("ANY(")
		}
		formatExpr(b, e.Expr)
		b.WriteByte(')')
	case *ArrayCtor:
		b.WriteString("ARRAY[")
		formatList(b, e.Elems)
		b.WriteByte(']')
	case *MapCtor:
		b.WriteString("MAP[")
		for i := range e.Keys {
			if i > 0 {
				b.WriteString(", ")
			}
			formatExpr(b, e.Keys[i])
			b.WriteString(", ")
			formatExpr(b, e.Values[i])
		}
		b.WriteByte(']')
	case *RowCtor:
		b.WriteString("ROW(")
		formatList(b, e.Fields)
		b.WriteByte(')')
	case *Param:
		b.WriteString("$" + strconv.Itoa(e.Index))
	}
}

func not(n bool) string {
	if n {
		return " NOT"
	}
	return ""
}

func formatOrder(b *strings.Builder, items []OrderItem) {
	for i, o := range items {
		if i > 0 {
			b.WriteString(", ")
		}
		formatExpr(b, o.Expr)
		if o.Desc {
			b.WriteString(" DESC")
		}
		if o.NullsFirst != nil {
			if *o.NullsFirst {
				b.WriteString(" NULLS FIRST")
			} else {
				b.WriteString(" NULLS LAST")
			}
		}
	}
}

func formatWindow(b *strings.Builder, w *WindowSpec) {
	sep := ""
	if w.Ref != "" {
		b.WriteString(quoteIdent(w.Ref))
		sep = " "
	}
	if len(w.PartitionBy) > 0 {
		b.WriteString("PARTITION BY ")
		formatList(b, w.PartitionBy)
		sep = " "
	}
	if len(w.OrderBy) > 0 {
		b.WriteString(sep + "ORDER BY ")
		formatOrder(b, w.OrderBy)
		sep = " "
	}
	if f := w.Frame; f != nil {
		kind := "RANGE"
		if f.Rows {
			kind = "ROWS"
		}
		b.WriteString(sep + kind + " BETWEEN ")
		formatBound(b, f.Start)
		b.WriteString(" AND ")
		formatBound(b, f.End)
	}
}

func formatBound(b *strings.Builder, fb FrameBound) {
	if fb.Offset != nil {
		formatExpr(b, fb.Offset)
		b.WriteByte(' ')
	}
	b.WriteString(fb.Kind.String())
}

// String renders the type in canonical Flink syntax, e.g. MAP<STRING, INT>.
func (t *TypeName) String() string {
	var b strings.Builder
	b.WriteString(t.Name)
	switch t.Name {
	case "ARRAY", "MULTISET":
		b.WriteString("<" + t.Elem.String() + ">")
	case "MAP":
		b.WriteString("<" + t.Key.String() + ", " + t.Value.String() + ">")
	case "ROW":
		b.WriteByte('<')
		for i, f := range t.Fields {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(quoteIdent(f.Name) + " " + f.Type.String())
			if f.Comment != "" {
				b.WriteString(" " + quoteString(f.Comment))
			}
		}
		b.WriteByte('>')
	case "INTERVAL":
		b.WriteString(" " + t.FromUnit)
		if t.ToUnit != "" {
			b.WriteString(" TO " + t.ToUnit)
		}
	}
	if t.Params != nil {
		b.WriteByte('(')
		for i, p := range t.Params {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(strconv.Itoa(p))
		}
		b.WriteByte(')')
	}
	if t.NotNull {
		b.WriteString(" NOT NULL")
	}
	return b.String()
}

// FormatQuery renders a query canonically on one line.
func FormatQuery(q *Query) string {
	var b strings.Builder
	formatQuery(&b, q)
	return b.String()
}

func formatQuery(b *strings.Builder, q *Query) {
	if len(q.With) > 0 {
		b.WriteString("WITH ")
		for i, c := range q.With {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(quoteIdent(c.Name))
			if len(c.Columns) > 0 {
				b.WriteString(" (" + joinIdents(c.Columns) + ")")
			}
			b.WriteString(" AS (")
			formatQuery(b, c.Query)
			b.WriteByte(')')
		}
		b.WriteByte(' ')
	}
	formatSetExpr(b, q.Body)
	if len(q.OrderBy) > 0 {
		b.WriteString(" ORDER BY ")
		formatOrder(b, q.OrderBy)
	}
	if q.Limit != nil {
		b.WriteString(" LIMIT ")
		formatExpr(b, q.Limit)
	}
	if q.Offset != nil {
		b.WriteString(" OFFSET ")
		formatExpr(b, q.Offset)
	}
}

func joinIdents(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = quoteIdent(n)
	}
	return strings.Join(q, ", ")
}

func formatSetExpr(b *strings.Builder, s SetExpr) {
	switch s := s.(type) {
	case *Query:
		b.WriteByte('(')
		formatQuery(b, s)
		b.WriteByte(')')
	case *SetOp:
		formatSetExpr(b, s.Left)
		b.WriteString(" " + s.Op.String())
		if s.All {
			b.WriteString(" ALL")
		}
		b.WriteByte(' ')
		formatSetExpr(b, s.Right)
	case *Values:
		b.WriteString("VALUES ")
		for i, row := range s.Rows {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteByte('(')
			formatList(b, row)
			b.WriteByte(')')
		}
	case *Select:
		b.WriteString("SELECT ")
		if h := formatHints(s.Hints); h != "" {
			b.WriteString(h + " ")
		}
		if s.Distinct {
			b.WriteString("DISTINCT ")
		}
		for i, it := range s.Items {
			if i > 0 {
				b.WriteString(", ")
			}
			switch {
			case it.Star && len(it.StarQualifier) > 0:
				b.WriteString(joinPath(it.StarQualifier) + ".*")
			case it.Star:
				b.WriteByte('*')
			default:
				formatExpr(b, it.Expr)
			}
			if it.Alias != "" {
				b.WriteString(" AS " + quoteIdent(it.Alias))
			}
		}
		if s.From != nil {
			b.WriteString(" FROM ")
			formatTable(b, s.From)
		}
		if s.Where != nil {
			b.WriteString(" WHERE ")
			formatExpr(b, s.Where)
		}
		switch {
		case s.GroupingSets != nil:
			b.WriteString(" GROUP BY GROUPING SETS (")
			for i, set := range s.GroupingSets {
				if i > 0 {
					b.WriteString(", ")
				}
				b.WriteByte('(')
				formatList(b, set)
				b.WriteByte(')')
			}
			b.WriteByte(')')
		case len(s.GroupBy) > 0:
			b.WriteString(" GROUP BY ")
			formatList(b, s.GroupBy)
		}
		if s.Having != nil {
			b.WriteString(" HAVING ")
			formatExpr(b, s.Having)
		}
		for i, w := range s.Windows {
			if i == 0 {
				b.WriteString(" WINDOW ")
			} else {
				b.WriteString(", ")
			}
			b.WriteString(quoteIdent(w.Name) + " AS (")
			formatWindow(b, w)
			b.WriteByte(')')
		}
	}
}

func joinPath(parts []string) string {
	q := make([]string, len(parts))
	for i, n := range parts {
		q[i] = quoteIdent(n)
	}
	return strings.Join(q, ".")
}

func formatTable(b *strings.Builder, t TableExpr) {
	switch t := t.(type) {
	case *TableRef:
		b.WriteString(joinPath(t.Name.Parts))
		if h := formatHints(t.Hints); h != "" {
			b.WriteString(" " + h)
		}
		if t.SystemTime != nil {
			b.WriteString(" FOR SYSTEM_TIME AS OF ")
			formatExpr(b, t.SystemTime)
		}
		if t.Alias != "" {
			b.WriteString(" AS " + quoteIdent(t.Alias))
		}
	case *TableFunctionRef:
		unnest := t.Name == "UNNEST"
		switch {
		case unnest:
			b.WriteString("UNNEST(")
		case t.Lateral:
			b.WriteString("LATERAL TABLE(" + quoteIdent(t.Name) + "(")
		default:
			b.WriteString("TABLE(" + quoteIdent(t.Name) + "(")
		}
		for i, a := range t.Args {
			if i > 0 {
				b.WriteString(", ")
			}
			formatTableFuncArg(b, a)
		}
		if unnest {
			b.WriteString(")")
			if t.WithOrdinality {
				b.WriteString(" WITH ORDINALITY")
			}
		} else {
			b.WriteString("))")
		}
		if t.Alias != "" {
			b.WriteString(" AS " + quoteIdent(t.Alias))
		}
		if len(t.ColumnAliases) > 0 {
			b.WriteString(" (" + joinIdents(t.ColumnAliases) + ")")
		}
	case *MatchRecognizeRef:
		formatMatchRecognize(b, t)
	case *SubqueryRef:
		if t.Lateral {
			b.WriteString("LATERAL ")
		}
		b.WriteByte('(')
		formatQuery(b, t.Query)
		b.WriteByte(')')
		if t.Alias != "" {
			b.WriteString(" AS " + quoteIdent(t.Alias))
		}
		if len(t.ColumnAliases) > 0 {
			b.WriteString(" (" + joinIdents(t.ColumnAliases) + ")")
		}
	case *Join:
		b.WriteByte('(')
		formatTable(b, t.Left)
		b.WriteString(" " + t.Kind.String() + " JOIN ")
		formatTable(b, t.Right)
		if t.On != nil {
			b.WriteString(" ON ")
			formatExpr(b, t.On)
		}
		if len(t.Using) > 0 {
			b.WriteString(" USING (" + joinIdents(t.Using) + ")")
		}
		b.WriteByte(')')
	}
}

func formatTableFuncArg(b *strings.Builder, a TableFuncArg) {
	if a.Name != "" {
		b.WriteString(quoteIdent(a.Name) + " => ")
	}
	switch {
	case a.Table != nil:
		b.WriteString("TABLE " + joinPath(a.Table.Parts))
	case a.Query != nil:
		b.WriteString("TABLE (")
		formatQuery(b, a.Query)
		b.WriteByte(')')
	case a.Descriptor != nil:
		b.WriteString("DESCRIPTOR(" + joinIdents(a.Descriptor) + ")")
	case a.Model != nil:
		b.WriteString("MODEL " + joinPath(a.Model.Parts))
	case a.Expr != nil:
		formatExpr(b, a.Expr)
	}
	if len(a.PartitionBy) > 0 {
		b.WriteString(" PARTITION BY (")
		formatList(b, a.PartitionBy)
		b.WriteByte(')')
	}
}
