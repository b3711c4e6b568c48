package sql

import (
	"fmt"
	"strconv"
	"strings"
)

// parser holds the state for parsing one statement of a source text.
// Positions in tokens and errors are offsets into src (the whole script).
type parser struct {
	src  string
	toks []token
	i    int
	// dialect state for queries: see dialect.go.
	places  []Expr
	markers map[Pos]marker
	nparams int
	// match caches bracket partners for toks (see matchBrackets).
	match []int32
}

// ParseScript parses a script of statements separated by ';'. Empty
// statements are skipped; the last statement needs no ';'. All positions
// are offsets into src. BEGIN STATEMENT SET; ... END; and EXECUTE STATEMENT
// SET BEGIN ... END group INSERTs into a *StatementSet.
func ParseScript(src string) (script *Script, err error) {
	defer func() {
		if r := recover(); r != nil {
			// A panic here is a bug in this package (TiDB's own panics are
			// caught in runTiDB); the fuzz target fails on this message.
			script, err = nil, newError(src, 0, "internal error: %v", r)
		}
	}()
	toks, err := lex(src, 0, len(src))
	if err != nil {
		return nil, err
	}
	script = &Script{Source: src}
	var set *StatementSet
	var setStart Pos
	// explain is set while the statement set being collected is explained,
	// compile while it is compiled.
	var explain *Explain
	var compile *CompilePlan
	start := 0
	for i, t := range toks {
		if !t.isOp(";") && t.kind != tkEOF {
			continue
		}
		if i == start {
			start = i + 1
			continue
		}
		stmtToks := append(toks[start:i:i], token{kind: tkEOF, pos: t.pos, end: t.pos})
		start = i + 1
		p := &parser{src: src, toks: stmtToks}
		span := ScriptStmt{Start: stmtToks[0].pos, End: toks[i-1].end}
		switch {
		case set != nil && p.peek().is("END") && p.peekAt(1).kind == tkEOF:
			span.Start = setStart
			span.Stmt = set
			if explain != nil {
				explain.Stmt, span.Stmt = set, explain
			}
			if compile != nil {
				compile.Stmt, span.Stmt = set, compile
			}
			script.Stmts = append(script.Stmts, span)
			set, explain, compile = nil, nil, nil
			continue
		case set != nil:
			ins, err := p.parseSetMember()
			if err != nil {
				return nil, err
			}
			set.Inserts = append(set.Inserts, ins)
			continue
		case p.peek().is("BEGIN") && p.peekAt(1).is("STATEMENT") && p.peekAt(2).is("SET") && p.peekAt(3).kind == tkEOF:
			set, setStart = &StatementSet{Pos: span.Start}, span.Start
			continue
		case p.peek().is("EXECUTE") && p.peekAt(1).is("STATEMENT") && p.peekAt(2).is("SET") && p.peekAt(3).is("BEGIN"):
			p.i = 1
			if set, err = p.openStatementSet(span.Start); err != nil {
				return nil, err
			}
			setStart = span.Start
			continue
		case p.peek().is("EXPLAIN"):
			// EXPLAIN [details] [EXECUTE] STATEMENT SET BEGIN ...; END;
			e, err := p.parseExplainHead()
			if err != nil {
				return nil, err
			}
			p.accept("EXECUTE")
			if p.atStatementSetBegin() {
				if set, err = p.openStatementSet(p.peek().pos); err != nil {
					return nil, err
				}
				setStart, explain = span.Start, e
				continue
			}
			p.i = 0
		case p.peek().is("COMPILE"):
			// COMPILE [AND EXECUTE] PLAN 'path' ... FOR STATEMENT SET BEGIN ...; END;
			c, err := p.parseCompilePlanHead()
			if err != nil {
				return nil, err
			}
			if p.atStatementSetBegin() {
				if set, err = p.openStatementSet(p.peek().pos); err != nil {
					return nil, err
				}
				setStart, compile = span.Start, c
				continue
			}
			p.i = 0
		}
		if span.Stmt, err = p.parseStatement(); err != nil {
			return nil, err
		}
		script.Stmts = append(script.Stmts, span)
	}
	if set != nil {
		return nil, newError(src, setStart, "STATEMENT SET is missing its END")
	}
	return script, nil
}

// ParseStatement parses src as exactly one statement (a trailing ';' is
// allowed).
func ParseStatement(src string) (Statement, error) {
	s, err := ParseScript(src)
	if err != nil {
		return nil, err
	}
	switch len(s.Stmts) {
	case 0:
		return nil, newError(src, Pos(len(src)), "empty statement")
	case 1:
		return s.Stmts[0].Stmt, nil
	}
	return nil, newError(src, s.Stmts[1].Start, "expected one statement, found more")
}

