package exec

import (
	"encoding/json"
	"fmt"
)

// TaskDeploymentDescriptor is everything a TaskManager needs to run one
// subtask, sent as bytes (EncodeDescriptor) so the path is the same whether
// the TaskManager runs in the JobManager's process or on another machine.
// Channels are named, not shared: the task opens them by ChannelID through
// its TaskManager's ShuffleService.
type TaskDeploymentDescriptor struct {
	JobID   string `json:"jobId"`
	JobName string `json:"jobName"`
	// Slot is the TaskManager slot the subtask runs in.
	Slot        int            `json:"slot"`
	Vertex      int            `json:"vertex"`
	VertexName  string         `json:"vertexName"`
	Subtask     int            `json:"subtask"`
	Parallelism int            `json:"parallelism"`
	Operators   []OperatorSpec `json:"operators"`
	// Inputs has one gate per input edge; the chain head's input count is
	// one more than the largest Input.
	Inputs []InputGateDescriptor `json:"inputs,omitempty"`
	// Outputs has one partition per output edge.
	Outputs []OutputDescriptor `json:"outputs,omitempty"`
	Config  map[string]string  `json:"config,omitempty"`
	// Restore is the subtask's state in the savepoint the job restores
	// from; nil starts the subtask empty.
	Restore *SubtaskState `json:"restore,omitempty"`
}

// InputGateDescriptor says which channels of one input edge the subtask
// reads: one per producer subtask, ChannelID{Job, Edge, producer, Subtask}.
type InputGateDescriptor struct {
	Edge int `json:"edge"`
	// Input is the chain head's input the edge feeds.
	Input          int   `json:"input"`
	UpstreamVertex int   `json:"upstreamVertex"`
	Producers      []int `json:"producers"`
}

// OutputDescriptor says how the subtask partitions its output over one
// output edge: channel i goes to consumer subtask Consumers[i], and Hash
// assigns rows to channels by the hash of Keys.
type OutputDescriptor struct {
	Edge                  int          `json:"edge"`
	Partitioning          Partitioning `json:"partitioning"`
	Keys                  []int        `json:"keys,omitempty"`
	DownstreamVertex      int          `json:"downstreamVertex"`
	DownstreamParallelism int          `json:"downstreamParallelism"`
	Consumers             []int        `json:"consumers"`
}

// EncodeDescriptor serializes a descriptor for TaskManager.SubmitTask.
func EncodeDescriptor(d *TaskDeploymentDescriptor) ([]byte, error) {
	return json.Marshal(d)
}

// DecodeDescriptor is the inverse of EncodeDescriptor.
func DecodeDescriptor(data []byte) (*TaskDeploymentDescriptor, error) {
	var d TaskDeploymentDescriptor
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, fmt.Errorf("exec: bad task deployment descriptor: %w", err)
	}
	return &d, nil
}

// name identifies the subtask in errors and logs, as Flink does:
// "Vertex (2/4)".
func (d *TaskDeploymentDescriptor) name() string {
	return fmt.Sprintf("%s (%d/%d)", d.VertexName, d.Subtask+1, d.Parallelism)
}
