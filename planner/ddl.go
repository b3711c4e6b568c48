package planner

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/eddysql/eddy/catalog"
	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/exec/expr"
	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/sql"
)

// CreateTable validates CREATE TABLE and builds the catalog table: types
// resolved, computed columns and the watermark typed, primary key columns
// made NOT NULL, and connector options checked against the connector's
// declared options. With a LIKE clause the table starts from the source
// table's definition, merged as the clause's options say.
func (p *Planner) CreateTable(src string, ct *sql.CreateTable) (catalog.Path, *catalog.Table, error) {
	b := p.binder(src)
	path, err := b.qualify(ct.Name)
	if err != nil {
		return path, nil, err
	}
	base, like := &catalog.Table{Options: map[string]string{}}, likeStrategies(nil)
	if ct.Like != nil {
		if base, like, err = b.likeBase(ct.Like); err != nil {
			return path, nil, err
		}
	}
	t, err := b.defineTable(path, ct, base, like, false)
	return path, t, err
}

// defineTable builds the table ct declares over base, the definition that
// LIKE (merged by like's strategies) or AS SELECT (fromQuery: base holds
// the query's columns) contributes; base is the empty table otherwise.
func (b *binder) defineTable(path catalog.Path, ct *sql.CreateTable, base *catalog.Table, like likeStrategies, fromQuery bool) (*catalog.Table, error) {
	t := base
	t.Comment = ct.Comment
	seen := map[string]bool{}
	var leading []catalog.Column
	for _, c := range ct.Columns {
		if seen[c.Name] {
			return nil, b.errAt(errs.DuplicateColumn, c, "column '%s' is defined twice", c.Name)
		}
		seen[c.Name] = true
		col, err := b.columnDef(c)
		if err != nil {
			return nil, err
		}
		i := columnIndex(t.Columns, c.Name)
		switch {
		case i < 0 && fromQuery:
			// FLIP-463: columns the query does not produce come first.
			leading = append(leading, col)
		case i < 0:
			t.Columns = append(t.Columns, col)
		case fromQuery:
			if col.Kind != catalog.Physical {
				return nil, b.errAt(errs.DuplicateColumn, c, "column '%s' is produced by the query; only its type can be redefined", c.Name)
			}
			t.Columns[i] = col
		default:
			if err := like.mergeColumn(b, c, t.Columns[i], col); err != nil {
				return nil, err
			}
			t.Columns[i] = col
		}
	}
	t.Columns = append(leading, t.Columns...)
	if ct.PrimaryKey != nil {
		if t.PrimaryKey != nil && like[likeConstraints] == likeIncluding {
			return nil, b.errAt(errs.InvalidPlan, posNode(ct.PrimaryKeyPos), "the base table already has a primary key; you might want to specify EXCLUDING CONSTRAINTS")
		}
		for _, k := range ct.PrimaryKey {
			i := columnIndex(t.Columns, k)
			if i < 0 {
				return nil, b.errAt(errs.UndefinedColumn, ct, "primary key column '%s' is not a column of the table", k)
			}
			if t.Columns[i].Kind != catalog.Physical {
				return nil, b.errAt(errs.InvalidPlan, ct, "primary key column '%s' must be a physical column", k)
			}
			t.Columns[i].Type = t.Columns[i].Type.WithNullable(false)
		}
		t.PrimaryKey = ct.PrimaryKey
	}
	if ct.PartitionedBy != nil {
		if t.PartitionKeys != nil && like[likePartitions] == likeIncluding {
			return nil, b.errAt(errs.InvalidPlan, ct, "the base table has already defined partitions; you might want to specify EXCLUDING PARTITIONS")
		}
		for _, k := range ct.PartitionedBy {
			if i := columnIndex(t.Columns, k); i < 0 || t.Columns[i].Kind != catalog.Physical {
				return nil, b.errAt(errs.UndefinedColumn, ct, "partition column '%s' is not a physical column of the table", k)
			}
		}
		t.PartitionKeys = ct.PartitionedBy
	}
	if d := ct.Distribution; d != nil {
		if t.Distribution != nil && like[likeDistribution] == likeIncluding {
			return nil, b.errAt(errs.InvalidPlan, d, "the base table has already defined a distribution; you might want to specify EXCLUDING DISTRIBUTION")
		}
		if err := b.setDistribution(t, d); err != nil {
			return nil, err
		}
	}
	// Computed columns see the physical columns only, as in Flink.
	phys := newScope("", t.PhysicalSchema())
	for _, c := range ct.Columns {
		if c.Kind != sql.ComputedColumn {
			continue
		}
		e, err := b.bindExpr(phys, c.Expr)
		if err != nil {
			return nil, err
		}
		dt := e.Type()
		if isProctimeCall(e) {
			dt = dt.WithTimeAttr(types.ProctimeAttr)
		}
		t.Columns[columnIndex(t.Columns, c.Name)].Type = dt
	}
	if w := ct.Watermark; w != nil {
		if t.Watermark != nil && like[likeWatermarks] != likeOverwriting {
			if t.Watermark.Column == w.Column {
				return nil, b.errAt(errs.InvalidPlan, w, "there already exists a watermark for column '%s' in the base table; you might want to specify EXCLUDING WATERMARKS or OVERWRITING WATERMARKS", w.Column)
			}
			return nil, b.errAt(errs.NotSupported, w, "the base table has a watermark for column '%s'; multiple watermark definitions are not supported", t.Watermark.Column)
		}
		clearRowtime(t)
		if err := b.bindWatermark(t, w); err != nil {
			return nil, err
		}
	} else if err := b.rebindWatermark(path, t); err != nil {
		// The watermark inherited through LIKE may read columns the new
		// table excludes or redefines.
		return nil, b.positioned(err, ct.Name)
	}
	given := map[string]bool{}
	for _, o := range ct.Options {
		if given[o.Key] {
			return nil, b.errAt(errs.InvalidOption, nil, "option '%s' is given twice", o.Key)
		}
		given[o.Key] = true
		if v, inherited := t.Options[o.Key]; inherited && like[likeOptions] == likeIncluding {
			return nil, b.errAt(errs.InvalidOption, posNode(o.Pos), "there already exists an option ['%s' -> '%s'] in the base table; you might want to specify EXCLUDING OPTIONS or OVERWRITING OPTIONS", o.Key, v)
		}
		t.Options[o.Key] = o.Value
	}
	if err := b.validateTable(path, t, ct.Name); err != nil {
		return nil, err
	}
	return t, nil
}

