package sql

import (
	"sort"
	"strconv"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/opcode"
	driver "github.com/pingcap/tidb/pkg/parser/test_driver"
)

// conv converts one TiDB parse result into our AST. TiDB records start
// offsets only on expressions; other nodes are located by searching the
// statement's tokens from cursor, which advances as conversion proceeds in
// source order.
type conv struct {
	p *parser
	// base is the source position of offset 0 of the text TiDB parsed.
	base   Pos
	cursor Pos
}

func (c *conv) pos(n ast.Node) Pos {
	pos := c.base + Pos(n.OriginTextPosition())
	if pos > c.cursor {
		c.cursor = pos
	}
	return pos
}

// find returns the position of the next token at or after the cursor that
// satisfies match, advancing the cursor past it.
func (c *conv) find(match func(token) bool) Pos {
	i := sort.Search(len(c.p.toks), func(i int) bool { return c.p.toks[i].pos >= c.cursor })
	for ; i < len(c.p.toks) && c.p.toks[i].kind != tkEOF; i++ {
		if t := c.p.toks[i]; match(t) {
			c.cursor = t.pos + 1
			return t.pos
		}
	}
	return c.cursor
}

// skip moves the cursor past a placeholder's span.
func (c *conv) skip(m marker) {
	if m.end > c.cursor {
		c.cursor = m.end
	}
}

func (c *conv) findWord(kw string) Pos { return c.find(func(t token) bool { return t.is(kw) }) }

func (c *conv) errAt(pos Pos, format string, args ...any) error {
	return c.p.errAt(pos, format, args...)
}

// ---------------------------------------------------------------------------
// queries

func (c *conv) query(n ast.ResultSetNode, pos Pos) (*Query, error) {
	q := &Query{Pos: pos}
	var (
		with    *ast.WithClause
		orderBy *ast.OrderByClause
		limit   *ast.Limit
		err     error
	)
	switch s := n.(type) {
	case *ast.SelectStmt:
		with, orderBy, limit = s.With, s.OrderBy, s.Limit
		if with != nil {
			if q.With, err = c.with(with); err != nil {
				return nil, err
			}
		}
		if q.Body, err = c.selectBody(s); err != nil {
			return nil, err
		}
	case *ast.SetOprStmt:
		with, orderBy, limit = s.With, s.OrderBy, s.Limit
		if with != nil {
			if q.With, err = c.with(with); err != nil {
				return nil, err
			}
		}
		if q.Body, err = c.setOprList(s.SelectList); err != nil {
			return nil, err
		}
	default:
		return nil, c.errAt(c.cursor, "expected a query")
	}
	if orderBy != nil {
		if q.OrderBy, err = c.orderBy(orderBy.Items); err != nil {
			return nil, err
		}
	}
	if limit != nil {
		if q.Limit, q.Offset, err = c.limit(limit); err != nil {
			return nil, err
		}
	}
	if with == nil {
		q.Pos = q.Body.Position()
	}
	return q, nil
}

// limit converts LIMIT/OFFSET. TiDB keeps no offsets on their operands
// (literals or ?), so they are read from the tokens after the keywords.
func (c *conv) limit(l *ast.Limit) (count, offset Expr, err error) {
	operand := func(kw string) (Expr, error) {
		at := c.findWord(kw)
		t := c.tokenAfter(at, 1)
		if kw == "FETCH" {
			// FETCH FIRST|NEXT [n] ROW|ROWS ONLY; n defaults to 1.
			if t = c.tokenAfter(at, 2); t.is("ROW") || t.is("ROWS") {
				return &Literal{Pos: at, Kind: IntLit, Text: "1"}, nil
			}
		}
		if m, ok := c.p.markers[t.pos]; ok && m.kind == markParam {
			return &Param{Pos: t.pos, Index: m.n}, nil
		}
		return c.literal(t.pos)
	}
	kw, save := "LIMIT", c.cursor
	if at := c.find(func(t token) bool { return t.is("LIMIT") || t.is("FETCH") }); c.tokenAfter(at, 0).is("FETCH") {
		kw = "FETCH"
	}
	c.cursor = save
	if count, err = operand(kw); err != nil || l.Offset == nil {
		return count, nil, err
	}
	offset, err = operand("OFFSET")
	return count, offset, err
}

func (c *conv) with(w *ast.WithClause) ([]CTE, error) {
	start := c.findWord("WITH")
	if w.IsRecursive {
		return nil, c.errAt(start, "WITH RECURSIVE is not supported")
	}
	var ctes []CTE
	for _, cte := range w.CTEs {
		name := cte.Name.O
		pos := c.find(func(t token) bool { return t.isIdent() && strings.EqualFold(t.val, name) })
		q, err := c.subquery(cte.Query.Query)
		if err != nil {
			return nil, err
		}
		ct := CTE{Pos: pos, Name: name, Query: q}
		for _, col := range cte.ColNameList {
			ct.Columns = append(ct.Columns, col.O)
		}
		ctes = append(ctes, ct)
	}
	return ctes, nil
}

// subquery converts a nested query, which starts after the next '('.
func (c *conv) subquery(n ast.ResultSetNode) (*Query, error) {
	pos := c.find(func(t token) bool { return t.is("SELECT") || t.is("WITH") })
	c.cursor = pos
	return c.query(n, pos)
}

