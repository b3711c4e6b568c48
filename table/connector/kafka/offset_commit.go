package kafka

import (
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"
)

// offsetCommitter commits a source subtask's offsets to its consumer group
// off the task's goroutine, as Flink's KafkaSourceReader commits
// asynchronously: a commit waiting for an unreachable coordinator must not
// hold up the task, its checkpoints or its rows. Only the latest offsets
// matter, so a commit asked for while one runs replaces any still waiting.
// The committed offsets serve monitoring and jobs started from
// 'group-offsets', never the job's own recovery (it restores its
// checkpoint's offsets), so a failed commit is dropped, as Flink only logs
// it: the next checkpoint's commit covers the same partitions.
type offsetCommitter struct {
	cfg *config

	mu      sync.Mutex
	waiting map[string]map[int32]int64 // the next commit; nil when none
	running bool                       // a goroutine is committing
	closed  bool
	adm     *admin // created by the first commit
	done    sync.WaitGroup
}

// commit schedules a commit of offsets (next offsets by topic and
// partition); it does not wait for it.
func (c *offsetCommitter) commit(offsets map[string]map[int32]int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	c.waiting = offsets
	if c.running {
		return
	}
	c.running = true
	c.done.Add(1)
	go c.run()
}

// run commits the waiting offsets until none are left.
func (c *offsetCommitter) run() {
	defer c.done.Done()
	for {
		c.mu.Lock()
		offsets := c.waiting
		c.waiting = nil
		if offsets == nil || c.closed {
			c.running = false
			c.mu.Unlock()
			return
		}
		adm := c.adm
		c.mu.Unlock()
		if adm == nil {
			var err error
			if adm, err = c.client(); err != nil {
				continue
			}
		}
		_ = adm.commitOffsets(offsets)
	}
}

// client creates the committing client, unless the committer was closed
// meanwhile. OffsetCommit v10 names topics by id only, which a direct
// consumer does not track: the client speaks v9 at most, where topics go
// by name (as kgo's own commits do without ids).
func (c *offsetCommitter) client() (*admin, error) {
	versions := kversion.Stable()
	versions.SetMaxKeyVersion(kmsg.NewPtrOffsetCommitRequest().Key(), 9)
	adm, err := newClient(c.cfg, kgo.MaxVersions(versions))
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		adm.cl.Close()
		return nil, kgo.ErrClientClosed
	}
	c.adm = adm
	return adm, nil
}

// close drops a waiting commit, interrupts a running one and waits for its
// goroutine; it is idempotent.
func (c *offsetCommitter) close() {
	c.mu.Lock()
	c.closed = true
	c.waiting = nil
	adm := c.adm
	c.adm = nil
	c.mu.Unlock()
	if adm != nil {
		adm.cl.Close()
	}
	c.done.Wait()
}