// columnDef resolves one column definition of CREATE or ALTER TABLE; a
// computed column's type is filled in when it is bound.
func (b *binder) columnDef(c sql.ColumnDef) (catalog.Column, error) {
	switch c.Kind {
	case sql.PhysicalColumn:
		dt, err := b.resolveType(c.Type)
		return catalog.Column{Name: c.Name, Kind: catalog.Physical, Type: dt, Comment: c.Comment}, err
	case sql.ComputedColumn:
		return catalog.Column{Name: c.Name, Kind: catalog.Computed, Expr: c.Expr.String(), Comment: c.Comment}, nil
	case sql.MetadataColumn:
		dt, err := b.resolveType(c.Type)
		key := c.MetadataKey
		if key == "" {
			key = c.Name
		}
		return catalog.Column{Name: c.Name, Kind: catalog.Metadata, Type: dt, Comment: c.Comment, MetadataKey: key, Virtual: c.Virtual}, err
	}
	return catalog.Column{}, b.errAt(errs.NotSupported, c, "unknown column kind")
}

// validateTable checks the engine's own table options and the options of
// the table's connector; errors point at the table's name.
func (b *binder) validateTable(path catalog.Path, t *catalog.Table, at sql.Node) error {
	for k, v := range t.Options {
		if !strings.HasPrefix(k, engineOptionPrefix) {
			continue
		}
		if err := checkWatermarkOption(k, v); err != nil {
			return b.errAt(errs.InvalidOption, at, "%v", err)
		}
	}
	if err := validateConnector(path, t); err != nil {
		return b.errAt(errs.InvalidOption, at, "%s", err.(*errs.Error).Msg)
	}
	return nil
}

