package optimizer

import (
	"slices"
	"strconv"
	"strings"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/exec/expr"
	"github.com/eddysql/eddy/planner"
)

// PushFilterIntoScan hands the conjuncts of a filter over a scan that
// compare a physical column with a literal to a connector implementing
// connector.SupportsFilterPushDown, and drops those it accepts from the
// plan. It also reaches through the projection of computed columns, and
// through the table's watermark assigner when the connector says the
// rowtime's fields stay in event-time order
// (connector.FilterPushDownResult.EventTimeFields): otherwise a filter
// stays above the assigner, as in Flink, so that dropped rows still advance
// the watermark. Below an accepted `column = literal` the column
// has that value, so the projection of computed columns reads the literal
// instead (FoldConstants then folds what depends on it).
var PushFilterIntoScan = Rule{Name: "PushFilterIntoScan", Apply: func(n planner.Node) (planner.Node, bool) {
	f, ok := n.(*planner.Filter)
	if !ok {
		return n, false
	}
	// Walk down to the scan: [WatermarkAssigner] [Project] Scan.
	wa, _ := f.Input.(*planner.WatermarkAssigner)
	below := f.Input
	if wa != nil {
		below = wa.Input
	}
	proj, _ := below.(*planner.Project)
	if proj != nil {
		below = proj.Input
	}
	scan, ok := below.(*planner.Scan)
	if !ok || scan.Mode != planner.InsertOnly {
		// Dropping rows of a changelog would lose retractions.
		return n, false
	}
	fd, ok := connectorOf(scan).(connector.SupportsFilterPushDown)
	if !ok {
		return n, false
	}
	conjuncts := splitAnd(f.Condition)
	var preds []connector.Predicate
	var offered []int          // conjunct of each predicate
	var consts []*expr.Literal // per predicate, the column's value if an equality
	var constCols []int        // and the scan column it is the value of
	for i, c := range conjuncts {
		if proj != nil {
			c = inline(c, proj.Exprs)
		}
		if p, ok := asPredicate(c, scan); ok {
			preds = append(preds, p)
			offered = append(offered, i)
			col, lit := equalityOperands(c)
			consts, constCols = append(consts, lit), append(constCols, col)
		}
	}
	if len(preds) == 0 {
		return n, false
	}
	res := fd.ApplyFilters(scan.Table, preds)
	if wa != nil && !eventTimeOrdered(wa, proj, scan, res.EventTimeFields) {
		return n, false
	}
	pushed := make([]bool, len(conjuncts))
	var filters []connector.Predicate
	known := map[int]*expr.Literal{}
	for i, p := range preds {
		if i < len(res.Accepted) && res.Accepted[i] {
			pushed[offered[i]] = true
			filters = append(filters, p)
			if consts[i] != nil {
				known[constCols[i]] = consts[i]
			}
		}
	}
	if len(filters) == 0 {
		return n, false
	}
	ns := *scan
	ns.Filters = append(slices.Clip(scan.Filters), filters...)
	var input planner.Node = &ns
	if proj != nil {
		// Every row the scan produces now has the value an accepted
		// equality names: the projection reads the literal instead, which
		// folds conditions on the column (the events table's computed
		// dateTime is a CASE on event_type) and may leave the column
		// unread.
		exprs := make([]expr.Expr, len(proj.Exprs))
		for i, e := range proj.Exprs {
			exprs[i] = expr.Rewrite(e, func(x expr.Expr) expr.Expr {
				if ref, ok := x.(*expr.ColumnRef); ok && known[ref.Index] != nil {
					return &expr.Literal{Value: known[ref.Index].Value, T: ref.T}
				}
				return x
			})
		}
		input = &planner.Project{Input: input, Exprs: exprs, Names: proj.Names}
	}
	if wa != nil {
		input = wa.WithChildren(input)
	}
	var rest expr.Expr
	for i, c := range conjuncts {
		if pushed[i] {
			continue
		}
		if rest == nil {
			rest = c
		} else {
			rest = and(rest, c)
		}
	}
	if rest == nil {
		return input, true
	}
	return &planner.Filter{Input: input, Condition: rest}, true
}}