func (c *conv) setOprList(l *ast.SetOprSelectList) (SetExpr, error) {
	if l.With != nil || l.OrderBy != nil || l.Limit != nil {
		// A parenthesized set operation with its own clauses.
		pos := c.cursor
		q := &Query{Pos: pos}
		var err error
		if l.With != nil {
			if q.With, err = c.with(l.With); err != nil {
				return nil, err
			}
		}
		inner := *l
		inner.With, inner.OrderBy, inner.Limit = nil, nil, nil
		if q.Body, err = c.setOprList(&inner); err != nil {
			return nil, err
		}
		if l.OrderBy != nil {
			if q.OrderBy, err = c.orderBy(l.OrderBy.Items); err != nil {
				return nil, err
			}
		}
		if l.Limit != nil {
			if q.Limit, q.Offset, err = c.limit(l.Limit); err != nil {
				return nil, err
			}
		}
		return q, nil
	}
	var acc SetExpr
	for _, s := range l.Selects {
		var (
			e     SetExpr
			after *ast.SetOprType
			err   error
		)
		switch s := s.(type) {
		case *ast.SelectStmt:
			after = s.AfterSetOperator
			if s.IsInBraces && (s.OrderBy != nil || s.Limit != nil || s.With != nil) {
				e, err = c.query(s, c.cursor)
			} else {
				e, err = c.selectBody(s)
			}
		case *ast.SetOprSelectList:
			after = s.AfterSetOperator
			e, err = c.setOprList(s)
		default:
			return nil, c.errAt(c.cursor, "unsupported set operation operand")
		}
		if err != nil {
			return nil, err
		}
		if acc == nil {
			acc = e
			continue
		}
		op := &SetOp{Pos: acc.Position(), Left: acc, Right: e}
		if after != nil {
			switch *after {
			case ast.Union:
			case ast.UnionAll:
				op.All = true
			case ast.Except:
				op.Op = Except
			case ast.ExceptAll:
				op.Op, op.All = Except, true
			case ast.Intersect:
				op.Op = Intersect
			case ast.IntersectAll:
				op.Op, op.All = Intersect, true
			}
		}
		acc = op
	}
	if acc == nil {
		return nil, c.errAt(c.cursor, "empty set operation")
	}
	return acc, nil
}

// selectBody converts a SELECT block, which may be VALUES rewritten to
// SELECT x (see valuesOperand).
func (c *conv) selectBody(s *ast.SelectStmt) (SetExpr, error) {
	if len(s.Fields.Fields) == 1 {
		if v, ok := c.payload(s.Fields.Fields[0].Expr).(*valuesBody); ok {
			pos := v.Position()
			if s.Fields.Fields[0].AsName.O != "" || s.From != nil || s.Where != nil || s.GroupBy != nil ||
				s.Having != nil || s.WindowSpecs != nil || s.Distinct {
				return nil, c.errAt(pos, "unexpected clause after VALUES")
			}
			c.cursor = c.base + Pos(s.Fields.Fields[0].Offset) + 1
			return v.query.Body, nil
		}
	}
	return c.selectStmt(s)
}

// payload returns the placeholder payload an expression stands for, or nil.
func (c *conv) payload(n ast.ExprNode) Expr {
	col, ok := n.(*ast.ColumnNameExpr)
	if !ok || col.Name.Table.O != "" {
		return nil
	}
	if m, ok := c.p.markers[c.base+Pos(n.OriginTextPosition())]; ok && m.kind == markPlace {
		return c.p.places[m.n]
	}
	return nil
}

func (c *conv) selectStmt(s *ast.SelectStmt) (*Select, error) {
	pos := c.findWord("SELECT")
	if s.Kind != ast.SelectStmtKindSelect {
		return nil, c.errAt(pos, "%s statement is MySQL syntax, not Flink SQL", s.Kind.String())
	}
	if o := s.SelectStmtOpts; o != nil && (o.StraightJoin || o.CalcFoundRows || o.SQLBigResult ||
		o.SQLBufferResult || o.SQLSmallResult || len(o.TableHints) > 0 || o.Priority != 0) {
		return nil, c.errAt(pos, "MySQL SELECT options are not supported")
	}
	if s.LockInfo != nil && s.LockInfo.LockType != ast.SelectLockNone || s.SelectIntoOpt != nil || len(s.TableHints) > 0 {
		return nil, c.errAt(pos, "MySQL SELECT clauses (locking, INTO, hints) are not supported")
	}
	hints, err := c.p.hintsAfter(c.p.tokIndex(pos))
	if err != nil {
		return nil, err
	}
	sel := &Select{Pos: pos, Distinct: s.Distinct, Hints: hints}
	for _, f := range s.Fields.Fields {
		item := SelectItem{Pos: c.base + Pos(f.Offset), Alias: f.AsName.O}
		if item.Pos > c.cursor {
			c.cursor = item.Pos
		}
		if f.WildCard != nil {
			item.Star = true
			if f.WildCard.Table.O != "" {
				if f.WildCard.Schema.O != "" {
					item.StarQualifier = append(item.StarQualifier, f.WildCard.Schema.O)
				}
				item.StarQualifier = append(item.StarQualifier, f.WildCard.Table.O)
			}
		} else {
			var err error
			if item.Expr, err = c.expr(f.Expr); err != nil {
				return nil, err
			}
		}
		sel.Items = append(sel.Items, item)
	}
	if s.From != nil {
		c.findWord("FROM")
		if sel.From, err = c.tableExpr(s.From.TableRefs); err != nil {
			return nil, err
		}
	}
	if s.Where != nil {
		if sel.Where, err = c.expr(s.Where); err != nil {
			return nil, err
		}
	}
	if s.GroupBy != nil {
		if s.GroupBy.Rollup {
			return nil, c.errAt(c.findWord("ROLLUP"), "WITH ROLLUP is MySQL syntax; use GROUP BY ROLLUP(...)")
		}
		for _, it := range s.GroupBy.Items {
			if g, ok := c.payload(it.Expr).(*groupingList); ok {
				// Only the rewrite produces this, as the sole item.
				c.pos(it.Expr)
				sel.GroupBy, sel.GroupingSets = g.groupBy, g.sets
				continue
			}
			e, err := c.expr(it.Expr)
			if err != nil {
				return nil, err
			}
			sel.GroupBy = append(sel.GroupBy, e)
		}
	}
	if s.Having != nil {
		if sel.Having, err = c.expr(s.Having.Expr); err != nil {
			return nil, err
		}
	}
	if len(s.WindowSpecs) > 0 {
		c.findWord("WINDOW")
		for i := range s.WindowSpecs {
			ws := &s.WindowSpecs[i]
			name := ws.Name.O
			at := c.find(func(t token) bool { return t.isIdent() && strings.EqualFold(t.val, name) })
			w, err := c.windowBody(at, ws)
			if err != nil {
				return nil, err
			}
			w.Name = name
			sel.Windows = append(sel.Windows, w)
		}
	}
	return sel, nil
}

