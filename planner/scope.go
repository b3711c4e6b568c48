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
}

type scopeColumn struct {
	qualifier string
	name      string
	typ       types.DataType
	// hidden columns (computed for window functions) are not expanded by *
	// and not found by name.
	hidden bool
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
func (s source) resolve(sc *scope, id *sql.Ident) (int, []string, error) {
	parts := id.Parts
	if len(parts) >= 2 && sc.hasQualifier(parts[0]) {
		if i, err := s.findColumn(sc, id, parts[0], parts[1]); err == nil || len(parts) == 2 {
			return i, parts[2:], err
		}
	}
	i, err := s.findColumn(sc, id, "", parts[0])
	if err != nil && len(parts) == 2 && !sc.hasQualifier(parts[0]) {
		if _, ok := findUnqualified(sc, parts[0]); !ok {
			return 0, nil, s.errAt(errs.UndefinedTable, id, "table '%s' not found in FROM clause", parts[0])
		}
	}
	return i, parts[1:], err
}

func findUnqualified(sc *scope, name string) (int, bool) {
	for i, c := range sc.cols {
		if !c.hidden && c.name == name {
			return i, true
		}
	}
	return -1, false
}

func (s source) findColumn(sc *scope, id *sql.Ident, qual, name string) (int, error) {
	if sc.inner > 0 {
		inner := &scope{cols: sc.cols[sc.inner:]}
		if i, err := s.findColumn(inner, id, qual, name); err == nil || errs.Is(err, errs.AmbiguousColumn) {
			return sc.inner + i, err
		}
		if qual != "" && inner.hasQualifier(qual) {
			return 0, s.errAt(errs.UndefinedColumn, id, "column '%s' not found in any table", strings.Join(id.Parts, "."))
		}
		sc = &scope{cols: sc.cols[:sc.inner]}
	}
	found := -1
	for i, c := range sc.cols {
		if !c.hidden && c.name == name && (qual == "" || c.qualifier == qual) {
			if found >= 0 {
				return 0, s.errAt(errs.AmbiguousColumn, id, "column '%s' is ambiguous", name)
			}
			found = i
		}
	}
	if found < 0 {
		return 0, s.errAt(errs.UndefinedColumn, id, "column '%s' not found in any table", strings.Join(id.Parts, "."))
	}
	return found, nil
}

func (sc *scope) hasQualifier(q string) bool {
	for _, c := range sc.cols {
		if c.qualifier == q {
			return true
		}
	}
	return false
}
