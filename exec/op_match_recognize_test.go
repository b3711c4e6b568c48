package exec

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/cockroachdb/datadriven"
	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/agg"
	"github.com/eddysql/eddy/exec/expr"
)

// TestMatchRecognize runs the scripts in testdata/match_recognize with the
// row operator harness (batches of 1, 7 and all rows, with and without a
// snapshot and restore after every step). The create command is
//
//	match-recognize [partition=(0)] order=(2[,1]) [proctime] [after=past-last-row|next-row|first:V|last:V] [within=MS]
//
// with an input block of the input schema, then lines
//
//	vars A B C          the pattern variables
//	pattern A B{2,} C*? the pattern (quantifiers + * ? {n} {n,} {n,m}, ? suffix: reluctant)
//	define A fn(...)    A's condition (parseJoinExpr syntax: $i is input column i,
//	                    then A's navigations in order)
//	nav A last B 1 1    a navigation of A's condition: kind (first, last,
//	                    prev), variable (* for any), column, offset
//	measure last B 1 0  an output measure, as a navigation
//	nav-only first A 1 0  a navigation read by measure-expr only
//	agg A SUM B $1      an aggregate of A's condition (after its navs):
//	                    function, variable (* for any), argument
//	                    expressions over the input columns
//	measure-agg AVG A $1  an output measure that is an aggregate
//	agg-only COUNT *    an aggregate read by measure-expr only
//	measure-expr fn(..)  an output measure over the navigations ($k:
//	                    the k-th measure or nav-only line, then the
//	                    measure-agg and agg-only lines)
func TestMatchRecognize(t *testing.T) {
	replayRowOperatorScripts(t, []string{"match_recognize"}, func(t *testing.T, h *rowOpHarness, d *datadriven.TestData) string {
		switch d.Cmd {
		case "match-recognize":
		case "state":
			op := h.op.(*matchRecognize)
			threads, waiting := 0, 0
			for p := range op.parts.n {
				if op.parts.live[p] {
					threads += len(op.state[p].threads)
					waiting += len(op.state[p].done)
				}
			}
			// StateBytes counts the matches without walking the partitions.
			require.Equal(t, threads+waiting, op.held, "held matches")
			return fmt.Sprintf("partitions=%d rows=%d threads=%d waiting=%d\n", op.parts.count, op.store.live, threads, waiting)
		default:
			return h.run(t, d)
		}
		h.close(t)
		h.log.Reset()
		createMatchRecognize(t, h, d)
		return h.start()
	})
}