// setDistribution gives t the distribution d, whose keys must be physical
// columns of t.
func (b *binder) setDistribution(t *catalog.Table, d *sql.Distribution) error {
	for _, k := range d.Keys {
		if i := columnIndex(t.Columns, k); i < 0 || t.Columns[i].Kind != catalog.Physical {
			return b.errAt(errs.UndefinedColumn, d, "distribution key '%s' is not a physical column of the table", k)
		}
	}
	t.Distribution = &catalog.Distribution{Kind: d.Kind, Keys: d.Keys, Buckets: d.Buckets}
	return nil
}

// clearRowtime takes the rowtime mark off the columns of a table whose
// watermark is dropped or replaced.
func clearRowtime(t *catalog.Table) {
	for i, c := range t.Columns {
		if c.Type.TimeAttr == types.RowtimeAttr {
			t.Columns[i].Type = c.Type.WithTimeAttr(types.NoTimeAttr)
		}
	}
	t.Watermark = nil
}

// posNode is a bare position, for errors about clauses without a node.
type posNode sql.Pos

func (p posNode) Position() sql.Pos { return sql.Pos(p) }

func (b *binder) bindWatermark(t *catalog.Table, w *sql.WatermarkDef) error {
	i := columnIndex(t.Columns, w.Column)
	if i < 0 {
		return b.errAt(errs.UndefinedColumn, w, "watermark column '%s' is not a column of the table", w.Column)
	}
	ct := t.Columns[i].Type
	if !ct.IsTimestamp() || ct.Precision > 3 {
		return b.errAt(errs.DatatypeMismatch, w, "the rowtime attribute '%s' must be TIMESTAMP or TIMESTAMP_LTZ with precision 0 to 3, but is %s", w.Column, ct)
	}
	if isSourceWatermark(w.Expr) {
		t.Columns[i].Type = ct.WithTimeAttr(types.RowtimeAttr)
		t.Watermark = &catalog.Watermark{Column: w.Column, Expr: sourceWatermark, Type: ct.WithTimeAttr(types.NoTimeAttr)}
		return nil
	}
	e, err := b.bindExpr(newScope("", t.Schema()), w.Expr)
	if err != nil {
		return err
	}
	et := e.Type()
	if !et.IsTimestamp() || et.Precision > 3 || et.Kind != ct.Kind {
		return b.errAt(errs.DatatypeMismatch, w.Expr, "the watermark expression must return %s with precision 0 to 3, but returns %s", ct.Kind, et)
	}
	t.Columns[i].Type = ct.WithTimeAttr(types.RowtimeAttr)
	t.Watermark = &catalog.Watermark{Column: w.Column, Expr: w.Expr.String(), Type: et}
	return nil
}

// validateConnector checks the table's options against its connector's
// declaration.
func validateConnector(path catalog.Path, t *catalog.Table) error {
	id, ok := t.Options["connector"]
	if !ok {
		return errs.New(errs.InvalidOption, "table %s needs a 'connector' option", path)
	}
	f, ok := connector.Lookup(id)
	if !ok {
		return errs.New(errs.InvalidOption, "unknown connector '%s'; available connectors: %v", id, connector.Identifiers())
	}
	info := tableInfo(path, t)
	if err := connector.Validate(f, info); err != nil {
		return errs.New(errs.InvalidOption, "%v", err)
	}
	if len(info.Metadata) > 0 {
		rm, ok := f.(connector.SupportsReadingMetadata)
		wm, writes := f.(connector.SupportsWritingMetadata)
		if !ok && !writes {
			return errs.New(errs.NotSupported, "connector '%s' does not support METADATA columns", id)
		}
		keys := map[string]string{}
		if ok {
			keys = rm.ReadableMetadata()
		}
		if tm, ok := f.(connector.SupportsTableMetadata); ok {
			var err error
			if keys, err = tm.ReadableMetadataOf(info); err != nil {
				return errs.New(errs.InvalidOption, "%v", err)
			}
		}
		// A persisted metadata column may instead name a key the sink
		// writes (a sink-only key).
		var writable []string
		if writes {
			var err error
			if writable, err = wm.WritableMetadataOf(info); err != nil {
				return errs.New(errs.InvalidOption, "%v", err)
			}
		}
		for _, m := range info.Metadata {
			if !m.Virtual && slices.Contains(writable, m.Key) {
				continue
			}
			if _, ok := keys[m.Key]; !ok {
				names := make([]string, 0, len(keys))
				for k := range keys {
					names = append(names, k)
				}
				sort.Strings(names)
				return errs.New(errs.InvalidOption, "metadata key '%s' of column '%s' is not available from connector '%s'; available keys: %s",
					m.Key, m.Name, id, strings.Join(names, ", "))
			}
		}
	}
	if src, ok := f.(connector.SourceFactory); ok {
		if _, err := src.ValidateSource(info); err != nil {
			return errs.New(errs.InvalidOption, "%v", err)
		}
	}
	return nil
}