// atStatementSetBegin reports whether STATEMENT SET BEGIN comes next.
func (p *parser) atStatementSetBegin() bool {
	return p.peek().is("STATEMENT") && p.peekAt(1).is("SET") && p.peekAt(2).is("BEGIN")
}

// openStatementSet starts the statement set at pos whose STATEMENT SET
// BEGIN comes next, and reads its first member.
func (p *parser) openStatementSet(pos Pos) (*StatementSet, error) {
	p.i += 3
	ins, err := p.parseSetMember()
	if err != nil {
		return nil, err
	}
	return &StatementSet{Pos: pos, Inserts: []*Insert{ins}}, nil
}

func (p *parser) parseSetMember() (*Insert, error) {
	t := p.peek()
	if !t.is("INSERT") {
		return nil, p.errorf(t, "a STATEMENT SET may only contain INSERT statements")
	}
	ins, err := p.parseInsert()
	if err != nil {
		return nil, err
	}
	if err := p.expectEnd(); err != nil {
		return nil, err
	}
	return ins, p.checkConsumed()
}

// ---------------------------------------------------------------------------
// token helpers

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) peekAt(n int) token {
	if p.i+n >= len(p.toks) {
		return p.toks[len(p.toks)-1]
	}
	return p.toks[p.i+n]
}

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tkEOF {
		p.i++
	}
	return t
}

func (p *parser) accept(kw string) bool {
	if p.peek().is(kw) {
		p.i++
		return true
	}
	return false
}

func (p *parser) acceptOp(op string) bool {
	if p.peek().isOp(op) {
		p.i++
		return true
	}
	return false
}

func (p *parser) expectOp(op string) error {
	if !p.acceptOp(op) {
		return p.errorf(p.peek(), "expected %q", op)
	}
	return nil
}

func (p *parser) expectWords(kws ...string) error {
	for _, kw := range kws {
		if !p.accept(kw) {
			return p.errorf(p.peek(), "expected %s", kw)
		}
	}
	return nil
}

// errorf reports an error at token t.
func (p *parser) errorf(t token, format string, args ...any) error {
	e := newError(p.src, t.pos, format, args...)
	if t.kind == tkEOF {
		e.Near = ""
	}
	return e
}

// expectEnd checks that the statement has no trailing tokens.
func (p *parser) expectEnd() error {
	if t := p.peek(); t.kind != tkEOF {
		return p.errorf(t, "unexpected %s after end of statement", describe(t))
	}
	return nil
}

func describe(t token) string {
	switch t.kind {
	case tkEOF:
		return "end of input"
	case tkString:
		return "string literal"
	case tkNumber:
		return "number"
	}
	return fmt.Sprintf("%q", t.val)
}

func (p *parser) parseIdent(what string) (token, error) {
	t := p.peek()
	if !t.isIdent() {
		return t, p.errorf(t, "expected %s", what)
	}
	p.next()
	return t, nil
}

func (p *parser) parseObjectName() (ObjectName, error) {
	t, err := p.parseIdent("an object name")
	if err != nil {
		return ObjectName{}, err
	}
	n := ObjectName{Pos: t.pos, Parts: []string{t.val}}
	for p.acceptOp(".") {
		t, err := p.parseIdent("an identifier after '.'")
		if err != nil {
			return ObjectName{}, err
		}
		n.Parts = append(n.Parts, t.val)
	}
	if len(n.Parts) > 3 {
		return ObjectName{}, newError(p.src, n.Pos, "object name has more than three parts")
	}
	return n, nil
}

// parseIdentList parses (a, b, c).
func (p *parser) parseIdentList() ([]string, error) {
	if err := p.expectOp("("); err != nil {
		return nil, err
	}
	var names []string
	for {
		t, err := p.parseIdent("a column name")
		if err != nil {
			return nil, err
		}
		names = append(names, t.val)
		if !p.acceptOp(",") {
			break
		}
	}
	return names, p.expectOp(")")
}

func (p *parser) parseString(what string) (string, error) {
	t := p.peek()
	if t.kind != tkString {
		return "", p.errorf(t, "expected %s as a quoted string", what)
	}
	p.next()
	return t.val, nil
}

// ---------------------------------------------------------------------------
// statements

