package table

import (
	"context"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/expr"
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

// DescribeInsert binds INSERT statements without running them, inferring
// the types of their placeholders as DescribeQuery does.
func (e *Environment) DescribeInsert(src string, inserts []*sql.Insert, params []*expr.Literal) error {
	e.planner.Params = params
	defer func() { e.planner.Params = nil }()
	_, _, _, _, err := e.planInserts(src, inserts)
	return err
}