// eventTimeOrdered reports whether the watermark assigner wa, over proj
// (nil if none) over scan, computes its watermark from a rowtime that picks
// one of fields per row (connector.FilterPushDownResult.EventTimeFields).
func eventTimeOrdered(wa *planner.WatermarkAssigner, proj *planner.Project, scan *planner.Scan, fields []connector.FieldPath) bool {
	if used := expr.InputColumns(wa.Expr); len(used) != 1 || used[0] != wa.Rowtime {
		return false
	}
	var rowtime expr.Expr = &expr.ColumnRef{Index: wa.Rowtime}
	if proj != nil {
		rowtime = proj.Exprs[wa.Rowtime]
	}
	return picksField(rowtime, scan, fields)
}

// picksField reports whether e, over the columns of scan, evaluates to one
// of fields (or NULL) in every row.
func picksField(e expr.Expr, scan *planner.Scan, fields []connector.FieldPath) bool {
	isField := func(p connector.FieldPath) bool {
		return slices.ContainsFunc(fields, func(f connector.FieldPath) bool { return slices.Equal(f, p) })
	}
	switch x := e.(type) {
	case *expr.Literal:
		return x.Value == nil
	case *expr.ColumnRef:
		return isField(scanPath(scan, x.Index))
	case *expr.Call:
		switch x.Func {
		case "GET_FIELD":
			col, fs, ok := fieldAccess(x)
			return ok && isField(append(slices.Clone(scanPath(scan, col)), fs...))
		case "CAST":
			// The binder's implicit casts between nullabilities.
			return x.Args[0].Type().EqualIgnoringNull(x.T) && picksField(x.Args[0], scan, fields)
		case "CASE":
			for i := 1; i < len(x.Args); i += 2 {
				if !picksField(x.Args[i], scan, fields) {
					return false
				}
			}
			return len(x.Args)%2 == 0 || picksField(x.Args[len(x.Args)-1], scan, fields)
		}
	}
	return false
}

func connectorOf(scan *planner.Scan) connector.SourceFactory {
	f, _ := connector.Source(scan.Table.Options["connector"])
	return f
}

func splitAnd(e expr.Expr) []expr.Expr {
	if c, ok := e.(*expr.Call); ok && c.Func == "AND" && len(c.Args) == 2 {
		return append(splitAnd(c.Args[0]), splitAnd(c.Args[1])...)
	}
	return []expr.Expr{e}
}

// flipped is the comparison with its operands swapped.
var flipped = map[string]connector.CompareOp{
	"=": connector.OpEqual, "<>": connector.OpNotEqual,
	"<": connector.OpGreater, "<=": connector.OpGreaterEqual,
	">": connector.OpLess, ">=": connector.OpLessEqual,
}

