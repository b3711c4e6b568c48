package planner

import "fmt"

// WindowJoin is a Join of two windowed inputs whose condition equates
// their window_start and window_end columns: Flink's window join. Each
// window's result is final once the watermark passes its end; rows are
// joined within their window only, late rows are dropped, and the output
// is insert-only (outer joins pad unmatched rows when their window
// fires). LeftEnd and RightEnd are the inputs' window_end columns (the
// window_start equality stays in the Condition).
type WindowJoin struct {
	Join
	LeftEnd, RightEnd int
}

var _ Node = (*WindowJoin)(nil)

func (j *WindowJoin) Changelog() ChangelogMode { return InsertOnly }
func (j *WindowJoin) WithChildren(c ...Node) Node {
	mustChildren("WindowJoin", c, 2)
	cp := *j
	cp.Left, cp.Right = c[0], c[1]
	return &cp
}
func (j *WindowJoin) Describe() string {
	cond := "true"
	if j.Condition != nil {
		cond = j.Condition.String()
	}
	return fmt.Sprintf("WindowJoin(joinType=[%s], where=[%s], select=[%s])", j.Type, cond, fieldList(j.Schema()))
}
