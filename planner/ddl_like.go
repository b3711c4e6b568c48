package planner

import (
	"slices"

	"github.com/eddysql/eddy/catalog"
	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/sql"
)

// This file builds the tables of CREATE TABLE ... LIKE and CREATE|REPLACE
// TABLE ... AS SELECT, following Flink's MergeTableLikeUtil and FLIP-218/
// FLIP-463.

// The features and merging strategies of a LIKE clause.
const (
	likeConstraints  = "CONSTRAINTS"
	likeDistribution = "DISTRIBUTION"
	likeGenerated    = "GENERATED"
	likeMetadata     = "METADATA"
	likeOptions      = "OPTIONS"
	likePartitions   = "PARTITIONS"
	likeWatermarks   = "WATERMARKS"

	likeIncluding   = "INCLUDING"
	likeExcluding   = "EXCLUDING"
	likeOverwriting = "OVERWRITING"
)

var likeAll = []string{likeConstraints, likeDistribution, likeGenerated, likeMetadata, likeOptions, likePartitions, likeWatermarks}

// likeStrategies maps each feature to its merging strategy; nil (no LIKE
// clause) has no strategies, so nothing is inherited to conflict with.
type likeStrategies map[string]string

// newLikeStrategies applies a LIKE clause's options, in order, over
// Flink's default INCLUDING ALL OVERWRITING OPTIONS.
func newLikeStrategies(opts []sql.LikeOption) likeStrategies {
	s := likeStrategies{}
	for _, f := range likeAll {
		s[f] = likeIncluding
	}
	s[likeOptions] = likeOverwriting
	for _, o := range opts {
		if o.Feature != "ALL" {
			s[o.Feature] = o.Strategy
			continue
		}
		for _, f := range likeAll {
			s[f] = o.Strategy
		}
	}
	return s
}

// likeBase returns the part of LIKE's source table that the new table
// inherits: its physical columns always, the rest as the strategies say.
func (b *binder) likeBase(l *sql.TableLike) (*catalog.Table, likeStrategies, error) {
	path, err := b.qualify(l.Source)
	if err != nil {
		return nil, nil, err
	}
	obj, err := b.cat.Get(path)
	if err != nil {
		return nil, nil, b.positioned(err, l.Source)
	}
	src, ok := obj.(*catalog.Table)
	if !ok {
		return nil, nil, b.errAt(errs.WrongObjectType, l.Source, "source table %s of the LIKE clause can not be a VIEW", path)
	}
	like := newLikeStrategies(l.Options)
	t := &catalog.Table{Options: map[string]string{}}
	for _, c := range src.Columns {
		switch {
		case c.Kind == catalog.Computed && like[likeGenerated] == likeExcluding,
			c.Kind == catalog.Metadata && like[likeMetadata] == likeExcluding:
			continue
		}
		t.Columns = append(t.Columns, c)
	}
	if like[likeConstraints] != likeExcluding {
		t.PrimaryKey = src.PrimaryKey
	}
	if like[likePartitions] != likeExcluding {
		t.PartitionKeys = src.PartitionKeys
	}
	if like[likeDistribution] != likeExcluding && src.Distribution != nil {
		d := *src.Distribution
		t.Distribution = &d
	}
	if like[likeWatermarks] != likeExcluding && src.Watermark != nil {
		w := *src.Watermark
		t.Watermark = &w
	} else {
		clearRowtime(t)
	}
	if like[likeOptions] != likeExcluding {
		for k, v := range src.Options {
			t.Options[k] = v
		}
	}
	return t, like, nil
}

// mergeColumn decides whether column c of the new table may replace the
// inherited column old of the same name: a physical column never may;
// a computed or metadata column only under OVERWRITING GENERATED or
// OVERWRITING METADATA, as in Flink.
func (like likeStrategies) mergeColumn(b *binder, c sql.ColumnDef, old, col catalog.Column) error {
	feature, what := "", ""
	switch old.Kind {
	case catalog.Computed:
		feature, what = likeGenerated, "computed"
	case catalog.Metadata:
		feature, what = likeMetadata, "metadata"
	}
	switch {
	case feature == "" || col.Kind == catalog.Physical:
		return b.errAt(errs.DuplicateColumn, c, "a column named '%s' already exists in the base table", c.Name)
	case like[feature] != likeOverwriting:
		return b.errAt(errs.DuplicateColumn, c, "a %s column named '%s' already exists in the base table; you might want to specify EXCLUDING %s or OVERWRITING %s",
			what, c.Name, feature, feature)
	}
	return nil
}

