package table

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/exec/expr"
	"github.com/eddysql/eddy/internal/javafmt"
)

// NullText is how the SQL client shows NULL.
const NullText = "<NULL>"

// FormatValue renders row i of a column of type t as the SQL client shows
// it: SQL literal forms for temporal values, TRUE/FALSE, NullText for NULL,
// nested values as CAST to STRING writes them ([1, 2], {a=1}, (1, x)).
func FormatValue(a arrow.Array, i int, t types.DataType) string {
	if a.IsNull(i) {
		return NullText
	}
	if isNested(t) {
		if f, err := expr.NestedFormatter(t, a); err == nil {
			return string(f(nil, i))
		}
	}
	switch c := a.(type) {
	case *array.Boolean:
		if c.Value(i) {
			return "TRUE"
		}
		return "FALSE"
	case *array.String:
		return c.Value(i)
	case *array.Binary:
		return "x'" + fmt.Sprintf("%x", c.Value(i)) + "'"
	case *array.Float32:
		return javafmt.Float(float64(c.Value(i)), 32)
	case *array.Float64:
		return javafmt.Float(c.Value(i), 64)
	case *array.Decimal128:
		return decimalString(c.Value(i), t.Scale)
	case *array.Date32:
		return c.Value(i).ToTime().Format("2006-01-02")
	case *array.Timestamp:
		unit := c.DataType().(*arrow.TimestampType).Unit
		return formatTime(c.Value(i).ToTime(unit), "2006-01-02 15:04:05", t.Precision)
	case *array.Time32:
		unit := c.DataType().(*arrow.Time32Type).Unit
		return formatTime(c.Value(i).ToTime(unit), "15:04:05", t.Precision)
	case *array.Time64:
		unit := c.DataType().(*arrow.Time64Type).Unit
		return formatTime(c.Value(i).ToTime(unit), "15:04:05", t.Precision)
	}
	return a.ValueStr(i)
}

func isNested(t types.DataType) bool {
	switch t.Kind {
	case types.Array, types.Multiset, types.Map, types.Row:
		return true
	}
	return false
}

func formatTime(tm time.Time, layout string, precision int) string {
	s := tm.UTC().Format(layout)
	if precision > 0 {
		frac := fmt.Sprintf("%09d", tm.Nanosecond())
		s += "." + frac[:precision]
	}
	return s
}

func decimalString(n decimal128.Num, scale int) string {
	return n.ToString(int32(scale))
}

// PrintTableau writes a result as the Flink SQL client's tableau view:
// a boxed table with right-aligned cells, then a row count. Changelog
// results show each row's kind in an op column.
func PrintTableau(ctx context.Context, w io.Writer, r *TableResult) (int, error) {
	showOp := r.Changelog
	names := r.Schema.Names()
	if showOp {
		names = append([]string{"op"}, names...)
	}
	var rows [][]string
	for {
		b, err := r.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return len(rows), err
		}
		for i := 0; i < int(b.NumRows()); i++ {
			var row []string
			if showOp {
				kinds := b.Column(int(b.NumCols()) - 1).(*array.Int8)
				row = append(row, connector.RowKind(kinds.Value(i)).String())
			}
			for c := 0; c < r.Schema.Len(); c++ {
				row = append(row, FormatValue(b.Column(c), i, r.Schema.Columns[c].Type))
			}
			rows = append(rows, row)
		}
		b.Release()
	}
	if len(rows) == 0 {
		_, err := fmt.Fprintln(w, "Empty set")
		return 0, err
	}
	widths := make([]int, len(names))
	for i, n := range names {
		widths[i] = utf8.RuneCountInString(n)
	}
	for _, row := range rows {
		for i, v := range row {
			widths[i] = max(widths[i], utf8.RuneCountInString(v))
		}
	}
	var sb strings.Builder
	border := func() {
		for _, w := range widths {
			sb.WriteString("+" + strings.Repeat("-", w+2))
		}
		sb.WriteString("+\n")
	}
	line := func(vals []string) {
		for i, v := range vals {
			sb.WriteString("| " + strings.Repeat(" ", widths[i]-utf8.RuneCountInString(v)) + v + " ")
		}
		sb.WriteString("|\n")
	}
	border()
	line(names)
	border()
	for _, row := range rows {
		line(row)
	}
	border()
	if len(rows) == 1 {
		sb.WriteString("1 row in set\n")
	} else {
		fmt.Fprintf(&sb, "%d rows in set\n", len(rows))
	}
	_, err := io.WriteString(w, sb.String())
	return len(rows), err
}

// PrintPlain writes every value of a result's first column on its own,
// for results of preformatted text such as EXPLAIN.
func PrintPlain(ctx context.Context, w io.Writer, r *TableResult) error {
	for {
		b, err := r.Next(ctx)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		for i := 0; i < int(b.NumRows()); i++ {
			if _, err := fmt.Fprintln(w, FormatValue(b.Column(0), i, r.Schema.Columns[0].Type)); err != nil {
				b.Release()
				return err
			}
		}
		b.Release()
	}
}