func (c *conv) orderBy(items []*ast.ByItem) ([]OrderItem, error) {
	var out []OrderItem
	for _, it := range items {
		e, err := c.expr(it.Expr)
		if err != nil {
			return nil, err
		}
		oi := OrderItem{Pos: e.Position(), Expr: e, Desc: it.Desc}
		if m, ok := c.nullsMarker(e); ok {
			first := m.n == 1
			oi.NullsFirst = &first
		}
		out = append(out, oi)
	}
	return out, nil
}

// nullsMarker finds the NULLS FIRST|LAST marker of the ORDER BY item whose
// expression is e. It is keyed by the item's first token, which for an
// item opening with '(' lies before e's position (TiDB's tree drops
// parentheses): the key is tried at e and at each '(' before it.
func (c *conv) nullsMarker(e Expr) (marker, bool) {
	pos := e.Position()
	i := c.p.tokIndex(pos)
	for {
		if m, ok := c.p.markers[nullsKey(pos)]; ok && m.kind == markNulls {
			return m, true
		}
		if i <= 0 || !c.p.toks[i-1].isOp("(") {
			return marker{}, false
		}
		i--
		pos = c.p.toks[i].pos
	}
}

func (c *conv) tableExpr(n ast.ResultSetNode) (TableExpr, error) {
	switch n := n.(type) {
	case *ast.Join:
		if n.ExplicitParens {
			// Step past the join's own '(' so a derived table inside finds
			// its '(' (which keys its column aliases).
			c.find(func(t token) bool { return t.isOp("(") })
		}
		if n.Right == nil {
			return c.tableExpr(n.Left)
		}
		left, err := c.tableExpr(n.Left)
		if err != nil {
			return nil, err
		}
		kwPos := c.find(func(t token) bool { return t.is("JOIN") || t.isOp(",") })
		if n.NaturalJoin || n.StraightJoin {
			return nil, c.errAt(kwPos, "NATURAL and STRAIGHT_JOIN joins are not supported")
		}
		j := &Join{Pos: left.Position(), Left: left}
		switch n.Tp {
		case ast.LeftJoin:
			j.Kind = LeftJoin
			if m, ok := c.p.markers[kwPos]; ok && m.kind == markFullJoin {
				j.Kind = FullJoin
			}
		case ast.RightJoin:
			j.Kind = RightJoin
		default:
			j.Kind = CrossJoin
			if n.On != nil || n.Using != nil {
				j.Kind = InnerJoin
			}
		}
		if j.Right, err = c.tableExpr(n.Right); err != nil {
			return nil, err
		}
		if n.On != nil {
			if j.On, err = c.expr(n.On.Expr); err != nil {
				return nil, err
			}
		}
		for _, u := range n.Using {
			j.Using = append(j.Using, u.Name.O)
		}
		if j.Kind != CrossJoin && j.Kind != InnerJoin && j.On == nil && j.Using == nil {
			return nil, c.errAt(kwPos, "%s JOIN needs ON or USING", j.Kind)
		}
		return j, nil
	case *ast.TableSource:
		var cols []string
		for _, col := range n.ColumnNames {
			cols = append(cols, col.O)
		}
		switch src := n.Source.(type) {
		case *ast.TableName:
			if n.Lateral {
				return nil, c.errAt(c.findWord("LATERAL"), "LATERAL needs a subquery or TABLE(function(...))")
			}
			ref, err := c.tableName(src)
			if err != nil {
				return nil, err
			}
			if cols == nil {
				cols = ref.cols
			}
			if ref.fn != nil {
				fn := *ref.fn
				fn.Alias, fn.ColumnAliases = n.AsName.O, cols
				return &fn, nil
			}
			if ref.query != nil {
				return &SubqueryRef{Pos: ref.query.Pos - 1, Query: ref.query, Alias: n.AsName.O, ColumnAliases: cols}, nil
			}
			if len(cols) > 0 {
				return nil, c.errAt(ref.name.Pos, "column aliases need a subquery")
			}
			if mr := c.matchRecognize(ref.name.Pos); mr != nil {
				mr.Input, mr.Alias = &TableRef{Pos: ref.name.Pos, Name: ref.name}, n.AsName.O
				return mr, nil
			}
			hints, err := c.p.hintsAfter(c.lastNameToken(ref.name.Pos))
			if err != nil {
				return nil, err
			}
			return &TableRef{Pos: ref.name.Pos, Name: ref.name, Alias: n.AsName.O, SystemTime: c.systemTime(ref.name.Pos), Hints: hints}, nil
		case *ast.SelectStmt, *ast.SetOprStmt:
			open := c.find(func(t token) bool { return t.isOp("(") })
			if m, ok := c.p.consume(open, markColAliases); ok && cols == nil {
				cols = c.p.places[m.n].(*aliasList).cols
			}
			q, err := c.subquery(src)
			if err != nil {
				return nil, err
			}
			return &SubqueryRef{Pos: open, Query: q, Alias: n.AsName.O, ColumnAliases: cols, Lateral: n.Lateral}, nil
		}
		if n.Lateral {
			return nil, c.errAt(c.findWord("LATERAL"), "LATERAL needs a subquery or TABLE(function(...))")
		}
		return c.tableExpr(n.Source)
	}
	return nil, c.errAt(c.cursor, "unsupported FROM item")
}

