package planner

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/eddysql/eddy/catalog"
	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/exec/expr"
	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/sql"
)

// Planner binds statements against a catalog into logical plans.
type Planner struct {
	Catalog *catalog.Manager
	// Params binds the placeholders ($n, or ? numbered from the left) of
	// the statements planned: Params[n-1] is the value of $n. A literal
	// whose type is NullType has an unknown type; the binder infers it the
	// way PostgreSQL does, from the other operand of the comparison,
	// arithmetic, IN or BETWEEN it appears in (else STRING), and writes the
	// inferred type into the literal so a wire-protocol session can
	// describe the statement's parameters. A placeholder beyond Params is
	// an error.
	Params []*expr.Literal
	// Batch plans for execution.runtime-mode = batch: bounded inputs,
	// final results only, ORDER BY sorts.
	Batch bool
	// NonTemporalSort is Flink's internal NonTemporalSortKey option: in
	// streaming mode, ORDER BY without LIMIT over an insert-only input
	// that is not a temporal sort sorts the whole input at its end.
	NonTemporalSort bool
	// UnknownLiterals resolves a quoted literal compared with a numeric
	// operand as PostgreSQL resolves an "unknown"-typed literal: it takes
	// the other operand's type (`c.oid = '16384'`, as psql sends). Flink
	// rejects such comparisons, so only PostgreSQL wire sessions set it.
	UnknownLiterals bool
}

// NonTemporalSortKey is Flink's internal option enabling NonTemporalSort.
const NonTemporalSortKey = "__table.exec.sort.non-temporal.enabled__"

// binder binds one statement: the source text its positions refer to and
// the common table expressions in scope.
type binder struct {
	source
	cat  *catalog.Manager
	ctes []map[string]Node
	// expanding guards against views that refer to themselves.
	expanding map[catalog.Path]bool
	batch     bool
	// nonTemporalSort is Planner.NonTemporalSort.
	nonTemporalSort bool
	// absentGroups are, while a grouping set's query is bound, the
	// grouping expressions of the other sets.
	absentGroups []sql.Expr
	// groupingSet is set while a grouping set's query is bound: it
	// aggregates even when its set is empty. groupID is GROUP_ID() there,
	// the number of identical sets before it.
	groupingSet bool
	groupID     int64
	// stateTTL is, while a query block's FROM is bound, its STATE_TTL
	// hints by input name (bindJoin reads them).
	stateTTL map[string]int64
}

func (p *Planner) binder(src string) *binder {
	return &binder{source: source{text: src, params: p.Params, unknownLiterals: p.UnknownLiterals, cat: p.Catalog}, cat: p.Catalog, expanding: map[catalog.Path]bool{}, batch: p.Batch, nonTemporalSort: p.NonTemporalSort}
}

// PlanQuery binds a query into a plan whose root is a Collect.
func (p *Planner) PlanQuery(src string, q *sql.Query) (Node, error) {
	n, err := p.binder(src).bindQuery(q)
	if err != nil {
		return nil, err
	}
	return &Collect{Input: n}, nil
}

// PlanInsert binds INSERT INTO t SELECT ... into a Sink over the query,
// casting the query's columns to the table's where Flink would implicitly.
func (p *Planner) PlanInsert(src string, ins *sql.Insert) (*Sink, error) {
	b := p.binder(src)
	t, err := b.sinkTarget(ins)
	if err != nil {
		return nil, err
	}
	return b.planInsert(ins, t)
}

