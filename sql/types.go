package sql

import "strconv"

// typeAliases folds Flink type spellings onto canonical names.
var typeAliases = map[string]string{
	"BOOLEAN": "BOOLEAN", "BOOL": "BOOLEAN", "TINYINT": "TINYINT", "SMALLINT": "SMALLINT",
	"INT": "INT", "INTEGER": "INT", "BIGINT": "BIGINT", "FLOAT": "FLOAT", "REAL": "FLOAT",
	"DOUBLE": "DOUBLE", "DECIMAL": "DECIMAL", "DEC": "DECIMAL", "NUMERIC": "DECIMAL",
	"CHAR": "CHAR", "CHARACTER": "CHAR", "VARCHAR": "VARCHAR", "STRING": "STRING",
	"BINARY": "BINARY", "VARBINARY": "VARBINARY", "BYTES": "BYTES", "DATE": "DATE",
	"TIME": "TIME", "TIMESTAMP": "TIMESTAMP", "TIMESTAMP_LTZ": "TIMESTAMP_LTZ",
	"INTERVAL": "INTERVAL", "ARRAY": "ARRAY", "MULTISET": "MULTISET", "MAP": "MAP",
	"ROW": "ROW", "NULL": "NULL", "VARIANT": "VARIANT",
}

// maxTypeParams is how many parenthesized parameters each type accepts.
var maxTypeParams = map[string]int{
	"DECIMAL": 2, "CHAR": 1, "VARCHAR": 1, "BINARY": 1, "VARBINARY": 1,
	"TIME": 1, "TIMESTAMP": 1, "TIMESTAMP_LTZ": 1,
}

var intervalUnits = map[string]bool{
	"YEAR": true, "MONTH": true, "DAY": true, "HOUR": true, "MINUTE": true, "SECOND": true,
}

// parseType parses a Flink data type at the parser's current token.
func (p *parser) parseType() (*TypeName, error) {
	t := p.peek()
	if !t.isIdent() || t.kind == tkQuoted {
		return nil, p.errorf(t, "expected a data type")
	}
	name, ok := typeAliases[t.upper]
	if !ok {
		return nil, p.errorf(t, "unknown data type %s", t.val)
	}
	p.next()
	typ := &TypeName{Pos: t.pos, Name: name}
	var err error
	switch name {
	case "DOUBLE":
		p.accept("PRECISION")
	case "CHAR":
		if t.upper == "CHARACTER" && p.accept("VARYING") {
			typ.Name = "VARCHAR"
		}
	case "ARRAY", "MULTISET":
		if !p.acceptOp("<") {
			return nil, p.errorf(p.peek(), "expected < after %s", name)
		}
		if typ.Elem, err = p.parseType(); err != nil {
			return nil, err
		}
		if err := p.expectCloseAngle(); err != nil {
			return nil, err
		}
	case "MAP":
		if !p.acceptOp("<") {
			return nil, p.errorf(p.peek(), "expected < after MAP")
		}
		if typ.Key, err = p.parseType(); err != nil {
			return nil, err
		}
		if err := p.expectOp(","); err != nil {
			return nil, err
		}
		if typ.Value, err = p.parseType(); err != nil {
			return nil, err
		}
		if err := p.expectCloseAngle(); err != nil {
			return nil, err
		}
	case "ROW":
		if err := p.parseRowFields(typ); err != nil {
			return nil, err
		}
	case "INTERVAL":
		if err := p.parseIntervalType(typ); err != nil {
			return nil, err
		}
	}
	if max, ok := maxTypeParams[typ.Name]; ok && p.peek().isOp("(") {
		if typ.Params, err = p.parseTypeParams(max); err != nil {
			return nil, err
		}
	}
	if typ.Name == "TIMESTAMP" || typ.Name == "TIME" {
		switch {
		case p.peek().is("WITHOUT"):
			p.next()
			if err := p.expectWords("TIME", "ZONE"); err != nil {
				return nil, err
			}
		case p.peek().is("WITH"):
			w := p.next()
			if typ.Name != "TIMESTAMP" || !p.accept("LOCAL") {
				return nil, p.errorf(w, "only TIMESTAMP WITH LOCAL TIME ZONE is supported")
			}
			if err := p.expectWords("TIME", "ZONE"); err != nil {
				return nil, err
			}
			typ.Name = "TIMESTAMP_LTZ"
		}
	}
	// Suffix collection forms: INT ARRAY, STRING MULTISET.
	for p.peek().is("ARRAY") || p.peek().is("MULTISET") {
		w := p.next()
		typ = &TypeName{Pos: typ.Pos, Name: w.upper, Elem: typ}
	}
	if p.peek().is("NOT") && p.peekAt(1).is("NULL") {
		p.next()
		p.next()
		typ.NotNull = true
	} else if p.peek().is("NULL") && typ.Name != "NULL" {
		p.next()
	}
	return typ, nil
}

