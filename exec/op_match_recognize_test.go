package exec

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"
	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/expr"
)

// TestMatchRecognize runs the scripts in testdata/match_recognize with the
// row operator harness (batches of 1, 7 and all rows, with and without a
// snapshot and restore after every step). The create command is
//
//	match-recognize [partition=(0)] order=(2[,1]) [proctime] [after=past-last-row|next-row|first:V|last:V]
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
//	measure-expr fn(..)  an output measure over the navigations ($k:
//	                    the k-th measure or nav-only line)
func TestMatchRecognize(t *testing.T) {
	replayRowOperatorScripts(t, []string{"match_recognize"}, func(t *testing.T, h *rowOpHarness, d *datadriven.TestData) string {
		switch d.Cmd {
		case "match-recognize":
		case "state":
			op := h.op.(*matchRecognize)
			threads := 0
			for p := range op.parts.n {
				if op.parts.live[p] {
					threads += len(op.state[p].threads)
				}
			}
			return fmt.Sprintf("partitions=%d rows=%d threads=%d\n", op.parts.count, op.store.live, threads)
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
	conds := map[int]string{}
	var measures []expr.Expr
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
			m := nav(f[1:])
			s.MeasureNavs = append(s.MeasureNavs, m)
			c := in.Columns[m.Col]
			measures = append(measures, &expr.ColumnRef{Index: len(s.MeasureNavs) - 1, Name: c.Name, T: c.Type})
		case "nav-only":
			s.MeasureNavs = append(s.MeasureNavs, nav(f[1:]))
		case "measure-expr":
			var navCols []types.Column
			for _, n := range s.MeasureNavs {
				navCols = append(navCols, in.Columns[n.Col])
			}
			e, rest := parseJoinExpr(t, strings.Join(f[1:], " "), navCols)
			require.Empty(t, strings.TrimSpace(rest))
			measures = append(measures, e)
		default:
			t.Fatalf("unknown line %q", line)
		}
	}
	for i, e := range measures {
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
