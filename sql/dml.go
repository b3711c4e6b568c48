package sql

import (
	"github.com/pingcap/tidb/pkg/parser/ast"
)

// This file holds Flink's row-level DELETE and UPDATE statements (FLIP-294):
//
//	DELETE FROM [catalog.][db.]table [[AS] alias] [WHERE condition]
//	UPDATE [catalog.][db.]table [[AS] alias] SET col = value [, ...] [WHERE condition]
//
// TiDB's grammar parses both (behind the same rewrite as queries); its AST
// is converted here, and the MySQL forms Flink does not have (several
// tables, ORDER BY, LIMIT, IGNORE, QUICK, WITH) are refused.

// Delete is DELETE FROM table [[AS] alias] [WHERE condition].
type Delete struct {
	Pos   Pos
	Table ObjectName
	Alias string
	// Where is nil when every row is deleted.
	Where Expr
}

// Update is UPDATE table [[AS] alias] SET col = value, ... [WHERE
// condition].
type Update struct {
	Pos   Pos
	Table ObjectName
	Alias string
	Set   []Assignment
	// Where is nil when every row is updated.
	Where Expr
}

// Assignment is one col = value of UPDATE's SET.
type Assignment struct {
	Pos    Pos
	Column string
	Value  Expr
}

func (s *Delete) Position() Pos    { return s.Pos }
func (s *Update) Position() Pos    { return s.Pos }
func (a Assignment) Position() Pos { return a.Pos }
func (*Delete) statementNode()     {}
func (*Update) statementNode()     {}

// parseDML parses the DELETE or UPDATE statement spanning the remaining
// tokens.
func (p *parser) parseDML() (Statement, error) {
	lo, hi := p.i, len(p.toks)-1
	if err := p.refuseMySQLDML(lo, hi); err != nil {
		return nil, err
	}
	stmt, c, err := p.parseTiDB(lo, hi)
	if err != nil {
		return nil, err
	}
	p.i = hi
	start := p.toks[lo]
	switch s := stmt.(type) {
	case *ast.DeleteStmt:
		if s.IgnoreErr || s.Quick || s.BeforeFrom || s.Priority != 0 {
			return nil, p.errorf(p.toks[lo+1], "expected FROM after DELETE")
		}
		d := &Delete{Pos: start.pos}
		if d.Table, d.Alias, err = c.dmlTable(s.TableRefs, s.IsMultiTable || s.Tables != nil, lo, hi); err != nil {
			return nil, err
		}
		if s.Where != nil {
			if d.Where, err = c.expr(s.Where); err != nil {
				return nil, err
			}
		}
		return d, nil
	case *ast.UpdateStmt:
		if s.IgnoreErr || s.Priority != 0 {
			return nil, p.errorf(p.toks[lo+1], "expected a table name after UPDATE")
		}
		u := &Update{Pos: start.pos}
		if u.Table, u.Alias, err = c.dmlTable(s.TableRefs, s.MultipleTable, lo, hi); err != nil {
			return nil, err
		}
		for _, a := range s.List {
			name, first := a.Column.Name.O, a.Column.Name.O
			if a.Column.Table.O != "" {
				first = a.Column.Table.O
			}
			pos := c.find(func(t token) bool { return t.isIdent() && t.val == first })
			if q := a.Column.Table.O; q != "" && q != u.Alias && q != u.Table.Parts[len(u.Table.Parts)-1] {
				return nil, c.errAt(pos, "SET column %s.%s does not belong to the updated table", q, name)
			}
			v, err := c.expr(a.Expr)
			if err != nil {
				return nil, err
			}
			u.Set = append(u.Set, Assignment{Pos: pos, Column: name, Value: v})
		}
		if s.Where != nil {
			if u.Where, err = c.expr(s.Where); err != nil {
				return nil, err
			}
		}
		return u, nil
	}
	return nil, p.errorf(start, "expected DELETE FROM or UPDATE")
}

// refuseMySQLDML points at the first clause of tokens [lo, hi) that MySQL's
// DELETE and UPDATE have and Flink's do not: ORDER BY, LIMIT, or a second
// table (a comma in the table list, JOIN or USING).
func (p *parser) refuseMySQLDML(lo, hi int) error {
	what := p.toks[lo].upper
	depth := 0
	tables := true // in the table list, before SET or WHERE
	for i := lo; i < hi; i++ {
		t := p.toks[i]
		switch {
		case t.isOp("("):
			depth++
		case t.isOp(")"):
			depth--
		case depth > 0:
		case t.is("SET") || t.is("WHERE"):
			tables = false
		case t.is("ORDER") && p.toks[i+1].is("BY"):
			return p.errorf(t, "ORDER BY is not supported in %s: Flink's %s has none", what, what)
		case t.is("LIMIT"):
			return p.errorf(t, "LIMIT is not supported in %s: Flink's %s has none", what, what)
		case tables && (t.isOp(",") || t.is("JOIN") || t.is("USING")):
			return p.errorf(t, "%s of several tables is not supported: Flink's %s modifies one table", what, what)
		}
	}
	return nil
}

// dmlTable converts the one table a DELETE or UPDATE modifies.
func (c *conv) dmlTable(refs *ast.TableRefsClause, multi bool, lo, hi int) (ObjectName, string, error) {
	what := c.p.toks[lo].upper
	if multi || refs == nil || refs.TableRefs == nil || refs.TableRefs.Right != nil {
		return ObjectName{}, "", c.p.errorf(c.p.toks[lo+1], "%s of several tables is not supported: Flink's %s modifies one table", what, what)
	}
	te, err := c.tableExpr(refs.TableRefs.Left)
	if err != nil {
		return ObjectName{}, "", err
	}
	ref, ok := te.(*TableRef)
	if !ok {
		return ObjectName{}, "", c.errAt(te.Position(), "%s needs a table name", what)
	}
	if ref.SystemTime != nil || len(ref.Hints) > 0 {
		return ObjectName{}, "", c.errAt(ref.Pos, "%s's table takes no FOR SYSTEM_TIME AS OF or hints", what)
	}
	return ref.Name, ref.Alias, nil
}
