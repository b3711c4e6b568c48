package optimizer

import (
	"fmt"
	"strings"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec"
	"github.com/eddysql/eddy/exec/expr"
	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/planner"
)

// StreamJoin is a regular join: both inputs hash partitioned by the
// equi-join keys and kept in state.
type StreamJoin struct {
	Logical             *planner.Join
	Left, Right         PhysicalNode
	LeftKeys, RightKeys []int
	// Condition is what remains of the ON condition besides the keys.
	Condition      expr.Expr
	StateTTLMillis int64
	// InputStateTTLMillis, when set, is each input's retention from a
	// STATE_TTL hint (exec.JoinSpec).
	InputStateTTLMillis []int64
	// LeftUniqueKey and RightUniqueKey are the upsert keys each input's
	// state is keyed by (exec.JoinSpec), nil for none.
	LeftUniqueKey, RightUniqueKey []int
}

// StreamIntervalJoin joins rows whose rowtimes are within bounds.
type StreamIntervalJoin struct {
	Logical                *planner.Join
	Left, Right            PhysicalNode
	LeftKeys, RightKeys    []int
	LeftTime, RightTime    int
	LowerBound, UpperBound int64
	Condition              expr.Expr
	ProcTime               bool
	// LeftGrid and RightGrid are the grids the inputs' times lie on (a
	// window aggregate's window_end), or nil.
	LeftGrid, RightGrid *exec.TimeGrid
}

// StreamTemporalJoin joins each left row with the version of the right
// row valid at the left row's time.
type StreamTemporalJoin struct {
	Logical             *planner.Join
	Left, Right         PhysicalNode
	LeftKeys, RightKeys []int
	RightTime           int
	Condition           expr.Expr
}

var (
	_ operatorNode = (*StreamJoin)(nil)
	_ operatorNode = (*StreamIntervalJoin)(nil)
	_ operatorNode = (*StreamTemporalJoin)(nil)
)

func (n *StreamJoin) Schema() types.Schema   { return n.Logical.Schema() }
func (n *StreamJoin) Inputs() []PhysicalNode { return []PhysicalNode{n.Left, n.Right} }
func (n *StreamJoin) Parallelism() int       { return n.Left.Parallelism() }
func (n *StreamJoin) Bounded() bool          { return n.Logical.Bounded() }

// Describe adds the state view of each input, as Flink's StreamPhysicalJoin
// prints them.
func (n *StreamJoin) Describe() string {
	return fmt.Sprintf("%s, leftInputSpec=[%s], rightInputSpec=[%s])", strings.TrimSuffix(n.Logical.Describe(), ")"),
		exec.JoinInputSpec(n.LeftKeys, n.LeftUniqueKey), exec.JoinInputSpec(n.RightKeys, n.RightUniqueKey))
}

func (n *StreamIntervalJoin) Schema() types.Schema   { return n.Logical.Schema() }
func (n *StreamIntervalJoin) Inputs() []PhysicalNode { return []PhysicalNode{n.Left, n.Right} }
func (n *StreamIntervalJoin) Parallelism() int       { return n.Left.Parallelism() }
func (n *StreamIntervalJoin) Bounded() bool          { return n.Logical.Bounded() }
func (n *StreamIntervalJoin) Describe() string {
	d := n.Logical.Describe()
	return fmt.Sprintf("IntervalJoin(windowBounds=[isRowTime=%t, leftLowerBound=%d, leftUpperBound=%d, leftTimeIndex=%d, rightTimeIndex=%d], %s",
		!n.ProcTime, n.LowerBound, n.UpperBound, n.LeftTime, n.RightTime, strings.TrimPrefix(d, "IntervalJoin("))
}

func (n *StreamTemporalJoin) Schema() types.Schema   { return n.Logical.Schema() }
func (n *StreamTemporalJoin) Inputs() []PhysicalNode { return []PhysicalNode{n.Left, n.Right} }
func (n *StreamTemporalJoin) Parallelism() int       { return n.Left.Parallelism() }
func (n *StreamTemporalJoin) Bounded() bool          { return n.Logical.Bounded() }
func (n *StreamTemporalJoin) Describe() string       { return n.Logical.Describe() }

