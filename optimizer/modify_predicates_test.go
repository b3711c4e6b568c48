package optimizer

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/exec/expr"
)

func TestModificationPredicates(t *testing.T) {
	k := &expr.ColumnRef{Index: 0, Name: "k", T: types.IntType}
	s := &expr.ColumnRef{Index: 1, Name: "s", T: types.StringType}
	lit := func(v any, typ types.DataType) expr.Expr { return expr.NewLiteral(v, typ) }
	call := func(name string, args ...expr.Expr) expr.Expr {
		e, err := expr.Resolve(name, args)
		require.NoError(t, err)
		return e
	}
	for _, tc := range []struct {
		name  string
		cond  expr.Expr
		preds []connector.Predicate
		ok    bool
	}{
		{"no WHERE", nil, nil, true},
		{"TRUE", lit(true, types.BooleanType), nil, true},
		{"conjuncts, one flipped", call("AND", call("=", k, lit(1, types.IntType)), call("<", lit("a", types.StringType), s)),
			[]connector.Predicate{{Column: 0, Op: connector.OpEqual, Value: "1"}, {Column: 1, Op: connector.OpGreater, Value: "a"}}, true},
		{"constant folded", call(">=", k, call("+", lit(1, types.IntType), lit(2, types.IntType))),
			[]connector.Predicate{{Column: 0, Op: connector.OpGreaterEqual, Value: "3"}}, true},
		{"disjunction", call("OR", call("=", k, lit(1, types.IntType)), call("=", k, lit(2, types.IntType))), nil, false},
		{"function of a column", call("=", call("+", k, lit(1, types.IntType)), lit(2, types.IntType)), nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			preds, ok := ModificationPredicates(tc.cond)
			require.Equal(t, tc.ok, ok)
			require.Equal(t, tc.preds, preds)
		})
	}
}