// planInsert binds the query of ins and tops it by a Sink writing t.
func (b *binder) planInsert(ins *sql.Insert, t sinkTable) (*Sink, error) {
	if ins.Overwrite && !t.props.SupportsOverwrite {
		return nil, b.errAt(errs.NotSupported, ins, "INSERT OVERWRITE requires a sink that supports overwriting; connector '%s' of table %s does not", t.table.Connector(), t.path)
	}
	if ins.Overwrite && t.props.OverwriteInBatchOnly && !b.batch {
		return nil, b.errAt(errs.NotSupported, ins, "Streaming mode not support overwrite: INSERT OVERWRITE into table %s (connector '%s') runs in batch mode only", t.path, t.table.Connector())
	}
	if ins.OnConflict != "" {
		if err := b.checkOnConflict(ins, t); err != nil {
			return nil, err
		}
	}
	query, err := b.bindQuery(ins.Query)
	if err != nil {
		return nil, err
	}
	if !b.batch && (ins.OnConflict == OnConflictNothing || ins.OnConflict == OnConflictError) {
		if err := b.checkConflictWatermarks(ins, query); err != nil {
			return nil, err
		}
	}
	return b.sinkOver(ins, t, query)
}

// checkOnConflict validates INSERT ... ON CONFLICT DO <action> as Flink
// does: the clause applies only to upsert sinks (a primary key, updates
// without -U). Whether the query needs it at all (its upsert key differs
// from the sink's primary key) is decided by the optimizer, which derives
// upsert keys.
func (b *binder) checkOnConflict(ins *sql.Insert, t sinkTable) error {
	notUpsert := func(why string) error {
		return b.errAt(errs.InvalidPlan, ins, "ON CONFLICT clause is only allowed for upsert sinks. The sink '%s.%s.%s' is not an upsert sink because %s.",
			t.path.Catalog, t.path.Database, t.path.Name, why)
	}
	switch {
	case !t.props.AcceptsUpdates:
		return notUpsert("it only accepts INSERT (append-only) changes")
	case t.props.RequiresUpdateBefore:
		return notUpsert("it requires UPDATE_BEFORE (retract mode)")
	case len(t.table.PrimaryKey) == 0:
		return notUpsert("it has no primary key")
	}
	return nil
}

// checkConflictWatermarks enforces Flink's rule that ON CONFLICT DO
// NOTHING and DO ERROR read only tables with a WATERMARK: their sink
// materializer resolves the changes of a key as the watermark advances, so
// behind a source without one it would hold every row until the input
// ends. The dimension
// side of a lookup join is not a source scan and needs none.
func (b *binder) checkConflictWatermarks(ins *sql.Insert, query Node) error {
	var missing []string
	seen := map[catalog.Path]bool{}
	var walk func(n Node)
	walk = func(n Node) {
		switch x := n.(type) {
		case *Scan:
			if seen[x.Path] {
				return
			}
			seen[x.Path] = true
			if t, err := b.cat.Get(x.Path); err == nil {
				if tbl, ok := t.(*catalog.Table); ok && tbl.Watermark == nil {
					missing = append(missing, x.Path.Catalog+"."+x.Path.Database+"."+x.Path.Name)
				}
			}
			return
		case *Join:
			if x.Lookup {
				walk(x.Left)
				return
			}
		}
		for _, c := range n.Children() {
			walk(c)
		}
	}
	walk(query)
	if len(missing) == 0 {
		return nil
	}
	return b.errAt(errs.InvalidPlan, ins, "ON CONFLICT DO %s requires all source tables to define watermarks, but the following source(s) do not: %s. Please add a WATERMARK declaration to these tables.",
		ins.OnConflict, strings.Join(missing, ", "))
}

// sinkTable is the table an INSERT writes, with what its connector accepts.
type sinkTable struct {
	path  catalog.Path
	table *catalog.Table
	info  connector.TableInfo
	props connector.SinkProperties
	// written are the persisted metadata columns (indexes into
	// info.Metadata) in the order the connector writes their keys.
	written []int
}

// sinkTarget resolves and checks the table an INSERT writes: a table (not
// a view) whose connector is a sink and whose metadata columns are
// read-only.
func (b *binder) sinkTarget(ins *sql.Insert) (sinkTable, error) {
	path, err := b.qualify(ins.Table)
	if err != nil {
		return sinkTable{}, err
	}
	obj, err := b.cat.Get(path)
	if err != nil {
		return sinkTable{}, b.positioned(err, ins.Table)
	}
	tbl, ok := obj.(*catalog.Table)
	if !ok {
		return sinkTable{}, b.errAt(errs.WrongObjectType, ins.Table, "%s is a view; INSERT needs a table", path)
	}
	return b.sinkTableOf(ins, path, tbl)
}