func marshalOptional(e expr.Expr) ([]byte, error) {
	if e == nil {
		return nil, nil
	}
	return expr.Marshal(e)
}

func (n *StreamJoin) operatorSpec() (exec.OperatorSpec, error) {
	cond, err := marshalOptional(n.Condition)
	if err != nil {
		return exec.OperatorSpec{}, err
	}
	s, err := spec(exec.KindJoin, n.Describe(), n.Schema(), exec.JoinSpec{
		Type: string(n.Logical.Type), LeftKeys: n.LeftKeys, RightKeys: n.RightKeys, Condition: cond,
		LeftChangelog:  n.Logical.Left.Changelog() != planner.InsertOnly,
		RightChangelog: n.Logical.Right.Changelog() != planner.InsertOnly,
		StateTTLMillis: n.StateTTLMillis, InputStateTTLMillis: n.InputStateTTLMillis,
		LeftUniqueKey: n.LeftUniqueKey, RightUniqueKey: n.RightUniqueKey,
	})
	s.Changelog = n.Logical.Changelog() != planner.InsertOnly
	return s, err
}

func (n *StreamIntervalJoin) operatorSpec() (exec.OperatorSpec, error) {
	cond, err := marshalOptional(n.Condition)
	if err != nil {
		return exec.OperatorSpec{}, err
	}
	s, err := spec(exec.KindIntervalJoin, n.Describe(), n.Schema(), exec.IntervalJoinSpec{
		Type: string(n.Logical.Type), LeftKeys: n.LeftKeys, RightKeys: n.RightKeys,
		LeftTimeCol: n.LeftTime, RightTimeCol: n.RightTime,
		LowerBound: n.LowerBound, UpperBound: n.UpperBound, Condition: cond, ProcTime: n.ProcTime,
		LeftTimeGrid: n.LeftGrid, RightTimeGrid: n.RightGrid,
	})
	// The operator only inserts, but its batches must carry the row kind
	// column when the plan declares the join updating (outer joins), as
	// the operators after it expect.
	s.Changelog = n.Logical.Changelog() != planner.InsertOnly
	return s, err
}

func (n *StreamTemporalJoin) operatorSpec() (exec.OperatorSpec, error) {
	cond, err := marshalOptional(n.Condition)
	if err != nil {
		return exec.OperatorSpec{}, err
	}
	s, err := spec(exec.KindTemporalJoin, n.Describe(), n.Schema(), exec.TemporalJoinSpec{
		Type: string(n.Logical.Type), LeftKeys: n.LeftKeys, RightKeys: n.RightKeys,
		LeftTimeCol: n.Logical.SystemTime, RightTimeCol: n.RightTime,
		RightChangelog: n.Logical.Right.Changelog() != planner.InsertOnly, Condition: cond,
	})
	s.Changelog = n.Logical.Changelog() != planner.InsertOnly
	return s, err
}

