package planner

import (
	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/sql"
)

// The legacy group windows, GROUP BY TUMBLE(ts, size), HOP(ts, slide,
// size) and SESSION(ts, gap), are planned as the window table function
// they stand for: the input gains the window columns under these hidden
// names, and the grouping uses them in place of the window call, so that
// ConvertWindowAggregate turns the query into a window aggregation.
const (
	groupWindowStart = "$window_start"
	groupWindowEnd   = "$window_end"
	groupWindowTime  = "$window_time"
)

var groupWindowFuncs = map[string]string{"TUMBLE": "TUMBLE", "HOP": "HOP", "SESSION": "SESSION"}

// groupWindowAux maps the auxiliary functions to the window column they
// read.
var groupWindowAux = map[string]string{
	"TUMBLE_START": groupWindowStart, "TUMBLE_END": groupWindowEnd, "TUMBLE_ROWTIME": groupWindowTime,
	"HOP_START": groupWindowStart, "HOP_END": groupWindowEnd, "HOP_ROWTIME": groupWindowTime,
	"SESSION_START": groupWindowStart, "SESSION_END": groupWindowEnd, "SESSION_ROWTIME": groupWindowTime,
}

// bindGroupWindow finds a group window call in GROUP BY. If there is one,
// it returns the input windowed by it, its scope, and the GROUP BY list
// with the call replaced by the window columns.
func (b *binder) bindGroupWindow(s *sql.Select, input Node, sc *scope) (Node, *scope, []sql.Expr, error) {
	var call *sql.FuncCall
	var rest []sql.Expr
	for _, g := range s.GroupBy {
		f, ok := g.(*sql.FuncCall)
		if ok && groupWindowFuncs[f.Name] != "" {
			if call != nil {
				return nil, nil, nil, b.errAt(errs.InvalidPlan, f, "a query can group by only one window")
			}
			call = f
			continue
		}
		rest = append(rest, g)
	}
	if call == nil {
		return input, sc, s.GroupBy, nil
	}
	if len(call.Args) < 2 {
		return nil, nil, nil, b.errAt(errs.DatatypeMismatch, call, "%s needs a time attribute and an interval", call.Name)
	}
	id, ok := call.Args[0].(*sql.Ident)
	if !ok {
		return nil, nil, nil, b.errAt(errs.DatatypeMismatch, call.Args[0], "the first argument of %s must be a time attribute column", call.Name)
	}
	// Express the call as the TVF it stands for and reuse its binding.
	args := []sql.TableFuncArg{{Pos: call.Pos, Name: "TIMECOL", Descriptor: []string{id.Parts[len(id.Parts)-1]}}}
	names := map[string][]string{"TUMBLE": {"SIZE", "OFFSET"}, "HOP": {"SLIDE", "SIZE", "OFFSET"}, "SESSION": {"GAP"}}[call.Name]
	for i, a := range call.Args[1:] {
		if i >= len(names) {
			return nil, nil, nil, b.errAt(errs.DatatypeMismatch, call, "%s takes at most %d arguments", call.Name, len(names)+1)
		}
		args = append(args, sql.TableFuncArg{Pos: a.Position(), Name: names[i], Expr: a})
	}
	wtf, err := b.windowOver(&sql.TableFunctionRef{Pos: call.Pos, Name: call.Name, Args: args}, input)
	if err != nil {
		return nil, nil, nil, err
	}
	wtf.Window.KeyedSession = call.Name == "SESSION"
	out := wtf.Schema()
	wsc := &scope{cols: append([]scopeColumn(nil), sc.cols...)}
	for i, name := range []string{groupWindowStart, groupWindowEnd, groupWindowTime} {
		wsc.cols = append(wsc.cols, scopeColumn{name: name, typ: out.Columns[len(sc.cols)+i].Type})
	}
	for _, name := range []string{groupWindowStart, groupWindowEnd, groupWindowTime} {
		rest = append(rest, &sql.Ident{Pos: call.Pos, Parts: []string{name}})
	}
	return wtf, wsc, rest, nil
}
