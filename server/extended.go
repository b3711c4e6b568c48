package server

import (
	"fmt"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/expr"
	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/sql"
	"github.com/eddysql/eddy/table"
)

// prepared is a statement prepared by Parse.
type prepared struct {
	name string
	// src is the statement's text; positions of errors refer to it.
	src string
	// stmt is nil for an empty statement and for transaction control,
	// which txTag/txStatus describe instead.
	stmt     sql.Statement
	txTag    string
	txStatus byte
	// params are the placeholder types, declared by the client or
	// inferred; paramOIDs are what ParameterDescription reports.
	params    []types.DataType
	paramOIDs []uint32
	// rows is true for statements that return rows; schema is their
	// columns when known without running them (queries).
	rows   bool
	schema *types.Schema
	// setting names the PostgreSQL setting of a SHOW that is not Flink
	// SQL (SHOW server_version_num, as JDBC sends): answered like the
	// simple protocol's showSetting, without planning.
	setting string
}

// portal is a prepared statement bound to parameter values.
type portal struct {
	stmt    *prepared
	params  []*expr.Literal
	formats []int16
	// res and cur are set once the portal ran; done once it completed.
	res  *table.TableResult
	cur  *cursor
	done bool
}

func (p *portal) close() {
	if p.cur != nil {
		p.cur.close()
	} else if p.res != nil {
		p.res.Close()
	}
	p.cur, p.res = nil, nil
}

func protocolError(format string, args ...any) error {
	return &errs.Error{Code: errs.Code{Name: "protocol_violation", Phase: errs.Execution, SQLState: "08P01"}, Msg: fmt.Sprintf(format, args...)}
}

func stateError(state, format string, args ...any) error {
	return &errs.Error{Code: errs.Code{Name: state, Phase: errs.Execution, SQLState: state}, Msg: fmt.Sprintf(format, args...)}
}

// parse prepares a statement: it parses the text, infers the types of
// undeclared parameters by binding the statement, and stores it.
func (ss *session) parse(m *pgproto3.Parse) error {
	if m.Name != "" && ss.stmts[m.Name] != nil {
		return stateError("42P05", "prepared statement \"%s\" already exists", m.Name)
	}
	p := &prepared{name: m.Name, src: m.Query}
	script, err := sql.ParseScript(m.Query)
	switch {
	case err != nil:
		if words, _ := leadingWords(m.Query, 5); len(words) > 1 && words[0] == "SHOW" {
			if name, ok := pgSetting(words[1:]); ok {
				p.setting, p.rows = name, true
				break
			}
		}
		tag, status := transactionControl(m.Query)
		if tag == "" {
			return err
		}
		p.txTag, p.txStatus = tag, status
	case len(script.Stmts) > 1:
		return stateError("42601", "cannot insert multiple commands into a prepared statement")
	case len(script.Stmts) == 1:
		p.stmt = script.Stmts[0].Stmt
	}
	n := len(m.ParameterOIDs)
	if p.stmt != nil {
		n = max(n, maxParam(p.stmt))
	}
	lits := make([]*expr.Literal, n)
	for i := range lits {
		lits[i] = &expr.Literal{T: types.NullType}
		if i < len(m.ParameterOIDs) {
			if t, ok := typeOfOID(m.ParameterOIDs[i]); ok {
				lits[i].T = t
			}
		}
	}
	switch s := p.stmt.(type) {
	case *sql.QueryStatement:
		restore := ss.catalogBatch(s)
		schema, err := ss.env.DescribeQuery(m.Query, s.Query, lits)
		restore()
		if err != nil {
			return err
		}
		p.rows, p.schema = true, &schema
	case *sql.Insert:
		if err := ss.env.DescribeInsert(m.Query, []*sql.Insert{s}, lits); err != nil {
			return err
		}
	case *sql.StatementSet:
		if err := ss.env.DescribeInsert(m.Query, s.Inserts, lits); err != nil {
			return err
		}
	case *sql.Delete, *sql.Update:
		if err := ss.env.DescribeModification(m.Query, s, lits); err != nil {
			return err
		}
	case *sql.Show, *sql.Describe, *sql.Explain, *sql.Subscribe, *sql.DescribeJob,
		*sql.ShowModels, *sql.ShowCreateModel, *sql.DescribeModel:
		p.rows = true
	case *sql.StopJob:
		if s.WithSavepoint {
			// Described without stopping the job.
			schema := table.SavepointResultSchema()
			p.rows, p.schema = true, &schema
		}
	case *sql.Set:
		p.rows = s.Key == ""
	}
	for i, l := range lits {
		t := l.T
		if t.Kind == types.Null {
			// Never bound (the statement is not planned): text, as
			// PostgreSQL treats parameters of unknown type.
			t = types.StringType
		}
		p.params = append(p.params, t)
		oid, _, _ := pgType(t)
		if i < len(m.ParameterOIDs) && m.ParameterOIDs[i] != 0 {
			oid = m.ParameterOIDs[i]
		}
		p.paramOIDs = append(p.paramOIDs, oid)
	}
	ss.stmts[m.Name] = p
	ss.be.Send(&pgproto3.ParseComplete{})
	return nil
}

