package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/eddysql/eddy/catalog"
	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/sql"
	"github.com/eddysql/eddy/table"
)

// Limits of POST /v1/statements.
const (
	// maxStatementBody bounds the request body.
	maxStatementBody = 16 << 20
	// defaultMaxRows and defaultStatementTimeout bound what one query
	// returns: a query over unbounded input never ends by itself, so it
	// ends at max_rows rows or at the timeout, whichever comes first.
	defaultMaxRows          = 1000
	defaultStatementTimeout = 10 * time.Second
)

// statementsRequest is the body of POST /v1/statements. A body that is
// not JSON (Content-Type other than application/json) is the SQL itself.
type statementsRequest struct {
	// SQL is a script: statements separated by ';', run in order until the
	// first error.
	SQL string `json:"sql"`
	// Catalog and Database select the current ones (default: the
	// server's defaults).
	Catalog  string `json:"catalog,omitempty"`
	Database string `json:"database,omitempty"`
	// Config holds SET options for the script's session.
	Config map[string]string `json:"config,omitempty"`
	// MaxRows bounds the rows returned per query (default 1000).
	MaxRows int `json:"max_rows,omitempty"`
	// TimeoutMS bounds how long one query's rows are waited for (default
	// 10 s); a query that reaches it returns the rows it has.
	TimeoutMS int `json:"timeout_ms,omitempty"`
}

// statementResult is the outcome of one statement of the script.
type statementResult struct {
	Statement string `json:"statement"`
	// Kind is "rows" for a statement that returns rows, else "ok".
	Kind    string       `json:"kind"`
	Columns []columnJSON `json:"columns,omitempty"`
	Rows    [][]any      `json:"rows,omitempty"`
	// Changelog is set when rows are an updating stream; each row then
	// starts with its row kind (+I, -U, +U, -D).
	Changelog bool `json:"changelog,omitempty"`
	// Truncated is set when the rows stopped at max_rows or the timeout
	// rather than at the end of the result.
	Truncated bool   `json:"truncated,omitempty"`
	JobID     string `json:"job_id,omitempty"`
	JobName   string `json:"job_name,omitempty"`
}

type columnJSON struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

type statementError struct {
	Statement string `json:"statement"`
	Code      string `json:"code"`
	Message   string `json:"message"`
	Position  int32  `json:"position,omitempty"`
}

// postStatements serves POST /v1/statements: it runs a script in a new
// session over the shared catalog, as a pgwire connection would (DDL is
// recorded in the data directory, INSERTs submit continuous jobs listed
// by /v1/jobs), and answers every statement's outcome as JSON: 200 when
// all ran, 400 with the results so far and the error otherwise.
func (s *Server) postStatements(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxStatementBody))
	if err != nil {
		writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"error": err.Error()})
		return
	}
	var req statementsRequest
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(body, &req); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid JSON: " + err.Error()})
			return
		}
	} else {
		req.SQL = string(body)
	}
	if req.MaxRows <= 0 {
		req.MaxRows = defaultMaxRows
	}
	timeout := defaultStatementTimeout
	if req.TimeoutMS > 0 {
		timeout = time.Duration(req.TimeoutMS) * time.Millisecond
	}
	env, err := table.NewEnvironment(table.Settings{Cluster: s.cluster, Mem: s.cfg.Mem, Config: req.Config,
		Catalogs: []catalog.Catalog{s.catalog}})
	if err == nil && req.Catalog != "" {
		err = env.Catalog().UseCatalog(req.Catalog)
	}
	if err == nil && req.Database != "" {
		err = env.Catalog().UseDatabase([]string{req.Database})
	}
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"results": []statementResult{}, "error": toStatementError(err, "", "")})
		return
	}
	// The HTTP session is a session without a connection: ss.run does
	// what the server keeps track of for it (jobs, durable DDL).
	ss := &session{srv: s, env: env, user: "http"}
	results := []statementResult{}
	fail := func(err error, stmt, src string) {
		writeJSON(w, http.StatusBadRequest, map[string]any{"results": results, "error": toStatementError(err, stmt, src)})
	}
	script, err := sql.ParseScript(req.SQL)
	if err != nil {
		fail(err, req.SQL, req.SQL)
		return
	}
	for i := range script.Stmts {
		res, err := s.runHTTPStatement(r.Context(), ss, script, i, req.MaxRows, timeout)
		if err != nil {
			fail(err, script.Text(i), script.Source)
			return
		}
		results = append(results, res)
	}
	writeJSON(w, http.StatusOK, map[string]any{"results": results})
}

