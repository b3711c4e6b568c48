package sql

import "strings"

// This file parses Flink's catalog statements beyond CREATE/DROP TABLE and
// VIEW (their trees are in ddl_ast.go): the LIKE and AS clauses of CREATE
// TABLE, ALTER TABLE|VIEW|DATABASE, CREATE|DROP DATABASE and CATALOG,
// TRUNCATE TABLE, and the FROM and LIKE clauses of SHOW.

// likeFeatures and likeStrategies are the words of a LIKE clause's
// options (Flink's FeatureOption and MergingStrategy).
var (
	likeFeatures   = []string{"ALL", "CONSTRAINTS", "DISTRIBUTION", "GENERATED", "METADATA", "OPTIONS", "PARTITIONS", "WATERMARKS"}
	likeStrategies = []string{"INCLUDING", "EXCLUDING", "OVERWRITING"}
)

// parseTableLike parses LIKE source [(INCLUDING|EXCLUDING|OVERWRITING
// feature, ...)] after the LIKE keyword. Like Flink's SqlTableLike it
// rejects OVERWRITING of constraints, partitions and distribution (there
// is nothing to merge them with) and a feature given twice.
func (p *parser) parseTableLike(pos Pos) (*TableLike, error) {
	l := &TableLike{Pos: pos}
	var err error
	if l.Source, err = p.parseObjectName(); err != nil {
		return nil, err
	}
	if !p.acceptOp("(") {
		return l, nil
	}
	seen := map[string]bool{}
	for {
		st := p.peek()
		if !st.isWord(likeStrategies...) {
			return nil, p.errorf(st, "expected INCLUDING, EXCLUDING or OVERWRITING")
		}
		p.next()
		ft := p.peek()
		if !ft.isWord(likeFeatures...) {
			return nil, p.errorf(ft, "expected ALL, CONSTRAINTS, DISTRIBUTION, GENERATED, METADATA, OPTIONS, PARTITIONS or WATERMARKS after %s", st.upper)
		}
		p.next()
		switch ft.upper {
		case "CONSTRAINTS", "PARTITIONS", "DISTRIBUTION":
			if st.upper == "OVERWRITING" {
				return nil, p.errorf(st, "Illegal merging strategy 'OVERWRITING' for '%s' option.", ft.upper)
			}
		}
		if seen[ft.upper] {
			return nil, p.errorf(ft, "Each like option feature can be declared only once.")
		}
		seen[ft.upper] = true
		l.Options = append(l.Options, LikeOption{Pos: st.pos, Strategy: st.upper, Feature: ft.upper})
		if !p.acceptOp(",") && !p.peek().isWord(likeStrategies...) {
			break
		}
	}
	return l, p.expectOp(")")
}

// isWord reports whether t is one of the keywords kws.
func (t token) isWord(kws ...string) bool {
	for _, kw := range kws {
		if t.is(kw) {
			return true
		}
	}
	return false
}

// parseColumnOrder parses the (name, ...) of CREATE TABLE t (c, b, a) AS
// SELECT: Flink's grammar takes a list of bare identifiers there in place
// of column definitions, never a mix of the two.
func (p *parser) parseColumnOrder() ([]ColumnName, error) {
	p.next()
	var names []ColumnName
	for {
		t, err := p.parseIdent("a column name")
		if err != nil {
			return nil, err
		}
		names = append(names, ColumnName{Pos: t.pos, Name: t.val})
		if !p.acceptOp(",") {
			break
		}
	}
	return names, p.expectOp(")")
}

// parseTableQuery parses the AS query ending CREATE TABLE AS SELECT and
// REPLACE TABLE AS SELECT.
func (p *parser) parseTableQuery(ct *CreateTable) (*CreateTable, error) {
	if ct.Like != nil {
		return nil, p.errorf(p.peek(), "CREATE TABLE AS SELECT cannot have a LIKE clause")
	}
	start := p.peek().pos
	var err error
	if ct.Query, err = p.parseQueryRest(); err != nil {
		return nil, err
	}
	ct.QueryText = p.src[start:p.toks[len(p.toks)-2].end]
	return ct, nil
}