// sinkTableOf validates table tbl at path as the sink of ins.
func (b *binder) sinkTableOf(ins *sql.Insert, path catalog.Path, tbl *catalog.Table) (sinkTable, error) {
	tbl = withOptionsHint(ins.TableHints, tbl)
	info := tableInfo(path, tbl)
	f, ok := connector.Sink(tbl.Connector())
	if !ok {
		return sinkTable{}, b.errAt(errs.InvalidOption, ins.Table, "connector '%s' of table %s cannot be used as a sink", tbl.Connector(), path)
	}
	props, err := f.ValidateSink(info)
	if err != nil {
		return sinkTable{}, b.errAt(errs.InvalidOption, ins.Table, "table %s: %v", path, err)
	}
	written, err := writtenMetadata(f, info)
	if err != nil {
		return sinkTable{}, b.errAt(errs.NotSupported, ins.Table, "table %s: %v", path, err)
	}
	return sinkTable{path: path, table: tbl, info: info, props: props, written: written}, nil
}

// sinkParallelism is the connector option (declared by the connectors
// that accept it, as in Flink) that sets the parallelism of a table's sink
// writers.
const sinkParallelism = "sink.parallelism"

// writtenMetadata orders the persisted METADATA columns of a sink table as
// its connector writes them: by the position of their keys in its
// writable metadata.
func writtenMetadata(f connector.SinkFactory, info connector.TableInfo) ([]int, error) {
	var keys []string
	for _, m := range info.Metadata {
		if m.Virtual {
			continue
		}
		wm, ok := f.(connector.SupportsWritingMetadata)
		if !ok {
			return nil, fmt.Errorf("writing METADATA column '%s' is not supported by its connector; declare it VIRTUAL to only read it", m.Name)
		}
		if keys == nil {
			var err error
			if keys, err = wm.WritableMetadataOf(info); err != nil {
				return nil, err
			}
		}
		if !slices.Contains(keys, m.Key) {
			return nil, fmt.Errorf("metadata key '%s' of column '%s' is not writable; writable keys: %s", m.Key, m.Name, strings.Join(keys, ", "))
		}
	}
	var out []int
	for _, k := range keys {
		for i, m := range info.Metadata {
			if !m.Virtual && m.Key == k {
				out = append(out, i)
			}
		}
	}
	return out, nil
}

// updateProducer is the node of an updating plan that turns its
// insert-only inputs into updates (the lowest node whose changelog is not
// insert-only), which an error about a sink that takes only inserts names,
// as Flink's does.
func updateProducer(n Node) Node {
	for _, c := range n.Children() {
		if c.Changelog() != InsertOnly {
			return updateProducer(c)
		}
	}
	return n
}

