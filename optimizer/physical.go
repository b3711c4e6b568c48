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
	var b strings.Builder
	explainPhysical(&b, n, 0)
	return b.String()
}

func explainPhysical(b *strings.Builder, n PhysicalNode, depth int) {
	b.WriteString(strings.Repeat("  ", depth))
	if depth > 0 {
		b.WriteString("+- ")
	}
	fmt.Fprintf(b, "%s, parallelism=[%d]\n", n.Describe(), n.Parallelism())
	for _, c := range n.Inputs() {
		explainPhysical(b, c, depth+1)
	}
}
