package expr

import (
	"fmt"
	"strings"

	"github.com/eddysql/eddy/catalog/types"
)

// runShared runs the data-driven "shared" command.
func runShared(input string, schema types.Schema) string {
	lines := strings.Split(strings.TrimSpace(input), "\n")
	var cond Expr
	if lines[0] != "-" {
		e, err := parseExpr(lines[0], schema)
		if err != nil {
			return "error: " + err.Error() + "\n"
		}
		cond = e
	}
	var projs []Expr
	for _, l := range lines[1:] {
		e, err := parseExpr(l, schema)
		if err != nil {
			return "error: " + err.Error() + "\n"
		}
		projs = append(projs, e)
	}
	shared, inCond := SharedCalls(cond, projs)
	var sb strings.Builder
	for k, e := range shared {
		phase := "after filter"
		if k < inCond {
			phase = "before filter"
		}
		fmt.Fprintf(&sb, "shared %d (%s): %s\n", k, phase, indexed(ReplaceShared(e, shared, k)))
	}
	if cond != nil {
		fmt.Fprintf(&sb, "condition: %s\n", indexed(ReplaceShared(cond, shared, inCond)))
	}
	for i, e := range projs {
		fmt.Fprintf(&sb, "projection %d: %s\n", i, indexed(ReplaceShared(e, shared, len(shared))))
	}
	return sb.String()
}

// indexed prints e with its columns as $i.
func indexed(e Expr) string {
	return Rewrite(e, func(n Expr) Expr {
		if c, ok := n.(*ColumnRef); ok {
			return &ColumnRef{Index: c.Index, T: c.T}
		}
		return n
	}).String()
}
