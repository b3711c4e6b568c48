package jdbc

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/internal/errs"
)

// writer writes one sink subtask's rows. Rows are encoded at Write into
// COPY's binary tuples and buffered; a flush writes the buffer in one
// transaction: in append mode one COPY into the table, in upsert mode a
// COPY into a temporary table followed by one INSERT ... ON CONFLICT DO
// UPDATE for the upserted keys and one DELETE for the deleted ones. The
// buffer keeps only the last change of each key, as Flink's
// TableBufferReducedStatementExecutor, so a flush touches every key once.
//
// A flush happens when sink.buffer-flush.max-rows rows are buffered, every
// sink.buffer-flush.interval (on a background goroutine, under mu), at
// each checkpoint barrier (Flush) and at the end of input (Finish). Since
// upserts and deletes by key are idempotent, rows replayed after a restart
// from a checkpoint leave the table as a run without failure would: the
// upsert mode is effectively exactly-once; the append mode is
// at-least-once.
type writer struct {
	cfg    *config
	cols   []types.Column
	pk     []int // primary key columns; empty in append mode
	upsert bool

	ctx    context.Context
	cancel context.CancelFunc
	conn   *pgconn.PgConn
	oids   []uint32 // the PostgreSQL types of the target's columns

	mu      sync.Mutex
	buf     []byte // encoded tuples
	ops     []op   // upsert mode: the buffered changes, in order
	keys    map[string]int
	rows    int    // live buffered rows
	keyTmp  []byte // scratch for a row's key
	encs    []encoder
	upBuf   []byte
	delBuf  []byte
	failed  error // a background flush's error, reported by the next call
	stop    chan struct{}
	stopped chan struct{}
	closed  bool

	// SQL of a flush.
	copyTarget, copyUpserts, upsertSQL, copyDeletes, deleteSQL string
}

// op is one buffered change of a key: buf[start:end] is the full tuple of
// an upsert or the key tuple of a delete.
type op struct {
	start, end int
	del        bool
	dead       bool // replaced by a later change of its key
}

func newWriter(c *config, spec connector.SinkSpec, rc connector.ReaderContext) (*writer, error) {
	if spec.Overwrite {
		return nil, errs.New(errs.NotSupported, "jdbc: INSERT OVERWRITE is not supported")
	}
	w := &writer{cfg: c, cols: spec.Table.Schema.Columns, keys: map[string]int{}}
	for _, k := range spec.Table.PrimaryKey {
		i := spec.Table.Schema.Index(k)
		if i < 0 {
			return nil, fmt.Errorf("jdbc: primary key column '%s' is not a column of '%s'", k, spec.Table.Name)
		}
		w.pk = append(w.pk, i)
	}
	w.upsert = len(w.pk) > 0
	w.buildSQL()
	w.ctx, w.cancel = context.WithCancel(context.Background())
	if err := w.connect(); err != nil {
		w.cancel()
		return nil, err
	}
	if c.flushInterval > 0 {
		w.stop, w.stopped = make(chan struct{}), make(chan struct{})
		go w.flushPeriodically(c.flushInterval)
	}
	return w, nil
}

// columnList is the table's columns, quoted, comma-separated.
func (w *writer) columnList() string {
	all := make([]string, len(w.cols))
	for i, c := range w.cols {
		all[i] = c.Name
	}
	return quoteColumns(all)
}

func (w *writer) names(idx []int) []string {
	out := make([]string, len(idx))
	for i, c := range idx {
		out[i] = w.cols[c].Name
	}
	return out
}