// parseExplainTableAs parses the CREATE TABLE ... AS SELECT or [CREATE OR]
// REPLACE TABLE ... AS SELECT that EXPLAIN explains.
func (p *parser) parseExplainTableAs() (Statement, error) {
	t := p.peek()
	var s Statement
	var err error
	if t.is("REPLACE") {
		s, err = p.parseReplaceTable()
	} else {
		s, err = p.parseCreate()
	}
	if err != nil {
		return nil, err
	}
	if ct, ok := s.(*CreateTable); !ok || ct.Query == nil {
		return nil, p.errorf(t, "EXPLAIN of CREATE TABLE needs AS SELECT: it explains the INSERT job of CREATE TABLE ... AS SELECT")
	}
	return s, nil
}

// parseReplaceTable parses REPLACE TABLE name ... AS query (RTAS, Flink
// 1.19); CREATE OR REPLACE TABLE comes through parseCreate.
func (p *parser) parseReplaceTable() (Statement, error) {
	start := p.next()
	if err := p.expectWords("TABLE"); err != nil {
		return nil, err
	}
	return p.parseReplaceRest(start.pos, false)
}

func (p *parser) parseReplaceRest(pos Pos, orReplace bool) (Statement, error) {
	if p.peek().is("IF") {
		return nil, p.errorf(p.peek(), "REPLACE TABLE AS SELECT does not take IF NOT EXISTS")
	}
	s, err := p.parseCreateTable(pos, false)
	if err != nil {
		return nil, err
	}
	ct := s.(*CreateTable)
	if ct.Query == nil {
		return nil, p.errorf(p.peek(), "expected AS followed by a query: REPLACE TABLE needs AS SELECT")
	}
	ct.Replace, ct.OrReplace = !orReplace, orReplace
	return ct, nil
}

// parseDatabaseName parses [catalog.]database.
func (p *parser) parseDatabaseName() (ObjectName, error) {
	n, err := p.parseObjectName()
	if err == nil && len(n.Parts) > 2 {
		return n, newError(p.src, n.Pos, "a database name has at most two parts: [catalog.]database")
	}
	return n, err
}

// parseCatalogName parses a one-part catalog name.
func (p *parser) parseCatalogName() (ObjectName, error) {
	n, err := p.parseObjectName()
	if err == nil && len(n.Parts) != 1 {
		return n, newError(p.src, n.Pos, "a catalog name has one part")
	}
	return n, err
}

func (p *parser) parseCreateDatabase(pos Pos) (Statement, error) {
	s := &CreateDatabase{Pos: pos}
	var err error
	if s.IfNotExists, err = p.parseIfNotExists(); err != nil {
		return nil, err
	}
	if s.Name, err = p.parseDatabaseName(); err != nil {
		return nil, err
	}
	if p.accept("COMMENT") {
		if s.Comment, err = p.parseString("the database comment"); err != nil {
			return nil, err
		}
	}
	if p.accept("WITH") {
		s.Options, err = p.parseOptions()
	}
	return s, err
}

func (p *parser) parseCreateCatalog(pos Pos) (Statement, error) {
	s := &CreateCatalog{Pos: pos}
	var err error
	if s.IfNotExists, err = p.parseIfNotExists(); err != nil {
		return nil, err
	}
	if s.Name, err = p.parseCatalogName(); err != nil {
		return nil, err
	}
	if p.accept("COMMENT") {
		if s.Comment, err = p.parseString("the catalog comment"); err != nil {
			return nil, err
		}
	}
	if err := p.expectWords("WITH"); err != nil {
		return nil, err
	}
	s.Options, err = p.parseOptions()
	return s, err
}

// parseIfExists parses an optional IF EXISTS.
func (p *parser) parseIfExists() (bool, error) {
	if !p.accept("IF") {
		return false, nil
	}
	return true, p.expectWords("EXISTS")
}

