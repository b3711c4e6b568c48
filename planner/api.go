package planner

import (
	"strconv"

	"github.com/eddysql/eddy/exec"
	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/sql"
)

// This file exposes the binder's building blocks to the Go Table API
// (package table), which builds the same logical plans as SQL without SQL
// text. Each helper drives the binder's own code with a synthetic syntax
// node, so the plans match the SQL binder's exactly; since there is no
// text to point into, errors come back without a position and the caller
// names the Table API expression that caused them.

// PlanTable plans a read of the table or view name (catalog, database and
// object parts, partially qualified as in SQL): a catalog table becomes its
// Scan, computed columns and watermark assigner; a view is expanded.
func (p *Planner) PlanTable(name []string) (Node, error) {
	b := p.binder("")
	n, err := b.bindTableRef(&sql.TableRef{Name: sql.ObjectName{Parts: name}})
	return n, unpositioned(err)
}

// PlanSink plans INSERT INTO name of query: it checks that the table's
// connector can be a sink that accepts query's changelog, and casts the
// query's columns to the table's physical columns as SQL INSERT does.
func (p *Planner) PlanSink(name []string, query Node) (*Sink, error) {
	b := p.binder("")
	ins := &sql.Insert{Table: sql.ObjectName{Parts: name}}
	t, err := b.sinkTarget(ins)
	if err != nil {
		return nil, unpositioned(err)
	}
	sink, err := b.sinkOver(ins, t, query)
	return sink, unpositioned(err)
}

// NewUnionAll plans l UNION ALL r: both inputs widened to common column
// types, nested unions flattened.
func NewUnionAll(l, r Node) (Node, error) {
	b := &binder{}
	n, err := b.unionAll(&sql.SetOp{Op: sql.Union, All: true}, l, r)
	return n, unpositioned(err)
}

// NewUnion plans l UNION r (distinct).
func NewUnion(l, r Node) (Node, error) {
	u, err := NewUnionAll(l, r)
	if err != nil {
		return nil, err
	}
	return distinct(u), nil
}

// NewIntersect plans l INTERSECT r (distinct), or l EXCEPT r when except is
// set, the way Flink does.
func NewIntersect(l, r Node, except bool) (Node, error) {
	b := &binder{}
	op := &sql.SetOp{Op: sql.Intersect}
	if except {
		op.Op = sql.Except
	}
	n, err := b.intersectOrExcept(op, l, r)
	return n, unpositioned(err)
}

// NewDistinct groups n by every column (SELECT DISTINCT).
func NewDistinct(n Node) Node { return distinct(n) }

// OrderLimit plans ORDER BY keys with OFFSET and LIMIT (limit < 0: none)
// over n as the binder does: a Sort in batch mode, a Top-N Rank in
// streaming mode, a Limit without keys.
func (p *Planner) OrderLimit(n Node, keys []exec.SortKey, offset, limit int64) (Node, error) {
	q := &sql.Query{}
	for _, k := range keys {
		nf := k.NullsFirst
		q.OrderBy = append(q.OrderBy, sql.OrderItem{
			Expr: &sql.Literal{Kind: sql.IntLit, Text: strconv.Itoa(k.Col + 1)}, Desc: k.Desc, NullsFirst: &nf})
	}
	if offset > 0 {
		q.Offset = &sql.Literal{Kind: sql.IntLit, Text: strconv.FormatInt(offset, 10)}
	}
	if limit >= 0 {
		q.Limit = &sql.Literal{Kind: sql.IntLit, Text: strconv.FormatInt(limit, 10)}
	}
	out, err := p.binder("").bindOrderLimit(q, n)
	return out, unpositioned(err)
}

// UniqueNames makes output column names distinct as the binder does (a,
// a0, a1).
func UniqueNames(names []string) []string { return uniqueNames(names) }

// unpositioned drops the position the binder gave an error from a
// synthetic syntax node: it points into no text.
func unpositioned(err error) error {
	if e, ok := err.(*errs.Error); ok {
		e.Line, e.Col, e.Offset, e.Near = 0, 0, 0, ""
	}
	return err
}
