package sql

import (
	"slices"
	"strings"
)

// This file holds the special syntax of Flink's built-in functions that
// TiDB's grammar does not have: OVERLAY(s PLACING r FROM pos [FOR len]),
// the predicate s IS [NOT] JSON [VALUE | SCALAR | ARRAY | OBJECT],
// JSON_EXISTS(json, path {TRUE | FALSE | UNKNOWN | ERROR} ON ERROR) and the
// function REGEXP(s, regex), whose name TiDB reserves for MySQL's infix
// operator. Each becomes a plain *FuncCall that formatSpecialCall prints
// back in Flink's syntax. A simple CASE with lists of values in its WHENs
// becomes a searched *Case.

// isJSONName is the call s IS JSON [kind] becomes: "IS JSON"(s[, 'KIND']),
// exec/expr's name for it. IS NOT JSON is NOT applied to it, as Calcite
// expands it.
const isJSONName = "IS JSON"

// The words of IS JSON kinds and JSON_EXISTS's ON ERROR behaviors.
var (
	isJSONKinds         = map[string]bool{"VALUE": true, "SCALAR": true, "ARRAY": true, "OBJECT": true}
	jsonExistsBehaviors = map[string]bool{"TRUE": true, "FALSE": true, "UNKNOWN": true, "ERROR": true}
)

// isJSONPlaceOffset is where the placeholder of "<=> x" starts, which
// replaces IS [NOT] JSON (7 bytes at least).
const isJSONPlaceOffset = 4

// isJSONPred carries IS [NOT] JSON [kind] to the converter as the right
// operand of the <=> it was rewritten to.
type isJSONPred struct {
	hidden
	kind    string // "" when the predicate names no kind (VALUE)
	kindPos Pos
	not     bool
}

// endsOperand reports whether t can end an operand, so that a following
// REGEXP is MySQL's infix operator rather than Flink's function.
func endsOperand(t token) bool {
	switch t.kind {
	case tkString, tkNumber, tkQuoted, tkParam:
		return true
	case tkOp:
		return t.isOp(")") || t.isOp("]")
	case tkWord:
		// A column, a literal word (NULL, TRUE) or END; keywords that
		// precede an operand are in notCallNames.
		return !notCallNames[t.upper]
	}
	return false
}

// topLevel returns the index of the first token in [lo, hi) outside
// brackets that is the word kw, or -1.
func (r *rewriter) topLevel(lo, hi int, kw string) int {
	depth := 0
	for j := lo; j < hi; j++ {
		switch t := r.p.toks[j]; {
		case t.isOp("(") || t.isOp("["):
			depth++
		case t.isOp(")") || t.isOp("]"):
			depth--
		case depth == 0 && t.is(kw):
			return j
		}
	}
	return -1
}

// overlay replaces OVERLAY(s PLACING r FROM pos [FOR len]) at i with the
// call OVERLAY(s, r, pos[, len]). A call without PLACING is left to TiDB
// as any function call.
func (r *rewriter) overlay(i int) (int, error) {
	p := r.p
	end, err := r.closeOf(i + 1)
	if err != nil {
		return 0, err
	}
	placing := r.topLevel(i+2, end, "PLACING")
	if placing < 0 {
		return i, nil
	}
	from := r.topLevel(placing+1, end, "FROM")
	if placing == i+2 || from < 0 || from == placing+1 {
		return 0, r.errorf(i, "expected OVERLAY(string PLACING string FROM position [FOR length])")
	}
	bounds := [][2]int{{i + 2, placing}, {placing + 1, from}}
	if f := r.topLevel(from+1, end, "FOR"); f >= 0 {
		bounds = append(bounds, [2]int{from + 1, f}, [2]int{f + 1, end})
	} else {
		bounds = append(bounds, [2]int{from + 1, end})
	}
	args := make([]Expr, len(bounds))
	for k, b := range bounds {
		if b[0] == b[1] {
			return 0, r.errorf(b[1], "expected an expression")
		}
		if args[k], err = p.parseExpr(b[0], b[1]); err != nil {
			return 0, err
		}
	}
	r.placeExpr(i, end, &FuncCall{Pos: p.toks[i].pos, Name: "OVERLAY", Args: args})
	return end, nil
}

