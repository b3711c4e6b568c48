package expr

import "github.com/eddysql/eddy/catalog/types"

// (start1, end1) OVERLAPS (start2, end2), which the SQL front end writes as
// OVERLAPS(start1, end1, start2, end2), is whether two periods of time
// share an instant. An end may be an interval, the period's length. As
// Calcite expands it (and so Flink), each period's points are put in
// order, s <= e, and the periods overlap when e1 >= s2 AND e2 >= s1; the
// expansion is the whole implementation.
func init() {
	register(&funcDef{name: "OVERLAPS", resolve: resolveOverlaps})
}

func resolveOverlaps(name string, args []Expr) (Expr, error) {
	if err := arity(name, args, 4, 4); err != nil {
		return nil, err
	}
	temporal := func(e Expr) bool { t := e.Type(); return t.IsTemporal() || t.Kind == types.Null }
	// period returns the ordered points (s, e) of (start, end).
	period := func(start, end Expr) (Expr, Expr, error) {
		if !temporal(start) {
			return nil, nil, typeError(name, args)
		}
		if !temporal(end) {
			var err error
			if end, err = Resolve("+", []Expr{start, end}); err != nil {
				return nil, nil, typeError(name, args)
			}
		}
		le, err := Resolve("<=", []Expr{start, end})
		if err != nil {
			return nil, nil, typeError(name, args)
		}
		s, err := Resolve("CASE", []Expr{le, start, end})
		if err != nil {
			return nil, nil, err
		}
		e, err := Resolve("CASE", []Expr{le, end, start})
		if err != nil {
			return nil, nil, err
		}
		return s, e, nil
	}
	s1, e1, err := period(args[0], args[1])
	if err != nil {
		return nil, err
	}
	s2, e2, err := period(args[2], args[3])
	if err != nil {
		return nil, err
	}
	a, err := Resolve(">=", []Expr{e1, s2})
	if err != nil {
		return nil, typeError(name, args)
	}
	b, err := Resolve(">=", []Expr{e2, s1})
	if err != nil {
		return nil, typeError(name, args)
	}
	return Resolve("AND", []Expr{a, b})
}
