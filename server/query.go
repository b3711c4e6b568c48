package server

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"reflect"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec"
	"github.com/eddysql/eddy/exec/connector"
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
	if ss.openSet != "" {
		ss.continueStatementSet(q)
		return
	}
	if ss.sessionCommand(q) {
		return
	}
	script, err := sql.ParseScript(q)
	if err != nil {
		if ss.beginStatementSet(q) {
			return
		}
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
	ss.runScript(script, q)
}

// runScript runs the statements of a script parsed from q in order,
// stopping at the first error.
func (ss *session) runScript(script *sql.Script, q string) {
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
	if r.Kind != table.SuccessWithContent || isModification(st) {
		defer r.Close()
		ss.completed(st, r, 0)
		return nil
	}
	c := newCursor(st, r, nil)
	defer c.close()
	ss.be.Send(rowDescription(c.schema(), nil))
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
	if isModification(st) {
		rows = int(r.RowsAffected)
	}
	ss.be.Send(&pgproto3.CommandComplete{CommandTag: []byte(commandTag(st, rows))})
}

// isModification reports DELETE and UPDATE, whose result PostgreSQL
// clients expect as the count of their command tag, not as rows (Flink's
// result has one row with the count).
func isModification(st sql.Statement) bool {
	switch st.(type) {
	case *sql.Delete, *sql.Update:
		return true
	}
	return false
}

// run executes one statement of the session and does what the server
// keeps track of: the jobs it submits and the DDL that changes the shared
// catalog.
func (ss *session) run(ctx context.Context, src string, st sql.Statement, text string, params []*expr.Literal) (*table.TableResult, error) {
	defer ss.catalogBatch(st)()
	if r, ok, err := ss.jobStatement(ctx, st); ok {
		return r, err
	}
	if err := ss.checkAlterable(st); err != nil {
		return nil, err
	}
	target := ss.target(st)
	var r *table.TableResult
	var err error
	switch s := st.(type) {
	case *sql.Subscribe:
		r, err = ss.subscribe(ctx, src, s, params)
		if err == nil && r.Job != nil {
			ss.srv.jobs.add(r.Job, ss.user)
		}
		return r, err
	case *sql.CreateMaterializedView:
		r, err = ss.createMaterializedView(src, s)
	case *sql.DropMaterializedView:
		r, err = ss.dropMaterializedView(s)
	default:
		r, err = ss.executeFlink(ctx, src, st, text, params)
	}
	if err != nil {
		return nil, err
	}
	if ss.srv.store != nil && !ss.replaying {
		cat, db := ss.env.Catalog().Current()
		recs, err := ss.records(st, text, target)
		for _, rec := range recs {
			if err == nil {
				err = ss.srv.store.record(cat, db, rec)
			}
		}
		if err != nil {
			r.Close()
			return nil, errs.Wrap(errs.InternalError, err, "the statement ran but could not be recorded in the data directory: %v", err)
		}
	}
	return r, nil
}

// executeFlink runs a statement of the Flink dialect in the session's
// environment and keeps track of the jobs it submits.
func (ss *session) executeFlink(ctx context.Context, src string, st sql.Statement, text string, params []*expr.Literal) (*table.TableResult, error) {
	r, err := ss.env.ExecuteStatement(ctx, src, st, params)
	if err != nil {
		return nil, err
	}
	switch st.(type) {
	case *sql.Insert, *sql.StatementSet, *sql.ExecutePlan, *sql.CompilePlan:
		// A job of a compiled plan restarts by running its statement
		// again too: the plan file is then there, and is run as it is.
		if r.Job == nil {
			break
		}
		cat, db := ss.env.Catalog().Current()
		if err := ss.srv.trackJob(r.Job, durableJob{ID: r.Job.ID(), Name: r.Job.Name(), User: ss.user,
			Catalog: cat, Database: db, Config: ss.env.Config(), SQL: text, Submitted: time.Now().UTC()}); err != nil {
			return r, errs.Wrap(errs.InternalError, err, "job %s runs but could not be recorded in the data directory: %v", r.Job.ID(), err)
		}
	default:
		if r.Job != nil {
			ss.srv.jobs.add(r.Job, ss.user)
		}
	}
	return r, nil
}