func (p *parser) parseStatement() (Statement, error) {
	t := p.peek()
	var (
		s   Statement
		err error
	)
	switch {
	case t.is("SELECT") || t.is("WITH") || t.is("VALUES") || t.isOp("("):
		var q *Query
		q, err = p.parseQueryRest()
		s = &QueryStatement{Query: q}
	case t.is("INSERT"):
		s, err = p.parseInsert()
	case t.is("EXECUTE") && p.peekAt(1).is("INSERT"):
		p.next()
		s, err = p.parseInsert()
	case t.is("EXECUTE") && p.peekAt(1).is("PLAN"):
		s, err = p.parseExecutePlan()
	case t.is("COMPILE"):
		s, err = p.parseCompilePlan()
	case t.is("CREATE"):
		s, err = p.parseCreate()
	case t.is("DROP"):
		s, err = p.parseDrop()
	case t.is("SET"):
		s, err = p.parseSet()
	case t.is("RESET"):
		s, err = p.parseReset()
	case t.is("SHOW"):
		s, err = p.parseShow()
	case t.is("DESCRIBE") || t.is("DESC"):
		s, err = p.parseDescribe()
	case t.is("USE"):
		s, err = p.parseUse()
	case t.is("EXPLAIN"):
		s, err = p.parseExplain()
	case t.is("STOP"):
		s, err = p.parseStopJob()
	case t.is("SUBSCRIBE"):
		s, err = p.parseSubscribe()
	case t.is("ALTER"):
		s, err = p.parseAlter()
	case t.is("REPLACE") && p.peekAt(1).is("TABLE"):
		s, err = p.parseReplaceTable()
	case t.is("TRUNCATE"):
		s, err = p.parseTruncate()
	case t.is("DELETE") || t.is("UPDATE"):
		s, err = p.parseDML()
	default:
		return nil, p.errorf(t, "expected a statement (SELECT, INSERT, CREATE, ALTER, DROP, SET, RESET, SHOW, DESCRIBE, USE, EXPLAIN)")
	}
	if err != nil {
		return nil, err
	}
	if err := p.expectEnd(); err != nil {
		return nil, err
	}
	return s, p.checkConsumed()
}

func (p *parser) parseCreate() (Statement, error) {
	start := p.next()
	if p.peek().is("MATERIALIZED") && p.peekAt(1).is("VIEW") {
		p.i += 2
		return p.parseCreateMaterializedView(start.pos)
	}
	if p.peek().is("OR") && p.peekAt(1).is("REPLACE") && p.peekAt(2).is("TABLE") {
		p.i += 3
		return p.parseReplaceRest(start.pos, true)
	}
	temporary := p.accept("TEMPORARY")
	t := p.peek()
	switch {
	case t.is("TABLE"):
		p.next()
		return p.parseCreateTable(start.pos, temporary)
	case t.is("VIEW"):
		p.next()
		return p.parseCreateView(start.pos, temporary)
	case t.is("DATABASE") && !temporary:
		p.next()
		return p.parseCreateDatabase(start.pos)
	case t.is("CATALOG") && !temporary:
		p.next()
		return p.parseCreateCatalog(start.pos)
	case t.is("MODEL"):
		p.next()
		return p.parseCreateModel(start.pos, temporary)
	}
	return nil, p.errorf(t, "expected TABLE, VIEW, MODEL, DATABASE, CATALOG or MATERIALIZED VIEW after CREATE")
}

func (p *parser) parseCreateMaterializedView(pos Pos) (Statement, error) {
	mv := &CreateMaterializedView{Pos: pos}
	var err error
	if mv.IfNotExists, err = p.parseIfNotExists(); err != nil {
		return nil, err
	}
	if mv.Name, err = p.parseObjectName(); err != nil {
		return nil, err
	}
	if p.peek().isOp("(") {
		if mv.Columns, err = p.parseIdentList(); err != nil {
			return nil, err
		}
	}
	if p.accept("COMMENT") {
		if mv.Comment, err = p.parseString("the view comment"); err != nil {
			return nil, err
		}
	}
	if err := p.expectWords("AS"); err != nil {
		return nil, err
	}
	start := p.peek().pos
	if mv.Query, err = p.parseQueryRest(); err != nil {
		return nil, err
	}
	mv.QueryText = p.src[start:p.toks[len(p.toks)-2].end]
	return mv, nil
}

func (p *parser) parseIfNotExists() (bool, error) {
	if !p.peek().is("IF") {
		return false, nil
	}
	p.next()
	return true, p.expectWords("NOT", "EXISTS")
}

