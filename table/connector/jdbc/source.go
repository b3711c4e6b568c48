package jdbc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/internal/errs"
)

// defaultBatchSize is the rows per batch when the context sets none.
const defaultBatchSize = 1024

// reader reads the partitions of one subtask, one query each, in order:
// partition i of a partitioned scan goes to subtask i mod parallelism, and
// an unpartitioned scan is read by subtask 0 alone, as in Flink. Rows are
// decoded from PostgreSQL's binary format into the column builders as they
// arrive; a batch ends at the batch size or at the end of a partition, so
// the reader's position is always (partition, rows of it emitted).
type reader struct {
	cfg    *config
	rc     connector.ReaderContext
	schema *arrow.Schema
	cols   []types.Column
	// sql selects the projected columns; a partitioned scan's takes the
	// partition's bounds as $1 and $2, then the filters' values.
	sql     string
	filters [][]byte
	ranges  [][2]int64 // nil: unpartitioned
	parts   []int      // the partitions of this subtask, indexes into ranges

	// Position: parts[pos] is being read, offset of its rows emitted.
	pos    int
	offset int64

	ctx      context.Context // the reader's lifetime; queries run under it
	cancel   context.CancelFunc
	conn     *pgconn.PgConn
	inTx     bool
	rr       *pgconn.ResultReader
	skip     int64 // rows of the open query to drop: emitted before a restore or retry
	retries  int
	builders []array.Builder
	decoders []decoder
	formats  []int16 // per column: 1 binary, 0 text (see textual)
	pending  int     // rows in the builders
	done     bool
	closed   bool
}

func newReader(c *config, spec connector.ScanSpec, rc connector.ReaderContext) (*reader, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	if rc.BatchSize <= 0 {
		rc.BatchSize = defaultBatchSize
	}
	out := spec.OutputSchema()
	r := &reader{cfg: c, rc: rc, schema: out.Arrow(), cols: out.Columns}
	names := make([]string, len(out.Columns))
	for i, col := range out.Columns {
		names[i] = col.Name
	}
	var where []string
	param := 1
	if c.partition != nil {
		where = append(where, fmt.Sprintf("%s BETWEEN $1 AND $2", quoteIdent(c.partition.column)))
		param = 3
		r.ranges = c.partition.ranges()
		for i := rc.Subtask; i < len(r.ranges); i += max(rc.Parallelism, 1) {
			r.parts = append(r.parts, i)
		}
	} else if rc.Subtask == 0 {
		r.parts = []int{0}
	}
	conds, values := pushedFilters(spec.Table, spec.Filters, param)
	where = append(where, conds...)
	r.filters = values
	r.sql = "SELECT " + quoteColumns(names) + " FROM " + c.target
	if len(where) > 0 {
		r.sql += " WHERE " + strings.Join(where, " AND ")
	}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	r.builders = make([]array.Builder, len(out.Columns))
	r.decoders = make([]decoder, len(out.Columns))
	r.formats = make([]int16, len(out.Columns))
	return r, nil
}

// pushedFilters renders filters that ApplyFilters accepted as SQL
// conditions on their columns whose literals are the text parameters
// $first, $first+1, ...; it returns the conditions and the parameters.
// Scans, DELETE and UPDATE select their rows with them.
func pushedFilters(t connector.TableInfo, filters []connector.Predicate, first int) ([]string, [][]byte) {
	conds := make([]string, 0, len(filters))
	values := make([][]byte, 0, len(filters))
	for i, f := range filters {
		// The literal is typed by the declared column, not by PostgreSQL's
		// (a smallint column read as INT compares with 100000); integer
		// types compare across widths without losing index use.
		cast := "bigint"
		col := t.Schema.Columns[f.Column]
		if col.Type.Kind == types.Boolean {
			cast = "boolean"
		}
		conds = append(conds, fmt.Sprintf("%s %s $%d::%s", quoteIdent(col.Name), f.Op, first+i, cast))
		values = append(values, []byte(f.Value))
	}
	return conds, values
}

