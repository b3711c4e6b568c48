package exec

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/eddysql/eddy/exec/agg"
	"github.com/eddysql/eddy/exec/expr"
	"github.com/eddysql/eddy/internal/errs"
)

// mrAgg is a compiled MatchAgg. Like Flink, which aggregates the rows of
// a partial match anew each time a condition reads them, it keeps no
// accumulators between evaluations: each evaluation runs over groups of
// rows (one per candidate or match), all of them in one batch, with the
// vectorized accumulators of exec/agg indexed by group.
type mrAgg struct {
	spec MatchAgg
	args []expr.Evaluator
	// cols are the input columns the arguments read; inSchema types them
	// and the other input columns NULL, which gatherAggInput leaves empty.
	cols     []int
	inSchema *arrow.Schema
	state    *agg.State
	// schema is the accumulators' input: the arguments, then the FILTER
	// column that keeps each group's opening row out of it.
	schema *arrow.Schema
	// Scratch, per row or group of the last evaluation.
	groups, last []int32
	flags        []bool
}

// compileAgg compiles a, an aggregate over the input columns.
func (m *matchRecognize) compileAgg(a MatchAgg) (*mrAgg, error) {
	if a.Var < -1 || a.Var >= len(m.spec.Vars) {
		return nil, errs.New(errs.InvalidPlan, "match-recognize: aggregate %s over unknown variable %d", a.Func, a.Var)
	}
	c := &mrAgg{spec: a}
	used := make([]bool, m.nIn)
	var fields []arrow.Field
	var types []arrow.DataType
	for i, raw := range a.Args {
		e, err := expr.Unmarshal(raw)
		if err != nil {
			return nil, errs.Wrap(errs.InvalidPlan, err, "match-recognize: aggregate %s", a.Func)
		}
		for _, col := range expr.InputColumns(e) {
			if col < 0 || col >= m.nIn {
				return nil, errs.New(errs.InvalidPlan, "match-recognize: aggregate %s reads column %d out of range", a.Func, col)
			}
			if !used[col] {
				used[col] = true
				c.cols = append(c.cols, col)
			}
		}
		ev, err := expr.Compile(e, m.ctx.Mem)
		if err != nil {
			return nil, errs.Wrap(errs.InvalidPlan, err, "match-recognize: aggregate %s", a.Func)
		}
		c.args = append(c.args, ev)
		dt := e.Type().Arrow()
		fields = append(fields, arrow.Field{Name: fmt.Sprintf("a%d", i), Type: dt, Nullable: true})
		types = append(types, dt)
	}
	n := len(a.Args)
	fields = append(fields, arrow.Field{Name: "filter", Type: arrow.FixedWidthTypes.Boolean})
	types = append(types, arrow.FixedWidthTypes.Boolean)
	c.schema = arrow.NewSchema(fields, nil)
	call := agg.Call{Func: a.Func, Filter: n, Type: a.Type}
	for i := range n {
		call.Args = append(call.Args, i)
	}
	var err error
	if c.state, err = agg.NewState(call, types, false); err != nil {
		return nil, errs.Wrap(errs.InvalidPlan, err, "match-recognize")
	}
	in := make([]arrow.Field, m.nIn)
	for i := range in {
		in[i] = arrow.Field{Name: fmt.Sprintf("c%d", i), Type: arrow.Null, Nullable: true}
		if used[i] {
			in[i].Type = m.inTypes[i]
		}
	}
	c.inSchema = arrow.NewSchema(in, nil)
	return c, nil
}

// evalAgg computes a over groups of rows. rows holds the groups one after
// another, each opened by a -1 (so that a group may be empty: COUNT 0,
// the other functions NULL), then its rows' slots in match order. The
// result has one value per group.
func (m *matchRecognize) evalAgg(a *mrAgg, rows []int32) (arrow.Array, error) {
	n := len(rows)
	if n == 0 || rows[0] >= 0 {
		return nil, errs.Internalf("match-recognize: aggregate %s over rows without a group", a.spec.Func)
	}
	in, err := m.gatherAggInput(a, rows)
	if err != nil {
		return nil, err
	}
	cols := make([]arrow.Array, 0, len(a.args)+1)
	defer func() {
		for _, c := range cols {
			c.Release()
		}
	}()
	for _, ev := range a.args {
		col, err := ev.Eval(in)
		if err != nil {
			in.Release()
			return nil, fmt.Errorf("match-recognize: aggregate %s: %w", a.spec.Func, err)
		}
		cols = append(cols, col)
	}
	in.Release()
	a.groups, a.flags = resize(a.groups, n), resize(a.flags, n)
	clear(a.flags)
	a.last = a.last[:0]
	fb := array.NewBooleanBuilder(m.ctx.Mem)
	defer fb.Release()
	fb.Reserve(n)
	g := int32(-1)
	for i, sl := range rows {
		if sl < 0 {
			g++
			a.last = append(a.last, 0)
		}
		a.groups[i] = g
		a.last[g] = int32(i)
		fb.UnsafeAppend(sl >= 0)
	}
	cols = append(cols, fb.NewArray())
	b := array.NewRecordBatch(a.schema, cols, int64(n))
	defer b.Release()
	ng := len(a.last)
	a.state.Grow(ng)
	for s := range ng {
		a.state.Reset(int32(s))
	}
	// flags is all false: no row retracts, and every group's result is
	// the one after its last row.
	a.state.Update(b, a.groups, a.flags)
	if err := a.state.Err(); err != nil {
		return nil, err
	}
	return a.state.Build(m.ctx.Mem, a.last, a.flags[:ng]), nil
}

// gatherAggInput builds a batch of the input columns a reads, for rows
// (-1: NULL); the other columns are NULL arrays.
func (m *matchRecognize) gatherAggInput(a *mrAgg, rows []int32) (arrow.RecordBatch, error) {
	n := len(rows)
	cols := make([]arrow.Array, m.nIn)
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	for _, c := range a.cols {
		m.gather(c, rows)
		arr, err := buildArray(m.ctx.Mem, m.inTypes[c], &m.scratch, n)
		if err != nil {
			return nil, err
		}
		cols[c] = arr
	}
	for c := range cols {
		if cols[c] == nil {
			cols[c] = array.NewNull(n)
		}
	}
	return array.NewRecordBatch(a.inSchema, cols, int64(n)), nil
}

// aggRows appends to rows a group of agg a: a -1, then the rows of the
// match of rows start.. mapped to vars that a reads, then the current row
// sl when it would be mapped to cur (cur -1: no current row).
func aggRows(rows []int32, st *mrPart, a *mrAgg, start int64, vars []int8, cur int, sl int32) []int32 {
	rows = append(rows, -1)
	off := int(start - st.base)
	for i, v := range vars {
		if a.spec.Var < 0 || int(v) == a.spec.Var {
			rows = append(rows, st.rows[off+i])
		}
	}
	if cur >= 0 && (a.spec.Var < 0 || a.spec.Var == cur) {
		rows = append(rows, sl)
	}
	return rows
}