// physicalizeJoin chooses the join operator: a lookup join for FOR
// SYSTEM_TIME AS OF a proctime, a temporal join for FOR SYSTEM_TIME AS OF
// a rowtime, an interval join when the condition bounds the
// distance between the inputs' time attributes, a regular join otherwise.
func physicalizeJoin(j *planner.Join, cfg Config) (PhysicalNode, error) {
	left, err := Physicalize(j.Left, cfg)
	if err != nil {
		return nil, err
	}
	right, err := Physicalize(j.Right, cfg)
	if err != nil {
		return nil, err
	}
	if j.Lookup {
		return physicalizeLookupJoin(j, left, right, cfg), nil
	}
	nl := j.Left.Schema().Len()
	lk, rk, rest := splitEquiConditions(j.Condition, nl)
	par := cfg.Parallelism
	if len(lk) == 0 {
		par = 1
	}
	l, r := hashExchange(left, lk, par), hashExchange(right, rk, par)
	if j.SystemTime >= 0 {
		if len(lk) == 0 {
			// Flink's message: the versioned table is looked up by its
			// primary key, which the condition must equate to the left.
			return nil, errs.New(errs.InvalidPlan, "temporal table join requires an equality condition on fields of the versioned table's primary key, not %s",
				conditionString(j.Condition))
		}
		rt := -1
		for i, c := range j.Right.Schema().Columns {
			if c.Type.TimeAttr == types.RowtimeAttr {
				rt = i
			}
		}
		return &StreamTemporalJoin{Logical: j, Left: l, Right: r, LeftKeys: lk, RightKeys: rk, RightTime: rt, Condition: rest}, nil
	}
	if j.Interval {
		ls, rs := intervalJoinSchemas(j)
		if ib, ok := intervalBounds(rest, ls, rs); ok {
			return &StreamIntervalJoin{
				Logical: j, Left: l, Right: r, LeftKeys: lk, RightKeys: rk,
				LeftTime: ib.leftTime, RightTime: ib.rightTime, LowerBound: ib.lower, UpperBound: ib.upper,
				Condition: ib.rest, ProcTime: ib.procTime,
				LeftGrid: windowEndGrid(j.Left, ib.leftTime), RightGrid: windowEndGrid(j.Right, ib.rightTime),
			}, nil
		}
	}
	sj := &StreamJoin{Logical: j, Left: l, Right: r, LeftKeys: lk, RightKeys: rk, Condition: rest, StateTTLMillis: cfg.StateTTLMillis,
		LeftUniqueKey: joinStateKey(UpsertKeys(j.Left), lk), RightUniqueKey: joinStateKey(UpsertKeys(j.Right), rk)}
	if j.HasStateTTL[0] || j.HasStateTTL[1] {
		// An input the hint does not name keeps table.exec.state.ttl.
		sj.InputStateTTLMillis = []int64{cfg.StateTTLMillis, cfg.StateTTLMillis}
		for i := range 2 {
			if j.HasStateTTL[i] {
				sj.InputStateTTLMillis[i] = j.StateTTLMillis[i]
			}
		}
	}
	return sj, nil
}

// joinStateKey picks, among an input's upsert keys (Flink's uniqueKeys
// of StreamPhysicalJoin: the keys of the input below its hash exchange),
// the one a regular join keys the input's state by, as Flink's
// JoinUtil.analyzeJoinInput: a key within the join keys (one row per join
// key), else the smallest key. Among the smallest, one containing the
// join keys comes first: only such an input may send +U without its -U
// (changelog_mode.go), and its replaced row is then found by that key.
// nil when the input has no upsert key.
func joinStateKey(keys [][]int, joinKeys []int) []int {
	var best []int
	for _, k := range keys {
		if containsAll(joinKeys, k) {
			return k
		}
		switch {
		case best == nil, len(k) < len(best):
			best = k
		case len(k) == len(best) && containsAll(k, joinKeys) && !containsAll(best, joinKeys):
			best = k
		}
	}
	return best
}

func conditionString(e expr.Expr) string {
	if e == nil {
		return "TRUE"
	}
	return e.String()
}

// conjuncts splits a condition at its top-level ANDs.
func conjuncts(e expr.Expr) []expr.Expr {
	if e == nil {
		return nil
	}
	if c, ok := e.(*expr.Call); ok && c.Func == "AND" {
		return append(conjuncts(c.Args[0]), conjuncts(c.Args[1])...)
	}
	return []expr.Expr{e}
}

func conjoin(es []expr.Expr) expr.Expr {
	var out expr.Expr
	for _, e := range es {
		if out == nil {
			out = e
		} else {
			out = and(out, e)
		}
	}
	return out
}

// splitEquiConditions takes the left.col = right.col conjuncts out of a
// join condition over nl left columns followed by the right ones.
func splitEquiConditions(cond expr.Expr, nl int) (left, right []int, rest expr.Expr) {
	var others []expr.Expr
	for _, c := range conjuncts(cond) {
		call, ok := c.(*expr.Call)
		if ok && call.Func == "=" {
			a, aok := call.Args[0].(*expr.ColumnRef)
			b, bok := call.Args[1].(*expr.ColumnRef)
			if aok && bok && a.T.EqualIgnoringNull(b.T) {
				if a.Index < nl && b.Index >= nl {
					left, right = append(left, a.Index), append(right, b.Index-nl)
					continue
				}
				if b.Index < nl && a.Index >= nl {
					left, right = append(left, b.Index), append(right, a.Index-nl)
					continue
				}
			}
		}
		others = append(others, c)
	}
	return left, right, conjoin(others)
}

