package connector

import (
	"fmt"
	"strings"

	"github.com/eddysql/eddy/catalog/types"
)

// SupportsNestedProjectionPushdown is implemented by source factories whose
// readers can produce single fields of ROW columns as columns of their own
// (ScanSpec.NestedProjection), Flink's SupportsProjectionPushDown with
// supportsNestedProjection. A reader then builds only the fields a query
// reads, not whole ROW values.
type SupportsNestedProjectionPushdown interface {
	SupportsProjectionPushdown
	SupportsNestedProjectionPushdown() bool
}

// CompareOp is the comparison of a Predicate, with SQL's spelling.
type CompareOp string

// The comparisons a Predicate may use.
const (
	OpEqual        CompareOp = "="
	OpNotEqual     CompareOp = "<>"
	OpLess         CompareOp = "<"
	OpLessEqual    CompareOp = "<="
	OpGreater      CompareOp = ">"
	OpGreaterEqual CompareOp = ">="
)

// Predicate is one conjunct of a filter over a scan in the form offered to
// a source: a physical column compared with a non-NULL literal. A row
// whose column is NULL does not satisfy it (SQL's three-valued logic keeps
// only TRUE rows).
type Predicate struct {
	// Column indexes Table.Schema.
	Column int       `json:"column"`
	Op     CompareOp `json:"op"`
	// Value is the literal as text: a decimal integer for the integer
	// types, TRUE or FALSE for BOOLEAN, the characters themselves (no
	// quotes) for CHAR and VARCHAR; predicates on other types are not
	// offered.
	Value string `json:"value"`
}

// String prints the predicate over the table's column names, for EXPLAIN.
func (p Predicate) String(s types.Schema) string {
	name := fmt.Sprintf("$%d", p.Column)
	var quote bool
	if p.Column >= 0 && p.Column < s.Len() {
		c := s.Columns[p.Column]
		name = c.Name
		quote = c.Type.Kind == types.Char || c.Type.Kind == types.Varchar
	}
	v := p.Value
	if quote {
		v = "'" + strings.ReplaceAll(v, "'", "''") + "'"
	}
	return fmt.Sprintf("%s %s %s", name, p.Op, v)
}

// SupportsFilterPushDown is implemented by source factories whose readers
// can drop rows themselves (Flink's SupportsFilterPushDown). The optimizer
// offers the conjuncts of a filter over the scan that are Predicates;
// the connector answers which it applies. Accepted predicates leave the
// plan and travel in ScanSpec.Filters, and the reader must produce exactly
// the rows that satisfy all of them; the others stay in a filter above the
// scan.
type SupportsFilterPushDown interface {
	ApplyFilters(t TableInfo, preds []Predicate) FilterPushDownResult
}

// FilterPushDownResult is a connector's answer to ApplyFilters.
type FilterPushDownResult struct {
	// Accepted has one entry per offered predicate: true when the reader
	// applies it.
	Accepted []bool
	// EventTimeFields are fields (columns, or fields of ROW columns) on
	// one event-time line: along the rows of each subtask, whichever of
	// them the accepted predicates drop, no non-NULL value of any of them
	// is below a value of any of them in an earlier row. When the table's
	// rowtime picks one of these fields per row (the field itself, or a
	// CASE whose results are such fields) and its watermark is computed
	// from the rowtime alone, the optimizer also applies the predicates
	// below the WATERMARK: over rows in event-time order, the watermark
	// at a kept row is the same whether the rows before it were dropped
	// or not, so no row becomes late or stops being late; only dropped
	// rows at the end of a batch no longer advance the watermark before
	// the next batch does. Otherwise filters stay above the watermark
	// assigner, as in Flink, so that dropped rows still advance event
	// time.
	EventTimeFields []FieldPath
}

// FieldPath names a physical column ([c]) or a field inside a ROW column
// ([c, f] for field f of column c, [c, f, g] for field g of ROW field f,
// ...), by index.
type FieldPath []int

// Resolve returns the name and type of the column the path produces: the
// names along the path joined by '.', and the field's type, nullable when
// any ROW on the path is.
func (p FieldPath) Resolve(s types.Schema) (types.Column, error) {
	if len(p) == 0 || p[0] < 0 || p[0] >= s.Len() {
		return types.Column{}, fmt.Errorf("field path %v out of range of %d columns", []int(p), s.Len())
	}
	c := s.Columns[p[0]]
	name, t := c.Name, c.Type
	for _, f := range p[1:] {
		if t.Kind != types.Row || f < 0 || f >= len(t.Fields) {
			return types.Column{}, fmt.Errorf("field path %v does not name a field of %s", []int(p), t)
		}
		nullable := t.Nullable()
		name += "." + t.Fields[f].Name
		t = t.Fields[f].Type
		if nullable {
			t = t.WithNullable(true)
		}
	}
	return types.Column{Name: name, Type: t}, nil
}

// SupportsVectorSearch is implemented by source factories whose tables can
// be searched by VECTOR_SEARCH (Flink's VectorSearchTableSource). Flink
// asks such a source for the nearest rows of each query vector; Eddy reads
// the table through the source's ordinary scan and searches the rows
// itself (exec.KindVectorSearch), so the capability only says that the
// table is meant to be searched.
type SupportsVectorSearch interface {
	// SupportsVectorSearch reports whether table t may be searched, or why
	// not.
	SupportsVectorSearch(t TableInfo) error
}
