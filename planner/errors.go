package planner

import (
	"github.com/eddysql/eddy/catalog"
	"github.com/eddysql/eddy/exec/expr"
	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/sql"
)

// source is the SQL text that positions refer to, so bind errors can name a
// line and column and show the offending text.
type source struct {
	text string
	// origin, when set, names where text came from (a view's query), since
	// its positions are not positions in the user's script.
	origin string
	// params are the statement's placeholder values (Planner.Params); only
	// the user's statement has them, never a view's or a column's text.
	params []*expr.Literal
	// unknownLiterals is Planner.UnknownLiterals.
	unknownLiterals bool
	// cat serves the catalog functions that read objects by OID
	// (bindPGObjectDef).
	cat *catalog.Manager
}

// errAt builds a positioned error for the node n.
func (s source) errAt(code errs.Code, n sql.Node, format string, args ...any) *errs.Error {
	e := errs.New(code, format, args...)
	if n == nil {
		return e
	}
	pos := n.Position()
	e.Offset = int(pos)
	e.Line, e.Col = sql.LineCol(s.text, pos)
	if x, ok := n.(sql.Expr); ok {
		e.Near = x.String()
	} else {
		e.Near = nearText(s.text, int(pos))
	}
	if s.origin != "" {
		e.Msg = s.origin + ": " + e.Msg
	}
	return e
}

// nearText returns the word at offset for error messages.
func nearText(text string, off int) string {
	if off < 0 || off >= len(text) {
		return ""
	}
	end := off
	for end < len(text) && end-off < 40 && text[end] != '\n' && text[end] != ',' && text[end] != ')' {
		end++
	}
	return text[off:end]
}
