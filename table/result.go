package table

import (
	"context"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec"
)

// ResultKind says whether a statement returns rows.
type ResultKind int

const (
	// Success is a statement that returns no rows (DDL, SET, INSERT).
	Success ResultKind = iota
	// SuccessWithContent returns rows (SELECT, SHOW, DESCRIBE, EXPLAIN).
	SuccessWithContent
)

// TableResult is the outcome of one statement, Flink's TableResult. Rows
// arrive as Arrow record batches; for a query they stream from the running
// job as it produces them.
type TableResult struct {
	Kind   ResultKind
	Schema types.Schema
	// Job is the job an INSERT or a query submitted, nil otherwise.
	Job *exec.Job
	// Message describes a Success result ("Execute statement succeed.").
	Message string
	// Changelog is set when the rows are an updating stream: each batch
	// then carries the trailing connector.RowKindColumn.
	Changelog bool
	// Plain marks rows of preformatted text (EXPLAIN) that clients print
	// as they are rather than as a table.
	Plain bool
	// RowsAffected is how many rows a DELETE or UPDATE changed, which its
	// one row also shows (RowsAffectedColumn).
	RowsAffected int64

	static []arrow.RecordBatch
	stream *exec.ResultStream
	// limit, when not zero, ends a query's result after that many rows
	// (its LIMIT; -1 or 0 for none), counted in seen.
	limit, seen int64
}

// Next returns the next batch of rows, owned by the caller, or io.EOF.
func (r *TableResult) Next(ctx context.Context) (arrow.RecordBatch, error) {
	if r.stream != nil {
		if r.limit > 0 && r.seen >= r.limit {
			// The LIMIT is reached: the rest of an unbounded input
			// cannot change the result.
			if r.Job != nil {
				r.Job.Cancel()
			}
			return nil, io.EOF
		}
		b, err := r.stream.Next(ctx)
		if err == nil {
			r.seen += b.NumRows()
		}
		return b, err
	}
	if len(r.static) == 0 {
		return nil, io.EOF
	}
	b := r.static[0]
	r.static = r.static[1:]
	return b, nil
}

// Close releases rows not read and cancels a query's job.
func (r *TableResult) Close() {
	for _, b := range r.static {
		b.Release()
	}
	r.static = nil
	if r.stream != nil {
		r.stream.Close()
		if r.Job != nil {
			r.Job.Cancel()
		}
	}
}

func okResult() *TableResult {
	return &TableResult{Kind: Success, Message: "Execute statement succeed."}
}

// stringRows builds a content result of VARCHAR columns from rows of text;
// nil entries in a row are NULL.
func stringRows(mem memory.Allocator, names []string, rows [][]*string) *TableResult {
	schema := types.Schema{}
	for _, n := range names {
		schema.Columns = append(schema.Columns, types.Column{Name: n, Type: types.StringType})
	}
	b := array.NewRecordBuilder(mem, schema.Arrow())
	defer b.Release()
	for _, row := range rows {
		for i, v := range row {
			sb := b.Field(i).(*array.StringBuilder)
			if v == nil {
				sb.AppendNull()
			} else {
				sb.Append(*v)
			}
		}
	}
	res := &TableResult{Kind: SuccessWithContent, Schema: schema}
	if len(rows) > 0 {
		res.static = []arrow.RecordBatch{b.NewRecordBatch()}
	}
	return res
}

// StringRows is a content result of STRING columns named names holding
// rows of text (nil entries are NULL), for statements a front end answers
// itself, such as the server's SHOW JOBS over every session's jobs.
func StringRows(mem memory.Allocator, names []string, rows [][]*string) *TableResult {
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	return stringRows(mem, names, rows)
}

func strs(vals ...string) []*string {
	out := make([]*string, len(vals))
	for i := range vals {
		out[i] = &vals[i]
	}
	return out
}