func createMatchRecognize(t *testing.T, h *rowOpHarness, d *datadriven.TestData) {
	lines := strings.Split(strings.TrimSpace(d.Input), "\n")
	in := gaParseSchema(t, lines[0])
	s := MatchRecognizeSpec{Input: in, PartitionKeys: intsArg(t, d, "partition"), OrderKeys: parseSortKeys(t, d, "order"),
		ProcTime: d.HasArg("proctime"), After: "past-last-row"}
	if d.HasArg("within") {
		d.ScanArgs(t, "within", &s.Within)
	}
	afterVar := ""
	if d.HasArg("after") {
		d.ScanArgs(t, "after", &s.After)
		s.After, afterVar, _ = strings.Cut(s.After, ":")
	}
	varOf := func(name string) int {
		if name == "*" {
			return -1
		}
		for i, v := range s.Vars {
			if v == name {
				return i
			}
		}
		t.Fatalf("unknown variable %q", name)
		return 0
	}
	nav := func(f []string) MatchNav {
		require.Len(t, f, 4, "nav kind var col offset")
		c, err := strconv.Atoi(f[2])
		require.NoError(t, err)
		o, err := strconv.Atoi(f[3])
		require.NoError(t, err)
		return MatchNav{Kind: f[0], Var: varOf(f[1]), Col: c, Offset: o}
	}
	aggOf := func(f []string) MatchAgg {
		require.GreaterOrEqual(t, len(f), 2, "agg func var [args]")
		a := MatchAgg{Func: f[0], Var: varOf(f[1])}
		var argTypes []types.DataType
		if len(f) > 2 {
			rest := strings.Join(f[2:], " ")
			for strings.TrimSpace(rest) != "" {
				var e expr.Expr
				e, rest = parseJoinExpr(t, rest, in.Columns)
				rest = strings.TrimPrefix(strings.TrimSpace(rest), ",")
				raw, err := expr.Marshal(e)
				require.NoError(t, err)
				a.Args = append(a.Args, raw)
				argTypes = append(argTypes, e.Type())
			}
		}
		var err error
		a.Type, err = agg.ResultType(a.Func, argTypes)
		require.NoError(t, err)
		return a
	}
	conds := map[int]string{}
	// measures are built at the end, when the navigations are all known.
	var measures []func() expr.Expr
	navCol := func(k int) types.Column {
		if k < len(s.MeasureNavs) {
			return in.Columns[s.MeasureNavs[k].Col]
		}
		return types.Column{Name: "agg", Type: s.MeasureAggs[k-len(s.MeasureNavs)].Type}
	}
	var out types.Schema
	for _, k := range s.PartitionKeys {
		out.Columns = append(out.Columns, in.Columns[k])
	}
	for _, line := range lines[1:] {
		f := strings.Fields(line)
		switch f[0] {
		case "vars":
			s.Vars = f[1:]
			s.Defines = make([]MatchDefine, len(s.Vars))
		case "pattern":
			for _, term := range f[1:] {
				s.Pattern = append(s.Pattern, parseTestTerm(t, term, varOf))
			}
		case "define":
			conds[varOf(f[1])] = strings.Join(f[2:], " ")
		case "nav":
			v := varOf(f[1])
			s.Defines[v].Navs = append(s.Defines[v].Navs, nav(f[2:]))
		case "measure":
			s.MeasureNavs = append(s.MeasureNavs, nav(f[1:]))
			k := len(s.MeasureNavs) - 1
			measures = append(measures, func() expr.Expr {
				c := navCol(k)
				return &expr.ColumnRef{Index: k, Name: c.Name, T: c.Type}
			})
		case "nav-only":
			s.MeasureNavs = append(s.MeasureNavs, nav(f[1:]))
		case "agg":
			v := varOf(f[1])
			s.Defines[v].Aggs = append(s.Defines[v].Aggs, aggOf(f[2:]))
		case "measure-agg":
			s.MeasureAggs = append(s.MeasureAggs, aggOf(f[1:]))
			k := len(s.MeasureAggs) - 1
			measures = append(measures, func() expr.Expr {
				c := navCol(len(s.MeasureNavs) + k)
				return &expr.ColumnRef{Index: len(s.MeasureNavs) + k, Name: c.Name, T: c.Type}
			})
		case "agg-only":
			s.MeasureAggs = append(s.MeasureAggs, aggOf(f[1:]))
		case "measure-expr":
			text := strings.Join(f[1:], " ")
			measures = append(measures, func() expr.Expr {
				var navCols []types.Column
				for k := range len(s.MeasureNavs) + len(s.MeasureAggs) {
					navCols = append(navCols, navCol(k))
				}
				e, rest := parseJoinExpr(t, text, navCols)
				require.Empty(t, strings.TrimSpace(rest))
				return e
			})
		default:
			t.Fatalf("unknown line %q", line)
		}
	}
	for i, mk := range measures {
		e := mk()
		raw, err := expr.Marshal(e)
		require.NoError(t, err)
		s.Measures = append(s.Measures, raw)
		out.Columns = append(out.Columns, types.Column{Name: "m" + strconv.Itoa(i), Type: e.Type()})
	}
	for v, c := range conds {
		cols := append([]types.Column(nil), in.Columns...)
		for _, n := range s.Defines[v].Navs {
			cols = append(cols, in.Columns[n.Col])
		}
		for _, a := range s.Defines[v].Aggs {
			cols = append(cols, types.Column{Name: "agg", Type: a.Type})
		}
		e, rest := parseJoinExpr(t, c, cols)
		require.Empty(t, strings.TrimSpace(rest))
		raw, err := expr.Marshal(e)
		require.NoError(t, err)
		s.Defines[v].Condition = raw
	}
	if afterVar != "" {
		s.AfterVar = varOf(afterVar)
	}
	h.cl = false
	h.input = BatchSchema(in, false)
	h.spec = OperatorSpec{Kind: KindMatchRecognize, Name: d.Cmd, Schema: out, Spec: mustJSON(t, s)}
}

