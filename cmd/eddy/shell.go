package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgconn"
)

// maxHistory is how many statements the history file keeps.
const maxHistory = 500

// maxLineBytes bounds one line of piped shell input.
const maxLineBytes = 64 << 20

// defaultHistoryFile is ~/.eddy_sql_history, as psql keeps ~/.psql_history.
func defaultHistoryFile() string {
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".eddy_sql_history")
}

// history is the shell's statements, oldest first, one line each; with a
// file it is loaded at start and every statement is appended to it.
type history struct {
	file    string
	entries []string
}

func loadHistory(file string) *history {
	h := &history{file: file}
	if file == "" {
		return h
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return h
	}
	for _, line := range strings.Split(string(b), "\n") {
		if line != "" {
			h.entries = append(h.entries, line)
		}
	}
	h.entries = h.entries[max(len(h.entries)-maxHistory, 0):]
	return h
}

// add records a statement (its lines joined by spaces, so that recalling
// it gives one editable line); a failure to write the file only loses
// history, so it is not reported.
func (h *history) add(stmt string) {
	line := strings.Join(strings.Fields(stmt), " ")
	if line == "" || len(h.entries) > 0 && h.entries[len(h.entries)-1] == line {
		return
	}
	h.entries = append(h.entries, line)
	if h.file == "" {
		return
	}
	if len(h.entries) > 2*maxHistory {
		// Rewrite the file now and then so it does not grow forever.
		h.entries = h.entries[len(h.entries)-maxHistory:]
		_ = os.WriteFile(h.file, []byte(strings.Join(h.entries, "\n")+"\n"), 0o600)
		return
	}
	f, err := os.OpenFile(h.file, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return
	}
	_, _ = f.WriteString(line + "\n")
	_ = f.Close()
}

// lineReader reads the shell's input a line at a time.
type lineReader interface {
	// readLine returns the next line without its newline, or io.EOF.
	readLine(prompt string) (string, error)
}

// plainReader reads lines from a pipe or file: no prompt, no editing.
type plainReader struct{ sc *bufio.Scanner }

func (r *plainReader) readLine(string) (string, error) {
	if r.sc.Scan() {
		return r.sc.Text(), nil
	}
	if err := r.sc.Err(); err != nil {
		return "", err
	}
	return "", io.EOF
}

