package sql

// Flink's compiled plans (FLIP-190): COMPILE PLAN writes the plan of an
// INSERT or a statement set to a file, EXECUTE PLAN runs such a file
// without planning the SQL again, COMPILE AND EXECUTE PLAN does both.

// CompilePlan is COMPILE PLAN 'path' [IF NOT EXISTS] FOR stmt or, with
// Execute, COMPILE AND EXECUTE PLAN 'path' FOR stmt. Stmt is an *Insert or
// a *StatementSet (STATEMENT SET BEGIN ...; END; in a script).
type CompilePlan struct {
	Pos Pos
	// Path is the plan file, a plain path or a file:// URI; PathPos is the
	// position of its string literal.
	Path        string
	PathPos     Pos
	IfNotExists bool
	Execute     bool
	Stmt        Statement
}

// ExecutePlan is EXECUTE PLAN 'path'.
type ExecutePlan struct {
	Pos     Pos
	Path    string
	PathPos Pos
}

func (s *CompilePlan) Position() Pos { return s.Pos }
func (s *ExecutePlan) Position() Pos { return s.Pos }

func (*CompilePlan) statementNode() {}
func (*ExecutePlan) statementNode() {}

// parseCompilePlanHead parses COMPILE [AND EXECUTE] PLAN 'path' [IF NOT
// EXISTS] FOR, leaving the parser at the compiled statement. Flink allows
// IF NOT EXISTS only on COMPILE PLAN: COMPILE AND EXECUTE always reuses an
// existing file.
func (p *parser) parseCompilePlanHead() (*CompilePlan, error) {
	start := p.next()
	c := &CompilePlan{Pos: start.pos}
	if p.accept("AND") {
		if err := p.expectWords("EXECUTE"); err != nil {
			return nil, err
		}
		c.Execute = true
	}
	if err := p.expectWords("PLAN"); err != nil {
		return nil, err
	}
	c.PathPos = p.peek().pos
	path, err := p.parseString("the plan file")
	if err != nil {
		return nil, err
	}
	c.Path = path
	if !c.Execute && p.peek().is("IF") {
		p.next()
		if err := p.expectWords("NOT", "EXISTS"); err != nil {
			return nil, err
		}
		c.IfNotExists = true
	}
	if err := p.expectWords("FOR"); err != nil {
		return nil, err
	}
	return c, nil
}

// parseCompilePlan parses COMPILE [AND EXECUTE] PLAN ... FOR INSERT ...; a
// statement set after FOR is collected by ParseScript.
func (p *parser) parseCompilePlan() (Statement, error) {
	c, err := p.parseCompilePlanHead()
	if err != nil {
		return nil, err
	}
	t := p.peek()
	switch {
	case t.is("INSERT"):
		c.Stmt, err = p.parseInsert()
		return c, err
	case t.is("EXECUTE") && p.peekAt(1).is("STATEMENT"):
		return nil, p.errorf(t, "COMPILE PLAN takes STATEMENT SET BEGIN ...; END; without EXECUTE")
	case t.is("STATEMENT"):
		return nil, p.errorf(t, "expected STATEMENT SET BEGIN")
	case t.is("SELECT") || t.is("WITH") || t.is("VALUES") || t.isOp("("):
		// As in Flink: a query has no sink, so there is no job to keep.
		return nil, p.errorf(t, "COMPILE PLAN only accepts an INSERT statement or a STATEMENT SET, not a query")
	}
	return nil, p.errorf(t, "COMPILE PLAN only accepts an INSERT statement or a STATEMENT SET, not %s", describe(t))
}

// parseExecutePlan parses EXECUTE PLAN 'path'.
func (p *parser) parseExecutePlan() (Statement, error) {
	start := p.next()
	if err := p.expectWords("PLAN"); err != nil {
		return nil, err
	}
	s := &ExecutePlan{Pos: start.pos, PathPos: p.peek().pos}
	var err error
	s.Path, err = p.parseString("the plan file")
	return s, err
}
