package server

import (
	"reflect"

	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/eddysql/eddy/catalog"
	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/sql"
	"github.com/eddysql/eddy/table"
)

// This file serves the session-level statements PostgreSQL clients send
// that are not Flink SQL and so never reach the parser: SQL cursors
// (DECLARE / FETCH / CLOSE, which psql 15 uses for FETCH_COUNT and
// psycopg for named cursors) and SHOW of PostgreSQL settings (drivers
// probe transaction_isolation and friends at connect).

// sqlCursor is a cursor opened by DECLARE: the running query's result,
// streamed a FETCH at a time. It keeps the result open across messages,
// so the rows of an unbounded query arrive as the client asks for them.
type sqlCursor struct {
	stmt sql.Statement
	cur  *cursor
}

// closeCursors closes every SQL cursor (COMMIT, ROLLBACK and the end of
// the session do; Eddy has no WITH HOLD cursors outliving them).
func (ss *session) closeCursors() {
	for name, c := range ss.cursors {
		c.cur.close()
		delete(ss.cursors, name)
	}
}

// words splits the start of a statement into upper-cased words, stopping
// after max words; it returns the words and the byte offset after each.
func leadingWords(text string, max int) (words []string, ends []int) {
	i := 0
	for len(words) < max {
		for i < len(text) && isSpace(text[i]) {
			i++
		}
		start := i
		if i < len(text) && text[i] == '"' {
			// A quoted identifier is one word, kept as written.
			j := strings.IndexByte(text[i+1:], '"')
			if j < 0 {
				break
			}
			i += j + 2
			words = append(words, text[start:i])
			ends = append(ends, i)
			continue
		}
		for i < len(text) && !isSpace(text[i]) && text[i] != ';' {
			i++
		}
		if i == start {
			break
		}
		words = append(words, strings.ToUpper(text[start:i]))
		ends = append(ends, i)
	}
	return words, ends
}

func isSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\n' || b == '\r' || b == '\f' }

// cursorName normalizes a cursor name as PostgreSQL does: folded to lower
// case unless quoted.
func cursorName(w, orig string) string {
	if strings.HasPrefix(orig, `"`) {
		return strings.Trim(orig, `"`)
	}
	return strings.ToLower(w)
}

// sessionCommand runs q when it is a cursor or SHOW statement this file
// serves, reporting whether it was one. Errors are sent to the client.
func (ss *session) sessionCommand(q string) bool {
	words, ends := leadingWords(q, 12)
	if len(words) == 0 {
		return false
	}
	var err error
	switch words[0] {
	case "DECLARE":
		err = ss.declare(q, words, ends)
	case "FETCH":
		err = ss.fetch(q, words, ends)
	case "CLOSE":
		err = ss.closeCursor(q, words, ends)
	case "COPY":
		err = ss.copyOut(q, words, ends)
	case "SHOW":
		name, ok := pgSetting(words[1:])
		if !ok || strings.Contains(strings.TrimRight(q, "; \t\r\n"), ";") {
			return false
		}
		ss.showSetting(name)
	default:
		return false
	}
	if err != nil {
		ss.sendError(err, q)
	}
	return true
}

// original returns the i-th word as written (for quoted names).
func original(q string, ends []int, i int) string {
	start := 0
	if i > 0 {
		start = ends[i-1]
	}
	return strings.TrimSpace(q[start:ends[i]])
}