// jsonExists replaces JSON_EXISTS(json, path {TRUE | FALSE | UNKNOWN |
// ERROR} ON ERROR) at i with the call JSON_EXISTS(json, path, 'BEHAVIOR').
// A call without the clause is left to TiDB as any function call.
func (r *rewriter) jsonExists(i int) (int, error) {
	p := r.p
	end, err := r.closeOf(i + 1)
	if err != nil {
		return 0, err
	}
	k := end - 3
	if k <= i+2 || !p.toks[k+1].is("ON") || !p.toks[k+2].is("ERROR") {
		return i, nil
	}
	b := p.toks[k]
	if b.kind != tkWord || !jsonExistsBehaviors[b.upper] {
		return 0, r.errorf(k, "expected TRUE, FALSE, UNKNOWN or ERROR before ON ERROR")
	}
	args, err := p.parseExprList(i+2, k)
	if err != nil {
		return 0, err
	}
	if len(args) != 2 {
		return 0, r.errorf(i, "expected JSON_EXISTS(json, path [{TRUE | FALSE | UNKNOWN | ERROR} ON ERROR])")
	}
	args = append(args, &Literal{Pos: b.pos, Kind: StringLit, Text: b.upper})
	r.placeExpr(i, end, &FuncCall{Pos: p.toks[i].pos, Name: "JSON_EXISTS", Args: args})
	return end, nil
}

// isJSON rewrites IS [NOT] JSON [VALUE | SCALAR | ARRAY | OBJECT] at i to
// "<=> x", x a placeholder for an isJSONPred: <=> has the precedence of IS
// in TiDB's grammar, so the operand is what it is for IS NULL, and the
// converter (isJSONCall) turns the comparison into the predicate.
func (r *rewriter) isJSON(i int) (int, error) {
	p := r.p
	pred := &isJSONPred{hidden: hidden{pos: p.toks[i].pos}}
	j := i + 1
	if r.tok(j).is("NOT") {
		pred.not = true
		j++
	}
	last := j // the JSON token
	if k := r.tok(j + 1); k.kind == tkWord && isJSONKinds[k.upper] {
		pred.kind, pred.kindPos = k.upper, k.pos
		last = j + 1
	}
	from, to := p.toks[i].pos, r.tok(last).end
	p.places = append(p.places, pred)
	p.markers[from+isJSONPlaceOffset] = marker{kind: markPlace, n: len(p.places) - 1, end: to}
	r.place(from, to, "<=> x")
	return last, nil
}

// isJSONCall returns the predicate for a <=> whose right operand is an
// isJSONPred placeholder, or nil.
func (c *conv) isJSONCall(pos Pos, left Expr, right Expr) Expr {
	pred, ok := right.(*isJSONPred)
	if !ok {
		return nil
	}
	c.skip(c.p.markers[pred.pos+isJSONPlaceOffset])
	args := []Expr{left}
	if pred.kind != "" {
		args = append(args, &Literal{Pos: pred.kindPos, Kind: StringLit, Text: pred.kind})
	}
	var e Expr = &FuncCall{Pos: pos, Name: isJSONName, Args: args}
	if pred.not {
		e = &Unary{Pos: pos, Op: Not, Expr: e}
	}
	return e
}

// formatSpecialCall prints the calls of this file in Flink's syntax, which
// parses back to them, and reports whether e was one.
func formatSpecialCall(b *strings.Builder, e *FuncCall) bool {
	if e.Distinct || e.Star || e.Filter != nil || e.Over != nil || e.OverName != "" {
		return false
	}
	switch {
	case e.Name == "OVERLAY" && (len(e.Args) == 3 || len(e.Args) == 4):
		b.WriteString("OVERLAY(")
		formatExpr(b, e.Args[0])
		b.WriteString(" PLACING ")
		formatExpr(b, e.Args[1])
		b.WriteString(" FROM ")
		formatExpr(b, e.Args[2])
		if len(e.Args) == 4 {
			b.WriteString(" FOR ")
			formatExpr(b, e.Args[3])
		}
		b.WriteByte(')')
		return true
	case e.Name == "JSON_EXISTS" && len(e.Args) == 3:
		l, ok := e.Args[2].(*Literal)
		if !ok || l.Kind != StringLit || !jsonExistsBehaviors[l.Text] {
			return false
		}
		b.WriteString("JSON_EXISTS(")
		formatList(b, e.Args[:2])
		b.WriteString(" " + l.Text + " ON ERROR)")
		return true
	case e.Name == "JSON_OBJECT" && len(e.Args)%2 == 0 && slices.ContainsFunc(e.Args, isJSONText):
		// With a JSON(s) value only the KEY ... VALUE syntax parses back.
		b.WriteString("JSON_OBJECT(")
		for i := 0; i < len(e.Args); i += 2 {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("KEY ")
			formatExpr(b, e.Args[i])
			b.WriteString(" VALUE ")
			formatExpr(b, e.Args[i+1])
		}
		b.WriteByte(')')
		return true
	case e.Name == isJSONName && (len(e.Args) == 1 || len(e.Args) == 2):
		kind := ""
		if len(e.Args) == 2 {
			l, ok := e.Args[1].(*Literal)
			if !ok || l.Kind != StringLit || !isJSONKinds[strings.ToUpper(l.Text)] {
				return false
			}
			kind = " " + strings.ToUpper(l.Text)
		}
		b.WriteByte('(')
		formatExpr(b, e.Args[0])
		b.WriteString(" IS JSON" + kind + ")")
		return true
	}
	return false
}

