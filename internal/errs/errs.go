// Package errs is Eddy's error catalog: every error a user can see has a
// code, grouped by the phase that raises it, and each code has the SQLSTATE
// that the Postgres wire protocol sends. Tests assert on codes; messages are
// for people.
//
// Packages that must not import this one (the sql front end imports nothing
// of ours) expose a SQLState() method on their error types instead; State
// finds it either way.
package errs

import (
	"errors"
	"fmt"
)

// Phase groups codes by where they arise.
type Phase string

const (
	Syntax    Phase = "syntax"
	Bind      Phase = "bind"
	Plan      Phase = "plan"
	Execution Phase = "execution"
	Resource  Phase = "resource"
	Internal  Phase = "internal"
)

// Code identifies a kind of error.
type Code struct {
	Name     string
	Phase    Phase
	SQLState string
}

// The catalog. SQLSTATEs are PostgreSQL's, so drivers react as they would to
// PostgreSQL.
var (
	SyntaxError       = Code{"syntax_error", Syntax, "42601"}
	UndefinedTable    = Code{"undefined_table", Bind, "42P01"}
	UndefinedColumn   = Code{"undefined_column", Bind, "42703"}
	AmbiguousColumn   = Code{"ambiguous_column", Bind, "42702"}
	UndefinedFunction = Code{"undefined_function", Bind, "42883"}
	UndefinedObject   = Code{"undefined_object", Bind, "42704"}
	UndefinedDatabase = Code{"invalid_catalog_name", Bind, "3D000"}
	UndefinedParam    = Code{"undefined_parameter", Bind, "42P02"}
	DuplicateTable    = Code{"duplicate_table", Bind, "42P07"}
	DuplicateColumn   = Code{"duplicate_column", Bind, "42701"}
	DuplicateDatabase = Code{"duplicate_database", Bind, "42P04"}
	DuplicateObject   = Code{"duplicate_object", Bind, "42710"}
	DatatypeMismatch  = Code{"datatype_mismatch", Bind, "42804"}
	GroupingError     = Code{"grouping_error", Bind, "42803"}
	InvalidOption     = Code{"invalid_parameter_value", Bind, "22023"}
	WrongObjectType   = Code{"wrong_object_type", Bind, "42809"}
	NotSupported      = Code{"feature_not_supported", Plan, "0A000"}
	InvalidPlan       = Code{"invalid_plan", Plan, "42000"}
	DivisionByZero    = Code{"division_by_zero", Execution, "22012"}
	InvalidCast       = Code{"invalid_text_representation", Execution, "22P02"}
	NumericOutOfRange = Code{"numeric_value_out_of_range", Execution, "22003"}
	DataException     = Code{"data_exception", Execution, "22000"}
	ConnectorFailure  = Code{"connector_failure", Execution, "58000"}
	QueryCanceled     = Code{"query_canceled", Execution, "57014"}
	InsufficientSlots = Code{"insufficient_resources", Resource, "53000"}
	InternalError     = Code{"internal_error", Internal, "XX000"}

	// The sink constraint enforcer's violations: a NULL written into a NOT
	// NULL column, a value that does not fit the length of its CHAR/
	// VARCHAR/BINARY/VARBINARY column.
	NotNullViolation         = Code{"not_null_violation", Execution, "23502"}
	StringDataLengthMismatch = Code{"string_data_length_mismatch", Execution, "22026"}
	// UniqueViolation: rows of different upsert keys remain for one
	// primary key of a sink written with ON CONFLICT DO ERROR.
	UniqueViolation = Code{"unique_violation", Execution, "23505"}
	// DependentObjects: a DROP would leave dangling references (a
	// database that still holds objects, a column that a computed column
	// or the watermark reads).
	DependentObjects = Code{"dependent_objects_still_exist", Bind, "2BP01"}
	// ObjectNotInState: an object cannot do what was asked in its current
	// state or configuration (a job that has ended cannot take a
	// savepoint, nor one without a savepoint directory).
	ObjectNotInState = Code{"object_not_in_prerequisite_state", Execution, "55000"}
)

// Error is an error with a code and, for errors about SQL text, the
// position of the offending text.
type Error struct {
	Code Code
	Msg  string
	// Line and Col are 1-based; zero when the error has no position.
	Line, Col int
	// Offset is the byte offset of the offending text in the script.
	Offset int
	// Near is the offending text, shown after the message.
	Near  string
	Cause error
}

func (e *Error) Error() string {
	msg := e.Msg
	if e.Code.Phase == Internal {
		msg = "internal error: " + msg
	}
	if e.Near != "" {
		msg = fmt.Sprintf("%s (near %q)", msg, e.Near)
	}
	if e.Line > 0 {
		return fmt.Sprintf("line %d, column %d: %s", e.Line, e.Col, msg)
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Cause }

// SQLState is the error's PostgreSQL SQLSTATE.
func (e *Error) SQLState() string { return e.Code.SQLState }

// New makes an unpositioned error.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// Wrap makes an unpositioned error that keeps cause for errors.Is/As.
func Wrap(code Code, cause error, format string, args ...any) *Error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...), Cause: cause}
}

// Internalf reports a broken invariant: a bug in Eddy, not in the query.
func Internalf(format string, args ...any) *Error {
	return New(InternalError, format, args...)
}

// State returns the SQLSTATE of err: from an *Error, from any error in the
// chain with a SQLState() method, or XX000 for anything else.
func State(err error) string {
	var s interface{ SQLState() string }
	if errors.As(err, &s) {
		return s.SQLState()
	}
	return InternalError.SQLState
}

// Is reports whether err carries code.
func Is(err error, code Code) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}