// Next returns the next batch of the subtask's partitions.
func (r *reader) Next(ctx context.Context) (arrow.RecordBatch, error) {
	if r.done || r.closed {
		return nil, io.EOF
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for {
		if r.rr == nil {
			if r.pos >= len(r.parts) {
				r.done = true
				if err := r.finish(); err != nil {
					return nil, err
				}
				return nil, io.EOF
			}
			if err := r.open(); err != nil {
				if r.retry(err) {
					continue
				}
				return nil, err
			}
		}
		b, err := r.read(ctx)
		switch {
		case err != nil && errors.Is(err, ctx.Err()):
			return nil, err
		case err != nil && r.retry(err):
			continue
		case err != nil:
			return nil, err
		case b != nil:
			return b, nil
		}
	}
}

// read decodes rows of the open query into the builders until a batch is
// full or the query ends, and returns the batch (nil when the query ended
// with no pending rows: the next partition is to be opened).
func (r *reader) read(ctx context.Context) (arrow.RecordBatch, error) {
	for r.rr.NextRow() {
		if r.skip > 0 {
			r.skip--
			continue
		}
		for i, v := range r.rr.Values() {
			if v == nil {
				r.builders[i].AppendNull()
				continue
			}
			if err := r.decoders[i](v); err != nil {
				return nil, r.permanent(fmt.Errorf("jdbc: reading column '%s' of %s: %w", r.cols[i].Name, r.cfg.target, err))
			}
		}
		r.pending++
		if r.pending == r.rc.BatchSize {
			return r.emit(false), nil
		}
		// A checkpoint waits for this Next: let it in every so often,
		// keeping the rows decoded so far for the next call.
		if r.pending%256 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	rr := r.rr
	r.rr = nil
	if _, err := rr.Close(); err != nil {
		return nil, r.wrapQueryError(err)
	}
	if r.skip > 0 {
		return nil, r.permanent(fmt.Errorf("jdbc: partition %d of %s has fewer rows than were read from it before; the table changed since", r.parts[r.pos], r.cfg.target))
	}
	return r.emit(true), nil
}

// emit builds the pending rows into a batch and advances the position past
// them (and past the partition when it ended).
func (r *reader) emit(partitionEnded bool) arrow.RecordBatch {
	var b arrow.RecordBatch
	if r.pending > 0 {
		arrs := make([]arrow.Array, len(r.builders))
		for i, bl := range r.builders {
			arrs[i] = bl.NewArray()
		}
		b = array.NewRecordBatch(r.schema, arrs, int64(r.pending))
		for _, a := range arrs {
			a.Release()
		}
	}
	r.offset += int64(r.pending)
	r.pending = 0
	if partitionEnded {
		r.pos++
		r.offset = 0
	}
	return b
}

// permanentError marks errors a retry cannot fix.
type permanentError struct{ error }

func (e permanentError) Unwrap() error { return e.error }

func (r *reader) permanent(err error) error { return permanentError{err} }

// retry reports whether a failed read resumes: for errors of the
// connection or the server, up to lookup.max-retries times, on a new
// connection, skipping the rows already emitted.
func (r *reader) retry(err error) bool {
	var perm permanentError
	if errors.As(err, &perm) || r.retries >= r.cfg.lookupRetries || r.inTx {
		return false
	}
	r.retries++
	r.reset()
	return true
}

// reset drops the connection, the open query and the rows not emitted; the
// next read reopens the current partition at its position.
func (r *reader) reset() {
	if r.rr != nil {
		r.rr.Close()
		r.rr = nil
	}
	if r.conn != nil {
		r.conn.Close(context.Background())
		r.conn = nil
	}
	for _, b := range r.builders {
		if b != nil {
			b.NewArray().Release()
		}
	}
	r.pending = 0
}

// open runs the query of the current partition, connecting first when
// needed and checking that the columns' PostgreSQL types read as declared.
func (r *reader) open() error {
	if r.conn == nil {
		// synchronize_seqscans off: an unchanged table is read in the same
		// order each time, so a restored or retried read can skip the rows
		// it already produced (as Flink's JDBC source skips its split's
		// offset).
		conn, err := r.cfg.connect(r.ctx, map[string]string{"synchronize_seqscans": "off"})
		if err != nil {
			// connect retried for connection.max-retry-timeout already.
			return r.permanent(err)
		}
		r.conn = conn
		if !r.cfg.autoCommit {
			if err := r.conn.Exec(r.ctx, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY").Close(); err != nil {
				return fmt.Errorf("jdbc: starting the scan's transaction: %w", err)
			}
			r.inTx = true
		}
	}
	sd, err := r.conn.Prepare(r.ctx, "", r.sql, nil)
	if err != nil {
		return r.wrapQueryError(err)
	}
	if err := r.checkTypes(sd.Fields); err != nil {
		return r.permanent(err)
	}
	if r.ranges != nil {
		switch oid := sd.ParamOIDs[0]; oid {
		case oidInt2, oidInt4, oidInt8, oidNumeric:
		default:
			return r.permanent(errs.New(errs.InvalidOption, "jdbc: '%s' names column %s of %s, of type %s; a partitioned scan needs a numeric column",
				ScanPartitionColumn, quoteIdent(r.cfg.partition.column), r.cfg.target, pgTypeName(oid)))
		}
	}
	params := r.filters
	if r.ranges != nil {
		rg := r.ranges[r.parts[r.pos]]
		params = append([][]byte{itoa(rg[0]), itoa(rg[1])}, r.filters...)
	}
	r.skip = r.offset
	r.rr = r.conn.ExecStatement(r.ctx, sd, params, nil, r.formats)
	return nil
}

// checkTypes compares the result's columns with the declared ones and
// makes the decoders.
func (r *reader) checkTypes(fields []pgconn.FieldDescription) error {
	if len(fields) != len(r.cols) {
		return fmt.Errorf("jdbc: internal error: %d result columns for %d declared", len(fields), len(r.cols))
	}
	for i, f := range fields {
		c := r.cols[i]
		if !readable(f.DataTypeOID, c.Type) {
			return errs.New(errs.DatatypeMismatch, "jdbc: column '%s' of table '%s' is declared %s, but PostgreSQL's column %s of %s has type %s, which does not convert to it",
				c.Name, r.cfg.table.Name, c.Type, quoteIdent(c.Name), r.cfg.target, describeType(r.ctx, r.conn, f))
		}
		if r.builders[i] == nil {
			r.builders[i] = array.NewBuilder(r.rc.Mem, r.schema.Field(i).Type)
			r.decoders[i] = newDecoder(f.DataTypeOID, c.Type, r.builders[i])
			r.formats[i] = 1
			if textual(f.DataTypeOID, c.Type) {
				r.formats[i] = 0
			}
		}
	}
	return nil
}

// wrapQueryError explains PostgreSQL's errors about the table and its
// columns. Errors of the server other than transient ones are permanent.
func (r *reader) wrapQueryError(err error) error {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || transient(err) {
		return fmt.Errorf("jdbc: reading %s from %s: %w", r.cfg.target, r.cfg.url, err)
	}
	switch pgErr.Code {
	case "42P01":
		return r.permanent(errs.New(errs.UndefinedTable, "jdbc: table %s of '%s' does not exist in %s", r.cfg.target, r.cfg.table.Name, r.cfg.url))
	case "42703":
		return r.permanent(errs.New(errs.UndefinedColumn, "jdbc: table %s in %s lacks a column declared by '%s': %s", r.cfg.target, r.cfg.url, r.cfg.table.Name, pgErr.Message))
	}
	return r.permanent(fmt.Errorf("jdbc: reading %s from %s: %w", r.cfg.target, r.cfg.url, err))
}

// finish ends the scan's transaction when it has one and closes the
// connection: a lookup table's reader stays open while the join runs.
func (r *reader) finish() error {
	if r.inTx {
		r.inTx = false
		if err := r.conn.Exec(r.ctx, "COMMIT").Close(); err != nil {
			return fmt.Errorf("jdbc: ending the scan's transaction: %w", err)
		}
	}
	r.reset()
	return nil
}

// readerState is a reader's position.
type readerState struct {
	Part   int   `json:"part"`
	Offset int64 `json:"offset"`
}

// Snapshot records the position: the partition being read and the rows of
// it emitted.
func (r *reader) Snapshot() ([]byte, error) {
	return json.Marshal(readerState{Part: r.pos, Offset: r.offset})
}

// Restore resumes at a snapshot's position: the partition's query runs
// again and drops the rows emitted before the snapshot.
func (r *reader) Restore(state []byte) error {
	var s readerState
	if err := json.Unmarshal(state, &s); err != nil {
		return fmt.Errorf("jdbc: restoring a scan: %w", err)
	}
	if s.Part < 0 || s.Part > len(r.parts) || s.Offset < 0 {
		return fmt.Errorf("jdbc: restoring a scan of %d partitions from position %d/%d", len(r.parts), s.Part, s.Offset)
	}
	r.reset()
	r.pos, r.offset, r.done = s.Part, s.Offset, false
	return nil
}

// Close cancels a running query and closes the connection.
func (r *reader) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	r.cancel()
	r.reset()
	for _, b := range r.builders {
		if b != nil {
			b.Release()
		}
	}
	return nil
}
