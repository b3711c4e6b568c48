package exec

import (
	"context"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
)

// ctxSource is a source whose Next waits for its context.
type ctxSource struct{}

func (ctxSource) Open(*OperatorContext) error { return nil }
func (ctxSource) Next(ctx context.Context) (arrow.RecordBatch, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}
func (ctxSource) Snapshot() ([]byte, error) { return nil, nil }
func (ctxSource) Restore([]byte) error      { return nil }
func (ctxSource) Close() error              { return nil }

// TestPullSourceAsyncCancelDuringCheckpoint: a task cancelled while it
// snapshots, with the next checkpoint already triggered, ends. Its reader
// leaves the wait for the snapshot's resume through the cancellation
// without taking the token, pauses for the next checkpoint, and the task
// must not block handing it a second token (a hang seen in CI: the job
// never restarted after a failover).
func TestPullSourceAsyncCancelDuringCheckpoint(t *testing.T) {
	for range 40 {
		ctx, cancel := context.WithCancel(context.Background())
		tk := &task{ctx: ctx, cancel: cancel, ckpt: newTaskCheckpoints(func(CheckpointAck) {})}
		tk.srcCtx, tk.stopSource = context.WithCancel(ctx)
		inSnapshot, release := make(chan struct{}), make(chan struct{})
		first := true
		checkpoint := func() error {
			tk.ckpt.takeRequest()
			if first {
				first = false
				close(inSnapshot)
				<-release
			}
			return nil
		}
		links := []*chainLink{{spec: &OperatorSpec{Kind: "test"}}}
		emit := func(b arrow.RecordBatch) error {
			b.Release()
			return nil
		}
		tk.ckpt.trigger(1)
		done := make(chan error, 1)
		go func() {
			_, err := tk.pullSourceAsync(ctxSource{}, nil, links, nil, emit, checkpoint)
			done <- err
		}()
		<-inSnapshot
		tk.ckpt.trigger(2)
		cancel()
		// Let the reader pause again before the snapshot ends.
		time.Sleep(time.Millisecond)
		close(release)
		select {
		case err := <-done:
			if err != context.Canceled {
				t.Fatalf("the cancelled task ended with %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the cancelled task did not end")
		}
	}
}