func columnIndex(cols []catalog.Column, name string) int {
	for i, c := range cols {
		if c.Name == name {
			return i
		}
	}
	return -1
}

func isProctimeCall(e expr.Expr) bool {
	c, ok := e.(*expr.Call)
	return ok && c.Func == "PROCTIME"
}

// CreateView binds the view's query to derive its schema and stores its text.
func (p *Planner) CreateView(src string, cv *sql.CreateView) (catalog.Path, *catalog.View, error) {
	b := p.binder(src)
	path, err := b.qualify(cv.Name)
	if err != nil {
		return path, nil, err
	}
	n, err := b.bindQuery(cv.Query)
	if err != nil {
		return path, nil, err
	}
	if n, err = b.renameColumns(cv, n, cv.Columns); err != nil {
		return path, nil, err
	}
	return path, &catalog.View{Query: cv.QueryText, Columns: n.Schema(), ColumnAliases: cv.Columns}, nil
}

// scanTable plans the read of a catalog table: the connector's physical
// columns, then the computed columns in declaration order, then the
// watermark assigner.
func (b *binder) scanTable(at sql.Node, path catalog.Path, t *catalog.Table) (Node, error) {
	info := tableInfo(path, t)
	f, ok := connector.Source(t.Connector())
	if !ok {
		return nil, b.errAt(errs.InvalidOption, at, "connector '%s' of table %s cannot be used as a source", t.Connector(), path)
	}
	props, err := f.ValidateSource(info)
	if err != nil {
		return nil, b.errAt(errs.InvalidOption, at, "table %s: %v", path, err)
	}
	if b.batch && !props.Bounded {
		return nil, b.errAt(errs.InvalidPlan, at, "querying an unbounded table %s in batch mode is not allowed; the table must be bounded", path)
	}
	var node Node = &Scan{Path: path, Table: info, IsBounded: props.Bounded, Mode: scanChangelog(props.Changelog)}
	physical := node.Schema() // physical columns, then metadata columns
	reordered := false
	for i, c := range t.Columns {
		reordered = reordered || i >= physical.Len() || physical.Columns[i].Name != c.Name
	}
	if physical.Len() != len(t.Columns) || reordered || t.Watermark != nil {
		phys := newScope("", physical)
		exprs := make([]expr.Expr, len(t.Columns))
		names := make([]string, len(t.Columns))
		for i, c := range t.Columns {
			names[i] = c.Name
			if c.Kind == catalog.Physical || c.Kind == catalog.Metadata {
				pi := physical.Index(c.Name)
				exprs[i] = &expr.ColumnRef{Index: pi, Name: c.Name, T: physical.Columns[pi].Type}
			} else {
				e, err := b.storedExpr(path, c.Name, c.Expr, phys)
				if err != nil {
					return nil, err
				}
				exprs[i] = e
			}
			exprs[i] = withTimeAttr(exprs[i], c.Type.TimeAttr)
		}
		node = &Project{Input: node, Exprs: exprs, Names: names}
	}
	if t.Watermark != nil {
		var e expr.Expr
		if t.Watermark.Expr == sourceWatermark {
			rt := columnIndex(t.Columns, t.Watermark.Column)
			c := node.Schema().Columns[rt]
			e = &expr.ColumnRef{Index: rt, Name: c.Name, T: c.Type}
		} else if e, err = b.storedExpr(path, "watermark", t.Watermark.Expr, newScope("", node.Schema())); err != nil {
			return nil, err
		}
		wa := &WatermarkAssigner{Input: node, Rowtime: columnIndex(t.Columns, t.Watermark.Column), Expr: e}
		if v, ok := t.Options[watermarkIdleTimeout]; ok {
			d, err := connector.ParseDuration(v)
			if err != nil {
				return nil, b.errAt(errs.InvalidOption, at, "table %s: option '%s': %v", path, watermarkIdleTimeout, err)
			}
			wa.IdleTimeoutMillis = d.Milliseconds()
		}
		node = wa
	}
	return node, nil
}