func (p *parser) parseCreateTable(pos Pos, temporary bool) (Statement, error) {
	ct := &CreateTable{Pos: pos, Temporary: temporary}
	var err error
	if ct.IfNotExists, err = p.parseIfNotExists(); err != nil {
		return nil, err
	}
	if ct.Name, err = p.parseObjectName(); err != nil {
		return nil, err
	}
	// The column list may be left out when LIKE or AS SELECT supplies
	// the columns.
	if p.peek().isOp("(") && p.peekAt(1).isIdent() && (p.peekAt(2).isOp(",") || p.peekAt(2).isOp(")")) {
		if ct.ColumnOrder, err = p.parseColumnOrder(); err != nil {
			return nil, err
		}
	} else if p.acceptOp("(") {
		for {
			if err := p.parseTableElement(ct); err != nil {
				return nil, err
			}
			if !p.acceptOp(",") {
				break
			}
		}
		if err := p.expectOp(")"); err != nil {
			return nil, err
		}
	}
	if p.accept("COMMENT") {
		if ct.Comment, err = p.parseString("the table comment"); err != nil {
			return nil, err
		}
	}
	if t := p.peek(); t.is("DISTRIBUTED") {
		if ct.Distribution, err = p.parseDistribution(); err != nil {
			return nil, err
		}
	}
	if p.accept("PARTITIONED") {
		if err := p.expectWords("BY"); err != nil {
			return nil, err
		}
		if ct.PartitionedBy, err = p.parseIdentList(); err != nil {
			return nil, err
		}
	}
	if p.accept("WITH") {
		if ct.Options, err = p.parseOptions(); err != nil {
			return nil, err
		}
	}
	if t := p.peek(); t.is("LIKE") {
		p.next()
		if ct.Like, err = p.parseTableLike(t.pos); err != nil {
			return nil, err
		}
	}
	if p.accept("AS") {
		if ct.Temporary {
			return nil, p.errorf(p.toks[p.i-1], "CREATE TEMPORARY TABLE AS SELECT is not supported: Flink creates CTAS tables in the catalog")
		}
		return p.parseTableQuery(ct)
	}
	if ct.ColumnOrder != nil {
		return nil, newError(p.src, ct.ColumnOrder[0].Pos, "a column list without types is only allowed with AS SELECT, whose columns it orders")
	}
	if ct.Columns == nil && ct.Like == nil && ct.Watermark == nil && ct.PrimaryKey == nil {
		return nil, p.errorf(p.peek(), "expected a column list, LIKE or AS SELECT")
	}
	return ct, nil
}

// parseDistribution parses DISTRIBUTED BY [HASH | RANGE] (k, ...) [INTO n
// BUCKETS] or DISTRIBUTED INTO n BUCKETS.
func (p *parser) parseDistribution() (*Distribution, error) {
	d := &Distribution{Pos: p.next().pos}
	var err error
	if p.accept("BY") {
		switch t := p.peek(); {
		case t.is("HASH"), t.is("RANGE"):
			d.Kind = t.upper
			p.next()
		}
		if d.Keys, err = p.parseIdentList(); err != nil {
			return nil, err
		}
		if !p.peek().is("INTO") {
			return d, nil
		}
	}
	if err := p.expectWords("INTO"); err != nil {
		return nil, err
	}
	t := p.peek()
	n, convErr := strconv.Atoi(t.val)
	if t.kind != tkNumber || convErr != nil || n < 1 {
		return nil, p.errorf(t, "expected a positive number of buckets")
	}
	p.next()
	d.Buckets = n
	return d, p.expectWords("BUCKETS")
}

func (p *parser) parseTableElement(ct *CreateTable) error {
	t := p.peek()
	switch {
	case t.is("WATERMARK"):
		p.next()
		if ct.Watermark != nil {
			return p.errorf(t, "a table can have only one WATERMARK")
		}
		if err := p.expectWords("FOR"); err != nil {
			return err
		}
		col, err := p.parseIdent("the rowtime column")
		if err != nil {
			return err
		}
		if err := p.expectWords("AS"); err != nil {
			return err
		}
		e, err := p.parseExprUntil(false)
		if err != nil {
			return err
		}
		ct.Watermark = &WatermarkDef{Pos: t.pos, Column: col.val, Expr: e}
		return nil
	case t.is("PRIMARY") || t.is("CONSTRAINT"):
		if p.accept("CONSTRAINT") {
			if _, err := p.parseIdent("a constraint name"); err != nil {
				return err
			}
		}
		pk := p.peek()
		if err := p.expectWords("PRIMARY", "KEY"); err != nil {
			return err
		}
		cols, err := p.parseIdentList()
		if err != nil {
			return err
		}
		return p.setPrimaryKey(ct, t, pk, cols)
	}
	name, err := p.parseIdent("a column definition")
	if err != nil {
		return err
	}
	col := ColumnDef{Pos: name.pos, Name: name.val}
	if p.accept("AS") {
		col.Kind = ComputedColumn
		if col.Expr, err = p.parseExprUntil(true); err != nil {
			return err
		}
	} else {
		if col.Type, err = p.parseType(); err != nil {
			return err
		}
		if p.accept("METADATA") {
			col.Kind = MetadataColumn
			if p.accept("FROM") {
				if col.MetadataKey, err = p.parseString("the metadata key"); err != nil {
					return err
				}
			}
			col.Virtual = p.accept("VIRTUAL")
		}
		if pk := p.peek(); pk.is("PRIMARY") {
			p.next()
			if err := p.expectWords("KEY"); err != nil {
				return err
			}
			if err := p.setPrimaryKey(ct, pk, pk, []string{name.val}); err != nil {
				return err
			}
		}
	}
	if p.accept("COMMENT") {
		if col.Comment, err = p.parseString("the column comment"); err != nil {
			return err
		}
	}
	ct.Columns = append(ct.Columns, col)
	return nil
}

