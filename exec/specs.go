package exec

import "github.com/eddysql/eddy/exec/agg"

// The group aggregate's spec is declared here, apart from the operator,
// because two sides build on it: the optimizer emits it and
// op_group_agg.go implements it. (The window operators declare theirs in
// op_window_*.go.)

// KindGroupAggregate is the unbounded GROUP BY operator; its spec is
// GroupAggregateSpec. Output: the key columns, then one column per call,
// as a retract changelog (OperatorSpec.Changelog is true).
const KindGroupAggregate = "group-aggregate"

// GroupAggregateSpec configures a group aggregate.
type GroupAggregateSpec struct {
	// Keys are the group key columns of the input; empty means one global
	// group.
	Keys  []int      `json:"keys"`
	Calls []agg.Call `json:"calls"`
	// InputChangelog: the input batches carry the trailing row kind column
	// and retractions arrive as -U/-D rows.
	InputChangelog bool `json:"inputChangelog,omitempty"`
	// StateTTLMillis is table.exec.state.ttl: a group not updated for that
	// long (processing time) is dropped; 0 keeps groups forever.
	StateTTLMillis int64 `json:"stateTtlMillis,omitempty"`
}