func (s *Server) runHTTPStatement(ctx context.Context, ss *session, script *sql.Script, i, maxRows int, timeout time.Duration) (statementResult, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(s.ctx, cancel)
	defer stop()
	text := script.Text(i)
	r, err := ss.run(ctx, script.Source, script.Stmts[i].Stmt, text, nil)
	if err != nil {
		return statementResult{}, err
	}
	defer r.Close()
	out := statementResult{Statement: text, Kind: "ok"}
	if r.Job != nil && r.Kind != table.SuccessWithContent {
		out.JobID, out.JobName = r.Job.ID(), r.Job.Name()
	}
	if r.Kind != table.SuccessWithContent {
		return out, nil
	}
	// A SUBSCRIBE's rows are changes even when they are all inserts.
	_, sub := script.Stmts[i].Stmt.(*sql.Subscribe)
	out.Kind, out.Changelog, out.Rows = "rows", r.Changelog || sub, [][]any{}
	for _, c := range r.Schema.Columns {
		out.Columns = append(out.Columns, columnJSON{Name: c.Name, Type: c.Type.String()})
	}
	// The deadline bounds only the wait for rows: a query still running
	// when it passes returns what it produced.
	rowsCtx, cancelRows := context.WithTimeout(ctx, timeout)
	defer cancelRows()
	for len(out.Rows) < maxRows {
		b, err := r.Next(rowsCtx)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			if rowsCtx.Err() != nil && ctx.Err() == nil {
				out.Truncated = true
				return out, nil
			}
			return out, err
		}
		out.Rows = appendJSONRows(out.Rows, b, r.Schema, out.Changelog, maxRows)
		b.Release()
	}
	out.Truncated = true
	return out, nil
}

// appendJSONRows appends up to maxRows-len(rows) rows of b as JSON
// values: numbers and booleans as JSON's, NULL as null, every other type
// in PostgreSQL's text format (what psql would print). For a changelog
// each row starts with its row kind, from the batch's trailing row kind
// column (+I when it has none: an insert-only result).
func appendJSONRows(rows [][]any, b arrow.RecordBatch, schema types.Schema, changelog bool, maxRows int) [][]any {
	ncols := len(schema.Columns)
	encs := make([]encoder, ncols)
	for j := 0; j < ncols; j++ {
		encs[j] = newEncoder(b.Column(j), schema.Columns[j].Type, 0)
	}
	var kinds interface{ Value(int) int8 }
	if changelog && int(b.NumCols()) > ncols {
		kinds, _ = b.Column(ncols).(interface{ Value(int) int8 })
	}
	var buf []byte
	for i := 0; i < int(b.NumRows()) && len(rows) < maxRows; i++ {
		row := make([]any, 0, ncols+1)
		switch {
		case kinds != nil:
			row = append(row, connector.RowKind(kinds.Value(i)).String())
		case changelog:
			row = append(row, connector.Insert.String())
		}
		for j := 0; j < ncols; j++ {
			col := b.Column(j)
			if col.IsNull(i) {
				row = append(row, nil)
				continue
			}
			buf = encs[j](buf[:0], i)
			row = append(row, jsonValue(string(buf), schema.Columns[j].Type))
		}
		rows = append(rows, row)
	}
	return rows
}

// jsonValue turns a value's PostgreSQL text form into its JSON value.
func jsonValue(text string, t types.DataType) any {
	switch t.Kind {
	case types.Boolean:
		return text == "t"
	case types.TinyInt, types.SmallInt, types.Int, types.BigInt, types.Decimal:
		return json.Number(text)
	case types.Float, types.Double:
		// JSON has no NaN or infinities; they stay text.
		var f float64
		if err := json.Unmarshal([]byte(text), &f); err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return text
		}
		return json.Number(text)
	}
	return text
}

func toStatementError(err error, stmt, src string) statementError {
	resp := errorResponse(err, src, false)
	if errors.Is(err, context.Canceled) {
		resp.Code, resp.Message = errs.QueryCanceled.SQLState, "canceling statement: the request ended"
	}
	return statementError{Statement: stmt, Code: resp.Code, Message: resp.Message, Position: resp.Position}
}