// asPredicate recognizes `column op literal` (or `literal op column`) over
// a whole physical column of the scan.
func asPredicate(e expr.Expr, scan *planner.Scan) (connector.Predicate, bool) {
	c, ok := e.(*expr.Call)
	if !ok || len(c.Args) != 2 {
		return connector.Predicate{}, false
	}
	op, ok := flipped[c.Func]
	if !ok {
		return connector.Predicate{}, false
	}
	col, colOK := c.Args[0].(*expr.ColumnRef)
	lit, litOK := c.Args[1].(*expr.Literal)
	if colOK && litOK {
		op = connector.CompareOp(c.Func)
	} else if col, colOK = c.Args[1].(*expr.ColumnRef); !colOK {
		return connector.Predicate{}, false
	} else if lit, litOK = c.Args[0].(*expr.Literal); !litOK {
		return connector.Predicate{}, false
	}
	path := scanPath(scan, col.Index)
	if len(path) != 1 || lit.Value == nil {
		return connector.Predicate{}, false
	}
	var v string
	switch x := lit.Value.(type) {
	case int64:
		v = strconv.FormatInt(x, 10)
	case bool:
		v = strings.ToUpper(strconv.FormatBool(x))
	case string:
		v = x
	default:
		return connector.Predicate{}, false
	}
	switch lit.T.Kind {
	case types.TinyInt, types.SmallInt, types.Int, types.BigInt, types.Boolean, types.Char, types.Varchar:
	default:
		return connector.Predicate{}, false
	}
	// The column and the literal have the same type family once the binder
	// has cast them to a common type; a cast column is not offered.
	if col.T.Kind != lit.T.Kind && !(isInteger(col.T.Kind) && isInteger(lit.T.Kind)) &&
		!(isString(col.T.Kind) && isString(lit.T.Kind)) {
		return connector.Predicate{}, false
	}
	return connector.Predicate{Column: path[0], Op: op, Value: v}, true
}

// equalityOperands returns the column and the literal of a predicate's
// expression `column = literal` (either way round), or (0, nil) for other
// comparisons.
func equalityOperands(e expr.Expr) (int, *expr.Literal) {
	c := e.(*expr.Call)
	if c.Func != "=" {
		return 0, nil
	}
	if col, ok := c.Args[0].(*expr.ColumnRef); ok {
		return col.Index, c.Args[1].(*expr.Literal)
	}
	return c.Args[1].(*expr.ColumnRef).Index, c.Args[0].(*expr.Literal)
}

func isInteger(k types.Kind) bool {
	return k == types.TinyInt || k == types.SmallInt || k == types.Int || k == types.BigInt
}

func isString(k types.Kind) bool { return k == types.Char || k == types.Varchar }

// scanPath is the field path (into the table's physical columns) that
// output column i of scan produces.
func scanPath(scan *planner.Scan, i int) connector.FieldPath {
	switch {
	case scan.NestedProjection != nil:
		return scan.NestedProjection[i]
	case scan.Projection != nil:
		return connector.FieldPath{scan.Projection[i]}
	}
	return connector.FieldPath{i}
}

// pushProjectIntoScan is PushProjectIntoScan's rewrite: the scan produces
// the columns, and with nested projection pushdown the ROW fields, that
// the projection above it (and a filter between them) reads.
func pushProjectIntoScan(p *planner.Project) (planner.Node, bool) {
	var filter *planner.Filter
	scan, ok := p.Input.(*planner.Scan)
	if !ok {
		if filter, ok = p.Input.(*planner.Filter); !ok {
			return p, false
		}
		if scan, ok = filter.Input.(*planner.Scan); !ok {
			return p, false
		}
	}
	f := connectorOf(scan)
	pd, ok := f.(connector.SupportsProjectionPushdown)
	if !ok || !pd.SupportsProjectionPushdown() {
		return p, false
	}
	npd, nested := f.(connector.SupportsNestedProjectionPushdown)
	nested = nested && npd.SupportsNestedProjectionPushdown()
	in := scan.Schema()
	all := append([]expr.Expr(nil), p.Exprs...)
	if filter != nil {
		all = append([]expr.Expr{filter.Condition}, all...)
	}
	// An upsert scan keeps its primary key, which its normalization reads,
	// and so does a retract scan with one, which is normalized too under
	// table.exec.source.cdc-events-duplicate (a session option the rules
	// do not see), as Flink's PushProjectIntoTableSourceScanRule keeps it
	// for both.
	for _, k := range scan.Table.PrimaryKey {
		if scan.Mode != planner.InsertOnly && in.Index(k) >= 0 {
			all = append(all, &expr.ColumnRef{Index: in.Index(k)})
		}
	}
	acc := planAccesses(in, nested, all...)
	if acc.isIdentity(in.Len()) || len(acc.list) == 0 {
		return p, false
	}
	// The scan's metadata columns follow its physical ones, and a
	// projection selects physical columns only: the projected scan keeps
	// the metadata columns read, in declaration order, which is where
	// acc.list (in input order) has them.
	phys := in.Len() - len(scan.Table.Metadata)
	paths := make([]connector.FieldPath, 0, len(acc.list))
	var meta []connector.MetadataColumn
	flat := true
	for _, a := range acc.list {
		if a.col >= phys {
			if a.fields != nil {
				// A connector reads a metadata column whole.
				return p, false
			}
			meta = append(meta, scan.Table.Metadata[a.col-phys])
			continue
		}
		pa := append(slices.Clone(scanPath(scan, a.col)), a.fields...)
		paths = append(paths, pa)
		flat = flat && len(pa) == 1
	}
	ns := *scan
	ns.Table.Metadata = meta
	ns.Projection, ns.NestedProjection = nil, nil
	if flat {
		ns.Projection = make([]int, len(paths))
		for i, pa := range paths {
			ns.Projection[i] = pa[0]
		}
	} else {
		ns.NestedProjection = paths
	}
	return restack(p, filter, &ns, acc.rewrite), true
}

