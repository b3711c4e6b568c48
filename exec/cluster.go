package exec

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// EmbeddedCluster is a JobManager and TaskManagers in one process, sharing
// an EmbeddedShuffle. It deploys exactly as a distributed cluster will: the
// JobManager sends serialized descriptors to TaskManager.SubmitTask and
// tasks find their channels through the shuffle service.
type EmbeddedCluster struct {
	jm  *JobManager
	tms []*TaskManager
}

// NewEmbeddedCluster starts taskManagers TaskManagers of slotsPerTM slots
// each. mem allocates every buffer of every task (nil: the default
// allocator); tests pass a checked allocator.
func NewEmbeddedCluster(taskManagers, slotsPerTM int, mem memory.Allocator) *EmbeddedCluster {
	return NewEmbeddedClusterWithClock(taskManagers, slotsPerTM, mem, nil)
}

// NewEmbeddedClusterWithClock is NewEmbeddedCluster whose tasks read
// processing time from clock (nil: the wall clock), so that a test can
// move processing time, e.g. far ahead between a savepoint and its
// restore.
func NewEmbeddedClusterWithClock(taskManagers, slotsPerTM int, mem memory.Allocator, clock Clock) *EmbeddedCluster {
	c := &EmbeddedCluster{jm: NewJobManager()}
	shuffle := NewEmbeddedShuffle()
	for i := 0; i < taskManagers; i++ {
		tm := NewTaskManager(fmt.Sprintf("tm-%d", i), slotsPerTM, TaskManagerOptions{
			Mem: mem, Shuffle: shuffle, Results: c.jm, Listener: c.jm, Clock: clock,
		})
		c.tms = append(c.tms, tm)
		c.jm.RegisterTaskManager(tm)
	}
	return c
}

// JobManager returns the cluster's JobManager.
func (c *EmbeddedCluster) JobManager() *JobManager { return c.jm }

// Submit submits a job to the cluster's JobManager.
func (c *EmbeddedCluster) Submit(ctx context.Context, g *JobGraph) (*Job, error) {
	return c.jm.Submit(ctx, g)
}

// Close cancels every running job and waits until they have stopped, or
// until ctx is done.
func (c *EmbeddedCluster) Close(ctx context.Context) error {
	return c.jm.CancelAll(ctx)
}