// setPrimaryKey records a primary key after checking Flink's mandatory NOT
// ENFORCED: Flink never validates keys, so it insists the user says so.
func (p *parser) setPrimaryKey(ct *CreateTable, start, pk token, cols []string) error {
	if ct.PrimaryKey != nil {
		return p.errorf(pk, "a table can have only one PRIMARY KEY")
	}
	if !p.peek().is("NOT") || !p.peekAt(1).is("ENFORCED") {
		return p.errorf(p.peek(), "PRIMARY KEY must be declared NOT ENFORCED: Flink does not enforce key constraints")
	}
	p.next()
	p.next()
	ct.PrimaryKey, ct.PrimaryKeyPos = cols, start.pos
	return nil
}

func (p *parser) parseOptions() ([]Option, error) {
	if err := p.expectOp("("); err != nil {
		return nil, err
	}
	var opts []Option
	if p.acceptOp(")") {
		return nil, nil
	}
	for {
		t := p.peek()
		key, err := p.parseString("the option key")
		if err != nil {
			return nil, err
		}
		if err := p.expectOp("="); err != nil {
			return nil, err
		}
		val, err := p.parseString("the option value")
		if err != nil {
			return nil, err
		}
		opts = append(opts, Option{Pos: t.pos, Key: key, Value: val})
		if !p.acceptOp(",") {
			break
		}
	}
	return opts, p.expectOp(")")
}

func (p *parser) parseCreateView(pos Pos, temporary bool) (Statement, error) {
	cv := &CreateView{Pos: pos, Temporary: temporary}
	var err error
	if cv.IfNotExists, err = p.parseIfNotExists(); err != nil {
		return nil, err
	}
	if cv.Name, err = p.parseObjectName(); err != nil {
		return nil, err
	}
	if p.peek().isOp("(") {
		if cv.Columns, err = p.parseIdentList(); err != nil {
			return nil, err
		}
	}
	if p.accept("COMMENT") {
		if cv.Comment, err = p.parseString("the view comment"); err != nil {
			return nil, err
		}
	}
	if err := p.expectWords("AS"); err != nil {
		return nil, err
	}
	start := p.peek().pos
	if cv.Query, err = p.parseQueryRest(); err != nil {
		return nil, err
	}
	cv.QueryText = p.src[start:p.toks[len(p.toks)-2].end]
	return cv, nil
}

func (p *parser) parseDrop() (Statement, error) {
	start := p.next()
	materialized := p.peek().is("MATERIALIZED") && p.peekAt(1).is("VIEW")
	if materialized {
		p.next()
	}
	temporary := !materialized && p.accept("TEMPORARY")
	t := p.peek()
	if !temporary && !materialized && (t.is("DATABASE") || t.is("CATALOG")) {
		return p.parseDropDatabaseOrCatalog(start.pos)
	}
	if !materialized && t.is("MODEL") {
		p.next()
		return p.parseDropModel(start.pos, temporary)
	}
	if !t.is("TABLE") && !t.is("VIEW") {
		return nil, p.errorf(t, "expected TABLE, VIEW, MODEL, DATABASE, CATALOG or MATERIALIZED VIEW after DROP")
	}
	p.next()
	ifExists := false
	if p.accept("IF") {
		if err := p.expectWords("EXISTS"); err != nil {
			return nil, err
		}
		ifExists = true
	}
	name, err := p.parseObjectName()
	if err != nil {
		return nil, err
	}
	switch {
	case materialized:
		return &DropMaterializedView{Pos: start.pos, Name: name, IfExists: ifExists}, nil
	case t.is("TABLE"):
		return &DropTable{Pos: start.pos, Name: name, IfExists: ifExists, Temporary: temporary}, nil
	}
	return &DropView{Pos: start.pos, Name: name, IfExists: ifExists, Temporary: temporary}, nil
}