// declare runs DECLARE name [BINARY] [ASENSITIVE|INSENSITIVE] [[NO] SCROLL]
// CURSOR [{WITH|WITHOUT} HOLD] FOR query.
func (ss *session) declare(q string, words []string, ends []int) error {
	if len(words) < 2 {
		return errs.New(errs.SyntaxError, "DECLARE needs a cursor name")
	}
	name := cursorName(words[1], original(q, ends, 1))
	i := 2
	for i < len(words) && words[i] != "CURSOR" {
		switch words[i] {
		case "BINARY":
			return errs.New(errs.NotSupported, "binary cursors are not supported")
		case "SCROLL":
			if words[i-1] != "NO" {
				return errs.New(errs.NotSupported, "scrollable cursors are not supported; Eddy's results are streams read forward")
			}
		case "NO", "ASENSITIVE", "INSENSITIVE":
		default:
			return errs.New(errs.SyntaxError, "unexpected %s in DECLARE", words[i])
		}
		i++
	}
	i++ // CURSOR
	for i < len(words) && (words[i] == "WITH" || words[i] == "WITHOUT" || words[i] == "HOLD") {
		i++
	}
	if i >= len(words) || words[i] != "FOR" {
		return errs.New(errs.SyntaxError, "DECLARE %s must be followed by CURSOR FOR and a query", name)
	}
	if ss.txStatus == 'I' {
		return stateError("25P01", "DECLARE CURSOR can only be used in transaction blocks")
	}
	if ss.cursors[name] != nil {
		return stateError("42P03", "cursor \"%s\" already exists", name)
	}
	// The query keeps its place in q (the DECLARE prefix is blanked), so
	// error positions point into the client's statement.
	body := strings.Repeat(" ", ends[i]) + q[ends[i]:]
	script, err := sql.ParseScript(body)
	if err != nil {
		return err
	}
	if len(script.Stmts) != 1 {
		return errs.New(errs.SyntaxError, "DECLARE CURSOR takes one query")
	}
	st := script.Stmts[0].Stmt
	switch st.(type) {
	case *sql.QueryStatement, *sql.Subscribe:
	default:
		return errs.New(errs.SyntaxError, "DECLARE CURSOR takes a SELECT, VALUES or SUBSCRIBE query")
	}
	ctx := ss.beginStatement()
	defer ss.endStatement()
	r, err := ss.run(ctx, script.Source, st, script.Text(0), nil)
	if err != nil {
		return err
	}
	if r.Kind != table.SuccessWithContent {
		r.Close()
		return errs.New(errs.SyntaxError, "DECLARE CURSOR takes a query returning rows")
	}
	ss.cursors[name] = &sqlCursor{stmt: st, cur: newCursor(st, r, nil)}
	ss.be.Send(&pgproto3.CommandComplete{CommandTag: []byte("DECLARE CURSOR")})
	return nil
}

// fetch runs FETCH [NEXT | FORWARD [n|ALL] | n | ALL] [FROM|IN] name.
func (ss *session) fetch(q string, words []string, ends []int) error {
	count, all := 1, false
	i := 1
	parseCount := func(w string) bool {
		if w == "ALL" {
			all = true
			return true
		}
		n, err := strconv.Atoi(w)
		if err != nil {
			return false
		}
		count = n
		return true
	}
	switch {
	case i < len(words) && words[i] == "NEXT":
		i++
	case i < len(words) && words[i] == "FORWARD":
		i++
		if i < len(words) && parseCount(words[i]) {
			i++
		}
	case i < len(words) && parseCount(words[i]):
		i++
	case i < len(words) && (words[i] == "PRIOR" || words[i] == "BACKWARD" || words[i] == "FIRST" ||
		words[i] == "LAST" || words[i] == "ABSOLUTE" || words[i] == "RELATIVE"):
		return errs.New(errs.NotSupported, "cursors only move forward; %s is not supported", words[i])
	}
	if i < len(words) && (words[i] == "FROM" || words[i] == "IN") {
		i++
	}
	if i != len(words)-1 {
		return errs.New(errs.SyntaxError, "FETCH needs a cursor name")
	}
	if count < 0 {
		return errs.New(errs.NotSupported, "cursors only move forward")
	}
	name := cursorName(words[i], original(q, ends, i))
	c := ss.cursors[name]
	if c == nil {
		return stateError("34000", "cursor \"%s\" does not exist", name)
	}
	limit := count
	if all {
		limit = 0
	} else if count == 0 {
		// FETCH 0 re-fetches the current row, which a stream no longer has.
		return errs.New(errs.NotSupported, "FETCH 0 is not supported")
	}
	before := c.cur.count
	ss.be.Send(rowDescription(c.cur.schema(), nil))
	ctx := ss.beginStatement()
	defer ss.endStatement()
	if _, err := c.cur.send(ctx, ss, limit); err != nil {
		c.cur.close()
		delete(ss.cursors, name)
		return err
	}
	ss.be.Send(&pgproto3.CommandComplete{CommandTag: []byte("FETCH " + strconv.Itoa(c.cur.count-before))})
	return nil
}

// closeCursor runs CLOSE name | CLOSE ALL.
func (ss *session) closeCursor(q string, words []string, ends []int) error {
	if len(words) != 2 {
		return errs.New(errs.SyntaxError, "CLOSE needs a cursor name or ALL")
	}
	if words[1] == "ALL" {
		ss.closeCursors()
	} else {
		name := cursorName(words[1], original(q, ends, 1))
		c := ss.cursors[name]
		if c == nil {
			return stateError("34000", "cursor \"%s\" does not exist", name)
		}
		c.cur.close()
		delete(ss.cursors, name)
	}
	ss.be.Send(&pgproto3.CommandComplete{CommandTag: []byte("CLOSE CURSOR")})
	return nil
}

