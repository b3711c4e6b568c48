package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/spf13/cobra"

	"github.com/eddysql/eddy/server"
)

func sqlCommand() *cobra.Command {
	var addr, file, command, user, database, history string
	cmd := &cobra.Command{
		Use:   "sql --server HOST:PORT [-f FILE.sql | -c SQL]",
		Short: "Submit a SQL script to a running Eddy server, or open a SQL shell on it",
		Long: `Sql sends a script to an Eddy server over the PostgreSQL wire protocol
(one simple-protocol query, so the statements run in order in one session)
and prints each statement's outcome: rows as a table, a tag otherwise, and
the id of every job an INSERT submitted. It exits non-zero on the first
error. The password, when the server wants one, comes from PGPASSWORD.

Without -f or -c it is an interactive shell over one session: statements
end with ';' and run as they are completed, errors are printed and the
shell goes on, \q (or end of input) leaves. On a terminal the line can be
edited (arrows, Home/End, Ctrl-A/E/U/W) and the up and down arrows walk
the history of statements, which --history keeps across runs.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var text string
			switch {
			case file != "" && command != "":
				return errors.New("give -f or -c, not both")
			case file == "-":
				b, err := io.ReadAll(cmd.InOrStdin())
				if err != nil {
					return err
				}
				text = string(b)
			case file != "":
				b, err := os.ReadFile(file)
				if err != nil {
					return err
				}
				text = string(b)
			case command != "":
				text = command
			default:
				return runShell(cmd.Context(), cmd.InOrStdin(), cmd.OutOrStdout(), addr, user, database, history)
			}
			return submitScript(cmd.Context(), cmd.OutOrStdout(), addr, user, database, text)
		},
	}
	f := cmd.Flags()
	f.StringVar(&addr, "server", server.DefaultPGAddr, "the server's PostgreSQL address host:port")
	f.StringVarP(&file, "file", "f", "", "script to run (- for standard input)")
	f.StringVarP(&command, "command", "c", "", "statements to run")
	f.StringVarP(&user, "user", "U", server.DefaultUser, "user name")
	f.StringVarP(&database, "database", "d", server.DefaultDatabase, "database")
	f.StringVar(&history, "history", defaultHistoryFile(), "file keeping the interactive shell's history (empty: none)")
	return cmd
}

// submitScript runs text on the server and prints every statement's
// outcome as it arrives.
func submitScript(ctx context.Context, out io.Writer, addr, user, database, text string) error {
	conn, err := dialServer(ctx, out, addr, user, database)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	return runText(ctx, out, conn, text)
}

// dialServer opens a session on the server; its notices (the ids of
// submitted jobs) are printed to out.
func dialServer(ctx context.Context, out io.Writer, addr, user, database string) (*pgconn.PgConn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("--server wants host:port: %w", err)
	}
	u := url.URL{Scheme: "postgres", User: url.User(user), Host: net.JoinHostPort(host, port), Path: "/" + database,
		RawQuery: "sslmode=prefer&application_name=eddy-sql"}
	cfg, err := pgconn.ParseConfig(u.String())
	if err != nil {
		return nil, err
	}
	cfg.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) {
		fmt.Fprintf(out, "[%s] %s\n", n.Severity, n.Message)
	}
	// A cancelled statement (Ctrl-C) is cancelled on the server, which
	// answers with an error; the connection stays usable.
	cfg.BuildContextWatcherHandler = func(pc *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: pc, DeadlineDelay: 5 * time.Second}
	}
	return pgconn.ConnectConfig(ctx, cfg)
}

// runText runs text as one Query and prints each statement's outcome; the
// error of the failing statement says where in text it is.
func runText(ctx context.Context, out io.Writer, conn *pgconn.PgConn, text string) error {
	mrr := conn.Exec(ctx, text)
	for mrr.NextResult() {
		rr := mrr.ResultReader()
		fields := rr.FieldDescriptions()
		if len(fields) > 0 {
			names := make([]string, len(fields))
			for i, f := range fields {
				names[i] = f.Name
			}
			printRows(out, names, rr, rowsHoldTime, rowsHoldCount)
		}
		tag, err := rr.Close()
		if err != nil {
			break
		}
		fmt.Fprintln(out, tag.String())
	}
	if err := mrr.Close(); err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) {
			msg := fmt.Sprintf("%s (SQLSTATE %s)", pe.Message, pe.Code)
			if pe.Position > 0 {
				line, col := lineCol(text, int(pe.Position))
				msg = fmt.Sprintf("line %d, column %d: %s", line, col, msg)
			}
			return errors.New(msg)
		}
		return err
	}
	return nil
}

// lineCol turns a 1-based character position into a line and column.
func lineCol(text string, pos int) (line, col int) {
	line, col = 1, 1
	for i, r := range []rune(text) {
		if i+1 == pos {
			break
		}
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return line, col
}

// A result's rows are held back, and printed aligned to their widest
// values as psql does, until the result ends, rowsHoldTime passes or
// rowsHoldCount rows arrived; after that (an unbounded SELECT) the header
// and the rows so far are printed and every later row is printed as it
// arrives, aligned to the widths known then.
const (
	rowsHoldTime  = 500 * time.Millisecond
	rowsHoldCount = 1000
)

// printRows reads rr's rows to its end, printing them as a psql table.
// A goroutine reads the rows, so the hold time runs out even while the
// server sends none; rr is only touched by that goroutine until the rows
// channel closes.
func printRows(out io.Writer, names []string, rr *pgconn.ResultReader, hold time.Duration, holdCount int) {
	rows := make(chan []string, 64)
	go func() {
		defer close(rows)
		for rr.NextRow() {
			vals := rr.Values()
			row := make([]string, len(vals))
			for i, v := range vals {
				if v == nil {
					row[i] = "NULL"
				} else {
					row[i] = string(v)
				}
			}
			rows <- row
		}
	}()
	t := newTableWriter(out, names)
	timer := time.NewTimer(hold)
	defer timer.Stop()
	var held [][]string
	streaming := false
	// startStreaming prints the header, aligned to the held rows, and
	// the held rows.
	startStreaming := func() {
		streaming = true
		t.widen(held)
		t.header()
		for _, r := range held {
			t.line(r)
		}
	}
	n := 0
	for {
		select {
		case r, ok := <-rows:
			if !ok {
				if !streaming {
					startStreaming()
				}
				t.footer(n)
				return
			}
			n++
			if streaming {
				t.line(r)
				continue
			}
			held = append(held, r)
			if len(held) >= holdCount {
				startStreaming()
			}
		case <-timer.C:
			if !streaming {
				startStreaming()
			}
		}
	}
}

// tableWriter prints psql's aligned format: a header, a separator, rows
// padded to the column widths and a row count.
type tableWriter struct {
	out    io.Writer
	names  []string
	widths []int
}

func newTableWriter(out io.Writer, names []string) *tableWriter {
	t := &tableWriter{out: out, names: names, widths: make([]int, len(names))}
	for i, n := range names {
		t.widths[i] = utf8.RuneCountInString(n)
	}
	return t
}

// widen grows the column widths to fit rows.
func (t *tableWriter) widen(rows [][]string) {
	for _, r := range rows {
		for i, v := range r {
			t.widths[i] = max(t.widths[i], utf8.RuneCountInString(v))
		}
	}
}

func (t *tableWriter) header() {
	t.line(t.names)
	seps := make([]string, len(t.names))
	for i, w := range t.widths {
		seps[i] = strings.Repeat("-", w+2)
	}
	fmt.Fprintln(t.out, strings.Join(seps, "+"))
}

// line prints one row; a value wider than its column (a row streamed
// after the header) pushes the rest of the line right.
func (t *tableWriter) line(vals []string) {
	parts := make([]string, len(vals))
	for i, v := range vals {
		parts[i] = " " + v + strings.Repeat(" ", max(t.widths[i]-utf8.RuneCountInString(v), 0)) + " "
	}
	fmt.Fprintln(t.out, strings.TrimRight(strings.Join(parts, "|"), " "))
}

func (t *tableWriter) footer(n int) {
	if n == 1 {
		fmt.Fprintln(t.out, "(1 row)")
	} else {
		fmt.Fprintf(t.out, "(%d rows)\n", n)
	}
}