// lastNameToken is the index of the last token of the dotted name that
// starts at pos, or -1.
func (c *conv) lastNameToken(pos Pos) int {
	i := c.p.tokIndex(pos)
	if i < 0 {
		return -1
	}
	for i+2 < len(c.p.toks) && c.p.toks[i+1].isOp(".") {
		i += 2
	}
	return i
}

// systemTime returns the FOR SYSTEM_TIME AS OF expression written right
// after the table name at pos, or nil.
func (c *conv) systemTime(pos Pos) Expr {
	i := c.p.tokIndex(pos)
	if i < 0 {
		return nil
	}
	for i+2 < len(c.p.toks) && c.p.toks[i+1].isOp(".") {
		i += 2
	}
	if i+1 >= len(c.p.toks) {
		return nil
	}
	if m, ok := c.p.consume(c.p.toks[i+1].pos, markAsOf); ok {
		return c.p.places[m.n]
	}
	return nil
}

// matchRecognize returns the MATCH_RECOGNIZE clause written right after
// the table name at pos, or nil.
func (c *conv) matchRecognize(pos Pos) *MatchRecognizeRef {
	i := c.p.tokIndex(pos)
	if i < 0 {
		return nil
	}
	for i+2 < len(c.p.toks) && c.p.toks[i+1].isOp(".") {
		i += 2
	}
	if i+1 >= len(c.p.toks) {
		return nil
	}
	if m, ok := c.p.consume(c.p.toks[i+1].pos, markMatchRecognize); ok {
		return c.p.places[m.n].(*matchRecognizeBody).mr
	}
	return nil
}

// tableName converts a table name, resolving table placeholders.
func (c *conv) tableName(t *ast.TableName) (*tableRefExpr, error) {
	name := t.Name.O
	if strings.HasPrefix(name, "\x01") {
		pos := c.find(func(tk token) bool {
			m, ok := c.p.markers[tk.pos]
			return ok && m.kind == markTable
		})
		m := c.p.markers[pos]
		if ref, ok := c.p.places[m.n].(*tableRefExpr); ok && m.kind == markTable {
			c.skip(m)
			return ref, nil
		}
		return nil, c.errAt(pos, "internal error: lost table placeholder")
	}
	var parts []string
	if t.Schema.O != "" {
		parts = append(parts, t.Schema.O)
	}
	parts = append(parts, name)
	first := parts[0]
	pos := c.find(func(tk token) bool { return tk.isIdent() && tk.val == first })
	if len(t.IndexHints) > 0 || len(t.PartitionNames) > 0 || t.TableSample != nil || t.AsOf != nil {
		return nil, c.errAt(pos, "MySQL table options (index hints, PARTITION, TABLESAMPLE, AS OF TIMESTAMP) are not supported")
	}
	return &tableRefExpr{name: ObjectName{Pos: pos, Parts: parts}}, nil
}

// ---------------------------------------------------------------------------
// expressions

var binaryOps = map[opcode.Op]BinaryOp{
	opcode.Plus: Add, opcode.Minus: Sub, opcode.Mul: Mul, opcode.Div: Div, opcode.Mod: Mod,
	opcode.EQ: Eq, opcode.NE: NotEq, opcode.LT: Lt, opcode.LE: LtEq, opcode.GT: Gt, opcode.GE: GtEq,
	opcode.LogicAnd: And, opcode.LogicOr: Or,
}

// operandMarker finds the marker of kind k (keyed by operandKey) that the
// rewrite left for the binary operator whose right operand is r. TiDB's tree
// drops parentheses, so r's position is its leftmost leaf's, after any '('
// opening the operand: the key is tried there and at each '(' before it.
func (c *conv) operandMarker(r Expr, k markerKind) (marker, bool) {
	pos := r.Position()
	i := c.p.tokIndex(pos)
	for {
		if m, ok := c.p.markers[operandKey(pos)]; ok && m.kind == k {
			return m, true
		}
		if i <= 0 || !c.p.toks[i-1].isOp("(") {
			return marker{}, false
		}
		i--
		pos = c.p.toks[i].pos
	}
}

