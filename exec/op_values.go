package exec

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/eddysql/eddy/exec/expr"
)

// KindValues is a source that emits constant rows once (SQL VALUES and
// SELECT without FROM). Its spec is ValuesSpec. It runs with parallelism 1.
const KindValues = "values"

// ValuesSpec holds the rows as expr.Marshal'ed literals, row by row; every
// row has one literal per column of the operator's schema.
type ValuesSpec struct {
	Rows [][]json.RawMessage `json:"rows"`
}

func init() { RegisterSource(KindValues, newValues) }

type valuesSource struct {
	spec OperatorSpec
	rows [][]expr.Expr
	ctx  *OperatorContext
	done bool
}

func newValues(spec OperatorSpec, _ *OperatorContext) (SourceOperator, error) {
	var vs ValuesSpec
	if err := json.Unmarshal(spec.Spec, &vs); err != nil {
		return nil, fmt.Errorf("values spec: %w", err)
	}
	v := &valuesSource{spec: spec}
	for _, raw := range vs.Rows {
		if len(raw) != spec.Schema.Len() {
			return nil, fmt.Errorf("values row has %d literals for %d columns", len(raw), spec.Schema.Len())
		}
		row := make([]expr.Expr, len(raw))
		for i, r := range raw {
			e, err := expr.Unmarshal(r)
			if err != nil {
				return nil, err
			}
			row[i] = e
		}
		v.rows = append(v.rows, row)
	}
	return v, nil
}

func (v *valuesSource) Open(ctx *OperatorContext) error {
	v.ctx = ctx
	return nil
}

// Next builds the single batch: each literal evaluated over a one-row batch,
// then the rows concatenated column by column.
func (v *valuesSource) Next(context.Context) (arrow.RecordBatch, error) {
	if v.done || len(v.rows) == 0 {
		return nil, io.EOF
	}
	v.done = true
	mem := v.ctx.Mem
	one := array.NewRecordBatch(arrow.NewSchema(nil, nil), nil, 1)
	defer one.Release()
	schema := v.spec.Schema.Arrow()
	cols := make([]arrow.Array, schema.NumFields())
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	for c := range cols {
		parts := make([]arrow.Array, len(v.rows))
		for r, row := range v.rows {
			ev, err := expr.Compile(row[c], mem)
			if err != nil {
				releaseAll(parts)
				return nil, err
			}
			if parts[r], err = ev.Eval(one); err != nil {
				releaseAll(parts)
				return nil, err
			}
		}
		col, err := array.Concatenate(parts, mem)
		releaseAll(parts)
		if err != nil {
			return nil, err
		}
		cols[c] = col
	}
	return array.NewRecordBatch(schema, cols, int64(len(v.rows))), nil
}

func releaseAll(as []arrow.Array) {
	for _, a := range as {
		if a != nil {
			a.Release()
		}
	}
}

func (v *valuesSource) Snapshot() ([]byte, error) {
	if v.done {
		return []byte{1}, nil
	}
	return []byte{0}, nil
}

func (v *valuesSource) Restore(state []byte) error {
	v.done = len(state) == 1 && state[0] == 1
	return nil
}

func (v *valuesSource) Close() error { return nil }
