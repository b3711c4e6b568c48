package sql

// This file parses Flink's model statements (FLIP-437, Flink 2.1):
// CREATE, DROP, ALTER, SHOW, SHOW CREATE and DESCRIBE MODEL.

// ModelColumn is one column of a model's INPUT or OUTPUT: name type
// [METADATA] [COMMENT 'c'].
type ModelColumn struct {
	Pos  Pos
	Name string
	Type *TypeName
	// Metadata marks a METADATA column, which a provider fills itself
	// (the openai provider's error-string, http-status-code and
	// http-headers-map).
	Metadata bool
	Comment  string
}

// CreateModel is CREATE [TEMPORARY] MODEL [IF NOT EXISTS] name
// [INPUT (cols)] [OUTPUT (cols)] [COMMENT 'c'] WITH (options).
type CreateModel struct {
	Pos           Pos
	Name          ObjectName
	Temporary     bool
	IfNotExists   bool
	Input, Output []ModelColumn
	Comment       string
	Options       []Option
}

// DropModel is DROP [TEMPORARY] MODEL [IF EXISTS] name.
type DropModel struct {
	Pos       Pos
	Name      ObjectName
	Temporary bool
	IfExists  bool
}

// AlterModel is ALTER MODEL [IF EXISTS] name SET (options), ... RESET
// ('key', ...) or ... RENAME TO new_name.
type AlterModel struct {
	Pos      Pos
	Name     ObjectName
	IfExists bool
	// Exactly one of Set, Reset and RenameTo is given.
	Set      []Option
	Reset    []string
	RenameTo *ObjectName
}

// ShowModels is SHOW MODELS [FROM|IN [catalog.]database] [[NOT]
// LIKE|ILIKE 'pattern'].
type ShowModels struct {
	Pos      Pos
	Database ObjectName
	Like     *ShowLike
}

// ShowCreateModel is SHOW CREATE MODEL name.
type ShowCreateModel struct {
	Pos  Pos
	Name ObjectName
}

// DescribeModel is DESCRIBE|DESC MODEL [EXTENDED] name.
type DescribeModel struct {
	Pos      Pos
	Name     ObjectName
	Extended bool
}

func (s *CreateModel) Position() Pos     { return s.Pos }
func (s *DropModel) Position() Pos       { return s.Pos }
func (s *AlterModel) Position() Pos      { return s.Pos }
func (s *ShowModels) Position() Pos      { return s.Pos }
func (s *ShowCreateModel) Position() Pos { return s.Pos }
func (s *DescribeModel) Position() Pos   { return s.Pos }
func (*CreateModel) statementNode()      {}
func (*DropModel) statementNode()        {}
func (*AlterModel) statementNode()       {}
func (*ShowModels) statementNode()       {}
func (*ShowCreateModel) statementNode()  {}
func (*DescribeModel) statementNode()    {}

// parseCreateModel parses what follows CREATE [TEMPORARY] MODEL.
func (p *parser) parseCreateModel(pos Pos, temporary bool) (Statement, error) {
	cm := &CreateModel{Pos: pos, Temporary: temporary}
	var err error
	if cm.IfNotExists, err = p.parseIfNotExists(); err != nil {
		return nil, err
	}
	if cm.Name, err = p.parseObjectName(); err != nil {
		return nil, err
	}
	if p.accept("INPUT") {
		if cm.Input, err = p.parseModelColumns(); err != nil {
			return nil, err
		}
	}
	if p.accept("OUTPUT") {
		if cm.Output, err = p.parseModelColumns(); err != nil {
			return nil, err
		}
	}
	if p.accept("COMMENT") {
		if cm.Comment, err = p.parseString("the model comment"); err != nil {
			return nil, err
		}
	}
	if t := p.peek(); t.is("AS") {
		return nil, p.errorf(t, "CREATE MODEL ... AS SELECT is not supported")
	}
	if err := p.expectWords("WITH"); err != nil {
		return nil, err
	}
	if cm.Options, err = p.parseOptions(); err != nil {
		return nil, err
	}
	return cm, nil
}

// parseModelColumns parses (name type [METADATA] [COMMENT 'c'], ...).
func (p *parser) parseModelColumns() ([]ModelColumn, error) {
	if err := p.expectOp("("); err != nil {
		return nil, err
	}
	var cols []ModelColumn
	for {
		t, err := p.parseIdent("a column name")
		if err != nil {
			return nil, err
		}
		c := ModelColumn{Pos: t.pos, Name: t.val}
		if c.Type, err = p.parseType(); err != nil {
			return nil, err
		}
		c.Metadata = p.accept("METADATA")
		if p.accept("COMMENT") {
			if c.Comment, err = p.parseString("the column comment"); err != nil {
				return nil, err
			}
		}
		cols = append(cols, c)
		if !p.acceptOp(",") {
			break
		}
	}
	return cols, p.expectOp(")")
}

// parseDropModel parses what follows DROP [TEMPORARY] MODEL.
func (p *parser) parseDropModel(pos Pos, temporary bool) (Statement, error) {
	d := &DropModel{Pos: pos, Temporary: temporary}
	if p.accept("IF") {
		if err := p.expectWords("EXISTS"); err != nil {
			return nil, err
		}
		d.IfExists = true
	}
	var err error
	d.Name, err = p.parseObjectName()
	return d, err
}

// parseAlterModel parses what follows ALTER MODEL.
func (p *parser) parseAlterModel(pos Pos) (Statement, error) {
	a := &AlterModel{Pos: pos}
	if p.accept("IF") {
		if err := p.expectWords("EXISTS"); err != nil {
			return nil, err
		}
		a.IfExists = true
	}
	var err error
	if a.Name, err = p.parseObjectName(); err != nil {
		return nil, err
	}
	switch t := p.next(); {
	case t.is("SET"):
		if a.Set, err = p.parseOptions(); err == nil && len(a.Set) == 0 {
			err = p.errorf(t, "ALTER MODEL ... SET needs at least one option")
		}
	case t.is("RESET"):
		a.Reset, err = p.parseResetKeys(t)
	case t.is("RENAME"):
		if err = p.expectWords("TO"); err != nil {
			return nil, err
		}
		var to ObjectName
		to, err = p.parseObjectName()
		a.RenameTo = &to
	default:
		return nil, p.errorf(t, "expected SET, RESET or RENAME TO after ALTER MODEL name")
	}
	return a, err
}

// parseResetKeys parses ('key', ...) of ALTER MODEL ... RESET.
func (p *parser) parseResetKeys(verb token) ([]string, error) {
	if err := p.expectOp("("); err != nil {
		return nil, err
	}
	var keys []string
	for {
		k, err := p.parseString("the option key")
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
		if !p.acceptOp(",") {
			break
		}
	}
	if len(keys) == 0 {
		return nil, p.errorf(verb, "ALTER MODEL ... RESET needs at least one key")
	}
	return keys, p.expectOp(")")
}

// parseShowModels parses what follows SHOW MODELS.
func (p *parser) parseShowModels(pos Pos) (Statement, error) {
	s := &Show{Pos: pos, What: ShowTables}
	if err := p.parseShowFrom(s); err != nil {
		return nil, err
	}
	if err := p.parseShowLike(s); err != nil {
		return nil, err
	}
	return &ShowModels{Pos: pos, Database: s.Name, Like: s.Like}, nil
}
