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

// resolve finds the column an identifier names, returning its index.
func (s source) resolve(sc *scope, id *sql.Ident) (int, error) {
	var qual, name string
	switch len(id.Parts) {
	case 1:
		name = id.Parts[0]
	case 2:
		qual, name = id.Parts[0], id.Parts[1]
	default:
		return 0, s.errAt(errs.NotSupported, id, "nested field access %s is not supported yet", strings.Join(id.Parts, "."))
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
		if qual != "" && !sc.hasQualifier(qual) {
			return 0, s.errAt(errs.UndefinedTable, id, "table '%s' not found in FROM clause", qual)
		}
		return 0, s.errAt(errs.UndefinedColumn, id, "column '%s' not found in any table", name)
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