// sinkOver checks that t accepts query's changelog and puts the Sink over
// query, cast to t's physical columns. In batch mode every sink takes an
// updating query: it is written the query's final rows (the optimizer's
// finalRows), as Flink's batch aggregates emit only final results.
func (b *binder) sinkOver(ins *sql.Insert, t sinkTable, query Node) (*Sink, error) {
	if query.Changelog() != InsertOnly && !t.props.AcceptsUpdates && !b.batch {
		return nil, b.errAt(errs.InvalidPlan, ins, "table sink %s (connector '%s') only accepts inserts, but node %s of the query produces updates",
			t.path, t.table.Connector(), updateProducer(query).Describe())
	}
	sink := &Sink{Path: t.path, Table: t.info, Overwrite: ins.Overwrite, OnConflict: ins.OnConflict,
		Upsert:            len(t.table.PrimaryKey) > 0 && t.props.AcceptsUpdates && !t.props.RequiresUpdateBefore,
		DropsUpdateBefore: t.props.DropsUpdateBefore}
	if ins.Overwrite {
		var err error
		if sink.StaticPartition, err = b.staticPartitionStrings(ins, t); err != nil {
			return nil, err
		}
	}
	if v, ok := t.info.Options[sinkParallelism]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return nil, b.errAt(errs.InvalidOption, ins.Table, "table %s: option '%s' must be a positive integer, not '%s'", t.path, sinkParallelism, v)
		}
		sink.Parallelism = n
	}
	if len(t.written) == 0 {
		query, err := b.conformToSink(ins, query, t.info.Schema, t.table.PartitionKeys)
		if err != nil {
			return nil, err
		}
		sink.Input = query
		return sink, nil
	}
	// With persisted metadata columns, INSERT writes the physical and
	// metadata columns in declaration order (Flink's persisted schema);
	// the sink receives the physical columns, then the metadata columns in
	// the connector's order.
	var persisted types.Schema
	pos := map[string]int{}
	for _, c := range t.table.Columns {
		if c.Kind == catalog.Physical || c.Kind == catalog.Metadata && !c.Virtual {
			pos[c.Name] = len(persisted.Columns)
			persisted.Columns = append(persisted.Columns, types.Column{Name: c.Name, Type: c.Type})
		}
	}
	query, err := b.conformToSink(ins, query, persisted, t.table.PartitionKeys)
	if err != nil {
		return nil, err
	}
	var exprs []expr.Expr
	var names []string
	add := func(name string) {
		i := pos[name]
		exprs = append(exprs, &expr.ColumnRef{Index: i, Name: name, T: persisted.Columns[i].Type})
		names = append(names, name)
	}
	for _, c := range t.info.Schema.Columns {
		add(c.Name)
	}
	for _, m := range t.written {
		add(t.info.Metadata[m].Name)
	}
	sink.Input = &Project{Input: query, Exprs: exprs, Names: names}
	return sink, nil
}

// staticPartition binds the constant values of INSERT ... PARTITION (k =
// v): by sink column, the value cast to the column's type.
func (b *binder) staticPartition(ins *sql.Insert, sink types.Schema, partitionKeys []string) (map[int]expr.Expr, error) {
	if len(ins.Partition) == 0 {
		return nil, nil
	}
	out := map[int]expr.Expr{}
	for _, sp := range ins.Partition {
		si := sink.Index(sp.Column)
		isKey := false
		for _, k := range partitionKeys {
			isKey = isKey || k == sp.Column
		}
		if si < 0 || !isKey {
			return nil, b.errAt(errs.UndefinedColumn, sp, "'%s' in PARTITION is not a partition column of the sink", sp.Column)
		}
		if _, dup := out[si]; dup {
			return nil, b.errAt(errs.DuplicateColumn, sp, "partition column '%s' is given twice", sp.Column)
		}
		v, err := b.bindExpr(newScope("", types.Schema{}), sp.Value)
		if err != nil {
			return nil, err
		}
		if _, ok := v.(*expr.Literal); !ok {
			return nil, b.errAt(errs.DatatypeMismatch, sp.Value, "the value of partition column '%s' must be a literal", sp.Column)
		}
		col := sink.Columns[si]
		if !v.Type().EqualIgnoringNull(col.Type) {
			if v, err = expr.NewCast(v, col.Type, false); err != nil {
				return nil, b.errAt(errs.DatatypeMismatch, sp.Value, "%v", err)
			}
		}
		out[si] = v
	}
	return out, nil
}

