package connector

// Batches of an updating stream (a changelog) carry one extra trailing
// column, RowKindColumn, of Arrow type int8, holding each row's kind with
// Flink's RowKind byte values. Batches of insert-only streams have no such
// column. Keeping the kind in the batch lets it travel through channels,
// exchanges and filters with the rows it describes, and keeps the column
// indexes of expressions unchanged (the kind is always last).
const RowKindColumn = "$rowkind"

// RowKind is the kind of a changelog row.
type RowKind int8

const (
	// Insert (+I) adds a row.
	Insert RowKind = 0
	// UpdateBefore (-U) retracts the previous version of an updated row.
	UpdateBefore RowKind = 1
	// UpdateAfter (+U) adds the new version of an updated row.
	UpdateAfter RowKind = 2
	// Delete (-D) removes a row.
	Delete RowKind = 3
)

// String is Flink's short form: +I, -U, +U, -D.
func (k RowKind) String() string {
	switch k {
	case Insert:
		return "+I"
	case UpdateBefore:
		return "-U"
	case UpdateAfter:
		return "+U"
	case Delete:
		return "-D"
	}
	return "?"
}

// IsRetraction reports whether the row removes a previous row (-U, -D).
func (k RowKind) IsRetraction() bool { return k == UpdateBefore || k == Delete }