func (p *parser) parseInsert() (*Insert, error) {
	start := p.next()
	ins := &Insert{Pos: start.pos}
	switch t := p.peek(); {
	case t.is("INTO"):
		p.next()
	case t.is("OVERWRITE"):
		p.next()
		ins.Overwrite = true
	default:
		return nil, p.errorf(t, "expected INTO or OVERWRITE after INSERT")
	}
	var err error
	if ins.Table, err = p.parseObjectName(); err != nil {
		return nil, err
	}
	if ins.TableHints, err = p.hintsAfter(p.i - 1); err != nil {
		return nil, err
	}
	if p.accept("PARTITION") {
		if ins.Partition, err = p.parseStaticPartition(); err != nil {
			return nil, err
		}
	}
	// "(" starts a column list unless it opens a parenthesized query.
	if p.peek().isOp("(") && !p.peekAt(1).is("SELECT") && !p.peekAt(1).is("WITH") && !p.peekAt(1).is("VALUES") {
		if ins.Columns, err = p.parseIdentList(); err != nil {
			return nil, err
		}
	}
	hi := len(p.toks) - 1
	if ins.OnConflict, hi, err = p.trailingOnConflict(); err != nil {
		return nil, err
	}
	if p.i == hi {
		return nil, p.errorf(p.peek(), "expected a query")
	}
	lo := p.i
	if ins.Query, err = p.parseQuery(lo, hi); err != nil {
		return nil, err
	}
	p.i = len(p.toks) - 1
	return ins, nil
}

// trailingOnConflict finds an ON CONFLICT DO <action> ending the
// statement and returns the action and the index of its ON token, where
// the query ends (the EOF token without the clause).
func (p *parser) trailingOnConflict() (string, int, error) {
	end := len(p.toks) - 1
	if end-4 < p.i {
		return "", end, nil
	}
	on, conflict, do, action := p.toks[end-4], p.toks[end-3], p.toks[end-2], p.toks[end-1]
	if !on.is("ON") || !conflict.is("CONFLICT") || !do.is("DO") {
		return "", end, nil
	}
	switch {
	case action.is("NOTHING"), action.is("ERROR"), action.is("DEDUPLICATE"):
		return action.upper, end - 4, nil
	}
	return "", 0, p.errorf(action, "expected NOTHING, ERROR or DEDUPLICATE after ON CONFLICT DO")
}

// parseStaticPartition parses the (k = v, ...) after INSERT ... PARTITION.
func (p *parser) parseStaticPartition() ([]StaticPartition, error) {
	if err := p.expectOp("("); err != nil {
		return nil, err
	}
	var out []StaticPartition
	for {
		col, err := p.parseIdent("a partition column")
		if err != nil {
			return nil, err
		}
		if err := p.expectOp("="); err != nil {
			return nil, err
		}
		v, err := p.parseExprUntil(false)
		if err != nil {
			return nil, err
		}
		out = append(out, StaticPartition{Pos: col.pos, Column: col.val, Value: v})
		if !p.acceptOp(",") {
			break
		}
	}
	return out, p.expectOp(")")
}

// parseSetKey reads a configuration key: a quoted string or an unquoted
// dotted name such as parallelism.default or table.exec.mini-batch.enabled.
func (p *parser) parseSetKey(stop string) (string, error) {
	t := p.peek()
	if t.kind == tkString {
		p.next()
		return t.val, nil
	}
	if !t.isIdent() {
		return "", p.errorf(t, "expected a configuration key")
	}
	start := t.pos
	end := t.end
	for {
		c := p.peek()
		if c.kind == tkEOF || c.isOp(stop) || c.pos != end && c.pos != start {
			break
		}
		if c.kind != tkWord && c.kind != tkNumber && !c.isOp(".") && !c.isOp("-") {
			return "", p.errorf(c, "unexpected %s in configuration key", describe(c))
		}
		end = c.end
		p.next()
	}
	return p.src[start:end], nil
}

func (p *parser) parseSet() (Statement, error) {
	start := p.next()
	s := &Set{Pos: start.pos}
	if p.peek().kind == tkEOF {
		return s, nil
	}
	var err error
	if s.Key, err = p.parseSetKey("="); err != nil {
		return nil, err
	}
	if err := p.expectOp("="); err != nil {
		return nil, err
	}
	t := p.peek()
	switch {
	case t.kind == tkString:
		p.next()
		s.Value = t.val
	case t.kind == tkEOF:
		return nil, p.errorf(t, "expected a value after '='")
	default:
		// Unquoted values (4, true, streaming, 10 s) run to the end.
		last := p.toks[len(p.toks)-2]
		s.Value = strings.TrimSpace(p.src[t.pos:last.end])
		p.i = len(p.toks) - 1
	}
	return s, nil
}

func (p *parser) parseReset() (Statement, error) {
	start := p.next()
	r := &Reset{Pos: start.pos}
	if p.peek().kind == tkEOF {
		return r, nil
	}
	var err error
	r.Key, err = p.parseSetKey("")
	return r, err
}

