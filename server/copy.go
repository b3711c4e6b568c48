package server

import (
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/sql"
)

// copyOut runs COPY (query) TO STDOUT and COPY name TO STDOUT in
// PostgreSQL's text format: CopyOutResponse, one CopyData per row,
// flushed batch by batch, CopyDone and "COPY n". The query may be a
// SUBSCRIBE, whose changes then stream into psql until the client
// cancels, as Materialize serves them. words and ends are q's leading
// words (see leadingWords).
func (ss *session) copyOut(q string, words []string, ends []int) error {
	rest := strings.TrimLeft(q[ends[0]:], " \t\r\n")
	start := len(q) - len(rest)
	var body string
	var tail string
	if strings.HasPrefix(rest, "(") {
		end := closingParen(q, start)
		if end < 0 {
			return errs.New(errs.SyntaxError, "COPY: unbalanced parenthesis")
		}
		// The query keeps its place in q, so error positions point into
		// the client's statement.
		body = strings.Repeat(" ", start+1) + q[start+1:end]
		tail = q[end+1:]
	} else {
		if len(words) < 2 {
			return errs.New(errs.SyntaxError, "COPY needs a table or a (query)")
		}
		body = "SELECT * FROM " + original(q, ends, 1)
		tail = q[ends[1]:]
	}
	opts := strings.Fields(strings.ToUpper(strings.NewReplacer("(", " ", ")", " ", ",", " ", ";", " ").Replace(tail)))
	if len(opts) < 2 || opts[0] != "TO" || opts[1] != "STDOUT" {
		return errs.New(errs.NotSupported, "only COPY … TO STDOUT is supported")
	}
	for i := 2; i < len(opts); i++ {
		switch {
		case opts[i] == "WITH":
		case opts[i] == "FORMAT" && i+1 < len(opts) && opts[i+1] == "TEXT":
			i++
		case opts[i] == "FORMAT" && i+1 < len(opts):
			return errs.New(errs.NotSupported, "COPY FORMAT %s is not supported (only FORMAT text)", opts[i+1])
		default:
			return errs.New(errs.NotSupported, "COPY option %s is not supported (only FORMAT text)", opts[i])
		}
	}
	script, err := sql.ParseScript(body)
	if err != nil {
		return err
	}
	if len(script.Stmts) != 1 {
		return errs.New(errs.SyntaxError, "COPY takes one query")
	}
	st := script.Stmts[0].Stmt
	switch st.(type) {
	case *sql.QueryStatement, *sql.Subscribe:
	default:
		return errs.New(errs.SyntaxError, "COPY takes a SELECT, VALUES or SUBSCRIBE query")
	}
	ctx := ss.beginStatement()
	defer ss.endStatement()
	r, err := ss.run(ctx, script.Source, st, script.Text(0), nil)
	if err != nil {
		return err
	}
	c := newCursor(st, r, nil)
	defer c.close()
	c.copyOut = true
	ss.be.Send(&pgproto3.CopyOutResponse{OverallFormat: 0, ColumnFormatCodes: make([]uint16, len(c.schema().Columns))})
	if err := ss.be.Flush(); err != nil {
		return err
	}
	if _, err := c.send(ctx, ss, 0); err != nil {
		return err
	}
	ss.be.Send(&pgproto3.CopyDone{})
	ss.be.Send(&pgproto3.CommandComplete{CommandTag: []byte("COPY " + strconv.Itoa(c.count))})
	return nil
}

// closingParen returns the index of the parenthesis closing the one at
// open, skipping string literals and quoted identifiers; -1 if none.
func closingParen(q string, open int) int {
	depth := 0
	for i := open; i < len(q); i++ {
		switch q[i] {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return i
			}
		case '\'', '"':
			j := strings.IndexByte(q[i+1:], q[i])
			if j < 0 {
				return -1
			}
			i += j + 1
		}
	}
	return -1
}