// caseList replaces CASE value WHEN v1 [, v2]* THEN r ... [ELSE e] END at
// i, a simple CASE with a list of values in some WHEN, with the searched
// CASE WHEN value = v1 OR value = v2 ... THEN r that Calcite's
// SqlCase.createSwitched builds. A CASE without such a list is left to
// TiDB.
func (r *rewriter) caseList(i int) (int, error) {
	p := r.p
	// The clauses of this CASE: the words at bracket depth 0 outside
	// nested CASE ... END.
	var whens, thens []int
	els, end := -1, -1
	depth, nested := 0, 0
	for j := i + 1; j < r.hi && end < 0; j++ {
		t := p.toks[j]
		switch {
		case t.isOp("(") || t.isOp("["):
			depth++
		case t.isOp(")") || t.isOp("]"):
			depth--
		case depth != 0:
		case t.is("CASE"):
			nested++
		case t.is("END") && nested > 0:
			nested--
		case nested > 0:
		case t.is("END"):
			end = j
		case t.is("WHEN"):
			whens = append(whens, j)
		case t.is("THEN"):
			thens = append(thens, j)
		case t.is("ELSE"):
			els = j
		}
		if depth < 0 {
			break
		}
	}
	// Anything but a well-formed simple CASE with a list is TiDB's to
	// parse or refuse.
	if end < 0 || len(whens) == 0 || whens[0] == i+1 || len(thens) != len(whens) {
		return i, nil
	}
	list := false
	for k, w := range whens {
		if thens[k] <= w+1 || k+1 < len(whens) && whens[k+1] <= thens[k]+1 || els >= 0 && els < thens[k] {
			return i, nil
		}
		list = list || r.topLevelComma(w+1, thens[k])
	}
	if !list {
		return i, nil
	}
	pos := p.toks[i].pos
	operand, err := p.parseExpr(i+1, whens[0])
	if err != nil {
		return 0, err
	}
	c := &Case{Pos: pos}
	for k, w := range whens {
		resEnd := end
		switch {
		case k+1 < len(whens):
			resEnd = whens[k+1]
		case els >= 0:
			resEnd = els
		}
		if resEnd == thens[k]+1 {
			return 0, r.errorf(thens[k], "expected an expression after THEN")
		}
		values, err := p.parseExprList(w+1, thens[k])
		if err != nil {
			return 0, err
		}
		var cond Expr
		for _, v := range values {
			var eq Expr = &Binary{Pos: operand.Position(), Op: Eq, Left: operand, Right: v}
			if cond == nil {
				cond = eq
			} else {
				cond = &Binary{Pos: cond.Position(), Op: Or, Left: cond, Right: eq}
			}
		}
		res, err := p.parseExpr(thens[k]+1, resEnd)
		if err != nil {
			return 0, err
		}
		c.Whens = append(c.Whens, When{Cond: cond, Result: res})
	}
	if els >= 0 {
		if els+1 == end {
			return 0, r.errorf(els, "expected an expression after ELSE")
		}
		if c.Else, err = p.parseExpr(els+1, end); err != nil {
			return 0, err
		}
	}
	r.placeExpr(i, end, c)
	return end, nil
}

// topLevelComma reports whether tokens [lo, hi) hold a comma outside
// brackets.
func (r *rewriter) topLevelComma(lo, hi int) bool {
	depth := 0
	for j := lo; j < hi; j++ {
		switch t := r.p.toks[j]; {
		case t.isOp("(") || t.isOp("["):
			depth++
		case t.isOp(")") || t.isOp("]"):
			depth--
		case depth == 0 && t.isOp(","):
			return true
		}
	}
	return false
}

// jsonCtorValue parses a value of JSON_OBJECT or JSON_ARRAY in tokens [lo,
// hi): JSON(s), the pre-formatted JSON text the constructor inserts as it
// is, can stand only there; anything else is an expression.
func (r *rewriter) jsonCtorValue(lo, hi int) (Expr, error) {
	p := r.p
	if !p.toks[lo].is("JSON") || !p.toks[lo+1].isOp("(") || p.matchClose(lo+1, hi) != hi-1 {
		return p.parseExpr(lo, hi)
	}
	f := &FuncCall{Pos: p.toks[lo].pos, Name: "JSON"}
	if lo+2 < hi-1 {
		var err error
		if f.Args, err = p.parseExprList(lo+2, hi-1); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// isJSONText reports a JSON(s) call.
func isJSONText(e Expr) bool {
	f, ok := e.(*FuncCall)
	return ok && f.Name == "JSON"
}