// bind creates a portal from a prepared statement and parameter values.
func (ss *session) bind(m *pgproto3.Bind) error {
	st := ss.stmts[m.PreparedStatement]
	if st == nil {
		return stateError("26000", "prepared statement \"%s\" does not exist", m.PreparedStatement)
	}
	if old := ss.portals[m.DestinationPortal]; old != nil {
		if m.DestinationPortal != "" {
			return stateError("42P03", "portal \"%s\" already exists", m.DestinationPortal)
		}
		old.close()
		delete(ss.portals, "")
	}
	if len(m.Parameters) != len(st.params) {
		return protocolError("bind message supplies %d parameters, but prepared statement \"%s\" requires %d", len(m.Parameters), st.name, len(st.params))
	}
	if f := len(m.ParameterFormatCodes); f > 1 && f != len(m.Parameters) {
		return protocolError("bind message has %d parameter formats but %d parameters", f, len(m.Parameters))
	}
	if st.rows && st.schema != nil && len(m.ResultFormatCodes) > 1 && len(m.ResultFormatCodes) != len(st.schema.Columns) {
		return protocolError("bind message has %d result formats but query has %d columns", len(m.ResultFormatCodes), len(st.schema.Columns))
	}
	for _, f := range append(append([]int16(nil), m.ParameterFormatCodes...), m.ResultFormatCodes...) {
		if f != 0 && f != 1 {
			return protocolError("unsupported format code: %d", f)
		}
	}
	p := &portal{stmt: st, formats: append([]int16(nil), m.ResultFormatCodes...)}
	for i, raw := range m.Parameters {
		lit, err := decodeParam(raw, formatOf(m.ParameterFormatCodes, i), st.paramOIDs[i], st.params[i])
		if err != nil {
			return err
		}
		p.params = append(p.params, lit)
	}
	ss.portals[m.DestinationPortal] = p
	ss.be.Send(&pgproto3.BindComplete{})
	return nil
}