// pgSetting recognizes SHOW of a PostgreSQL setting clients probe
// (words after SHOW), returning the setting's name.
func pgSetting(words []string) (string, bool) {
	if len(words) == 3 && words[0] == "TRANSACTION" && words[1] == "ISOLATION" && words[2] == "LEVEL" {
		return "transaction_isolation", true
	}
	if len(words) != 1 {
		return "", false
	}
	name := strings.ToLower(words[0])
	if _, ok := pgSettings[name]; ok {
		return name, true
	}
	for _, kv := range (&session{}).parameterStatus() {
		if strings.EqualFold(kv[0], name) {
			return name, true
		}
	}
	return "", false
}

// pgSettings are the values of PostgreSQL settings Eddy reports beyond the
// ParameterStatus ones. Eddy has no transactions; statements see the
// catalog as it is when they start, which read committed describes.
var pgSettings = map[string]string{
	"transaction_isolation":         "read committed",
	"default_transaction_isolation": "read committed",
	"transaction_read_only":         "off",
	"search_path":                   `"$user", public`,
	"max_identifier_length":         "63",
	"lc_collate":                    "C",
	"lc_ctype":                      "C",
	// server_version_num is server_version as a number (JDBC and other
	// drivers' version checks read it).
	"server_version_num": serverVersionNum,
}

// showSetting answers SHOW name with one row as PostgreSQL does.
func (ss *session) showSetting(name string) {
	ss.be.Send(settingDescription(name))
	ss.sendSetting(name)
}

// settingDescription is the RowDescription of SHOW name: one text column.
func settingDescription(name string) *pgproto3.RowDescription {
	return &pgproto3.RowDescription{Fields: []pgproto3.FieldDescription{{
		Name: []byte(name), DataTypeOID: 25, DataTypeSize: -1, TypeModifier: -1,
	}}}
}

// sendSetting sends the row and completion of SHOW name. A value the
// session SET (extra_float_digits, application_name…) wins.
func (ss *session) sendSetting(name string) {
	val, ok := pgSettings[name]
	for _, kv := range ss.parameterStatus() {
		if strings.EqualFold(kv[0], name) {
			val, ok = kv[1], true
		}
	}
	if v, set := ss.env.Config()[name]; set {
		val, ok = v, true
	}
	if !ok {
		val = ""
	}
	ss.be.Send(&pgproto3.DataRow{Values: [][]byte{[]byte(val)}})
	ss.be.Send(&pgproto3.CommandComplete{CommandTag: []byte("SHOW")})
}

// boundedQuery reports whether st is a query that reads only PostgreSQL
// catalog relations (pg_catalog, information_schema, or pg_ names that
// resolve there), the queries psql's describe commands send, and
// materialized views (when isView is given).
func boundedQuery(st sql.Statement, isView func(parts []string) bool) bool {
	if _, ok := st.(*sql.QueryStatement); !ok {
		return false
	}
	refs, only := 0, true
	refType := reflect.TypeOf(sql.TableRef{})
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.Pointer, reflect.Interface:
			if !v.IsNil() {
				walk(v.Elem())
			}
		case reflect.Struct:
			if v.Type() == refType {
				refs++
				// Read through reflection, not Interface, which refuses
				// values reached through unexported fields.
				pv := v.FieldByName("Name").FieldByName("Parts")
				parts := make([]string, pv.Len())
				for i := range parts {
					parts[i] = pv.Index(i).String()
				}
				switch {
				case len(parts) >= 2 && (strings.EqualFold(parts[len(parts)-2], catalog.PGCatalog) ||
					strings.EqualFold(parts[len(parts)-2], catalog.InformationSchema)):
				case len(parts) == 1 && strings.HasPrefix(strings.ToLower(parts[0]), "pg_"):
				case isView != nil && isView(parts):
				default:
					only = false
				}
				return
			}
			for i := 0; i < v.NumField(); i++ {
				walk(v.Field(i))
			}
		case reflect.Slice, reflect.Array:
			for i := 0; i < v.Len(); i++ {
				walk(v.Index(i))
			}
		}
	}
	walk(reflect.ValueOf(st))
	return refs > 0 && only
}

// catalogBatch plans a query reading only catalog relations and
// materialized views in batch mode and returns what puts the session's
// mode back: both are bounded snapshots, and batch mode gives clients'
// ORDER BY, joins and aggregates over them their PostgreSQL meaning
// whatever the session's mode.
func (ss *session) catalogBatch(st sql.Statement) (restore func()) {
	if !boundedQuery(st, ss.isMaterializedView) {
		return func() {}
	}
	return ss.withOption(table.RuntimeMode, "batch")
}

// isMaterializedView reports whether a table name resolves to a
// materialized view.
func (ss *session) isMaterializedView(parts []string) bool {
	cm := ss.env.Catalog()
	path, err := cm.Qualify(parts)
	if err != nil {
		return false
	}
	obj, err := cm.Get(path)
	if err != nil {
		return false
	}
	t, ok := obj.(*catalog.Table)
	return ok && t.Options["connector"] == mvConnector
}