// staticPartitionStrings renders the values of INSERT ... PARTITION (k =
// v) as the sink's spec carries them; a NULL value is the empty string.
func (b *binder) staticPartitionStrings(ins *sql.Insert, t sinkTable) (map[string]string, error) {
	static, err := b.staticPartition(ins, t.info.Schema, t.table.PartitionKeys)
	if err != nil || len(static) == 0 {
		return nil, err
	}
	out := map[string]string{}
	for i, v := range static {
		s, _, err := expr.ConstantString(v)
		if err != nil {
			return nil, b.errAt(errs.DatatypeMismatch, ins, "the value of partition column '%s': %v", t.info.Schema.Columns[i].Name, err)
		}
		out[t.info.Schema.Columns[i].Name] = s
	}
	return out, nil
}

// conformToSink reorders (for INSERT INTO t (cols)) and casts the query's
// columns to the sink's physical schema.
func (b *binder) conformToSink(ins *sql.Insert, query Node, sink types.Schema, partitionKeys []string) (Node, error) {
	in := query.Schema()
	static, err := b.staticPartition(ins, sink, partitionKeys)
	if err != nil {
		return nil, err
	}
	// target[i] is the query column feeding sink column i, or -1 for NULL
	// or a static partition value.
	target := make([]int, sink.Len())
	if ins.Columns == nil {
		if in.Len() != sink.Len()-len(static) {
			return nil, b.errAt(errs.DatatypeMismatch, ins, "column types of query result and sink for %s do not match: query has %d columns %s, sink has %d columns %s",
				ins.Table.Parts[len(ins.Table.Parts)-1], in.Len(), in, sink.Len()-len(static), sink)
		}
		qi := 0
		for i := range target {
			target[i] = -1
			if _, ok := static[i]; !ok {
				target[i] = qi
				qi++
			}
		}
	} else {
		if len(ins.Columns) != in.Len() {
			return nil, b.errAt(errs.DatatypeMismatch, ins, "INSERT names %d columns but the query produces %d", len(ins.Columns), in.Len())
		}
		for i := range target {
			target[i] = -1
		}
		for qi, name := range ins.Columns {
			si := sink.Index(name)
			if si < 0 {
				return nil, b.errAt(errs.UndefinedColumn, ins, "column '%s' of INSERT is not a physical column of the sink", name)
			}
			if _, ok := static[si]; target[si] >= 0 || ok {
				return nil, b.errAt(errs.DuplicateColumn, ins, "column '%s' is named twice in INSERT", name)
			}
			target[si] = qi
		}
	}
	exprs := make([]expr.Expr, sink.Len())
	names := sink.Names()
	identity := true
	for i, col := range sink.Columns {
		if v, ok := static[i]; ok {
			exprs[i] = v
			identity = false
			continue
		}
		if target[i] < 0 {
			if !col.Type.Nullable() {
				return nil, b.errAt(errs.DatatypeMismatch, ins, "column '%s' of the sink is NOT NULL but INSERT gives it no value", col.Name)
			}
			exprs[i] = &expr.Literal{T: col.Type}
			identity = false
			continue
		}
		qc := in.Columns[target[i]]
		var e expr.Expr = &expr.ColumnRef{Index: target[i], Name: qc.Name, T: qc.Type}
		if target[i] != i || qc.Name != col.Name {
			identity = false
		}
		if !qc.Type.EqualIgnoringNull(col.Type) {
			// Nullability is checked at run time, as Flink's NOT NULL enforcer
			// does; lengths and precisions of the same type family are
			// adjusted by the cast, as Flink's sink type coercion does.
			if !sinkCoercible(qc.Type, col.Type) {
				return nil, b.errAt(errs.DatatypeMismatch, ins, "column types of query result and sink do not match: cannot write %s into sink column '%s' of type %s", qc.Type, col.Name, col.Type)
			}
			c, err := expr.NewCast(e, col.Type, false)
			if err != nil {
				return nil, b.errAt(errs.DatatypeMismatch, ins, "%v", err)
			}
			e = c
			identity = false
		}
		exprs[i] = e
	}
	if identity {
		return query, nil
	}
	return &Project{Input: query, Exprs: exprs, Names: names}, nil
}