// CreateTableAs plans CREATE TABLE ... AS SELECT and REPLACE TABLE ... AS
// SELECT: the table takes the query's columns (columns declared in the
// CREATE part redefine them in place, or come first when the query does
// not produce them, FLIP-463), and the returned INSERT writes the query
// into it by column name.
func (p *Planner) CreateTableAs(src string, ct *sql.CreateTable) (catalog.Path, *catalog.Table, *sql.Insert, error) {
	b := p.binder(src)
	path, err := b.qualify(ct.Name)
	if err != nil {
		return path, nil, nil, err
	}
	q, err := b.bindQuery(ct.Query)
	if err != nil {
		return path, nil, nil, err
	}
	base := &catalog.Table{Options: map[string]string{}}
	ins := &sql.Insert{Pos: ct.Pos, Table: ct.Name, Query: ct.Query}
	for _, c := range q.Schema().Columns {
		if columnIndex(base.Columns, c.Name) >= 0 {
			return path, nil, nil, b.errAt(errs.DuplicateColumn, ct.Query, "the query produces two columns named '%s'; name them apart with AS", c.Name)
		}
		// The new table stores the query's values: a rowtime or proctime
		// of the query is a plain timestamp column there, as in Flink.
		base.Columns = append(base.Columns, catalog.Column{Name: c.Name, Kind: catalog.Physical, Type: c.Type.WithTimeAttr(types.NoTimeAttr)})
		ins.Columns = append(ins.Columns, c.Name)
	}
	if ct.ColumnOrder != nil {
		if err := b.reorderColumns(ct, base); err != nil {
			return path, nil, nil, err
		}
	}
	t, err := b.defineTable(path, ct, base, nil, true)
	if err != nil {
		return path, nil, nil, err
	}
	// The INSERT writes NULL into the written columns the query does not
	// produce, which a NOT NULL column (a primary key column among them)
	// cannot take.
	for _, c := range ct.Columns {
		i := columnIndex(t.Columns, c.Name)
		col := t.Columns[i]
		written := col.Kind == catalog.Physical || col.Kind == catalog.Metadata && !col.Virtual
		if written && !col.Type.Nullable() && !slices.Contains(ins.Columns, c.Name) {
			return path, nil, nil, b.errAt(errs.DatatypeMismatch, c, "column '%s' has no default value and does not allow NULLs; the query does not produce it", c.Name)
		}
	}
	return path, t, ins, nil
}

// reorderColumns orders the query's columns in base as CREATE TABLE t (c,
// b, a) AS SELECT names them, with the checks of Flink's
// MergeTableAsUtil.reorderSchema: the list names every column of the
// query, once.
func (b *binder) reorderColumns(ct *sql.CreateTable, base *catalog.Table) error {
	if len(ct.ColumnOrder) != len(base.Columns) {
		return b.errAt(errs.InvalidPlan, ct.ColumnOrder[0], "the column list names %d columns but the query produces %d; the number of columns in the column list must match the number of columns of the query",
			len(ct.ColumnOrder), len(base.Columns))
	}
	cols := make([]catalog.Column, 0, len(base.Columns))
	for _, n := range ct.ColumnOrder {
		i := columnIndex(base.Columns, n.Name)
		if i < 0 {
			return b.errAt(errs.UndefinedColumn, n, "column '%s' not found in the query's columns", n.Name)
		}
		if columnIndex(cols, n.Name) >= 0 {
			return b.errAt(errs.DuplicateColumn, n, "column '%s' is named twice in the column list", n.Name)
		}
		cols = append(cols, base.Columns[i])
	}
	base.Columns = cols
	return nil
}

// PlanInsertInto plans ins, the INSERT that CreateTableAs returned, into
// t, the table it returned for path, whether or not the catalog holds t
// yet: EXPLAIN CREATE TABLE ... AS SELECT shows the plan of a table it
// does not create.
func (p *Planner) PlanInsertInto(src string, ins *sql.Insert, path catalog.Path, t *catalog.Table) (*Sink, error) {
	b := p.binder(src)
	st, err := b.sinkTableOf(ins, path, t)
	if err != nil {
		return nil, err
	}
	return b.planInsert(ins, st)
}
