package planner

import (
	"fmt"
	"strings"

	"github.com/eddysql/eddy/catalog/types"
)

// Node is a logical plan node: an immutable value describing a relation.
// Nodes never hold a context or runtime state; rewrites build new nodes with
// WithChildren.
type Node interface {
	// Schema is the node's output columns.
	Schema() types.Schema
	Children() []Node
	// WithChildren returns a copy of the node over new children (same count).
	WithChildren(children ...Node) Node
	// Changelog is the kind of changes the node emits.
	Changelog() ChangelogMode
	// Bounded reports whether the node's output ends.
	Bounded() bool
	// Describe is the node's one-line description for EXPLAIN, without
	// its children.
	Describe() string
}

// ChangelogMode is the set of row kinds a node may emit, as in Flink.
type ChangelogMode uint8

const (
	// InsertOnly streams contain only +I rows.
	InsertOnly ChangelogMode = iota
	// Retract streams contain +I, -U, +U and -D.
	Retract
	// Upsert streams contain +I, +U and -D, keyed.
	Upsert
)

func (m ChangelogMode) String() string {
	switch m {
	case Retract:
		return "I,UB,UA,D"
	case Upsert:
		return "I,UA,D"
	}
	return "I"
}

// Explain prints a plan tree the way Flink's EXPLAIN does: one node a line,
// children indented by two spaces under their parent.
func Explain(n Node, withChangelog bool) string {
	if !withChangelog {
		return ExplainWith(n, nil)
	}
	return ExplainWith(n, func(n Node) string { return n.Changelog().String() })
}

// ExplainWith prints a plan tree as Explain does, with each node's
// changelog mode as mode prints it (none when mode is nil): the optimizer
// infers the modes Flink's EXPLAIN CHANGELOG_MODE shows from the whole
// plan.
func ExplainWith(n Node, mode func(Node) string) string {
	var b strings.Builder
	explain(&b, n, 0, mode)
	return b.String()
}

func explain(b *strings.Builder, n Node, depth int, mode func(Node) string) {
	b.WriteString(strings.Repeat("  ", depth))
	if depth > 0 {
		b.WriteString("+- ")
	}
	b.WriteString(n.Describe())
	if mode != nil {
		fmt.Fprintf(b, ", changelogMode=[%s]", mode(n))
	}
	b.WriteString("\n")
	for _, c := range n.Children() {
		explain(b, c, depth+1, mode)
	}
}

// fieldList prints column names for EXPLAIN.
func fieldList(s types.Schema) string {
	return strings.Join(s.Names(), ", ")
}

// mustChildren panics when a rewrite passes the wrong number of children:
// that is a bug in a rule, never a user error.
func mustChildren(node string, got []Node, want int) {
	if len(got) != want {
		panic(fmt.Sprintf("planner: %s.WithChildren got %d children, want %d", node, len(got), want))
	}
}
