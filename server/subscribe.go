package server

import (
	"context"

	"github.com/eddysql/eddy/exec/expr"
	"github.com/eddysql/eddy/sql"
	"github.com/eddysql/eddy/table"
)

// subscribe runs SUBSCRIBE [TO] name | SUBSCRIBE [TO] (query): the query
// (SELECT * FROM name; for a materialized view, its contents then its
// changes) runs as a continuous streaming job whatever the
// session's runtime mode, and its result is the changelog itself, each row
// led by an op column with its row kind (+I, -U, +U, -D), as RisingWave
// and Materialize serve it. It streams until the input ends or the client
// cancels; clients read it with a cursor (DECLARE c CURSOR FOR SUBSCRIBE
// …; FETCH) or as the rows of a simple query.
func (ss *session) subscribe(ctx context.Context, src string, s *sql.Subscribe, params []*expr.Literal) (*table.TableResult, error) {
	q := s.Query
	if q == nil {
		var cleanup func()
		var err error
		if q, cleanup, err = ss.subscribeTarget(s); err != nil {
			return nil, err
		}
		defer cleanup()
	}
	defer ss.withOption(table.RuntimeMode, "streaming")()
	return ss.env.ExecuteStatement(ctx, src, &sql.QueryStatement{Query: q}, params)
}

// withOption sets a SET option of the session for one statement and
// returns what puts it back.
func (ss *session) withOption(key, value string) (restore func()) {
	old, set := ss.env.Config()[key]
	if set && old == value {
		return func() {}
	}
	if err := ss.env.Set(key, value); err != nil {
		return func() {}
	}
	return func() {
		if set {
			_ = ss.env.Set(key, old)
		} else {
			ss.env.Reset(key)
		}
	}
}
