package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec"
	"github.com/eddysql/eddy/exec/expr"
	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/sql"
	"github.com/eddysql/eddy/table"
)

// simpleQuery runs a Query message: every statement of the script in turn,
// stopping at the first error, then ReadyForQuery.
func (ss *session) simpleQuery(q string) {
	// A simple query destroys the unnamed statement and portal.
	delete(ss.stmts, "")
	if p := ss.portals[""]; p != nil {
		p.close()
		delete(ss.portals, "")
	}
	defer func() { ss.be.Send(&pgproto3.ReadyForQuery{TxStatus: ss.txStatus}) }()
	if ss.sessionCommand(q) {
		return
	}
	script, err := sql.ParseScript(q)
	if err != nil {
		if tag, status := transactionControl(q); tag != "" {
			if status != 0 {
				ss.txStatus = status
			}
			if status == 'I' {
				// The transaction's end closes its cursors.
				ss.closeCursors()
			}
			ss.be.Send(&pgproto3.CommandComplete{CommandTag: []byte(tag)})
			return
		}
		ss.sendError(err, q)
		return
	}
	if len(script.Stmts) == 0 {
		ss.be.Send(&pgproto3.EmptyQueryResponse{})
		return
	}
	for i := range script.Stmts {
		if err := ss.simpleStatement(script, i); err != nil {
			ss.sendError(err, q)
			return
		}
	}
}

func (ss *session) simpleStatement(script *sql.Script, i int) error {
	ctx := ss.beginStatement()
	defer ss.endStatement()
	st := script.Stmts[i].Stmt
	r, err := ss.run(ctx, script.Source, st, script.Text(i), nil)
	if err != nil {
		return err
	}
	defer r.Close()
	if r.Kind != table.SuccessWithContent {
		ss.completed(st, r, 0)
		return nil
	}
	ss.be.Send(rowDescription(r.Schema, nil))
	c := &cursor{res: r}
	if _, err := c.send(ctx, ss, 0); err != nil {
		return err
	}
	ss.completed(st, r, c.count)
	return nil
}

// completed sends the CommandComplete of a statement (and, for a job an
// INSERT submitted, a notice with its id).
func (ss *session) completed(st sql.Statement, r *table.TableResult, rows int) {
	if r.Job != nil && r.Kind != table.SuccessWithContent {
		ss.be.Send(&pgproto3.NoticeResponse{Severity: "NOTICE", SeverityUnlocalized: "NOTICE", Code: "00000",
			Message: fmt.Sprintf("submitted job %s (%s)", r.Job.ID(), r.Job.Name())})
	}
	ss.be.Send(&pgproto3.CommandComplete{CommandTag: []byte(commandTag(st, rows))})
}

// run executes one statement of the session and does what the server
// keeps track of: the jobs it submits and the DDL that changes the shared
// catalog.
func (ss *session) run(ctx context.Context, src string, st sql.Statement, text string, params []*expr.Literal) (*table.TableResult, error) {
	defer ss.catalogBatch(st)()
	r, err := ss.env.ExecuteStatement(ctx, src, st, params)
	if err != nil {
		return nil, err
	}
	if r.Job != nil {
		ss.srv.jobs.add(r.Job, ss.user)
	}
	if ss.srv.store != nil && persistent(st) {
		cat, db := ss.env.Catalog().Current()
		if err := ss.srv.store.record(cat, db, text); err != nil {
			r.Close()
			return nil, errs.Wrap(errs.InternalError, err, "the statement ran but could not be recorded in the data directory: %v", err)
		}
	}
	return r, nil
}

// persistent reports whether st changes the shared catalog.
func persistent(st sql.Statement) bool {
	switch s := st.(type) {
	case *sql.CreateTable:
		return !s.Temporary
	case *sql.CreateView:
		return !s.Temporary
	case *sql.DropTable:
		return !s.Temporary
	case *sql.DropView:
		return !s.Temporary
	}
	return false
}

// commandTag is the CommandComplete tag PostgreSQL sends for st.
func commandTag(st sql.Statement, rows int) string {
	switch s := st.(type) {
	case *sql.QueryStatement:
		return fmt.Sprintf("SELECT %d", rows)
	case *sql.Insert, *sql.StatementSet:
		// The rows are written by the job that keeps running; PostgreSQL's
		// tag has no way to say so, so it reports none.
		return "INSERT 0 0"
	case *sql.CreateTable:
		return "CREATE TABLE"
	case *sql.CreateView:
		return "CREATE VIEW"
	case *sql.DropTable:
		return "DROP TABLE"
	case *sql.DropView:
		return "DROP VIEW"
	case *sql.Set:
		if s.Key == "" {
			return fmt.Sprintf("SHOW %d", rows)
		}
		return "SET"
	case *sql.Reset:
		return "RESET"
	case *sql.Use:
		return "USE"
	case *sql.Show:
		return fmt.Sprintf("SHOW %d", rows)
	case *sql.Describe:
		return fmt.Sprintf("DESCRIBE %d", rows)
	case *sql.Explain:
		return "EXPLAIN"
	}
	return "OK"
}