func (w *writer) buildSQL() {
	cols := w.columnList()
	w.copyTarget = fmt.Sprintf("COPY %s (%s) FROM STDIN (FORMAT binary)", w.cfg.target, cols)
	if !w.upsert {
		return
	}
	keys := quoteColumns(w.names(w.pk))
	w.copyUpserts = fmt.Sprintf("COPY pg_temp.eddy_jdbc_upserts (%s) FROM STDIN (FORMAT binary)", cols)
	w.copyDeletes = fmt.Sprintf("COPY pg_temp.eddy_jdbc_deletes (%s) FROM STDIN (FORMAT binary)", keys)
	var set, match []string
	isKey := map[int]bool{}
	for _, k := range w.pk {
		isKey[k] = true
		q := quoteIdent(w.cols[k].Name)
		match = append(match, fmt.Sprintf("t.%s = d.%s", q, q))
	}
	for i, c := range w.cols {
		if !isKey[i] {
			q := quoteIdent(c.Name)
			set = append(set, fmt.Sprintf("%s = EXCLUDED.%s", q, q))
		}
	}
	action := "DO NOTHING"
	if len(set) > 0 {
		action = "DO UPDATE SET " + strings.Join(set, ", ")
	}
	w.upsertSQL = fmt.Sprintf("INSERT INTO %s (%s) SELECT %s FROM pg_temp.eddy_jdbc_upserts ON CONFLICT (%s) %s", w.cfg.target, cols, cols, keys, action)
	w.deleteSQL = fmt.Sprintf("DELETE FROM %s t USING pg_temp.eddy_jdbc_deletes d WHERE %s", w.cfg.target, strings.Join(match, " AND "))
}

// connect opens the connection, checks the target's column types and, in
// upsert mode, creates the session's staging tables.
func (w *writer) connect() error {
	conn, err := w.cfg.connect(w.ctx, nil)
	if err != nil {
		return err
	}
	sd, err := conn.Prepare(w.ctx, "", "SELECT "+w.columnList()+" FROM "+w.cfg.target, nil)
	if err != nil {
		conn.Close(context.Background())
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "42P01" {
			return errs.New(errs.UndefinedTable, "jdbc: table %s of '%s' does not exist in %s", w.cfg.target, w.cfg.table.Name, w.cfg.url)
		}
		return fmt.Errorf("jdbc: describing %s in %s: %w", w.cfg.target, w.cfg.url, err)
	}
	w.oids = make([]uint32, len(sd.Fields))
	for i, f := range sd.Fields {
		c := w.cols[i]
		if !writable(c.Type, f.DataTypeOID) {
			err := errs.New(errs.DatatypeMismatch, "jdbc: column '%s' of table '%s' is declared %s, but PostgreSQL's column %s of %s has type %s, which cannot store it",
				c.Name, w.cfg.table.Name, c.Type, quoteIdent(c.Name), w.cfg.target, describeType(w.ctx, conn, f))
			conn.Close(context.Background())
			return err
		}
		w.oids[i] = f.DataTypeOID
	}
	if w.upsert {
		keys := quoteColumns(w.names(w.pk))
		stmt := fmt.Sprintf("CREATE TEMP TABLE IF NOT EXISTS eddy_jdbc_upserts ON COMMIT DELETE ROWS AS SELECT %s FROM %s WITH NO DATA;"+
			"CREATE TEMP TABLE IF NOT EXISTS eddy_jdbc_deletes ON COMMIT DELETE ROWS AS SELECT %s FROM %s WITH NO DATA",
			w.columnList(), w.cfg.target, keys, w.cfg.target)
		if _, err := conn.Exec(w.ctx, stmt).ReadAll(); err != nil {
			conn.Close(context.Background())
			return fmt.Errorf("jdbc: creating the upsert staging tables: %w", err)
		}
	}
	w.conn = conn
	return nil
}

