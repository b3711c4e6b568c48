package optimizer

import (
	"fmt"
	"strings"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec"
)

// PhysicalNode is a node of the physical plan: a logical operation with its
// parallelism decided and the data exchanges between parallel instances
// made explicit. Physical nodes are immutable; ToJobGraph turns them into
// the serializable description the JobManager runs.
type PhysicalNode interface {
	Schema() types.Schema
	Inputs() []PhysicalNode
	Parallelism() int
	// Bounded reports whether the node's output ends.
	Bounded() bool
	Describe() string
}

// operatorNode is implemented by physical nodes that run as an operator.
type operatorNode interface {
	PhysicalNode
	operatorSpec() (exec.OperatorSpec, error)
}

// ExplainPhysical prints a physical plan tree like Flink's EXPLAIN.
func ExplainPhysical(n PhysicalNode) string {
	return explainPhysicalWith(n, nil)
}

// explainPhysicalWith prints the plan as ExplainPhysical does, with the
// attribute attr returns for a node (if any) before the node's own, as
// Flink prints EXPLAIN PLAN_ADVICE's advice=[1].
func explainPhysicalWith(n PhysicalNode, attr func(PhysicalNode) string) string {
	var b strings.Builder
	explainPhysical(&b, n, 0, attr)
	return b.String()
}

func explainPhysical(b *strings.Builder, n PhysicalNode, depth int, attr func(PhysicalNode) string) {
	b.WriteString(strings.Repeat("  ", depth))
	if depth > 0 {
		b.WriteString("+- ")
	}
	d := n.Describe()
	if attr != nil {
		if a := attr(n); a != "" {
			if i := strings.IndexByte(d, '('); i >= 0 {
				sep := ", "
				if i+1 < len(d) && d[i+1] == ')' {
					sep = ""
				}
				d = d[:i+1] + a + sep + d[i+1:]
			} else {
				d += "(" + a + ")"
			}
		}
	}
	fmt.Fprintf(b, "%s, parallelism=[%d]\n", d, n.Parallelism())
	for _, c := range n.Inputs() {
		explainPhysical(b, c, depth+1, attr)
	}
}