type interval struct {
	leftTime, rightTime int
	lower, upper        int64
	procTime            bool
	rest                expr.Expr
}

// intervalBounds finds, among the conjuncts of cond, a lower and an upper
// bound on l.t - r.t for time attributes l.t and r.t of the same kind
// (l.t >= r.t - INTERVAL ..., l.t < r.t + INTERVAL ..., BETWEEN ...).
func intervalBounds(cond expr.Expr, ls, rs types.Schema) (interval, bool) {
	iv := interval{leftTime: -1, rightTime: -1}
	haveLower, haveUpper := false, false
	var rest []expr.Expr
	for _, c := range conjuncts(cond) {
		lt, rt, op, offset, ok := timeComparison(c, ls, rs)
		if !ok || (iv.leftTime >= 0 && (lt != iv.leftTime || rt != iv.rightTime)) {
			rest = append(rest, c)
			continue
		}
		iv.leftTime, iv.rightTime = lt, rt
		iv.procTime = ls.Columns[lt].Type.TimeAttr == types.ProctimeAttr
		// The comparison reads l.t op r.t + offset, i.e. l.t - r.t op offset.
		switch op {
		case ">=":
			iv.lower, haveLower = offset, true
		case ">":
			iv.lower, haveLower = offset+1, true
		case "<=":
			iv.upper, haveUpper = offset, true
		case "<":
			iv.upper, haveUpper = offset-1, true
		}
	}
	if !haveLower || !haveUpper {
		return interval{}, false
	}
	iv.rest = conjoin(rest)
	return iv, true
}

// timeComparison recognizes l.t op r.t [+|- interval] with both sides time
// attributes of the same kind, normalized to l.t op r.t + offset.
func timeComparison(e expr.Expr, ls, rs types.Schema) (lt, rt int, op string, offset int64, ok bool) {
	call, isCall := e.(*expr.Call)
	if !isCall || len(call.Args) != 2 {
		return
	}
	flip := map[string]string{">=": "<=", ">": "<", "<=": ">=", "<": ">"}
	op = call.Func
	if _, cmp := flip[op]; !cmp {
		return
	}
	nl := ls.Len()
	a, aoff, aok := timeTerm(call.Args[0])
	b, boff, bok := timeTerm(call.Args[1])
	if !aok || !bok {
		return
	}
	// Orient as left op right.
	if a >= nl && b < nl {
		a, b, aoff, boff, op = b, a, boff, aoff, flip[op]
	}
	if a >= nl || b < nl {
		return
	}
	la, ra := ls.Columns[a].Type.TimeAttr, rs.Columns[b-nl].Type.TimeAttr
	if la == types.NoTimeAttr || la != ra {
		return
	}
	// l.t + aoff op r.t + boff  =>  l.t op r.t + (boff - aoff)
	return a, b - nl, op, boff - aoff, true
}

// timeTerm recognizes col, col + interval and col - interval; the caller
// checks that col is a time attribute of its input.
func timeTerm(e expr.Expr) (col int, offset int64, ok bool) {
	switch n := e.(type) {
	case *expr.ColumnRef:
		return n.Index, 0, n.T.IsTimestamp()
	case *expr.Call:
		if (n.Func == "+" || n.Func == "-") && len(n.Args) == 2 {
			c, cok := n.Args[0].(*expr.ColumnRef)
			l, lok := n.Args[1].(*expr.Literal)
			if cok && lok && c.T.IsTimestamp() && l.T.Kind == types.IntervalDayTime && l.Value != nil {
				ms := l.Value.(int64)
				if n.Func == "-" {
					ms = -ms
				}
				return c.Index, ms, true
			}
		}
	}
	return 0, 0, false
}