// Write encodes b's rows into the buffer, flushing when it is full.
func (w *writer) Write(b arrow.RecordBatch) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.failed != nil {
		return w.failed
	}
	var kinds *array.Int8
	if f := b.Schema().Fields(); len(f) > len(w.cols) && f[len(f)-1].Name == connector.RowKindColumn {
		kinds = b.Column(len(f) - 1).(*array.Int8)
	}
	w.encs = w.encs[:0]
	for i, c := range w.cols {
		e, err := newEncoder(c.Type, w.oids[i], b.Column(i))
		if err != nil {
			return err
		}
		w.encs = append(w.encs, e)
	}
	for i := range int(b.NumRows()) {
		kind := connector.Insert
		if kinds != nil {
			kind = connector.RowKind(kinds.Value(i))
		}
		if !w.upsert {
			if kind != connector.Insert {
				return fmt.Errorf("jdbc: table '%s' has no PRIMARY KEY, so its sink appends and cannot apply a %s row", w.cfg.table.Name, kind)
			}
			w.buf = w.appendTuple(w.buf, b, nil, i)
			w.rows++
		} else if kind != connector.UpdateBefore {
			// The +U that follows a -U replaces the key's row.
			w.bufferChange(b, i, kind == connector.Delete)
		}
		if w.cfg.flushRows > 0 && w.rows >= w.cfg.flushRows {
			if err := w.flush(); err != nil {
				return err
			}
		}
	}
	return nil
}

// bufferChange buffers an upsert or delete of row i, replacing the
// buffered change of the same key.
func (w *writer) bufferChange(b arrow.RecordBatch, i int, del bool) {
	w.keyTmp = w.appendTuple(w.keyTmp[:0], b, w.pk, i)
	if j, ok := w.keys[string(w.keyTmp)]; ok {
		w.ops[j].dead = true
		w.rows--
	}
	start := len(w.buf)
	if del {
		w.buf = append(w.buf, w.keyTmp...)
	} else {
		w.buf = w.appendTuple(w.buf, b, nil, i)
	}
	w.keys[string(w.keyTmp)] = len(w.ops)
	w.ops = append(w.ops, op{start: start, end: len(w.buf), del: del})
	w.rows++
}

// appendTuple appends row i's binary COPY tuple of the columns cols (nil:
// all).
func (w *writer) appendTuple(dst []byte, b arrow.RecordBatch, cols []int, i int) []byte {
	n := len(cols)
	if cols == nil {
		n = len(w.cols)
	}
	dst = binary.BigEndian.AppendUint16(dst, uint16(n))
	for j := range n {
		c := j
		if cols != nil {
			c = cols[j]
		}
		if b.Column(c).IsNull(i) {
			dst = binary.BigEndian.AppendUint32(dst, 0xFFFFFFFF)
			continue
		}
		dst = appendField(dst, w.encs[c], i)
	}
	return dst
}

// Flush writes the buffer (connector.SinkFlusher): called at checkpoint
// barriers, so everything written before one is in PostgreSQL.
func (w *writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.failed != nil {
		return w.failed
	}
	return w.flush()
}

// Finish writes what is buffered at the end of input.
func (w *writer) Finish() error {
	w.stopFlusher()
	return w.Flush()
}

func (w *writer) flushPeriodically(d time.Duration) {
	defer close(w.stopped)
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-t.C:
			w.mu.Lock()
			if w.failed == nil {
				w.failed = w.flush()
			}
			w.mu.Unlock()
		}
	}
}

func (w *writer) stopFlusher() {
	if w.stop != nil {
		close(w.stop)
		<-w.stopped
		w.stop = nil
	}
}

var (
	copyHeader  = []byte("PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00")
	copyTrailer = []byte{0xff, 0xff}
)

// flush writes the buffer in one transaction, retrying failures of the
// connection or transient ones of the server up to sink.max-retries times
// on a new connection, with Flink's backoff of one more second per attempt.
func (w *writer) flush() error {
	if w.rows == 0 {
		w.reset()
		return nil
	}
	var err error
	for attempt := 0; ; attempt++ {
		if w.conn == nil {
			err = w.connect()
		}
		if err == nil {
			if err = w.write(); err == nil {
				w.reset()
				return nil
			}
		}
		if w.conn != nil {
			w.conn.Close(context.Background())
			w.conn = nil
		}
		if attempt >= w.cfg.sinkRetries || !transient(err) {
			return fmt.Errorf("jdbc: writing to %s in %s: %w", w.cfg.target, w.cfg.url, err)
		}
		select {
		case <-w.ctx.Done():
			return w.ctx.Err()
		case <-time.After(time.Duration(attempt+1) * time.Second):
		}
	}
}

