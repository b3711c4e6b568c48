package planner

import (
	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/expr"
	"github.com/eddysql/eddy/internal/errs"
)

// SetTemporal makes j a temporal join of its right input as of asOf, a
// time attribute of the left input (SQL's right FOR SYSTEM_TIME AS OF
// l.t): with a rowtime, an event-time join against the right input as a
// versioned table (a primary key and a rowtime); with a proctime, a lookup
// join, which needs a bounded right input. The SQL binder and the Table
// API both plan temporal joins through it.
func (j *Join) SetTemporal(asOf expr.Expr) *errs.Error {
	if j.Type != InnerJoin && j.Type != LeftJoin {
		return errs.New(errs.NotSupported, "temporal joins are INNER or LEFT joins")
	}
	col, ok := asOf.(*expr.ColumnRef)
	if !ok || col.T.TimeAttr == types.NoTimeAttr || col.Index >= j.Left.Schema().Len() {
		return errs.New(errs.DatatypeMismatch, "FOR SYSTEM_TIME AS OF needs a time attribute of the left table, not %s", asOf)
	}
	if col.T.TimeAttr == types.ProctimeAttr {
		// A processing-time temporal join looks rows up in the right
		// table as it is when the left row arrives: the lookup join
		// operator loads the bounded table and joins each left row with
		// it once, insert-only (exec.KindLookupJoin).
		if !j.Right.Bounded() {
			return errs.New(errs.NotSupported, "processing-time temporal (lookup) joins need a bounded lookup table")
		}
		if j.Right.Changelog() != InsertOnly {
			return errs.New(errs.NotSupported, "processing-time temporal (lookup) joins need an insert-only lookup table")
		}
		j.Lookup = true
		return nil
	}
	hasRowtime := false
	for _, c := range j.Right.Schema().Columns {
		hasRowtime = hasRowtime || c.Type.TimeAttr == types.RowtimeAttr
	}
	if !hasRowtime {
		return errs.New(errs.InvalidPlan, "the versioned table of an event-time temporal join needs a rowtime attribute (WATERMARK) and a PRIMARY KEY")
	}
	j.SystemTime = col.Index
	return nil
}
