package planner

import (
	"fmt"
	"strings"

	"github.com/eddysql/eddy/catalog"
	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
)

// Scan reads the physical columns of a connector-backed table. Computed
// columns and watermarks are separate nodes above it.
type Scan struct {
	Path  catalog.Path
	Table connector.TableInfo
	// Projection selects physical columns by index into Table.Schema; nil
	// means all. Set by the PushProjectionIntoScan rule when the connector
	// supports it.
	Projection []int
	// NestedProjection, set instead of Projection when the connector
	// supports nested projection pushdown, lists the columns and ROW fields
	// to produce (connector.ScanSpec.NestedProjection).
	NestedProjection []connector.FieldPath
	// Filters are the predicates the connector applies itself
	// (connector.ScanSpec.Filters); set by the PushFilterIntoScan rule.
	Filters []connector.Predicate
	// IsBounded comes from the connector's ScanProperties.
	IsBounded bool
	// Mode is the changelog the connector produces (ScanProperties.Changelog):
	// InsertOnly, or Retract/Upsert for sources whose batches carry the
	// trailing connector.RowKindColumn.
	Mode ChangelogMode
}

var _ Node = (*Scan)(nil)

func (s *Scan) Spec() connector.ScanSpec {
	return connector.ScanSpec{Table: s.Table, Projection: s.Projection, NestedProjection: s.NestedProjection, Filters: s.Filters}
}

func (s *Scan) Schema() types.Schema        { return s.Spec().OutputSchema() }
func (s *Scan) Children() []Node            { return nil }
func (s *Scan) WithChildren(c ...Node) Node { mustChildren("Scan", c, 0); return s }
func (s *Scan) Changelog() ChangelogMode    { return s.Mode }
func (s *Scan) Bounded() bool               { return s.IsBounded }
func (s *Scan) Describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "TableSourceScan(table=[[%s, %s, %s]]", s.Path.Catalog, s.Path.Database, s.Path.Name)
	if s.Projection != nil || s.NestedProjection != nil {
		fmt.Fprintf(&b, ", project=[%s]", fieldList(s.Schema()))
	}
	if len(s.Filters) > 0 {
		preds := make([]string, len(s.Filters))
		for i, f := range s.Filters {
			preds[i] = f.String(s.Table.Schema)
		}
		fmt.Fprintf(&b, ", filter=[%s]", strings.Join(preds, ", "))
	}
	fmt.Fprintf(&b, ", fields=[%s])", fieldList(s.Schema()))
	return b.String()
}

// scanChangelog maps a connector's changelog to the planner's.
func scanChangelog(m connector.ChangelogMode) ChangelogMode {
	switch m {
	case connector.RetractChangelog:
		return Retract
	case connector.UpsertChangelog:
		return Upsert
	}
	return InsertOnly
}
