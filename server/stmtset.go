package server

import (
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/eddysql/eddy/sql"
)

// A statement set (EXECUTE STATEMENT SET BEGIN …; …; END; or BEGIN
// STATEMENT SET; …; END;) spans several statements, but psql splits its
// input at every top-level ';' and sends each piece as its own Query: it
// knows BEGIN … END blocks only in CREATE FUNCTION bodies. So a session
// collects the pieces of a set begun in one Query and runs the whole set,
// as one job, when the Query holding its END arrives, as Flink's SQL
// client does with its input. A client that sends the whole set in one
// Query (pgx, `eddy sql`) never gets here.

// stmtSetTag answers each collected piece.
const stmtSetTag = "STATEMENT SET"

// opensStatementSet reports whether text parses once the END of a
// statement set is appended to it and ends in that set (or in an EXPLAIN
// or a COMPILE PLAN of it): text begins a set whose END is still to come.
func opensStatementSet(text string) bool {
	script, err := sql.ParseScript(text + "\n;END;")
	if err != nil || len(script.Stmts) == 0 {
		return false
	}
	last := script.Stmts[len(script.Stmts)-1].Stmt
	switch s := last.(type) {
	case *sql.Explain:
		last = s.Stmt
	case *sql.CompilePlan:
		last = s.Stmt
	}
	_, ok := last.(*sql.StatementSet)
	return ok
}

// beginStatementSet starts collecting a statement set when q begins one
// without its END, and reports whether it did (and answered q).
func (ss *session) beginStatementSet(q string) bool {
	if !opensStatementSet(q) {
		return false
	}
	ss.openSet = q
	ss.be.Send(&pgproto3.CommandComplete{CommandTag: []byte(stmtSetTag)})
	return true
}

// continueStatementSet adds q to the open statement set. With its END the
// whole set runs; a piece that is no INSERT (or does not parse) is
// refused with its error and left out, and the set stays open, as in
// Flink's SQL client.
func (ss *session) continueStatementSet(q string) {
	text := ss.openSet + "\n" + q
	script, err := sql.ParseScript(text)
	if err == nil {
		ss.openSet = ""
		if len(script.Stmts) == 0 {
			ss.be.Send(&pgproto3.EmptyQueryResponse{})
			return
		}
		ss.runScript(script, text)
		return
	}
	if opensStatementSet(text) {
		ss.openSet = text
		ss.be.Send(&pgproto3.CommandComplete{CommandTag: []byte(stmtSetTag)})
		return
	}
	// The error's position is into text; the client knows only q.
	resp := errorResponse(err, text, ss.wasCanceled())
	if skip := int32(utf8.RuneCountInString(ss.openSet) + 1); resp.Position > skip {
		resp.Position -= skip
	} else {
		resp.Position = 0
	}
	ss.be.Send(resp)
}