// expectCloseAngle consumes the '>' closing a type parameter list. Nested
// types end in '>>', which the lexer reads as one token: consume half of it.
func (p *parser) expectCloseAngle() error {
	if t := p.peek(); t.isOp(">>") {
		p.toks[p.i] = token{kind: tkOp, pos: t.pos + 1, end: t.end, val: ">"}
		return nil
	}
	return p.expectOp(">")
}

func (p *parser) parseTypeParams(max int) ([]int, error) {
	open := p.next()
	var params []int
	for {
		t := p.peek()
		if t.kind != tkNumber {
			return nil, p.errorf(t, "expected an integer type parameter")
		}
		n, err := strconv.Atoi(t.val)
		if err != nil || n < 0 {
			return nil, p.errorf(t, "invalid type parameter %s", t.val)
		}
		p.next()
		params = append(params, n)
		if !p.acceptOp(",") {
			break
		}
	}
	if len(params) > max {
		return nil, p.errorf(open, "too many type parameters")
	}
	return params, p.expectOp(")")
}

// parseRowFields parses ROW<a INT, b STRING 'comment'> or ROW(a INT, ...).
func (p *parser) parseRowFields(typ *TypeName) error {
	closer := ")"
	switch {
	case p.acceptOp("<"):
		closer = ">"
	case p.acceptOp("("):
	default:
		return p.errorf(p.peek(), "expected < or ( after ROW")
	}
	if p.acceptOp(closer) {
		return nil
	}
	for {
		t := p.peek()
		if !t.isIdent() {
			return p.errorf(t, "expected a field name")
		}
		p.next()
		ft, err := p.parseType()
		if err != nil {
			return err
		}
		f := RowField{Pos: t.pos, Name: t.val, Type: ft}
		if p.peek().kind == tkString {
			f.Comment = p.next().val
		}
		typ.Fields = append(typ.Fields, f)
		if !p.acceptOp(",") {
			break
		}
	}
	if closer == ">" {
		return p.expectCloseAngle()
	}
	return p.expectOp(closer)
}

// parseIntervalType parses the unit part of INTERVAL DAY(2) TO SECOND(3).
func (p *parser) parseIntervalType(typ *TypeName) error {
	t := p.peek()
	if !intervalUnits[t.upper] || t.kind != tkWord {
		return p.errorf(t, "expected an interval unit")
	}
	p.next()
	typ.FromUnit = t.upper
	var err error
	if p.peek().isOp("(") {
		if typ.Params, err = p.parseTypeParams(2); err != nil {
			return err
		}
	}
	if p.accept("TO") {
		u := p.peek()
		if !intervalUnits[u.upper] || u.kind != tkWord {
			return p.errorf(u, "expected an interval unit")
		}
		p.next()
		typ.ToUnit = u.upper
		if p.peek().isOp("(") {
			ps, err := p.parseTypeParams(1)
			if err != nil {
				return err
			}
			if typ.Params == nil {
				typ.Params = []int{}
			}
			typ.Params = append(typ.Params, ps...)
		}
	}
	return nil
}