// parseTestTerm reads A, A+, A*, A?, A{n}, A{n,}, A{n,m}, each with an
// optional ? suffix (reluctant).
func parseTestTerm(t *testing.T, term string, varOf func(string) int) MatchPatternTerm {
	name := strings.TrimRight(strings.SplitN(term, "{", 2)[0], "+*?")
	q := term[len(name):]
	mt := MatchPatternTerm{Var: varOf(name), Min: 1, Max: 1}
	if strings.HasSuffix(q, "?") && len(q) > 1 {
		mt.Reluctant = true
		q = q[:len(q)-1]
	}
	switch {
	case q == "":
	case q == "+":
		mt.Max = -1
	case q == "*":
		mt.Min, mt.Max = 0, -1
	case q == "?":
		mt.Min = 0
	case strings.HasPrefix(q, "{"):
		lo, hi, comma := strings.Cut(strings.Trim(q, "{}"), ",")
		var err error
		mt.Min, err = strconv.Atoi(lo)
		require.NoError(t, err)
		mt.Max = mt.Min
		if comma {
			mt.Max = -1
			if hi != "" {
				mt.Max, err = strconv.Atoi(hi)
				require.NoError(t, err)
			}
		}
	default:
		t.Fatalf("bad pattern term %q", term)
	}
	return mt
}

// TestMatchRecognizeRandomBatches feeds random ticker prices to
// MATCH_RECOGNIZE with aggregates in DEFINE and MEASURES, WITHIN and
// event time (rows out of order within the watermark's delay), in
// batches of random sizes with a snapshot and restore after some of them,
// and checks the output equals that of one batch without restores.
func TestMatchRecognizeRandomBatches(t *testing.T) {
	const spec = `sym STRING, ts TIMESTAMP(3), price INT
vars A B C
pattern A B*? C
agg B SUM B $2
define B <($3, 40)
agg C AVG * $2
define C >($2, $3)
measure first A 1 0
measure last * 1 0
measure-agg SUM B $2
measure-agg COUNT *`
	rng := rand.New(rand.NewPCG(7, 11))
	var rows []string
	for i := range 400 {
		// Timestamps wander up to 3s back; the watermark trails by 3s.
		ts := int64(i)*1000 - rng.Int64N(3000)
		rows = append(rows, fmt.Sprintf("+I[%c, %d, %d]", 'a'+rng.IntN(3), max(ts, 0), rng.IntN(20)))
	}
	run := func(rng *rand.Rand) string {
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		defer mem.AssertSize(t, 0)
		h := &rowOpHarness{mem: mem, metrics: NewOperatorMetrics()}
		defer h.close(t)
		d := &datadriven.TestData{Cmd: "match-recognize", Input: spec, CmdArgs: []datadriven.CmdArg{
			{Key: "partition", Vals: []string{"0"}}, {Key: "order", Vals: []string{"1"}},
			{Key: "after", Vals: []string{"next-row"}}, {Key: "within", Vals: []string{"8000"}},
		}}
		createMatchRecognize(t, h, d)
		require.Equal(t, "ok\n", h.start())
		var out strings.Builder
		for lo := 0; lo < len(rows); {
			n := len(rows)
			if rng != nil {
				n = 1 + rng.IntN(40)
			}
			hi := min(lo+n, len(rows))
			h.batch = 0
			h.restoreEach = rng != nil && rng.IntN(3) == 0
			out.WriteString(h.run(t, &datadriven.TestData{Cmd: "feed", Input: strings.Join(rows[lo:hi], "\n")}))
			wm := strconv.Itoa((hi - 1 - 3) * 1000)
			out.WriteString(h.run(t, &datadriven.TestData{Cmd: "watermark", CmdArgs: []datadriven.CmdArg{{Key: "ms", Vals: []string{wm}}}}))
			lo = hi
		}
		out.WriteString(h.run(t, &datadriven.TestData{Cmd: "end"}))
		// Only the matches: watermarks and acknowledgements depend on the
		// batching.
		var matches []string
		for _, l := range strings.Split(out.String(), "\n") {
			if strings.HasPrefix(l, "+I") {
				matches = append(matches, l)
			}
		}
		slices.Sort(matches)
		return strings.Join(matches, "\n")
	}
	want := run(nil)
	require.Greater(t, strings.Count(want, "\n"), 100, "too few matches to test anything")
	for seed := range uint64(5) {
		require.Equal(t, want, run(rand.New(rand.NewPCG(seed, 1))), "seed %d", seed)
	}
}
