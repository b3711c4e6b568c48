package connector

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow"
)

// SupportsDeletePushDown is implemented by a table factory whose external
// system can delete rows itself: Flink's SupportsDeletePushDown, which
// DELETE FROM (batch mode only) uses. The statement runs in the client,
// without a job, like TRUNCATE TABLE.
//
// The WHERE clause is offered as Predicates, one per conjunct (none for a
// DELETE without WHERE, which deletes every row). ApplyDeleteFilters says
// whether the connector can delete exactly the rows satisfying all of
// them; when it cannot, or a conjunct is not a Predicate, the statement
// fails as Flink's does for a table whose sink implements neither this
// nor SupportsRowLevelDelete (Eddy has no row-level delete through a job).
type SupportsDeletePushDown interface {
	ApplyDeleteFilters(t TableInfo, filters []Predicate) bool
	// ExecuteDeletion deletes the rows satisfying all filters, which
	// ApplyDeleteFilters accepted, and returns how many it deleted. It
	// must delete all of them or none.
	ExecuteDeletion(ctx context.Context, t TableInfo, filters []Predicate) (int64, error)
}

// UpdatePushDown is an UPDATE handed to a connector: SET Columns[i] =
// column i of Values in the rows satisfying all Filters.
type UpdatePushDown struct {
	// Columns index Table.Schema (physical columns), each at most once.
	Columns []int
	// Values has one row and one column per entry of Columns, of that
	// column's type: the values the statement's constant SET expressions
	// evaluated to. A NULL sets the column to NULL.
	Values arrow.RecordBatch
	// Filters are the conjuncts of the WHERE clause (none: every row).
	Filters []Predicate
}

// SupportsUpdatePushDown is implemented by a table factory whose external
// system can update rows itself. It is Eddy's, not Flink's: Flink runs
// UPDATE (batch mode only) as a job writing into a sink implementing
// SupportsRowLevelUpdate and has no push-down of UPDATE; Eddy runs it the
// way Flink runs a DELETE pushed down (SupportsDeletePushDown), in the
// client and without a job. Only UPDATEs whose SET values are constants
// and whose WHERE conjuncts are all Predicates are offered.
type SupportsUpdatePushDown interface {
	// ApplyUpdate reports whether the connector can set columns in
	// exactly the rows satisfying all filters.
	ApplyUpdate(t TableInfo, columns []int, filters []Predicate) bool
	// ExecuteUpdate applies u, which ApplyUpdate accepted, to all its
	// rows or none, and returns how many rows it updated.
	ExecuteUpdate(ctx context.Context, t TableInfo, u UpdatePushDown) (int64, error)
}