var showWords = map[string]ShowKind{
	"TABLES": ShowTables, "VIEWS": ShowViews, "FUNCTIONS": ShowFunctions, "CATALOGS": ShowCatalogs,
	"DATABASES": ShowDatabases, "MODULES": ShowModules, "JOBS": ShowJobs, "PROCEDURES": ShowProcedures,
}

func (p *parser) parseShow() (Statement, error) {
	start := p.next()
	s := &Show{Pos: start.pos}
	t := p.next()
	var err error
	switch {
	case t.kind == tkWord && showWords[t.upper] != 0 || t.is("TABLES"):
		s.What = showWords[t.upper]
		return s, p.parseShowFiltered(s)
	case t.is("MODELS"):
		return p.parseShowModels(start.pos)
	case t.is("CREATE") && p.peek().is("MODEL"):
		p.next()
		name, err := p.parseObjectName()
		return &ShowCreateModel{Pos: start.pos, Name: name}, err
	case t.is("USER") && p.peek().is("FUNCTIONS"):
		p.next()
		s.What, s.User = ShowFunctions, true
		return s, p.parseShowFiltered(s)
	case t.is("FULL") && p.peek().is("MODULES"):
		p.next()
		s.What, s.Full = ShowModules, true
	case t.is("CREATE") && p.peek().is("CATALOG"):
		p.next()
		s.What = ShowCreateCatalog
		s.Name, err = p.parseCatalogName()
	case t.is("CURRENT") && p.peek().is("CATALOG"):
		p.next()
		s.What = ShowCurrentCatalog
	case t.is("CURRENT") && p.peek().is("DATABASE"):
		p.next()
		s.What = ShowCurrentDatabase
	case t.is("CREATE") && (p.peek().is("TABLE") || p.peek().is("VIEW")):
		s.What = ShowCreateTable
		if p.next().is("VIEW") {
			s.What = ShowCreateView
		}
		s.Name, err = p.parseObjectName()
	case t.is("PARTITIONS"):
		s.What = ShowPartitions
		if s.Name, err = p.parseObjectName(); err != nil {
			return nil, err
		}
		if p.accept("PARTITION") {
			var spec PartitionSpec
			spec, err = p.parsePartitionSpec()
			s.Partition = &spec
		}
	case t.is("COLUMNS"):
		if !p.accept("FROM") && !p.accept("IN") {
			return nil, p.errorf(p.peek(), "expected FROM or IN")
		}
		s.What = ShowColumns
		if s.Name, err = p.parseObjectName(); err != nil {
			return nil, err
		}
		err = p.parseShowLike(s)
	default:
		return nil, p.errorf(t, "expected TABLES, VIEWS, MODELS, FUNCTIONS, PROCEDURES, CATALOGS, DATABASES, [FULL] MODULES, JOBS, CURRENT CATALOG|DATABASE, CREATE TABLE|VIEW|MODEL|CATALOG, COLUMNS or PARTITIONS after SHOW")
	}
	return s, err
}

// parseShowFiltered parses the FROM|IN and [NOT] LIKE|ILIKE clauses of the
// SHOW statements that list names.
func (p *parser) parseShowFiltered(s *Show) error {
	switch s.What {
	case ShowModules, ShowJobs:
		return nil
	case ShowCatalogs:
		return p.parseShowLike(s)
	}
	if err := p.parseShowFrom(s); err != nil {
		return err
	}
	return p.parseShowLike(s)
}

func (p *parser) parseDescribe() (Statement, error) {
	start := p.next()
	if p.peek().is("JOB") && p.peekAt(1).kind == tkString {
		p.next()
		id := p.next()
		return &DescribeJob{Pos: start.pos, ID: id.val}, nil
	}
	if p.peek().is("MODEL") && p.peekAt(1).isIdent() {
		// DESCRIBE MODEL m; DESCRIBE model alone describes a table named
		// model.
		p.next()
		d := &DescribeModel{Pos: start.pos, Extended: p.accept("EXTENDED")}
		var err error
		d.Name, err = p.parseObjectName()
		return d, err
	}
	if p.peek().is("CATALOG") && p.peekAt(1).isIdent() {
		// DESCRIBE CATALOG c; DESCRIBE catalog alone describes a table
		// named catalog.
		p.next()
		d := &Describe{Pos: start.pos, Catalog: true, Extended: p.accept("EXTENDED")}
		var err error
		d.Name, err = p.parseCatalogName()
		return d, err
	}
	d := &Describe{Pos: start.pos, Extended: p.accept("EXTENDED")}
	var err error
	d.Name, err = p.parseObjectName()
	return d, err
}

