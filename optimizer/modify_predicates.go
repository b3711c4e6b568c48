package optimizer

import (
	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/exec/expr"
	"github.com/eddysql/eddy/planner"
)

// ModificationPredicates turns the WHERE condition of a DELETE or UPDATE,
// an expression over a table's physical columns, into the predicates a
// connector is offered (connector.SupportsDeletePushDown,
// connector.SupportsUpdatePushDown): one per conjunct once constants are
// folded, recognized as PushFilterIntoScan recognizes a scan's filters. It
// reports false when a conjunct is not such a predicate. A nil or TRUE
// condition has no predicates.
func ModificationPredicates(cond expr.Expr) ([]connector.Predicate, bool) {
	if cond == nil {
		return nil, true
	}
	cond, _ = foldTree(cond)
	if isTrue(cond) {
		return nil, true
	}
	// A scan without projection produces the physical columns in order.
	all := &planner.Scan{}
	var preds []connector.Predicate
	for _, c := range splitAnd(cond) {
		p, ok := asPredicate(c, all)
		if !ok {
			return nil, false
		}
		preds = append(preds, p)
	}
	return preds, true
}
