package sql

import "strings"

// This file parses ALTER TABLE, ALTER VIEW and ALTER DATABASE with Flink's
// grammar (its SqlAlterTable* nodes):
//
//	ALTER TABLE [IF EXISTS] t
//	  { ADD { elem | (elem, ...) | distribution }
//	  | MODIFY { elem | (elem, ...) | distribution }
//	  | DROP { col | (col, ...) | PRIMARY KEY | CONSTRAINT name | WATERMARK | DISTRIBUTION }
//	  | RENAME old TO new | RENAME TO t2 | SET (k = v, ...) | RESET (k, ...)
//	  | ADD [IF NOT EXISTS] PARTITION spec [WITH (k = v, ...)] [PARTITION ...]
//	  | DROP [IF EXISTS] PARTITION spec [, PARTITION spec ...] }
//
// where elem is a column definition [FIRST | AFTER col], a PRIMARY KEY or
// a WATERMARK, as in CREATE TABLE, and distribution is DISTRIBUTION BY
// [HASH | RANGE] (k, ...) [INTO n BUCKETS] or DISTRIBUTION INTO n BUCKETS,
// and spec is (key = literal, ...). It also parses Flink's ALTER CATALOG
// name SET (k = v, ...) | RESET (k, ...) | COMMENT 'text'.

func (p *parser) parseAlter() (Statement, error) {
	start := p.next()
	t := p.next()
	switch {
	case t.is("TABLE"):
		return p.parseAlterTable(start.pos)
	case t.is("VIEW"):
		return p.parseAlterView(start.pos)
	case t.is("DATABASE"):
		s := &AlterDatabase{Pos: start.pos}
		var err error
		if s.Name, err = p.parseDatabaseName(); err != nil {
			return nil, err
		}
		if err := p.expectWords("SET"); err != nil {
			return nil, err
		}
		s.Options, err = p.parseOptions()
		return s, err
	case t.is("CATALOG"):
		return p.parseAlterCatalog(start.pos)
	case t.is("MODEL"):
		return p.parseAlterModel(start.pos)
	}
	return nil, p.errorf(t, "expected TABLE, VIEW, MODEL, DATABASE or CATALOG after ALTER")
}

func (p *parser) parseAlterCatalog(pos Pos) (Statement, error) {
	s := &AlterCatalog{Pos: pos}
	var err error
	if s.Name, err = p.parseCatalogName(); err != nil {
		return nil, err
	}
	switch t := p.next(); {
	case t.is("SET"):
		s.Options, err = p.parseOptions()
		if err == nil && len(s.Options) == 0 {
			err = p.errorf(t, "ALTER CATALOG SET needs at least one option")
		}
	case t.is("RESET"):
		s.Reset, err = p.parseOptionKeys()
	case t.is("COMMENT"):
		s.IsComment = true
		s.Comment, err = p.parseString("the catalog comment")
	default:
		return nil, p.errorf(t, "expected SET, RESET or COMMENT after ALTER CATALOG name")
	}
	return s, err
}

func (p *parser) parseAlterTable(pos Pos) (Statement, error) {
	s := &AlterTable{Pos: pos}
	var err error
	if s.IfExists, err = p.parseIfExists(); err != nil {
		return nil, err
	}
	if s.Name, err = p.parseObjectName(); err != nil {
		return nil, err
	}
	t := p.next()
	switch {
	case t.is("ADD"), t.is("MODIFY"):
		s.Action, err = p.parseAlterSchema(t)
	case t.is("DROP"):
		s.Action, err = p.parseAlterDrop(t)
	case t.is("RENAME") && p.peek().is("TO"):
		p.next()
		a := &AlterTableRename{Pos: t.pos}
		a.NewName, err = p.parseObjectName()
		s.Action = a
	case t.is("RENAME"):
		a := &AlterTableRenameColumn{Pos: t.pos}
		var old, nw token
		if old, err = p.parseIdent("the column to rename"); err != nil {
			return nil, err
		}
		if err := p.expectWords("TO"); err != nil {
			return nil, err
		}
		if nw, err = p.parseIdent("the new column name"); err != nil {
			return nil, err
		}
		a.Old, a.New = ColumnName{Pos: old.pos, Name: old.val}, ColumnName{Pos: nw.pos, Name: nw.val}
		s.Action = a
	case t.is("SET"):
		a := &AlterTableSet{Pos: t.pos}
		a.Options, err = p.parseOptions()
		s.Action = a
	case t.is("RESET"):
		a := &AlterTableReset{Pos: t.pos}
		a.Keys, err = p.parseOptionKeys()
		s.Action = a
	default:
		return nil, p.errorf(t, "expected ADD, MODIFY, DROP, RENAME, SET or RESET after ALTER TABLE name")
	}
	return s, err
}