func (b *binder) qualify(n sql.ObjectName) (catalog.Path, error) {
	p, err := b.cat.Qualify(n.Parts)
	if err != nil {
		return p, b.positioned(err, n)
	}
	return p, nil
}

// positioned adds n's position to a catalog error.
func (b *binder) positioned(err error, n sql.Node) error {
	if e, ok := err.(*errs.Error); ok && e.Line == 0 {
		return b.errAt(e.Code, n, "%s", e.Msg)
	}
	return err
}

// tableInfo is what a connector sees of a catalog table.
func tableInfo(p catalog.Path, t *catalog.Table) connector.TableInfo {
	info := connector.TableInfo{Name: fmt.Sprintf("%s.%s.%s", p.Catalog, p.Database, p.Name), Schema: t.PhysicalSchema(), Options: connectorOptions(t.Options), PrimaryKey: t.PrimaryKey, PartitionKeys: t.PartitionKeys}
	for _, c := range t.Columns {
		if c.Kind == catalog.Metadata {
			info.Metadata = append(info.Metadata, connector.MetadataColumn{Name: c.Name, Key: c.MetadataKey, Type: c.Type, Virtual: c.Virtual})
		}
	}
	return info
}

// engineOptionPrefix marks table options that belong to the engine, not
// to the connector (as in Flink): 'scan.watermark.idle-timeout'. They stay
// in the catalog but are not shown to connectors, which validate only the
// options they declare.
const engineOptionPrefix = "scan.watermark."

// watermarkIdleTimeout is the per-table idle timeout option.
const watermarkIdleTimeout = "scan.watermark.idle-timeout"

// connectorOptions is opts without the engine's options (opts itself when
// there are none).
func connectorOptions(opts map[string]string) map[string]string {
	n := 0
	for k := range opts {
		if strings.HasPrefix(k, engineOptionPrefix) {
			n++
		}
	}
	if n == 0 {
		return opts
	}
	out := make(map[string]string, len(opts)-n)
	for k, v := range opts {
		if !strings.HasPrefix(k, engineOptionPrefix) {
			out[k] = v
		}
	}
	return out
}

// sameFamily reports types that differ only in length, precision or scale
// (VARCHAR(10) and STRING, DECIMAL(38, 2) and DECIMAL(10, 2), TIMESTAMP(6)
// and TIMESTAMP(3)), or constructed types whose elements INSERT converts
// so (ROW fields by position), which INSERT converts between.
func sameFamily(a, b types.DataType) bool {
	switch {
	case a.IsString() && b.IsString(), a.IsBinary() && b.IsBinary():
		return true
	case a.Kind == types.Decimal && b.Kind == types.Decimal:
		return true
	case a.Kind == types.Time && b.Kind == types.Time:
		return true
	case a.IsTimestamp() && b.IsTimestamp():
		// Flink casts TIMESTAMP and TIMESTAMP_LTZ into each other
		// implicitly (LogicalTypeCasts), in the session time zone.
		return true
	case a.Kind == types.Row && b.Kind == types.Row:
		// ROW fields match by position, whatever their names, as in
		// Flink's LogicalTypeCasts (ROW(x, y) into a ROW<a, b> column).
		if len(a.Fields) != len(b.Fields) {
			return false
		}
		for i := range a.Fields {
			if !sinkCoercible(a.Fields[i].Type, b.Fields[i].Type) {
				return false
			}
		}
		return true
	case a.Kind == b.Kind && (a.Kind == types.Array || a.Kind == types.Multiset):
		return sinkCoercible(*a.Elem, *b.Elem)
	case a.Kind == types.Map && b.Kind == types.Map:
		return sinkCoercible(*a.Key, *b.Key) && sinkCoercible(*a.Value, *b.Value)
	}
	return false
}

// sinkCoercible reports whether a value of type a is written into a sink
// column of type b, cast if need be.
func sinkCoercible(a, b types.DataType) bool {
	return types.CanImplicitCast(a.WithNullable(true), b.WithNullable(true)) || sameFamily(a, b)
}