// commandTag is the CommandComplete tag PostgreSQL sends for st.
func commandTag(st sql.Statement, rows int) string {
	switch s := st.(type) {
	case *sql.QueryStatement:
		return fmt.Sprintf("SELECT %d", rows)
	case *sql.Subscribe:
		return fmt.Sprintf("SUBSCRIBE %d", rows)
	case *sql.Insert, *sql.StatementSet, *sql.ExecutePlan:
		// The rows are written by the job that keeps running; PostgreSQL's
		// tag has no way to say so, so it reports none.
		return "INSERT 0 0"
	case *sql.CompilePlan:
		if s.Execute {
			return "INSERT 0 0"
		}
		return "COMPILE PLAN"
	case *sql.CreateTable:
		if s.Query != nil {
			// PostgreSQL's tag for CREATE TABLE AS.
			return "SELECT 0"
		}
		return "CREATE TABLE"
	case *sql.AlterTable:
		return "ALTER TABLE"
	case *sql.AlterView:
		return "ALTER VIEW"
	case *sql.CreateDatabase:
		return "CREATE DATABASE"
	case *sql.DropDatabase:
		return "DROP DATABASE"
	case *sql.AlterDatabase:
		return "ALTER DATABASE"
	case *sql.Truncate:
		return "TRUNCATE TABLE"
	case *sql.Delete:
		return fmt.Sprintf("DELETE %d", rows)
	case *sql.Update:
		return fmt.Sprintf("UPDATE %d", rows)
	case *sql.CreateView:
		return "CREATE VIEW"
	case *sql.DropTable:
		return "DROP TABLE"
	case *sql.DropView:
		return "DROP VIEW"
	case *sql.CreateModel:
		return "CREATE MODEL"
	case *sql.DropModel:
		return "DROP MODEL"
	case *sql.AlterModel:
		return "ALTER MODEL"
	case *sql.ShowModels, *sql.ShowCreateModel:
		return fmt.Sprintf("SHOW %d", rows)
	case *sql.DescribeModel:
		return fmt.Sprintf("DESCRIBE %d", rows)
	case *sql.CreateMaterializedView:
		return "CREATE MATERIALIZED VIEW"
	case *sql.DropMaterializedView:
		return "DROP MATERIALIZED VIEW"
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
//
// An updating result (a changelog: a streaming aggregate, an outer join)
// has no meaning as a list of rows until its changes are applied, so the
// cursor applies them to a multiset of rows (see changelogRows) until the
// input ends and then sends what remains, the result PostgreSQL would
// give; SUBSCRIBE is how a client sees the changes themselves.
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

	// applied holds an updating result once its changes are applied;
	// next is the position in it of the next row to send.
	applied *changelogRows
	next    int

	// sub is set for SUBSCRIBE: the changes are sent as they are, each
	// row led by its row kind (the op column); kinds is the current
	// batch's row kind column, nil for an insert-only result.
	sub   bool
	kinds interface{ Value(int) int8 }

	// copyOut sends rows as COPY data (text format) rather than DataRow
	// messages; line is its scratch buffer.
	copyOut bool
	line    []byte

	// progress reports the statement's progress while the cursor waits for
	// its result (nil until the first wait, or when not reported).
	progress *progress
}

// emit sends one row: a DataRow, or a line of COPY's text format (values
// separated by tabs, \N for NULL, backslash escapes for backslash, tab,
// newline and carriage return).
func (c *cursor) emit(ss *session, vals [][]byte) {
	if !c.copyOut {
		ss.be.Send(&pgproto3.DataRow{Values: vals})
		return
	}
	c.line = c.line[:0]
	for i, v := range vals {
		if i > 0 {
			c.line = append(c.line, '\t')
		}
		if v == nil {
			c.line = append(c.line, '\\', 'N')
			continue
		}
		for _, b := range v {
			switch b {
			case '\\':
				c.line = append(c.line, '\\', '\\')
			case '\t':
				c.line = append(c.line, '\\', 't')
			case '\n':
				c.line = append(c.line, '\\', 'n')
			case '\r':
				c.line = append(c.line, '\\', 'r')
			default:
				c.line = append(c.line, b)
			}
		}
	}
	c.line = append(c.line, '\n')
	ss.be.Send(&pgproto3.CopyData{Data: c.line})
}

// newCursor returns the cursor that sends the rows of st's result r in
// formats.
func newCursor(st sql.Statement, r *table.TableResult, formats []int16) *cursor {
	_, sub := st.(*sql.Subscribe)
	return &cursor{res: r, formats: formats, sub: sub}
}

// schema is the columns clients see: a SUBSCRIBE's start with op.
func (c *cursor) schema() types.Schema {
	if !c.sub {
		return c.res.Schema
	}
	cols := append([]types.Column{{Name: "op", Type: types.StringType.WithNullable(false)}}, c.res.Schema.Columns...)
	return types.Schema{Columns: cols}
}

// encodeRow encodes row c.row of c.batch into c.vals (nil for NULL).
func (c *cursor) encodeRow() {
	c.buf = c.buf[:0]
	c.vals = c.vals[:0]
	ends := c.ends[:0]
	if c.sub {
		kind := connector.Insert
		if c.kinds != nil {
			kind = connector.RowKind(c.kinds.Value(c.row))
		}
		c.buf = append(c.buf, kind.String()...)
		ends = append(ends, len(c.buf))
	}
	for j, enc := range c.encs {
		if c.batch.Column(j).IsNull(c.row) {
			ends = append(ends, -1)
			continue
		}
		c.buf = enc(c.buf, c.row)
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
}

// nextBatch reads the next batch of the result and prepares its encoders;
// it returns io.EOF at the end. While it waits, the statement's progress
// may be reported to the client.
func (c *cursor) nextBatch(ctx context.Context, ss *session) error {
	if c.progress == nil && c.res.Job != nil && ss.srv.cfg.ProgressInterval > 0 {
		c.progress = startProgress(ss, c.res.Job, ss.srv.cfg.ProgressInterval)
	}
	c.progress.wait(true)
	b, err := c.res.Next(ctx)
	c.progress.wait(false)
	if err != nil {
		return err
	}
	c.batch, c.row = b, 0
	c.kinds = nil
	if n := len(c.res.Schema.Columns); int(b.NumCols()) > n {
		c.kinds, _ = b.Column(n).(interface{ Value(int) int8 })
	}
	c.encs = c.encs[:0]
	// A changelog batch's trailing row kind column is not a result column.
	for i := range c.res.Schema.Columns {
		c.encs = append(c.encs, newEncoder(b.Column(i), c.res.Schema.Columns[i].Type, formatOf(c.formats, i)))
	}
	return nil
}

// send writes up to limit rows (0: all) and reports whether the result is
// exhausted. Rows are flushed to the client after each batch, so a
// streaming query's rows arrive as they are produced.
func (c *cursor) send(ctx context.Context, ss *session, limit int) (bool, error) {
	if c.res.Changelog && !c.sub {
		return c.sendApplied(ctx, ss, limit)
	}
	sent := 0
	for !c.done {
		if c.batch == nil {
			if limit > 0 && sent == limit {
				// Reading on could block: an unbounded result's next
				// batch may be long in coming.
				return false, nil
			}
			err := c.nextBatch(ctx, ss)
			if errors.Is(err, io.EOF) {
				c.done = true
				break
			}
			if err != nil {
				return false, err
			}
		}
		for n := int(c.batch.NumRows()); c.row < n; c.row++ {
			if limit > 0 && sent == limit {
				return false, nil
			}
			c.encodeRow()
			c.emit(ss, c.vals)
			sent++
			c.count++
		}
		c.batch.Release()
		c.batch = nil
		if err := ss.be.Flush(); err != nil {
			return false, err
		}
		c.progress.sent()
	}
	return true, nil
}

// sendApplied is send for an updating result: the first call applies all
// of its changes, then rows are sent from the multiset that remains.
func (c *cursor) sendApplied(ctx context.Context, ss *session, limit int) (bool, error) {
	if c.applied == nil {
		rows := newChangelogRows()
		for {
			err := c.nextBatch(ctx, ss)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return false, err
			}
			if c.kinds == nil {
				c.batch.Release()
				c.batch = nil
				return false, errs.New(errs.InternalError, "internal error: an updating result without its row kind column")
			}
			for n := int(c.batch.NumRows()); c.row < n; c.row++ {
				c.encodeRow()
				rows.apply(connector.RowKind(c.kinds.Value(c.row)), c.vals)
			}
			c.batch.Release()
			c.batch = nil
		}
		c.applied = rows
	}
	sent := 0
	for ; c.next < len(c.applied.rows); c.next++ {
		if limit > 0 && sent == limit {
			return false, nil
		}
		if r := c.applied.rows[c.next]; r != nil {
			c.emit(ss, r)
			sent++
			c.count++
		}
	}
	c.done = true
	return true, nil
}

// changelogRows is a multiset of encoded rows that a changelog's changes
// are applied to: +I and +U add a row, -U and -D remove one equal row.
// Rows keep the order they were first added in; duplicates are separate
// entries, and a removed row leaves a nil entry rather than shifting the
// rest.
type changelogRows struct {
	rows [][][]byte
	// at maps a row's key to the positions of its copies in rows.
	at  map[string][]int
	key []byte
}

func newChangelogRows() *changelogRows { return &changelogRows{at: map[string][]int{}} }

// apply applies one change of an encoded row (vals is reused by the
// caller; an added row is copied).
func (m *changelogRows) apply(kind connector.RowKind, vals [][]byte) {
	// The key is each value's length (-1 for NULL) and bytes, so NULL and
	// '' and different splits of the same bytes never collide.
	m.key = m.key[:0]
	for _, v := range vals {
		n := len(v)
		if v == nil {
			n = -1
		}
		m.key = binary.AppendVarint(m.key, int64(n))
		m.key = append(m.key, v...)
	}
	if kind.IsRetraction() {
		pos := m.at[string(m.key)]
		if len(pos) == 0 {
			// A retraction of a row never added: the changelog started
			// mid-stream; PostgreSQL's answer has nothing to remove.
			return
		}
		m.rows[pos[len(pos)-1]] = nil
		if len(pos) == 1 {
			delete(m.at, string(m.key))
		} else {
			m.at[string(m.key)] = pos[:len(pos)-1]
		}
		return
	}
	row := make([][]byte, len(vals))
	for i, v := range vals {
		if v != nil {
			row[i] = append([]byte{}, v...)
		}
	}
	k := string(m.key)
	m.at[k] = append(m.at[k], len(m.rows))
	m.rows = append(m.rows, row)
}

func (c *cursor) close() {
	c.progress.close()
	c.progress = nil
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