// runShell is `eddy sql` without a script: one session on the server;
// each statement runs once its ';' is typed; \q or the end of input
// leaves. On a terminal the line is edited with the history (terminal
// keys come through a raw-mode keyboard, see shell_linux.go) and Ctrl-C
// cancels the running statement; elsewhere lines are read as they come.
func runShell(ctx context.Context, in io.Reader, out io.Writer, addr, user, database, histFile string) error {
	conn, err := dialServer(ctx, out, addr, user, database)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	hist := loadHistory(histFile)
	sc := bufio.NewScanner(in)
	// A statement's line may be long (generated SQL, inline VALUES).
	sc.Buffer(nil, maxLineBytes)
	var lr lineReader = &plainReader{sc: sc}
	var kb *keyboard
	if f, ok := in.(*os.File); ok {
		if kb, err = openKeyboard(f); err != nil {
			return err
		}
	}
	if kb != nil {
		defer kb.close()
		lr = &lineEditor{keys: kb, out: out, hist: hist}
		fmt.Fprintf(out, "Connected to Eddy at %s. End statements with ';', leave with \\q.\n", addr)
	}
	var buf strings.Builder
	for {
		prompt := "eddy> "
		if buf.Len() > 0 {
			prompt = "   -> "
		}
		line, err := lr.readLine(prompt)
		if errors.Is(err, io.EOF) {
			// What is left without its ';' runs, as psql runs it at end
			// of input.
			if rest := strings.TrimSpace(buf.String()); rest != "" {
				runShellStatement(ctx, out, conn, kb, hist, rest)
			}
			return nil
		}
		if err != nil {
			return err
		}
		if buf.Len() == 0 {
			switch strings.TrimSpace(line) {
			case `\q`, "quit", "exit":
				return nil
			}
		}
		buf.WriteString(line)
		buf.WriteByte('\n')
		for {
			text := buf.String()
			end := statementEnd(text)
			if end < 0 {
				break
			}
			buf.Reset()
			buf.WriteString(strings.TrimLeft(text[end:], " \t\r\n"))
			if stmt := strings.TrimSpace(text[:end]); stmt != ";" {
				runShellStatement(ctx, out, conn, kb, hist, stmt)
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

// runShellStatement runs one statement, records it in the history and
// prints its outcome or its error; on a terminal, Ctrl-C cancels it.
func runShellStatement(ctx context.Context, out io.Writer, conn *pgconn.PgConn, kb *keyboard, hist *history, stmt string) {
	hist.add(stmt)
	var err error
	if kb == nil {
		err = runText(ctx, out, conn, stmt)
	} else {
		err = kb.interruptible(ctx, func(ctx context.Context) error { return runText(ctx, out, conn, stmt) })
	}
	if err != nil {
		fmt.Fprintf(out, "ERROR: %v\n", err)
	}
}

// statementEnd returns the offset just past the first ';' of text that is
// outside quotes and comments, or -1 when text holds no complete
// statement. Flink's BEGIN STATEMENT SET …; END; is sent a statement at a
// time, which the server collects until its END.
func statementEnd(text string) int {
	for i := 0; i < len(text); i++ {
		switch c := text[i]; c {
		case ';':
			return i + 1
		case '\'', '"', '`':
			// A doubled quote inside is an escaped one: the scan leaves
			// and re-enters the quoted text.
			j := strings.IndexByte(text[i+1:], c)
			if j < 0 {
				return -1
			}
			i += j + 1
		case '-':
			if strings.HasPrefix(text[i:], "--") {
				j := strings.IndexByte(text[i:], '\n')
				if j < 0 {
					return -1
				}
				i += j
			}
		case '/':
			if strings.HasPrefix(text[i:], "/*") {
				j := strings.Index(text[i+2:], "*/")
				if j < 0 {
					return -1
				}
				i += j + 3
			}
		}
	}
	return -1
}

// lineEditor edits a line on a terminal: printable keys insert at the
// cursor; Backspace, Delete, Left, Right, Home/Ctrl-A, End/Ctrl-E,
// Ctrl-U (erase to start), Ctrl-W (erase a word); Up and Down walk the
// history; Ctrl-C drops the line; Ctrl-D on an empty line is end of input.
type lineEditor struct {
	keys interface{ next() (byte, error) }
	out  io.Writer
	hist *history
}

func (e *lineEditor) readLine(prompt string) (string, error) {
	var line []rune
	pos := 0
	// at is the history entry shown (len: the line being typed, kept in
	// draft while walking the history).
	at, draft := len(e.hist.entries), ""
	redraw := func() {
		// Return to the line's start, write it, erase the rest, and move
		// the cursor back over what follows it.
		fmt.Fprintf(e.out, "\r%s%s\x1b[K", prompt, string(line))
		if n := len(line) - pos; n > 0 {
			fmt.Fprintf(e.out, "\x1b[%dD", n)
		}
	}
	show := func(s string) {
		line, pos = []rune(s), utf8.RuneCountInString(s)
		redraw()
	}
	fmt.Fprint(e.out, prompt)
	var pending []byte
	for {
		b, err := e.keys.next()
		if err != nil {
			return "", err
		}
		if len(pending) > 0 || b >= 0x80 {
			// The bytes of a multi-byte UTF-8 character.
			pending = append(pending, b)
			if !utf8.FullRune(pending) {
				continue
			}
			r, _ := utf8.DecodeRune(pending)
			pending = pending[:0]
			line = append(line[:pos], append([]rune{r}, line[pos:]...)...)
			pos++
			redraw()
			continue
		}
		switch b {
		case '\r', '\n':
			fmt.Fprint(e.out, "\r\n")
			return string(line), nil
		case 3: // Ctrl-C
			fmt.Fprint(e.out, "^C\r\n")
			line, pos = nil, 0
			fmt.Fprint(e.out, prompt)
		case 4: // Ctrl-D
			if len(line) == 0 {
				fmt.Fprint(e.out, "\r\n")
				return "", io.EOF
			}
		case 1: // Ctrl-A
			pos = 0
			redraw()
		case 5: // Ctrl-E
			pos = len(line)
			redraw()
		case 21: // Ctrl-U
			line, pos = line[pos:], 0
			redraw()
		case 23: // Ctrl-W
			i := pos
			for i > 0 && line[i-1] == ' ' {
				i--
			}
			for i > 0 && line[i-1] != ' ' {
				i--
			}
			line, pos = append(line[:i], line[pos:]...), i
			redraw()
		case 127, 8: // Backspace
			if pos > 0 {
				line, pos = append(line[:pos-1], line[pos:]...), pos-1
				redraw()
			}
		case 0x1b:
			seq, err := e.escape()
			if err != nil {
				return "", err
			}
			switch seq {
			case "[A": // Up
				if at > 0 {
					if at == len(e.hist.entries) {
						draft = string(line)
					}
					at--
					show(e.hist.entries[at])
				}
			case "[B": // Down
				if at < len(e.hist.entries) {
					at++
					if at == len(e.hist.entries) {
						show(draft)
					} else {
						show(e.hist.entries[at])
					}
				}
			case "[C": // Right
				if pos < len(line) {
					pos++
					redraw()
				}
			case "[D": // Left
				if pos > 0 {
					pos--
					redraw()
				}
			case "[H", "OH", "[1~": // Home
				pos = 0
				redraw()
			case "[F", "OF", "[4~": // End
				pos = len(line)
				redraw()
			case "[3~": // Delete
				if pos < len(line) {
					line = append(line[:pos], line[pos+1:]...)
					redraw()
				}
			}
		default:
			if b >= ' ' {
				line = append(line[:pos], append([]rune{rune(b)}, line[pos:]...)...)
				pos++
				redraw()
			}
		}
	}
}

// escape reads the rest of an escape sequence: "[" or "O", then
// parameter bytes up to a final letter or '~'.
func (e *lineEditor) escape() (string, error) {
	b, err := e.keys.next()
	if err != nil {
		return "", err
	}
	seq := []byte{b}
	if b != '[' && b != 'O' {
		return string(seq), nil
	}
	for len(seq) < 8 {
		b, err := e.keys.next()
		if err != nil {
			return "", err
		}
		seq = append(seq, b)
		if b >= 0x40 && b <= 0x7e {
			break
		}
	}
	return string(seq), nil
}
