package table

import (
	"context"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/expr"
	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/sql"
)

// This file is the part of Environment that wire-protocol sessions use:
// running a statement already parsed (with its placeholder values) and
// describing a statement without running it.

// ExecuteStatement runs one parsed statement whose positions refer to src,
// binding its placeholders to params (see planner.Planner.Params; nil when
// the statement has none).
func (e *Environment) ExecuteStatement(ctx context.Context, src string, stmt sql.Statement, params []*expr.Literal) (*TableResult, error) {
	e.planner.Params = params
	defer func() { e.planner.Params = nil }()
	return e.execute(ctx, src, stmt)
}

// DescribeQuery binds and optimizes a query without running it and returns
// its result schema. Placeholders of unknown type among params (NullType)
// get the types the binder infers for them.
func (e *Environment) DescribeQuery(src string, q *sql.Query, params []*expr.Literal) (types.Schema, error) {
	e.planner.Params = params
	defer func() { e.planner.Params = nil }()
	_, _, phys, err := e.planQuery(src, q, "describe")
	if err != nil {
		return types.Schema{}, err
	}
	return phys.Schema(), nil
}

// DescribeModification binds a DELETE or UPDATE without running it,
// inferring the types of its placeholders as DescribeQuery does.
func (e *Environment) DescribeModification(src string, stmt sql.Statement, params []*expr.Literal) error {
	e.planner.Params = params
	defer func() { e.planner.Params = nil }()
	var err error
	switch s := stmt.(type) {
	case *sql.Delete:
		_, err = e.planner.PlanDelete(src, s)
	case *sql.Update:
		_, err = e.planner.PlanUpdate(src, s)
	default:
		err = errs.New(errs.InternalError, "internal error: %T is not DELETE or UPDATE", stmt)
	}
	return err
}

// DescribeInsert binds INSERT statements without running them, inferring
// the types of their placeholders as DescribeQuery does.
func (e *Environment) DescribeInsert(src string, inserts []*sql.Insert, params []*expr.Literal) error {
	e.planner.Params = params
	defer func() { e.planner.Params = nil }()
	_, _, _, _, err := e.planInserts(src, inserts)
	return err
}
