package planner

import (
	"strings"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/sql"
)

// scope is the columns visible to expressions over one relation: the
// relation's output columns, each with the alias of the FROM item it came
// from. Column names match case-sensitively, as in Flink.
type scope struct {
	cols []scopeColumn
	// agg, when set, is the grouping context of expressions above an
	// Aggregate (SELECT items and HAVING of a grouped query).
	agg *aggContext
	// over maps the canonical text of each window function call to its
	// column, above an Over node.
	over map[string]int
	// marks maps the IN subqueries planned as mark joins (planMarkJoins)
	// to their columns.
	marks map[*sql.InSubquery]markColumns
	// scalars maps the scalar subqueries (*sql.SubqueryExpr) and the
	// EXISTS used as values (*sql.Exists) planned as joins
	// (planScalarSubqueries) to their value columns.
	scalars map[sql.Expr]int
	// inner, when positive, is where a correlated subquery's own columns
	// start (after the outer query's): a name they have shadows the outer
	// columns, as SQL resolves names from the innermost query out.
	inner int
	// outerLevels, ascending and below inner, are where the columns of
	// the enclosing queries' levels start among the outer columns, when
	// the outer query is itself a decorrelated subquery (domainJoin): a
	// name resolves from the innermost level out through all of them, as
	// through the three levels of psql's \dp.
	outerLevels []int
}

type scopeColumn struct {
	qualifier string
	name      string
	typ       types.DataType
	// hidden columns (computed for window functions) are not expanded by *
	// and not found by name.
	hidden bool
}

// levels returns where the columns of each query level start in sc,
// ascending, the outermost level's (at 0) left out: its outerLevels and
// inner, when it has levels.
func (sc *scope) levels() []int {
	if sc.inner <= 0 {
		return nil
	}
	return append(append([]int(nil), sc.outerLevels...), sc.inner)
}

func newScope(qualifier string, s types.Schema) *scope {
	sc := &scope{cols: make([]scopeColumn, len(s.Columns))}
	for i, c := range s.Columns {
		sc.cols[i] = scopeColumn{qualifier: qualifier, name: c.Name, typ: c.Type}
	}
	return sc
}

// resolve finds the column an identifier names, returning its index and
// the ROW fields the identifier goes on to access: t.c, c, t.c.f.g and c.f
// all name column c (of table t), the last two with fields.
//
// As in Flink, whose ROW types are Calcite's PEEK_FIELDS_NO_EXPAND
// structs, a name that is no column may name a field of a ROW column one
// level down: with a ROW<id, ...> column a, id and t.id mean a.id
// (see findColumn). SELECT * still expands the columns only.
func (s source) resolve(sc *scope, id *sql.Ident) (int, []string, error) {
	parts := id.Parts
	if len(parts) >= 2 && sc.hasQualifier(parts[0]) {
		if i, peeked, err := s.findColumn(sc, id, parts[0], parts[1]); err == nil || len(parts) == 2 {
			return i, fieldPath(parts[1:], peeked), err
		}
	}
	i, peeked, err := s.findColumn(sc, id, "", parts[0])
	if errs.Is(err, errs.UndefinedColumn) && len(parts) == 2 && !sc.hasQualifier(parts[0]) {
		if _, ok := findUnqualified(sc, parts[0]); !ok {
			return 0, nil, s.errAt(errs.UndefinedTable, id, "table '%s' not found in FROM clause", parts[0])
		}
	}
	return i, fieldPath(parts, peeked), err
}

// fieldPath is the ROW fields accessed by an identifier whose remaining
// parts start with the column's name, or, when the column was found by
// peeking into it, with the name of its field.
func fieldPath(parts []string, peeked bool) []string {
	if peeked {
		return parts
	}
	return parts[1:]
}

// resolveColumn resolves an identifier that must name a whole column, not
// a field of one (MATCH_RECOGNIZE's keys and navigation, MATCH_ROWTIME).
func (s source) resolveColumn(sc *scope, id *sql.Ident) (int, error) {
	i, fields, err := s.resolve(sc, id)
	if err == nil && len(fields) > 0 {
		return 0, s.errAt(errs.NotSupported, id, "'%s' names field '%s' of ROW column '%s', not a column", id, strings.Join(fields, "."), sc.cols[i].name)
	}
	return i, err
}

func findUnqualified(sc *scope, name string) (int, bool) {
	for i, c := range sc.cols {
		if !c.hidden && c.name == name {
			return i, true
		}
	}
	return -1, false
}

// findColumn finds the column called name (of the FROM item qual, when
// given), or else peeks into the ROW columns for a field called name,
// reporting peeked. A column wins over the fields of its FROM item's ROW
// columns; a name found in two places otherwise is ambiguous. A correlated
// subquery's own columns, and their fields, come before the outer query's.
func (s source) findColumn(sc *scope, id *sql.Ident, qual, name string) (int, bool, error) {
	if sc.inner > 0 {
		inner := &scope{cols: sc.cols[sc.inner:]}
		if i, peeked, err := s.findColumn(inner, id, qual, name); err == nil || errs.Is(err, errs.AmbiguousColumn) {
			return sc.inner + i, peeked, err
		}
		if qual != "" && inner.hasQualifier(qual) {
			return 0, false, s.errAt(errs.UndefinedColumn, id, "column '%s' not found in any table", strings.Join(id.Parts, "."))
		}
		outer := &scope{cols: sc.cols[:sc.inner]}
		if n := len(sc.outerLevels); n > 0 {
			outer.inner, outer.outerLevels = sc.outerLevels[n-1], sc.outerLevels[:n-1]
		}
		return s.findColumn(outer, id, qual, name)
	}
	found := -1
	for i, c := range sc.cols {
		if !c.hidden && c.name == name && (qual == "" || c.qualifier == qual) {
			if found >= 0 {
				return 0, false, s.errAt(errs.AmbiguousColumn, id, "column '%s' is ambiguous", name)
			}
			found = i
		}
	}
	// As Calcite resolves a name in each FROM item, a column hides the
	// fields of its own item's ROW columns only: a field of another
	// item's ROW column makes the name ambiguous.
	peek := -1
	for i, c := range sc.cols {
		if c.hidden || c.typ.Kind != types.Row || (qual != "" && c.qualifier != qual) || !hasField(c.typ, name) {
			continue
		}
		if found >= 0 && c.qualifier == sc.cols[found].qualifier {
			continue
		}
		switch {
		case found >= 0:
			return 0, false, s.errAt(errs.AmbiguousColumn, id, "column '%s' is ambiguous: it is a column of '%s' and a field of ROW column '%s' of '%s'", name, sc.cols[found].qualifier, c.name, c.qualifier)
		case peek >= 0:
			return 0, false, s.errAt(errs.AmbiguousColumn, id, "column '%s' is ambiguous: it is a field of ROW columns '%s' and '%s'", name, sc.cols[peek].name, c.name)
		}
		peek = i
	}
	switch {
	case found >= 0:
		return found, false, nil
	case peek >= 0:
		return peek, true, nil
	}
	return 0, false, s.errAt(errs.UndefinedColumn, id, "column '%s' not found in any table", strings.Join(id.Parts, "."))
}

func hasField(t types.DataType, name string) bool {
	for _, f := range t.Fields {
		if f.Name == name {
			return true
		}
	}
	return false
}

func (sc *scope) hasQualifier(q string) bool {
	for _, c := range sc.cols {
		if c.qualifier == q {
			return true
		}
	}
	return false
}