// parseAlterSchema parses the elements of ADD or MODIFY.
func (p *parser) parseAlterSchema(verb token) (AlterTableAction, error) {
	a := &AlterTableSchema{Pos: verb.pos, Modify: verb.is("MODIFY")}
	switch t := p.peek(); {
	case t.is("DISTRIBUTION"):
		var err error
		a.Distribution, err = p.parseDistribution()
		return a, err
	case (t.is("PARTITION") || t.is("IF")) && verb.is("ADD"):
		return p.parseAddPartitions(verb)
	case t.is("PARTITION"):
		return nil, p.errorf(t, "ALTER TABLE MODIFY of partitions is not supported")
	}
	if !p.acceptOp("(") {
		return a, p.parseAlterElement(a)
	}
	for {
		if err := p.parseAlterElement(a); err != nil {
			return nil, err
		}
		if !p.acceptOp(",") {
			break
		}
	}
	return a, p.expectOp(")")
}

// parseAlterElement parses one column, PRIMARY KEY or WATERMARK of ADD or
// MODIFY with the CREATE TABLE element parser, over the tokens up to the
// next ',' or ')' at depth 0 less a trailing FIRST or AFTER col: a
// computed column's expression would otherwise run into them.
func (p *parser) parseAlterElement(a *AlterTableSchema) error {
	end, depth := p.i, 0
	for ; p.toks[end].kind != tkEOF; end++ {
		t := p.toks[end]
		if depth == 0 && (t.isOp(",") || t.isOp(")")) {
			break
		}
		if t.isOp("(") || t.isOp("[") {
			depth++
		} else if t.isOp(")") || t.isOp("]") {
			depth--
		}
	}
	cut := end
	var first bool
	var after ColumnName
	switch {
	case cut-1 > p.i && p.toks[cut-1].is("FIRST"):
		first, cut = true, cut-1
	case cut-2 > p.i && p.toks[cut-2].is("AFTER") && p.toks[cut-1].isIdent():
		after, cut = ColumnName{Pos: p.toks[cut-1].pos, Name: p.toks[cut-1].val}, cut-2
	}
	last := p.toks[cut-1]
	sub := &parser{src: p.src, toks: append(p.toks[p.i:cut:cut], token{kind: tkEOF, pos: last.end, end: last.end})}
	ct := &CreateTable{}
	if err := sub.parseTableElement(ct); err != nil {
		return err
	}
	if err := sub.expectEnd(); err != nil {
		return err
	}
	if err := sub.checkConsumed(); err != nil {
		return err
	}
	p.i = end
	switch {
	case len(ct.Columns) == 1:
		a.Columns = append(a.Columns, AlterColumn{Def: ct.Columns[0], First: first, After: after})
	case first || after.Name != "":
		return p.errorf(p.toks[cut], "FIRST and AFTER place columns, not constraints or watermarks")
	}
	if ct.PrimaryKey != nil {
		if a.PrimaryKey != nil {
			return newError(p.src, ct.PrimaryKeyPos, "a table can have only one PRIMARY KEY")
		}
		a.PrimaryKey, a.PrimaryKeyPos = ct.PrimaryKey, ct.PrimaryKeyPos
	}
	if ct.Watermark != nil {
		if a.Watermark != nil {
			return newError(p.src, ct.Watermark.Pos, "a table can have only one WATERMARK")
		}
		a.Watermark = ct.Watermark
	}
	return nil
}

func (p *parser) parseAlterDrop(verb token) (AlterTableAction, error) {
	a := &AlterTableDrop{Pos: verb.pos}
	switch t := p.peek(); {
	case t.is("PRIMARY"):
		p.next()
		a.PrimaryKey = true
		return a, p.expectWords("KEY")
	case t.is("CONSTRAINT"):
		p.next()
		name, err := p.parseIdent("the constraint name")
		a.Constraint = name.val
		return a, err
	case t.is("WATERMARK"):
		p.next()
		a.Watermark = true
		return a, nil
	case t.is("DISTRIBUTION"):
		p.next()
		a.Distribution = true
		return a, nil
	case t.is("PARTITION"), t.is("IF"):
		return p.parseDropPartitions(verb)
	case t.isOp("("):
		p.next()
		for {
			c, err := p.parseIdent("a column name")
			if err != nil {
				return nil, err
			}
			a.Columns = append(a.Columns, ColumnName{Pos: c.pos, Name: c.val})
			if !p.acceptOp(",") {
				break
			}
		}
		return a, p.expectOp(")")
	}
	c, err := p.parseIdent("a column, PRIMARY KEY, CONSTRAINT or WATERMARK")
	a.Columns = []ColumnName{{Pos: c.pos, Name: c.val}}
	return a, err
}