func (p *parser) parseUse() (Statement, error) {
	start := p.next()
	u := &Use{Pos: start.pos}
	if t := p.peek(); t.is("CATALOG") && p.peekAt(1).kind != tkEOF {
		p.next()
		u.Catalog = true
	} else if t.is("MODULES") && p.peekAt(1).kind != tkEOF {
		return nil, p.errorf(t, "USE MODULES is not supported")
	}
	var err error
	u.Name, err = p.parseObjectName()
	if err == nil && u.Catalog && len(u.Name.Parts) != 1 {
		return nil, newError(p.src, u.Name.Pos, "a catalog name has one part")
	}
	return u, err
}

var explainDetails = map[string]bool{
	"CHANGELOG_MODE": true, "ESTIMATED_COST": true, "JSON_EXECUTION_PLAN": true, "PLAN_ADVICE": true,
}

// parseStopJob parses STOP JOB 'id' [WITH SAVEPOINT] [WITH DRAIN].
func (p *parser) parseStopJob() (Statement, error) {
	start := p.next()
	if err := p.expectWords("JOB"); err != nil {
		return nil, err
	}
	id, err := p.parseString("the job id")
	if err != nil {
		return nil, err
	}
	s := &StopJob{Pos: start.pos, ID: id}
	for p.accept("WITH") {
		switch t := p.next(); {
		case t.is("SAVEPOINT") && !s.WithSavepoint:
			s.WithSavepoint = true
		case t.is("DRAIN") && !s.WithDrain:
			if !s.WithSavepoint {
				return nil, p.errorf(t, "WITH DRAIN could only be used after WITH SAVEPOINT.")
			}
			s.WithDrain = true
		default:
			return nil, p.errorf(t, "expected SAVEPOINT or DRAIN after WITH")
		}
	}
	return s, nil
}

// parseSubscribe parses SUBSCRIBE [TO] name | SUBSCRIBE [TO] (query).
func (p *parser) parseSubscribe() (Statement, error) {
	start := p.next()
	s := &Subscribe{Pos: start.pos}
	p.accept("TO")
	if t := p.peek(); t.isOp("(") {
		last := len(p.toks) - 2
		if !p.toks[last].isOp(")") || p.matchClose(p.i, len(p.toks)) != last {
			return nil, p.errorf(t, "expected SUBSCRIBE (query) with nothing after the parenthesis")
		}
		if last == p.i+1 {
			return nil, p.errorf(p.toks[last], "expected a query")
		}
		q, err := p.parseQuery(p.i+1, last)
		if err != nil {
			return nil, err
		}
		s.Query = q
		p.i = last + 1
		return s, nil
	}
	var err error
	s.Name, err = p.parseObjectName()
	return s, err
}

// parseExplainHead parses EXPLAIN and its PLAN FOR or details.
func (p *parser) parseExplainHead() (*Explain, error) {
	start := p.next()
	e := &Explain{Pos: start.pos}
	if p.accept("PLAN") {
		if err := p.expectWords("FOR"); err != nil {
			return nil, err
		}
	} else {
		for t := p.peek(); t.kind == tkWord && explainDetails[t.upper]; t = p.peek() {
			e.Details = append(e.Details, t.upper)
			e.DetailPos = append(e.DetailPos, t.pos)
			p.next()
			if !p.acceptOp(",") {
				break
			}
		}
	}
	return e, nil
}

func (p *parser) parseExplain() (Statement, error) {
	e, err := p.parseExplainHead()
	if err != nil {
		return nil, err
	}
	t := p.peek()
	switch {
	case t.is("SELECT") || t.is("WITH") || t.is("VALUES") || t.isOp("("):
		var q *Query
		q, err = p.parseQueryRest()
		e.Stmt = &QueryStatement{Query: q}
	case t.is("INSERT"):
		e.Stmt, err = p.parseInsert()
	case t.is("CREATE") && (p.peekAt(1).is("TABLE") || p.peekAt(1).is("OR")), t.is("REPLACE") && p.peekAt(1).is("TABLE"):
		e.Stmt, err = p.parseExplainTableAs()
	case t.is("DELETE") || t.is("UPDATE"):
		e.Stmt, err = p.parseDML()
	case t.is("STATEMENT") || t.is("EXECUTE") && p.peekAt(1).is("STATEMENT"):
		return nil, p.errorf(t, "EXPLAIN STATEMENT SET must be written BEGIN ...; END; in a script")
	case t.kind == tkWord && strings.Contains(t.val, "_"):
		return nil, p.errorf(t, "unknown EXPLAIN detail %s (expected CHANGELOG_MODE, ESTIMATED_COST, JSON_EXECUTION_PLAN or PLAN_ADVICE)", t.val)
	default:
		return nil, p.errorf(t, "EXPLAIN expects a query, INSERT, CREATE TABLE ... AS SELECT, DELETE or UPDATE")
	}
	return e, err
}