// rowDescription describes a result's columns; formats are the result
// format codes of Bind (none: all text; one: for every column).
func rowDescription(s types.Schema, formats []int16) *pgproto3.RowDescription {
	rd := &pgproto3.RowDescription{Fields: make([]pgproto3.FieldDescription, len(s.Columns))}
	for i, c := range s.Columns {
		oid, size, mod := pgType(c.Type)
		rd.Fields[i] = pgproto3.FieldDescription{
			Name: []byte(c.Name), DataTypeOID: oid, DataTypeSize: size, TypeModifier: mod,
			Format: formatOf(formats, i),
		}
	}
	return rd
}

func formatOf(formats []int16, i int) int16 {
	switch len(formats) {
	case 0:
		return 0
	case 1:
		return formats[0]
	}
	return formats[i]
}

// cursor streams the rows of a result as DataRow messages, remembering
// where it stopped for Execute with a row limit.
type cursor struct {
	res     *table.TableResult
	formats []int16
	batch   arrow.RecordBatch
	row     int
	encs    []encoder
	count   int
	done    bool
	buf     []byte
	vals    [][]byte
	ends    []int
}

// send writes up to limit rows (0: all) and reports whether the result is
// exhausted. Rows are flushed to the client after each batch, so a
// streaming query's rows arrive as they are produced.
func (c *cursor) send(ctx context.Context, ss *session, limit int) (bool, error) {
	sent := 0
	for !c.done {
		if c.batch == nil {
			b, err := c.res.Next(ctx)
			if errors.Is(err, io.EOF) {
				c.done = true
				break
			}
			if err != nil {
				return false, err
			}
			c.batch, c.row = b, 0
			c.encs = c.encs[:0]
			for i := 0; i < int(b.NumCols()); i++ {
				c.encs = append(c.encs, newEncoder(b.Column(i), c.res.Schema.Columns[i].Type, formatOf(c.formats, i)))
			}
		}
		n := int(c.batch.NumRows())
		cols := c.batch.Columns()
		for ; c.row < n; c.row++ {
			if limit > 0 && sent == limit {
				return false, nil
			}
			c.buf = c.buf[:0]
			c.vals = c.vals[:0]
			ends := c.ends[:0]
			for j, col := range cols {
				if col.IsNull(c.row) {
					ends = append(ends, -1)
					continue
				}
				c.buf = c.encs[j](c.buf, c.row)
				ends = append(ends, len(c.buf))
			}
			c.ends = ends
			start := 0
			for _, e := range ends {
				if e < 0 {
					c.vals = append(c.vals, nil)
					continue
				}
				c.vals = append(c.vals, c.buf[start:e:e])
				start = e
			}
			ss.be.Send(&pgproto3.DataRow{Values: c.vals})
			sent++
			c.count++
		}
		c.batch.Release()
		c.batch = nil
		if err := ss.be.Flush(); err != nil {
			return false, err
		}
	}
	return true, nil
}

func (c *cursor) close() {
	if c.batch != nil {
		c.batch.Release()
		c.batch = nil
	}
	c.res.Close()
}

// sendError sends err as an ErrorResponse with its SQLSTATE and, when it
// points into src, its position.
func (ss *session) sendError(err error, src string) {
	ss.be.Send(errorResponse(err, src, ss.wasCanceled()))
}

func errorResponse(err error, src string, canceled bool) *pgproto3.ErrorResponse {
	resp := &pgproto3.ErrorResponse{Severity: "ERROR", SeverityUnlocalized: "ERROR", Code: errs.State(err), Message: err.Error()}
	offset := -1
	var pe *errs.Error
	var se *sql.Error
	switch {
	case errors.Is(err, context.Canceled) || errors.Is(err, exec.ErrJobCanceled):
		resp.Code, resp.Message = errs.QueryCanceled.SQLState, "canceling statement due to user request"
		if !canceled {
			resp.Code, resp.Message = "57P01", "terminating connection due to administrator command"
		}
	case errors.As(err, &pe):
		resp.Message = pe.Msg
		if pe.Near != "" {
			resp.Message += fmt.Sprintf(" (near %q)", pe.Near)
		}
		if pe.Line > 0 {
			offset = pe.Offset
		}
	case errors.As(err, &se):
		resp.Message = "syntax error"
		if se.Near != "" {
			resp.Message += fmt.Sprintf(" at or near %q", se.Near)
		} else {
			resp.Message += " at end of input"
		}
		resp.Message += ": " + se.Msg
		offset = int(se.Pos)
	}
	if offset >= 0 && offset <= len(src) {
		resp.Position = int32(utf8.RuneCountInString(src[:offset]) + 1)
	}
	return resp
}

// maxParam returns the highest placeholder index in a statement's syntax
// tree. The tree is walked generically so new node types need no change.
func maxParam(st sql.Statement) int {
	n := 0
	paramType := reflect.TypeOf((*sql.Param)(nil))
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.Pointer, reflect.Interface:
			if v.IsNil() {
				return
			}
			if v.Type() == paramType {
				n = max(n, int(v.Elem().FieldByName("Index").Int()))
				return
			}
			walk(v.Elem())
		case reflect.Struct:
			for i := 0; i < v.NumField(); i++ {
				walk(v.Field(i))
			}
		case reflect.Slice, reflect.Array:
			for i := 0; i < v.Len(); i++ {
				walk(v.Index(i))
			}
		}
	}
	walk(reflect.ValueOf(st))
	return n
}
