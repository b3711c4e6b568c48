package exec

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
)

// slowDeployTM is a TaskManager whose task submissions take a while, as
// over the network, and which counts the checkpoints triggered while the
// job's tasks were not all submitted yet.
type slowDeployTM struct {
	*TaskManager
	subtasks int

	mu        sync.Mutex
	submitted int
	early     int
}

func (s *slowDeployTM) SubmitTask(d []byte) error {
	time.Sleep(20 * time.Millisecond)
	// Counted before the submission: the task may report RUNNING, and the
	// JobManager trigger a checkpoint, before SubmitTask returns.
	s.mu.Lock()
	s.submitted++
	s.mu.Unlock()
	return s.TaskManager.SubmitTask(d)
}

func (s *slowDeployTM) ReleaseJob(id string) {
	s.mu.Lock()
	s.submitted = 0
	s.mu.Unlock()
	s.TaskManager.ReleaseJob(id)
}

func (s *slowDeployTM) TriggerCheckpoint(id string, ckpt int64) {
	s.mu.Lock()
	if s.submitted < s.subtasks {
		s.early++
	}
	s.mu.Unlock()
	s.TaskManager.TriggerCheckpoint(id, ckpt)
}

// TestCheckpointAfterSlowRedeploy: a restart sets the job RUNNING before
// it has deployed every task again. The coordinator triggers no
// checkpoint until every subtask runs, as Flink's does; before, a trigger
// in between missed the sources not deployed yet, and that checkpoint, and
// with it every later one, stayed pending until its timeout, so an
// exactly-once sink committed nothing after the failover.
func TestCheckpointAfterSlowRedeploy(t *testing.T) {
	resetFailover()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const par = 3
	jm := NewJobManager()
	tm := &slowDeployTM{subtasks: 2 * par, TaskManager: NewTaskManager("tm-0", 2*par, TaskManagerOptions{
		Mem: mem, Shuffle: NewEmbeddedShuffle(), Results: jm, Listener: jm,
	})}
	jm.RegisterTaskManager(tm)
	g := failoverGraph(t, 3000, 7, 200, par, 2500, map[string]string{
		CheckpointingIntervalKey: "5 ms",
		RestartStrategyKey:       "fixed-delay",
		FixedDelayDelayKey:       "1 ms",
	})
	j, err := jm.Submit(ctx, g)
	require.NoError(t, err)
	final := map[int64]aggResult{}
	require.NoError(t, collectUpsert(t, j, final))
	require.NoError(t, j.Wait(ctx))
	require.True(t, failedOnce.Load())
	require.Equal(t, wantAgg(3000, 7), final)
	require.EqualValues(t, 1, j.CheckpointStats().Restarts)
	require.Zero(t, tm.early, "checkpoints triggered before every task was deployed")
}