// transient reports whether a failed flush may succeed when retried:
// connection failures, and PostgreSQL's errors of classes 08 (connection),
// 40 (serialization failure, deadlock), 53 (insufficient resources) and
// 57 (operator intervention). Errors of the statement or the data are not
// retried.
func transient(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		var e *errs.Error
		return !errors.As(err, &e)
	}
	switch pgErr.Code[:2] {
	case "08", "40", "53", "57":
		return true
	}
	return false
}

func (w *writer) write() error {
	// After a failed CopyFrom, pgconn's goroutine may still be reading the
	// buffer it was given: the writer then lets go of that buffer.
	if !w.upsert {
		_, err := w.conn.CopyFrom(w.ctx, io.MultiReader(bytes.NewReader(copyHeader), bytes.NewReader(w.buf), bytes.NewReader(copyTrailer)), w.copyTarget)
		if err != nil {
			w.buf = slices.Clone(w.buf)
		}
		return err
	}
	w.upBuf, w.delBuf = append(w.upBuf[:0], copyHeader...), append(w.delBuf[:0], copyHeader...)
	for _, o := range w.ops {
		switch {
		case o.dead:
		case o.del:
			w.delBuf = append(w.delBuf, w.buf[o.start:o.end]...)
		default:
			w.upBuf = append(w.upBuf, w.buf[o.start:o.end]...)
		}
	}
	// One round trip per kind of change: a simple query may hold a COPY
	// among other statements, so the first query begins the transaction
	// and the last applies its change and commits.
	var steps [][2]string // the rows to COPY and the statement applying them
	if len(w.upBuf) > len(copyHeader) {
		w.upBuf = append(w.upBuf, copyTrailer...)
		steps = append(steps, [2]string{w.copyUpserts, w.upsertSQL})
	}
	if len(w.delBuf) > len(copyHeader) {
		w.delBuf = append(w.delBuf, copyTrailer...)
		steps = append(steps, [2]string{w.copyDeletes, w.deleteSQL})
	}
	for i, st := range steps {
		data := w.upBuf
		if st[0] == w.copyDeletes {
			data = w.delBuf
		}
		q := st[0] + "; " + st[1]
		if i == 0 {
			q = "BEGIN; " + q
		}
		if i == len(steps)-1 {
			q += "; COMMIT"
		}
		if _, err := w.conn.CopyFrom(w.ctx, bytes.NewReader(data), q); err != nil {
			w.upBuf, w.delBuf = nil, nil
			var pgErr *pgconn.PgError
			if errors.As(err, &pgErr) && pgErr.Code == "42P10" {
				return errs.New(errs.InvalidOption, "jdbc: the sink upserts by the PRIMARY KEY (%s) of '%s', but %s has no primary key or unique constraint on those columns in PostgreSQL",
					strings.Join(w.names(w.pk), ", "), w.cfg.table.Name, w.cfg.target)
			}
			return err
		}
	}
	return nil
}

// reset empties the buffer, keeping its memory.
func (w *writer) reset() {
	w.buf, w.ops, w.rows = w.buf[:0], w.ops[:0], 0
	clear(w.keys)
}

// Close stops the background flusher and closes the connection; what is
// still buffered is dropped (Finish or Flush wrote what had to be).
func (w *writer) Close() error {
	w.stopFlusher()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	w.cancel()
	if w.conn != nil {
		w.conn.Close(context.Background())
		w.conn = nil
	}
	return nil
}
