// Package print is Flink's 'print' sink: it writes every row to standard
// output (or standard error) as Flink's PrintSinkFunction does, one line
// per row in Row.toString form, "+I[1, abc, 2020-01-01T00:00:00.123]".
//
//	print-identifier  String: prefix of every line
//	standard-error    Boolean, default false: print to standard error
//
// The line prefix follows Flink: with parallelism > 1 it is
// "<subtask+1>> ", with an identifier "<identifier>> " or
// "<identifier>:<subtask+1>> ". Values print as their Java external
// types' toString: TIMESTAMP as LocalDateTime ("2020-01-01T00:00"),
// TIMESTAMP_LTZ as Instant ("2020-01-01T00:00:00Z"), DOUBLE as
// Double.toString ("1.0E10"), DECIMAL as BigDecimal, BYTES as a Java
// byte[] ("[1, -2]"), NULL as "null". The sink accepts updates.
package print

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/table/connector/format"
)

// Identifier is the value of the 'connector' option.
const Identifier = "print"

// Option keys.
const (
	PrintIdentifier = "print-identifier"
	StandardError   = "standard-error"
)

// Stdout and Stderr are where rows go. Tests and embedders may replace them
// before any writer is created; writes are serialized by a package mutex,
// one batch at a time, so lines of concurrent subtasks never interleave.
var (
	Stdout io.Writer = os.Stdout
	Stderr io.Writer = os.Stderr
)

var outMu sync.Mutex

var options = []connector.Option{
	{Key: PrintIdentifier, Type: connector.String,
		Doc: "Message that identifies print and is prefixed to every output line."},
	{Key: StandardError, Type: connector.Bool, Default: "false",
		Doc: "Print to standard error instead of standard output."},
}

// Factory is the print sink.
type Factory struct{}

var _ connector.SinkFactory = Factory{}

func init() { connector.Register(Factory{}) }

func (Factory) Identifier() string          { return Identifier }
func (Factory) Options() []connector.Option { return options }

// ValidateSink checks the options and that every column prints.
func (Factory) ValidateSink(t connector.TableInfo) (connector.SinkProperties, error) {
	if _, err := connector.Parse(Factory{}, t); err != nil {
		return connector.SinkProperties{}, err
	}
	for _, c := range t.Schema.Columns {
		if c.Type.IsInterval() || c.Type.Kind == types.Null {
			return connector.SinkProperties{}, fmt.Errorf("print: column '%s' of type %s is not supported", c.Name, c.Type)
		}
	}
	return connector.SinkProperties{AcceptsUpdates: true}, nil
}

// Prefix is the line prefix of a subtask, as Flink's PrintSinkOutputWriter
// computes it.
func Prefix(identifier string, subtask, parallelism int) string {
	switch {
	case identifier != "" && parallelism > 1:
		return identifier + ":" + strconv.Itoa(subtask+1) + "> "
	case identifier != "":
		return identifier + "> "
	case parallelism > 1:
		return strconv.Itoa(subtask+1) + "> "
	}
	return ""
}

func (Factory) CreateWriter(spec connector.SinkSpec, rc connector.ReaderContext) (connector.SinkWriter, error) {
	o, err := connector.Parse(Factory{}, spec.Table)
	if err != nil {
		return nil, err
	}
	w := &writer{prefix: Prefix(o.String(PrintIdentifier), rc.Subtask, rc.Parallelism), schema: spec.Table.Schema,
		out: Stdout, fns: make([]format.ValueFunc, spec.Table.Schema.Len())}
	if o.Bool(StandardError) {
		w.out = Stderr
	}
	return w, nil
}

type writer struct {
	prefix string
	schema types.Schema
	out    io.Writer
	fns    []format.ValueFunc
	buf    []byte
	closed bool
}

// rowKind is the one place that spells a row's change kind: a changelog's
// batches carry it in their trailing connector.RowKindColumn, other rows
// are insertions.
func rowKind(b arrow.RecordBatch, i int) string {
	n := int(b.NumCols())
	if n == 0 || b.ColumnName(n-1) != connector.RowKindColumn {
		return "+I"
	}
	kinds, ok := b.Column(n - 1).(*array.Int8)
	if !ok {
		return "+I"
	}
	return connector.RowKind(kinds.Value(i)).String()
}

var javaStyle = format.Style{Timestamp: format.Java, JavaBytes: true}

func (w *writer) Write(b arrow.RecordBatch) error {
	if w.closed {
		return errors.New("print: Write after Close")
	}
	cols := b.Columns()
	for c := range w.fns {
		fn, err := format.Bind(cols[c], w.schema.Columns[c].Type, javaStyle)
		if err != nil {
			return fmt.Errorf("print: column '%s': %w", w.schema.Columns[c].Name, err)
		}
		w.fns[c] = fn
	}
	w.buf = w.buf[:0]
	for i := 0; i < int(b.NumRows()); i++ {
		w.buf = append(w.buf, w.prefix...)
		w.buf = append(w.buf, rowKind(b, i)...)
		w.buf = append(w.buf, '[')
		for c, fn := range w.fns {
			if c > 0 {
				w.buf = append(w.buf, ", "...)
			}
			if cols[c].IsNull(i) {
				w.buf = append(w.buf, "null"...)
			} else {
				w.buf = fn(w.buf, i)
			}
		}
		w.buf = append(w.buf, "]\n"...)
	}
	outMu.Lock()
	defer outMu.Unlock()
	_, err := w.out.Write(w.buf)
	return err
}

func (w *writer) Finish() error { return nil }

func (w *writer) Close() error {
	w.closed = true
	return nil
}