// describe answers Describe of a statement (ParameterDescription, then
// RowDescription or NoData) or of a portal (RowDescription or NoData).
func (ss *session) describe(m *pgproto3.Describe) error {
	switch m.ObjectType {
	case 'S':
		st := ss.stmts[m.Name]
		if st == nil {
			return stateError("26000", "prepared statement \"%s\" does not exist", m.Name)
		}
		ss.be.Send(&pgproto3.ParameterDescription{ParameterOIDs: st.paramOIDs})
		if !st.rows {
			ss.be.Send(&pgproto3.NoData{})
			return nil
		}
		if st.setting != "" {
			ss.be.Send(settingDescription(st.setting))
			return nil
		}
		schema := st.schema
		if schema == nil {
			// SHOW, DESCRIBE and EXPLAIN have no plan to read the schema
			// from; they have no side effects, so run one to learn it.
			p := &portal{stmt: st, params: make([]*expr.Literal, len(st.params))}
			for i, t := range st.params {
				p.params[i] = &expr.Literal{T: t}
			}
			if err := ss.start(p); err != nil {
				return err
			}
			s := p.res.Schema
			schema = &s
			p.close()
		}
		ss.be.Send(rowDescription(*schema, nil))
		return nil
	case 'P':
		p := ss.portals[m.Name]
		if p == nil {
			return stateError("34000", "portal \"%s\" does not exist", m.Name)
		}
		if !p.stmt.rows {
			ss.be.Send(&pgproto3.NoData{})
			return nil
		}
		if p.stmt.setting != "" {
			ss.be.Send(settingDescription(p.stmt.setting))
			return nil
		}
		if p.stmt.schema != nil {
			ss.be.Send(rowDescription(*p.stmt.schema, p.formats))
			return nil
		}
		if p.res == nil {
			if err := ss.start(p); err != nil {
				return err
			}
		}
		schema := p.res.Schema
		if p.cur != nil {
			schema = p.cur.schema()
		}
		ss.be.Send(rowDescription(schema, p.formats))
		return nil
	}
	return protocolError("invalid DESCRIBE message subtype %d", m.ObjectType)
}

// start runs a portal's statement; its rows, if any, are read by execute.
func (ss *session) start(p *portal) error {
	ctx := ss.beginStatement()
	defer ss.endStatement()
	r, err := ss.run(ctx, p.stmt.src, p.stmt.stmt, p.stmt.src, p.params)
	if err != nil {
		return err
	}
	p.res = r
	if r.Kind == table.SuccessWithContent && !isModification(p.stmt.stmt) {
		p.cur = newCursor(p.stmt.stmt, r, p.formats)
	}
	return nil
}

// execute runs a portal (or continues a suspended one), sending at most
// MaxRows rows (0: all).
func (ss *session) execute(m *pgproto3.Execute) error {
	p := ss.portals[m.Portal]
	if p == nil {
		return stateError("34000", "portal \"%s\" does not exist", m.Portal)
	}
	st := p.stmt
	switch {
	case st.setting != "":
		ss.sendSetting(st.setting)
		return nil
	case st.txTag != "":
		if st.txStatus != 0 {
			ss.txStatus = st.txStatus
		}
		ss.be.Send(&pgproto3.CommandComplete{CommandTag: []byte(st.txTag)})
		return nil
	case st.stmt == nil:
		ss.be.Send(&pgproto3.EmptyQueryResponse{})
		return nil
	case p.done:
		ss.be.Send(&pgproto3.CommandComplete{CommandTag: []byte(commandTag(st.stmt, 0))})
		return nil
	}
	if p.res == nil {
		if err := ss.start(p); err != nil {
			return err
		}
	}
	if p.cur == nil {
		p.done = true
		ss.completed(st.stmt, p.res, 0)
		return nil
	}
	ctx := ss.beginStatement()
	defer ss.endStatement()
	done, err := p.cur.send(ctx, ss, int(m.MaxRows))
	if err != nil {
		p.close()
		p.done = true
		return err
	}
	if !done {
		ss.be.Send(&pgproto3.PortalSuspended{})
		return nil
	}
	p.done = true
	ss.completed(st.stmt, p.res, p.cur.count)
	p.close()
	return nil
}

// close removes a prepared statement or a portal; closing one that does
// not exist is not an error.
func (ss *session) close(m *pgproto3.Close) error {
	switch m.ObjectType {
	case 'S':
		delete(ss.stmts, m.Name)
	case 'P':
		if p := ss.portals[m.Name]; p != nil {
			p.close()
			delete(ss.portals, m.Name)
		}
	default:
		return protocolError("invalid CLOSE message subtype %d", m.ObjectType)
	}
	ss.be.Send(&pgproto3.CloseComplete{})
	return nil
}