// withTimeAttr marks the result type of a column's expression as a time
// attribute; the mark lives on the type, so it follows the column through
// projections as in Flink.
func withTimeAttr(e expr.Expr, a types.TimeAttrKind) expr.Expr {
	if e.Type().TimeAttr == a {
		return e
	}
	t := e.Type().WithTimeAttr(a)
	switch n := e.(type) {
	case *expr.ColumnRef:
		return &expr.ColumnRef{Index: n.Index, Name: n.Name, T: t}
	case *expr.Call:
		return &expr.Call{Func: n.Func, Args: n.Args, T: t}
	case *expr.Literal:
		return &expr.Literal{Value: n.Value, T: t}
	}
	return e
}

// storedExpr parses and binds an expression stored as text in the catalog.
func (b *binder) storedExpr(path catalog.Path, what, text string, sc *scope) (expr.Expr, error) {
	src := "SELECT " + text
	stmt, err := sql.ParseStatement(src)
	if err != nil {
		return nil, errs.Internalf("stored expression of %s in table %s does not parse: %v", what, path, err)
	}
	sel, ok := stmt.(*sql.QueryStatement).Query.Body.(*sql.Select)
	if !ok || len(sel.Items) != 1 {
		return nil, errs.Internalf("stored expression of %s in table %s is not one expression", what, path)
	}
	eb := source{text: src, origin: fmt.Sprintf("%s of table %s", what, path)}
	return eb.bindExpr(sc, sel.Items[0].Expr)
}

// Flink's per-table watermark options (FLIP-296, Flink 1.18): how often
// the source emits watermarks, its idle timeout, and watermark alignment.
// Eddy's watermark assigner emits after every batch, which is 'on-event'
// for Flink's one-record-at-a-time sources and at least as often as
// 'on-periodic'; alignment (pausing sources that run ahead of their group)
// bounds state and never changes results, so its options are checked and
// accepted.
const (
	watermarkEmitStrategy        = "scan.watermark.emit.strategy"
	watermarkAlignmentGroup      = "scan.watermark.alignment.group"
	watermarkAlignmentMaxDrift   = "scan.watermark.alignment.max-drift"
	watermarkAlignmentUpdateIntv = "scan.watermark.alignment.update-interval"
)

// checkWatermarkOption validates one 'scan.watermark.*' table option.
func checkWatermarkOption(k, v string) error {
	switch k {
	case watermarkEmitStrategy:
		if !strings.EqualFold(v, "on-event") && !strings.EqualFold(v, "on-periodic") {
			return fmt.Errorf("option '%s' must be 'on-event' or 'on-periodic', not '%s'", k, v)
		}
	case watermarkAlignmentGroup:
		if strings.TrimSpace(v) == "" {
			return fmt.Errorf("option '%s' must name a group", k)
		}
	case watermarkIdleTimeout, watermarkAlignmentMaxDrift, watermarkAlignmentUpdateIntv:
		if _, err := connector.ParseDuration(v); err != nil {
			return fmt.Errorf("option '%s': %v", k, err)
		}
	default:
		return fmt.Errorf("unsupported option '%s'; supported: '%s', '%s', '%s', '%s', '%s'", k, watermarkEmitStrategy,
			watermarkIdleTimeout, watermarkAlignmentGroup, watermarkAlignmentMaxDrift, watermarkAlignmentUpdateIntv)
	}
	return nil
}

// sourceWatermark is the stored text of WATERMARK FOR ts AS
// SOURCE_WATERMARK(): the watermarks are the source's own. Eddy's
// connectors emit none of their own, so the source's watermark is its
// rowtime as it arrives (ascending timestamps), which is what the
// assigner computes from the rowtime column itself.
const sourceWatermark = "SOURCE_WATERMARK()"

func isSourceWatermark(e sql.Expr) bool {
	f, ok := e.(*sql.FuncCall)
	return ok && strings.EqualFold(f.Name, "SOURCE_WATERMARK") && len(f.Args) == 0 && !f.Star
}