func (c *conv) exprs(ns []ast.ExprNode) ([]Expr, error) {
	out := make([]Expr, 0, len(ns))
	for _, n := range ns {
		e, err := c.expr(n)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// tokenAfter returns the token following the one at pos.
func (c *conv) tokenAfter(pos Pos, n int) token {
	i := c.p.tokIndex(pos)
	if i < 0 || i+n >= len(c.p.toks) {
		return token{kind: tkEOF, pos: pos}
	}
	return c.p.toks[i+n]
}

// isCall reports whether the source at pos is `name (`.
func (c *conv) isCall(pos Pos, name string) bool {
	return c.tokenAfter(pos, 0).is(name) && c.tokenAfter(pos, 1).isOp("(")
}

func (c *conv) expr(n ast.ExprNode) (Expr, error) {
	pos := c.pos(n)
	switch n := n.(type) {
	case *ast.ColumnNameExpr:
		if m, ok := c.p.markers[pos]; ok && m.kind == markPlace {
			e := c.p.places[m.n]
			if isHidden(e) {
				return nil, c.errAt(pos, "unexpected %s here", describe(c.tokenAfter(pos, 0)))
			}
			c.skip(m)
			// The placed expression leads a dotted name: the rest are
			// fields of its value (items[1].qty).
			switch {
			case n.Name.Schema.O != "":
				return &FieldAccess{Pos: pos, Expr: e, Fields: []string{n.Name.Table.O, n.Name.Name.O}}, nil
			case n.Name.Table.O != "":
				return &FieldAccess{Pos: pos, Expr: e, Fields: []string{n.Name.Name.O}}, nil
			}
			return e, nil
		}
		var parts []string
		for _, s := range []string{n.Name.Schema.O, n.Name.Table.O, n.Name.Name.O} {
			if s != "" {
				parts = append(parts, s)
			}
		}
		return &Ident{Pos: pos, Parts: parts}, nil
	case *driver.ParamMarkerExpr:
		pos = c.base + Pos(n.Offset)
		m := c.p.markers[pos]
		return &Param{Pos: pos, Index: m.n}, nil
	case *driver.ValueExpr:
		if m, ok := c.p.markers[pos]; ok && m.kind == markPlace {
			if e := c.p.places[m.n]; !isHidden(e) {
				c.skip(m)
				return e, nil
			}
			return nil, c.errAt(pos, "unexpected %s here", describe(c.tokenAfter(pos, 0)))
		}
		return c.literal(pos)
	case *ast.ParenthesesExpr:
		return c.expr(n.Expr)
	case *ast.BinaryOperationExpr:
		if n.Op == opcode.Mod && c.isCall(pos, "MOD") {
			args, err := c.exprs([]ast.ExprNode{n.L, n.R})
			if err != nil {
				return nil, err
			}
			return &FuncCall{Pos: pos, Name: "MOD", Args: args}, nil
		}
		l, err := c.expr(n.L)
		if err != nil {
			return nil, err
		}
		if n.Op == opcode.NullEQ {
			if e := c.isJSONCall(pos, l, c.payload(n.R)); e != nil {
				return e, nil
			}
		}
		r, err := c.expr(n.R)
		if err != nil {
			return nil, err
		}
		if n.Op == opcode.NullEQ {
			op := IsNotDistinctFrom
			if m, ok := c.operandMarker(r, markDistinct); ok && m.n == 1 {
				op = IsDistinctFrom
			}
			return &Binary{Pos: pos, Op: op, Left: l, Right: r}, nil
		}
		if m, ok := c.operandMarker(r, markRegex); ok {
			// PostgreSQL's a ~ b is Flink's REGEXP(a, b).
			var e Expr = &FuncCall{Pos: pos, Name: "REGEXP", Args: []Expr{l, r}}
			if m.n == 1 {
				e = &Unary{Pos: pos, Op: Not, Expr: e}
			}
			return e, nil
		}
		op, ok := binaryOps[n.Op]
		if !ok {
			return nil, c.errAt(pos, "operator %s is not supported", n.Op)
		}
		return &Binary{Pos: pos, Op: op, Left: l, Right: r}, nil
	case *ast.UnaryOperationExpr:
		e, err := c.expr(n.V)
		if err != nil {
			return nil, err
		}
		switch n.Op {
		case opcode.Minus:
			if lit, ok := e.(*Literal); ok && (lit.Kind == IntLit || lit.Kind == DecimalLit || lit.Kind == FloatLit) && !strings.HasPrefix(lit.Text, "-") {
				// Fold the sign into numeric literals, as Flink does.
				return &Literal{Pos: pos, Kind: lit.Kind, Text: "-" + lit.Text}, nil
			}
			return &Unary{Pos: pos, Op: Neg, Expr: e}, nil
		case opcode.Plus:
			return &Unary{Pos: pos, Op: Plus, Expr: e}, nil
		case opcode.Not, opcode.Not2:
			return &Unary{Pos: pos, Op: Not, Expr: e}, nil
		}
		return nil, c.errAt(pos, "operator %s is not supported", n.Op)
	case *ast.FuncCallExpr:
		return c.funcCall(pos, n)
	case *ast.AggregateFuncExpr:
		if n.Order != nil {
			return nil, c.errAt(pos, "ORDER BY inside an aggregate call is not supported")
		}
		return c.call(pos, n.F, n.Args, n.Distinct)
	case *ast.WindowFuncExpr:
		if n.IgnoreNull || n.FromLast {
			return nil, c.errAt(pos, "IGNORE NULLS and FROM LAST are not supported")
		}
		var f *FuncCall
		if m, ok := c.p.markers[pos]; ok && m.kind == markPlace {
			// A call TiDB cannot window, parsed by the rewrite (see call).
			own, ok := c.p.places[m.n].(*FuncCall)
			if !ok {
				return nil, c.errAt(pos, "unexpected OVER")
			}
			c.skip(m)
			cp := *own
			f = &cp
		} else {
			args := n.Args
			// TiDB builds the offset of LAG/LEAD(expr, offset[, default])
			// without a position: read it from our tokens instead.
			lagLead := (strings.EqualFold(n.Name, "lag") || strings.EqualFold(n.Name, "lead")) && len(args) >= 2
			if lagLead {
				args = args[:1]
			}
			var err error
			if f, err = c.call(pos, n.Name, args, n.Distinct); err != nil {
				return nil, err
			}
			if lagLead {
				off, err := c.leadLagOffset(pos)
				if err != nil {
					return nil, err
				}
				rest, err := c.exprs(n.Args[2:])
				if err != nil {
					return nil, err
				}
				f.Args = append(append(f.Args, off), rest...)
			}
		}
		if f.Filter != nil {
			return nil, c.errAt(pos, "FILTER (WHERE ...) cannot be combined with OVER: OVER must be applied to aggregate function, as in Flink")
		}
		var err error
		if n.Spec.OnlyAlias {
			c.findWord("OVER")
			f.OverName = n.Spec.Name.O
			return f, nil
		}
		if f.Over, err = c.window(&n.Spec); err != nil {
			return nil, err
		}
		return f, nil
	case *ast.CaseExpr:
		e := &Case{Pos: pos}
		var err error
		if n.Value != nil {
			if e.Operand, err = c.expr(n.Value); err != nil {
				return nil, err
			}
		}
		for _, w := range n.WhenClauses {
			cond, err := c.expr(w.Expr)
			if err != nil {
				return nil, err
			}
			res, err := c.expr(w.Result)
			if err != nil {
				return nil, err
			}
			e.Whens = append(e.Whens, When{Cond: cond, Result: res})
		}
		if n.ElseClause != nil {
			if e.Else, err = c.expr(n.ElseClause); err != nil {
				return nil, err
			}
		}
		return e, nil
	case *ast.PatternInExpr:
		e, err := c.expr(n.Expr)
		if err != nil {
			return nil, err
		}
		if n.Sel != nil {
			sq, ok := n.Sel.(*ast.SubqueryExpr)
			if !ok {
				return nil, c.errAt(pos, "unsupported IN operand")
			}
			q, err := c.subquery(sq.Query)
			if err != nil {
				return nil, err
			}
			return &InSubquery{Pos: pos, Expr: e, Query: q, Not: n.Not}, nil
		}
		list, err := c.exprs(n.List)
		if err != nil {
			return nil, err
		}
		return &InList{Pos: pos, Expr: e, List: list, Not: n.Not}, nil
	case *ast.BetweenExpr:
		args, err := c.exprs([]ast.ExprNode{n.Expr, n.Left, n.Right})
		if err != nil {
			return nil, err
		}
		m := c.p.markers[args[1].Position()]
		return &Between{Pos: pos, Expr: args[0], Low: args[1], High: args[2], Not: n.Not, Symmetric: m.kind == markSymmetric}, nil
	case *ast.PatternLikeOrIlikeExpr:
		if !n.IsLike {
			return nil, c.errAt(pos, "ILIKE is not supported")
		}
		args, err := c.exprs([]ast.ExprNode{n.Expr, n.Pattern})
		if err != nil {
			return nil, err
		}
		l := &Like{Pos: pos, Expr: args[0], Pattern: args[1], Not: n.Not}
		if n.EscapeExplicit {
			esc := c.findWord("ESCAPE")
			t := c.tokenAfter(esc, 1)
			l.Escape = &Literal{Pos: t.pos, Kind: StringLit, Text: t.val}
		}
		return l, nil
	case *ast.PatternRegexpExpr:
		// Only SIMILAR TO produces this node: REGEXP itself is rejected.
		args, err := c.exprs([]ast.ExprNode{n.Expr, n.Pattern})
		if err != nil {
			return nil, err
		}
		return &Like{Pos: pos, Expr: args[0], Pattern: args[1], Not: n.Not, SimilarTo: true}, nil
	case *ast.IsNullExpr:
		e, err := c.expr(n.Expr)
		if err != nil {
			return nil, err
		}
		return &IsNull{Pos: pos, Expr: e, Not: n.Not}, nil
	case *ast.IsTruthExpr:
		e, err := c.expr(n.Expr)
		if err != nil {
			return nil, err
		}
		return &IsBool{Pos: pos, Expr: e, Value: n.True != 0, Not: n.Not}, nil
	case *ast.SubqueryExpr:
		q, err := c.subquery(n.Query)
		if err != nil {
			return nil, err
		}
		return &SubqueryExpr{Pos: pos, Query: q}, nil
	case *ast.ExistsSubqueryExpr:
		sq, ok := n.Sel.(*ast.SubqueryExpr)
		if !ok {
			return nil, c.errAt(pos, "unsupported EXISTS operand")
		}
		q, err := c.subquery(sq.Query)
		if err != nil {
			return nil, err
		}
		return &Exists{Pos: pos, Query: q, Not: n.Not}, nil
	case *ast.RowExpr:
		fields, err := c.exprs(n.Values)
		if err != nil {
			return nil, err
		}
		return &RowCtor{Pos: pos, Fields: fields}, nil
	case *ast.PositionExpr:
		// ORDER BY <ordinal>: TiDB drops the offset, so find the number.
		text := strconv.Itoa(n.N)
		p := c.find(func(t token) bool { return t.kind == tkNumber && t.val == text })
		return &Literal{Pos: p, Kind: IntLit, Text: text}, nil
	case *ast.CompareSubqueryExpr:
		return nil, c.errAt(pos, "quantified comparisons (ANY, ALL, SOME) are not supported")
	case *ast.FuncCastExpr:
		return nil, c.errAt(pos, "MySQL CONVERT/BINARY casts are not supported; use CAST(x AS type)")
	}
	return nil, c.errAt(pos, "unsupported expression")
}

// leadLagOffset reads the offset of the LAG or LEAD call at pos: the number
// after the call's first top-level comma.
func (c *conv) leadLagOffset(pos Pos) (Expr, error) {
	depth := 0
	for i := sort.Search(len(c.p.toks), func(i int) bool { return c.p.toks[i].pos >= pos }); i+1 < len(c.p.toks); i++ {
		switch t := c.p.toks[i]; {
		case t.isOp("("):
			depth++
		case t.isOp(")"):
			if depth--; depth == 0 {
				return nil, c.errAt(pos, "the offset of LAG and LEAD must be an integer literal")
			}
		case t.isOp(",") && depth == 1:
			if next := c.p.toks[i+1]; next.kind == tkNumber {
				return c.literal(next.pos)
			}
			return nil, c.errAt(t.pos, "the offset of LAG and LEAD must be an integer literal")
		}
	}
	return nil, c.errAt(pos, "the offset of LAG and LEAD must be an integer literal")
}

// literal converts a TiDB value node by reading our token at its position,
// which keeps the exact text (1.50 stays 1.50).
func (c *conv) literal(pos Pos) (Expr, error) {
	t := c.tokenAfter(pos, 0)
	switch t.kind {
	case tkNumber:
		kind := IntLit
		if strings.ContainsAny(t.val, "eE") {
			kind = FloatLit
		} else if strings.Contains(t.val, ".") {
			kind = DecimalLit
		}
		return &Literal{Pos: pos, Kind: kind, Text: t.val}, nil
	case tkString:
		if m, ok := c.p.markers[t.pos]; ok && m.kind == markEscape {
			return &Literal{Pos: pos, Kind: StringLit, Text: unescapePG(t.val)}, nil
		}
		return &Literal{Pos: pos, Kind: StringLit, Text: t.val}, nil
	case tkWord:
		switch {
		case t.is("NULL"):
			return &Literal{Pos: pos, Kind: NullLit, Text: "NULL"}, nil
		case t.is("TRUE") || t.is("FALSE"):
			return &Literal{Pos: pos, Kind: BoolLit, Text: t.upper}, nil
		case t.is("X"):
			s := c.tokenAfter(pos, 1)
			return &Literal{Pos: pos, Kind: BinaryLit, Text: s.val}, nil
		}
	}
	return nil, c.errAt(pos, "unsupported literal")
}

func (c *conv) call(pos Pos, name string, args []ast.ExprNode, distinct bool) (*FuncCall, error) {
	f := &FuncCall{Pos: pos, Name: strings.ToUpper(name), Distinct: distinct}
	var filter Expr
	if m, ok := c.p.consume(pos, markFilter); ok {
		filter = c.p.places[m.n]
	}
	if t := c.tokenAfter(pos, 2); c.tokenAfter(pos, 1).isOp("(") && t.isOp("*") {
		f.Star = true
		f.Filter = filter
		return f, nil
	}
	var err error
	f.Args, err = c.exprs(args)
	f.Filter = filter
	return f, err
}

var literalFuncs = map[string]LiteralKind{ast.DateLiteral: DateLit, ast.TimeLiteral: TimeLit, ast.TimestampLiteral: TimestampLit}

func (c *conv) funcCall(pos Pos, n *ast.FuncCallExpr) (Expr, error) {
	if m, ok := c.p.markers[pos]; ok && m.kind == markPlace && n.FnName.L == "x" {
		// A placeholder followed by "(": not valid Flink SQL.
		return nil, c.errAt(pos, "unexpected ( after expression")
	}
	if kind, ok := literalFuncs[n.FnName.L]; ok {
		s := c.tokenAfter(pos, 1)
		return &Literal{Pos: pos, Kind: kind, Text: s.val}, nil
	}
	// PostgreSQL's built-in functions live in pg_catalog; clients such as
	// psql call them qualified (pg_catalog.format_type). The qualifier is
	// dropped, since Eddy's built-ins are all in scope everywhere.
	if n.Schema.O != "" && n.Schema.L != "pg_catalog" {
		return nil, c.errAt(pos, "qualified function names are not supported")
	}
	name := strings.ToUpper(n.FnName.O)
	switch n.FnName.L {
	case ast.Concat:
		if !c.isCall(pos, "CONCAT") {
			// a || b || c arrives as one CONCAT call.
			args, err := c.exprs(n.Args)
			if err != nil {
				return nil, err
			}
			acc := args[0]
			for _, a := range args[1:] {
				acc = &Binary{Pos: pos, Op: Concat, Left: acc, Right: a}
			}
			return acc, nil
		}
	case ast.Trim:
		// TiDB: (str [, remstr [, direction]]).
		mode, chars := "BOTH", Expr(&Literal{Pos: pos, Kind: StringLit, Text: " "})
		if len(n.Args) == 3 {
			if d, ok := n.Args[2].(*ast.TrimDirectionExpr); ok {
				switch d.Direction {
				case ast.TrimLeading:
					mode = "LEADING"
				case ast.TrimTrailing:
					mode = "TRAILING"
				}
			}
		}
		var str Expr
		var err error
		// TiDB synthesizes a ' ' argument (offset 0) when none was written.
		if len(n.Args) >= 2 && n.Args[1] != nil && n.Args[1].OriginTextPosition() != 0 {
			if _, isDir := n.Args[1].(*ast.TrimDirectionExpr); !isDir {
				if chars, err = c.expr(n.Args[1]); err != nil {
					return nil, err
				}
			}
		}
		if str, err = c.expr(n.Args[0]); err != nil {
			return nil, err
		}
		return &FuncCall{Pos: pos, Name: "TRIM", Args: []Expr{&Literal{Pos: pos, Kind: StringLit, Text: mode}, chars, str}}, nil
	}
	if (n.FnName.L == ast.TimestampAdd || n.FnName.L == ast.TimestampDiff) && len(n.Args) == 3 {
		if _, ok := n.Args[0].(*ast.TimeUnitExpr); ok {
			// TIMESTAMPADD(unit, n, t): the unit becomes a string argument.
			u := c.tokenAfter(pos, 2)
			f, err := c.call(pos, name, n.Args[1:], false)
			if err != nil {
				return nil, err
			}
			f.Args = append([]Expr{&Literal{Pos: u.pos, Kind: StringLit, Text: u.upper}}, f.Args...)
			return f, nil
		}
	}
	for _, a := range n.Args {
		switch a.(type) {
		case *ast.TimeUnitExpr, *ast.TrimDirectionExpr, *ast.GetFormatSelectorExpr:
			return nil, c.errAt(pos, "MySQL syntax in call to %s is not supported", name)
		}
	}
	return c.call(pos, name, n.Args, false)
}

func (c *conv) window(s *ast.WindowSpec) (*WindowSpec, error) {
	return c.windowBody(c.findWord("OVER"), s)
}

// windowBody converts a window specification found at pos.
func (c *conv) windowBody(pos Pos, s *ast.WindowSpec) (*WindowSpec, error) {
	w := &WindowSpec{Pos: pos, Ref: s.Ref.O}
	if w.Ref != "" {
		c.find(func(t token) bool { return t.isIdent() && strings.EqualFold(t.val, w.Ref) })
	}
	var err error
	if s.PartitionBy != nil {
		for _, it := range s.PartitionBy.Items {
			e, err := c.expr(it.Expr)
			if err != nil {
				return nil, err
			}
			w.PartitionBy = append(w.PartitionBy, e)
		}
	}
	if s.OrderBy != nil {
		if w.OrderBy, err = c.orderBy(s.OrderBy.Items); err != nil {
			return nil, err
		}
	}
	if f := s.Frame; f != nil {
		if f.Type == ast.Groups {
			return nil, c.errAt(pos, "GROUPS frames are not supported")
		}
		w.Frame = &WindowFrame{Rows: f.Type == ast.Rows}
		if w.Frame.Start, err = c.bound(pos, f.Extent.Start); err != nil {
			return nil, err
		}
		if w.Frame.End, err = c.bound(pos, f.Extent.End); err != nil {
			return nil, err
		}
	}
	return w, nil
}

func (c *conv) bound(pos Pos, b ast.FrameBound) (FrameBound, error) {
	var fb FrameBound
	switch {
	case b.Type == ast.CurrentRow:
		fb.Kind = CurrentRow
	case b.UnBounded && b.Type == ast.Preceding:
		fb.Kind = UnboundedPreceding
	case b.UnBounded:
		fb.Kind = UnboundedFollowing
	default:
		fb.Kind = Following
		if b.Type == ast.Preceding {
			fb.Kind = Preceding
		}
		if b.Unit != 0 {
			return fb, c.errAt(pos, "MySQL INTERVAL frame bounds are not supported")
		}
		// TiDB keeps no offset on frame bound literals: find the bound.
		at := c.find(func(t token) bool {
			m, ok := c.p.markers[t.pos]
			return t.kind == tkNumber || ok && (m.kind == markPlace || m.kind == markParam)
		})
		var err error
		if m, ok := c.p.markers[at]; ok && m.kind == markPlace {
			fb.Offset = c.p.places[m.n]
			c.skip(m)
		} else if ok && m.kind == markParam {
			fb.Offset = &Param{Pos: at, Index: m.n}
		} else if fb.Offset, err = c.literal(at); err != nil {
			return fb, err
		}
	}
	return fb, nil
}

// unescapePG decodes the backslash escapes of a PostgreSQL escape string
// (E'...'): \n, \t, \r, \b, \f and \\; any other escaped character
// stands for itself, as in PostgreSQL.
func unescapePG(s string) string {
	if !strings.Contains(s, "\\") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		i++
		switch s[i] {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}