// access is one column of a pruned input: column col of the old input
// read whole (fields nil), or the ROW field at path fields inside it.
type access struct {
	col    int
	fields []int
}

// accesses are the columns a set of expressions reads of an input, in
// input order, each column either whole or as the ROW fields read of it.
type accesses struct {
	in     types.Schema
	nested bool
	list   []access
}

// planAccesses finds what exprs read of in. With nested, a ROW column read
// only through field accesses (GET_FIELD chains) contributes the fields
// read, the shortest paths when one is a prefix of another; otherwise
// every column read is read whole.
func planAccesses(in types.Schema, nested bool, exprs ...expr.Expr) *accesses {
	whole := make([]bool, in.Len())
	paths := make([][][]int, in.Len())
	var visit func(e expr.Expr)
	visit = func(e expr.Expr) {
		if nested {
			if col, fields, ok := fieldAccess(e); ok {
				paths[col] = append(paths[col], fields)
				return
			}
		}
		switch x := e.(type) {
		case *expr.ColumnRef:
			whole[x.Index] = true
		case *expr.Call:
			for _, a := range x.Args {
				visit(a)
			}
		}
	}
	for _, e := range exprs {
		if e != nil {
			visit(e)
		}
	}
	a := &accesses{in: in, nested: nested}
	for col := range whole {
		if whole[col] {
			a.list = append(a.list, access{col: col})
			continue
		}
		ps := paths[col]
		slices.SortFunc(ps, slices.Compare)
		for i, p := range ps {
			if i > 0 && hasPrefix(p, a.list[len(a.list)-1].fields) {
				continue
			}
			a.list = append(a.list, access{col: col, fields: p})
		}
	}
	return a
}

func hasPrefix(p, prefix []int) bool {
	return len(p) >= len(prefix) && slices.Equal(p[:len(prefix)], prefix)
}

// isIdentity reports whether the accesses are all width columns, whole.
func (a *accesses) isIdentity(width int) bool {
	if len(a.list) != width {
		return false
	}
	for _, x := range a.list {
		if x.fields != nil {
			return false
		}
	}
	return true
}

// fieldAccess recognizes GET_FIELD chains over a column reference,
// returning the column and the field indexes along the path.
func fieldAccess(e expr.Expr) (int, []int, bool) {
	c, ok := e.(*expr.Call)
	if !ok || c.Func != "GET_FIELD" || len(c.Args) != 2 {
		return 0, nil, false
	}
	lit, ok := c.Args[1].(*expr.Literal)
	if !ok {
		return 0, nil, false
	}
	name, ok := lit.Value.(string)
	if !ok {
		return 0, nil, false
	}
	f := rowFieldIndex(c.Args[0].Type(), name)
	if f < 0 {
		return 0, nil, false
	}
	if ref, ok := c.Args[0].(*expr.ColumnRef); ok {
		return ref.Index, []int{f}, true
	}
	col, fields, ok := fieldAccess(c.Args[0])
	if !ok {
		return 0, nil, false
	}
	return col, append(fields, f), true
}