// parseOptionKeys parses RESET's ('k', ...).
func (p *parser) parseOptionKeys() ([]Option, error) {
	if err := p.expectOp("("); err != nil {
		return nil, err
	}
	var keys []Option
	for {
		t := p.peek()
		k, err := p.parseString("the option key")
		if err != nil {
			return nil, err
		}
		keys = append(keys, Option{Pos: t.pos, Key: k})
		if !p.acceptOp(",") {
			break
		}
	}
	return keys, p.expectOp(")")
}

func (p *parser) parseAlterView(pos Pos) (Statement, error) {
	s := &AlterView{Pos: pos}
	var err error
	if s.Name, err = p.parseObjectName(); err != nil {
		return nil, err
	}
	if p.accept("RENAME") {
		if err := p.expectWords("TO"); err != nil {
			return nil, err
		}
		s.NewName, err = p.parseObjectName()
		return s, err
	}
	if err := p.expectWords("AS"); err != nil {
		return nil, p.errorf(p.peek(), "expected RENAME TO or AS after ALTER VIEW name")
	}
	start := p.peek().pos
	if s.Query, err = p.parseQueryRest(); err != nil {
		return nil, err
	}
	s.QueryText = p.src[start:p.toks[len(p.toks)-2].end]
	return s, nil
}

// parseAddPartitions parses ADD [IF NOT EXISTS] PARTITION spec [WITH
// (...)], repeated without separators as in Flink's grammar.
func (p *parser) parseAddPartitions(verb token) (AlterTableAction, error) {
	a := &AlterTableAddPartitions{Pos: verb.pos}
	var err error
	if a.IfNotExists, err = p.parseIfNotExists(); err != nil {
		return nil, err
	}
	for {
		if err := p.expectWords("PARTITION"); err != nil {
			return nil, err
		}
		var ap AddedPartition
		if ap.Spec, err = p.parsePartitionSpec(); err != nil {
			return nil, err
		}
		if p.accept("WITH") {
			if ap.Options, err = p.parseOptions(); err != nil {
				return nil, err
			}
		}
		a.Partitions = append(a.Partitions, ap)
		if !p.peek().is("PARTITION") {
			return a, nil
		}
	}
}

// parseDropPartitions parses DROP [IF EXISTS] PARTITION spec [, PARTITION
// spec ...].
func (p *parser) parseDropPartitions(verb token) (AlterTableAction, error) {
	a := &AlterTableDropPartitions{Pos: verb.pos}
	var err error
	if a.IfExists, err = p.parseIfExists(); err != nil {
		return nil, err
	}
	for {
		if err := p.expectWords("PARTITION"); err != nil {
			return nil, err
		}
		spec, err := p.parsePartitionSpec()
		if err != nil {
			return nil, err
		}
		a.Partitions = append(a.Partitions, spec)
		if !p.acceptOp(",") {
			return a, nil
		}
	}
}

// parsePartitionSpec parses (key = literal, ...), the partition spec of
// ALTER TABLE ADD|DROP PARTITION and SHOW PARTITIONS.
func (p *parser) parsePartitionSpec() (PartitionSpec, error) {
	spec := PartitionSpec{Pos: p.peek().pos}
	if err := p.expectOp("("); err != nil {
		return spec, err
	}
	for {
		k, err := p.parseIdent("a partition column")
		if err != nil {
			return spec, err
		}
		if err := p.expectOp("="); err != nil {
			return spec, err
		}
		v, err := p.parsePartitionValue()
		if err != nil {
			return spec, err
		}
		spec.Values = append(spec.Values, PartitionValue{Pos: k.pos, Key: k.val, Value: v})
		if !p.acceptOp(",") {
			break
		}
	}
	return spec, p.expectOp(")")
}

// parsePartitionValue parses the literal of a partition spec into the
// string Flink keeps: a string's value, a number's text (with its sign),
// true or false, a DATE, TIME or TIMESTAMP literal's string. NULL and
// expressions are not literals Flink's partition specs accept.
func (p *parser) parsePartitionValue() (string, error) {
	t := p.next()
	switch {
	case t.kind == tkString:
		return t.val, nil
	case t.kind == tkNumber:
		return t.val, nil
	case (t.isOp("-") || t.isOp("+")) && p.peek().kind == tkNumber:
		n := p.next()
		if t.isOp("-") {
			return "-" + n.val, nil
		}
		return n.val, nil
	case t.is("TRUE"), t.is("FALSE"):
		return strings.ToLower(t.upper), nil
	case (t.is("DATE") || t.is("TIME") || t.is("TIMESTAMP")) && p.peek().kind == tkString:
		return p.next().val, nil
	}
	return "", p.errorf(t, "expected a literal as the partition value")
}
