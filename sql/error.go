package sql

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Error is a positioned syntax error. Every error returned by this package
// is an *Error whose Pos lies within the parsed source.
type Error struct {
	// Pos is the byte offset of the offending text in the source.
	Pos Pos
	// Line and Col are the 1-based line and column (in characters) of Pos.
	Line, Col int
	Msg       string
	// Near is the offending source text ("" at end of input).
	Near string
}

// Error renders the error as `line L, column C: syntax error near "X": msg`.
func (e *Error) Error() string {
	if e.Near == "" {
		return fmt.Sprintf("line %d, column %d: syntax error at end of input: %s", e.Line, e.Col, e.Msg)
	}
	return fmt.Sprintf("line %d, column %d: syntax error near %q: %s", e.Line, e.Col, e.Near, e.Msg)
}

// SQLState returns the PostgreSQL error code for syntax errors.
func (e *Error) SQLState() string { return "42601" }

// nearLen bounds how much offending text an error quotes.
const nearLen = 24

// newError builds an error at pos in src, quoting the text that follows pos
// up to the end of its line.
func newError(src string, pos Pos, format string, args ...any) *Error {
	if pos < 0 {
		pos = 0
	}
	if int(pos) > len(src) {
		pos = Pos(len(src))
	}
	line, col := LineCol(src, pos)
	near := src[pos:]
	if i := strings.IndexAny(near, "\r\n"); i >= 0 {
		near = near[:i]
	}
	if len(near) > nearLen {
		cut := nearLen
		for cut > 0 && !utf8.RuneStart(near[cut]) {
			cut--
		}
		near = near[:cut] + "..."
	}
	return &Error{Pos: pos, Line: line, Col: col, Msg: fmt.Sprintf(format, args...), Near: strings.TrimSpace(near)}
}

// LineCol converts a byte offset in src into a 1-based line and a 1-based
// column counted in characters. Offsets past the end map to the end.
func LineCol(src string, pos Pos) (line, col int) {
	if int(pos) > len(src) {
		pos = Pos(len(src))
	}
	line = 1
	start := 0
	for i := 0; i < int(pos); i++ {
		if src[i] == '\n' {
			line++
			start = i + 1
		}
	}
	return line, utf8.RuneCountInString(src[start:pos]) + 1
}