// rowFieldIndex finds a ROW field as GET_FIELD does: by exact name, else
// ignoring case.
func rowFieldIndex(t types.DataType, name string) int {
	if t.Kind != types.Row {
		return -1
	}
	for i, f := range t.Fields {
		if f.Name == name {
			return i
		}
	}
	for i, f := range t.Fields {
		if strings.EqualFold(f.Name, name) {
			return i
		}
	}
	return -1
}

// index is the pruned column that serves col at path fields: the access
// whose path is the longest prefix of fields.
func (a *accesses) index(col int, fields []int) (int, []int) {
	best, bestLen := -1, -1
	for i, x := range a.list {
		if x.col == col && hasPrefix(fields, x.fields) && len(x.fields) > bestLen {
			best, bestLen = i, len(x.fields)
		}
	}
	return best, fields[max(bestLen, 0):]
}

// name is the name of pruned column i: the names along its path joined
// by '.', as connector.FieldPath names the columns of a scan.
func (a *accesses) name(i int) string {
	x := a.list[i]
	c := a.in.Columns[x.col]
	name, t := c.Name, c.Type
	// fieldAccess found every field index in the type it reads.
	for _, f := range x.fields {
		name += "." + t.Fields[f].Name
		t = t.Fields[f].Type
	}
	return name
}

// rewrite re-expresses e over the pruned columns.
func (a *accesses) rewrite(e expr.Expr) expr.Expr {
	if a.nested {
		if col, fields, ok := fieldAccess(e); ok {
			return a.rewriteChain(e, col, fields)
		}
	}
	switch x := e.(type) {
	case *expr.ColumnRef:
		i, _ := a.index(x.Index, nil)
		return &expr.ColumnRef{Index: i, Name: x.Name, T: x.T}
	case *expr.Call:
		args := make([]expr.Expr, len(x.Args))
		for j, arg := range x.Args {
			args[j] = a.rewrite(arg)
		}
		return &expr.Call{Func: x.Func, Args: args, T: x.T}
	}
	return e
}

// rewriteChain rewrites the GET_FIELD chain e, which reads fields of col:
// a reference to the pruned column of that path, or the field accesses
// left over a shorter one.
func (a *accesses) rewriteChain(e expr.Expr, col int, fields []int) expr.Expr {
	i, rest := a.index(col, fields)
	if len(rest) == 0 {
		return &expr.ColumnRef{Index: i, Name: a.name(i), T: e.Type()}
	}
	call := e.(*expr.Call)
	var base expr.Expr
	if len(fields) == 1 {
		base = a.rewrite(call.Args[0])
	} else {
		base = a.rewriteChain(call.Args[0], col, fields[:len(fields)-1])
	}
	return &expr.Call{Func: call.Func, Args: []expr.Expr{base, call.Args[1]}, T: call.T}
}

// exprs are the pruned columns as expressions over the old input, with
// their names: column references and GET_FIELD chains.
func (a *accesses) exprs() ([]expr.Expr, []string, error) {
	out := make([]expr.Expr, len(a.list))
	names := make([]string, len(a.list))
	for i, x := range a.list {
		c := a.in.Columns[x.col]
		var e expr.Expr = &expr.ColumnRef{Index: x.col, Name: c.Name, T: c.Type}
		for _, f := range x.fields {
			var err error
			e, err = expr.Resolve("GET_FIELD", []expr.Expr{e, expr.NewLiteral(e.Type().Fields[f].Name, types.StringType)})
			if err != nil {
				return nil, nil, err
			}
		}
		out[i], names[i] = e, a.name(i)
	}
	return out, names, nil
}