// parseDropDatabaseOrCatalog parses DROP DATABASE and DROP CATALOG after
// DROP.
func (p *parser) parseDropDatabaseOrCatalog(pos Pos) (Statement, error) {
	what := p.next()
	ifExists, err := p.parseIfExists()
	if err != nil {
		return nil, err
	}
	if what.is("CATALOG") {
		name, err := p.parseCatalogName()
		return &DropCatalog{Pos: pos, Name: name, IfExists: ifExists}, err
	}
	s := &DropDatabase{Pos: pos, IfExists: ifExists}
	if s.Name, err = p.parseDatabaseName(); err != nil {
		return nil, err
	}
	if !p.accept("RESTRICT") {
		s.Cascade = p.accept("CASCADE")
	}
	return s, nil
}

// parseTruncate parses TRUNCATE TABLE name.
func (p *parser) parseTruncate() (Statement, error) {
	start := p.next()
	if err := p.expectWords("TABLE"); err != nil {
		return nil, err
	}
	name, err := p.parseObjectName()
	return &Truncate{Pos: start.pos, Name: name}, err
}

// parseShowFrom parses the optional FROM|IN name of SHOW TABLES, VIEWS,
// FUNCTIONS, PROCEDURES ([catalog.]database) and DATABASES (catalog).
func (p *parser) parseShowFrom(s *Show) error {
	if !p.accept("FROM") && !p.accept("IN") {
		return nil
	}
	var err error
	if s.What == ShowDatabases {
		s.Name, err = p.parseCatalogName()
	} else {
		s.Name, err = p.parseDatabaseName()
	}
	return err
}

// parseShowLike parses an optional [NOT] LIKE|ILIKE 'pattern'. Flink
// accepts ILIKE where its grammar says so; Eddy accepts it on every SHOW
// that filters names, a superset.
func (p *parser) parseShowLike(s *Show) error {
	t := p.peek()
	not := t.is("NOT")
	if not {
		p.next()
	}
	kw := p.peek()
	if !kw.is("LIKE") && !kw.is("ILIKE") {
		if not {
			return p.errorf(kw, "expected LIKE or ILIKE after NOT")
		}
		return nil
	}
	p.next()
	pat, err := p.parseString("the LIKE pattern")
	if err != nil {
		return err
	}
	s.Like = &ShowLike{Pos: t.pos, Pattern: pat, Not: not, ILike: kw.is("ILIKE")}
	return nil
}

// Match reports whether name matches the SHOW pattern: % matches any run
// of characters, _ one character and \ escapes either, as Flink's SHOW
// statements match with SqlLikeUtils.
func (l *ShowLike) Match(name string) bool {
	pat := l.Pattern
	if l.ILike {
		name, pat = strings.ToLower(name), strings.ToLower(pat)
	}
	return likeMatch([]rune(name), compileLike(pat)) != l.Not
}

// likeRune is one element of a compiled LIKE pattern: a literal rune, or
// (wild) % when r is '%' and _ when r is '_'.
type likeRune struct {
	r    rune
	wild bool
}

func compileLike(pat string) []likeRune {
	var out []likeRune
	escaped := false
	for _, r := range pat {
		switch {
		case escaped:
			out = append(out, likeRune{r: r})
			escaped = false
		case r == '\\':
			escaped = true
		default:
			out = append(out, likeRune{r: r, wild: r == '%' || r == '_'})
		}
	}
	if escaped {
		out = append(out, likeRune{r: '\\'})
	}
	return out
}

// likeMatch matches with backtracking to the last %, linear in practice
// for names.
func likeMatch(s []rune, p []likeRune) bool {
	si, pi, star, mark := 0, 0, -1, 0
	for si < len(s) {
		switch {
		case pi < len(p) && p[pi].wild && p[pi].r == '%':
			star, mark = pi, si
			pi++
		case pi < len(p) && (p[pi].wild || p[pi].r == s[si]):
			si++
			pi++
		case star >= 0:
			mark++
			si, pi = mark, star+1
		default:
			return false
		}
	}
	for pi < len(p) && p[pi].wild && p[pi].r == '%' {
		pi++
	}
	return pi == len(p)
}
