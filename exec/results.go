package exec

import (
	"context"
	"errors"
	"io"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
)

// ResultService is where collect operators hand batches to the client that
// submitted the job. In the embedded cluster the JobManager implements it
// with in-process ResultStreams; a remote TaskManager will stream the
// batches over the network to the same streams.
type ResultService interface {
	// OpenResult returns the writer of one subtask of collect operator
	// collectID of job jobID.
	OpenResult(jobID, collectID string, subtask int) (ResultWriter, error)
}

// ResultWriter is one subtask's side of a ResultStream.
type ResultWriter interface {
	// Write hands b to the client, retaining it; it blocks while the client
	// lags (backpressure) and fails once the job is aborted or the client
	// closed the stream.
	Write(b arrow.RecordBatch) error
	// WriteSeq is Write for a writer that numbers its batches 0, 1, 2, …
	// across restarts (an exactly-once collect): a batch whose number
	// the subtask delivered before is dropped.
	WriteSeq(seq int64, b arrow.RecordBatch) error
	// Finish says the subtask wrote everything; later writes of the
	// subtask (an instance redeployed by a restart) are dropped.
	Finish() error
}

// ErrResultClosed is returned to collect operators whose client closed the
// result stream.
var ErrResultClosed = errors.New("exec: result stream closed by the client")

// ResultStream delivers the batches of one collect operator of a job to the
// client, in the order each subtask wrote them (subtasks interleave).
//
// Ownership: every batch returned by Next is owned by the caller, who
// releases it. A client must read the stream to io.EOF or Close it;
// otherwise batches stay buffered and, because the stream is bounded, a
// running job blocks.
type ResultStream struct {
	id      string
	ch      chan arrow.RecordBatch
	aborted chan struct{}

	mu      sync.Mutex
	pending int // writers that have not finished
	// finished marks the subtasks that finished: a subtask redeployed by
	// a restart after it finished (from a checkpoint taken before) does
	// not finish twice.
	finished map[int]bool
	// delivered is, per subtask, the number of batches WriteSeq delivered.
	delivered map[int]int64
	err       error
	closed    bool
}

func newResultStream(id string, writers int) *ResultStream {
	return &ResultStream{
		id:      id,
		ch:      make(chan arrow.RecordBatch, ChannelCapacity),
		aborted: make(chan struct{}),
		pending: writers,
	}
}

// ID is the collect operator's identifier (CollectSpec.ID).
func (s *ResultStream) ID() string { return s.id }

// Next returns the next batch, io.EOF once every subtask finished, or the
// job's error if it failed or was cancelled.
//
// After a failure the buffered batches are released rather than returned.
func (s *ResultStream) Next(ctx context.Context) (arrow.RecordBatch, error) {
	select {
	case <-s.aborted:
		s.drain()
		return nil, s.abortErr()
	default:
	}
	select {
	case b, ok := <-s.ch:
		if !ok {
			return nil, io.EOF
		}
		return b, nil
	case <-s.aborted:
		s.drain()
		return nil, s.abortErr()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Close abandons the stream: buffered batches are released and later
// writes are dropped. The job keeps running; cancel it to stop it. Close is
// idempotent.
func (s *ResultStream) Close() {
	s.abort(ErrResultClosed)
	s.drain()
	s.mu.Lock()
	complete := s.closed
	s.mu.Unlock()
	if complete {
		// Every writer had finished, so the abort did not apply: release
		// the batches the client did not read from the closed channel.
		for b := range s.ch {
			b.Release()
		}
	}
}

func (s *ResultStream) abortErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// abort fails the stream with err unless it already ended or failed.
func (s *ResultStream) abort(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.err != nil {
		return
	}
	s.err = err
	close(s.aborted)
}

// drain releases the batches buffered in an aborted stream. The client
// drains on Close and when Next reports the abort, the JobManager once the
// job's tasks are gone, so a batch written concurrently with one drain is
// released by another.
func (s *ResultStream) drain() {
	select {
	case <-s.aborted:
	default:
		return // a healthy stream keeps its batches for the client
	}
	for {
		select {
		case b, ok := <-s.ch:
			if !ok {
				return
			}
			b.Release()
		default:
			return
		}
	}
}

// resultWriter is the writer of one subtask of a stream.
type resultWriter struct {
	s       *ResultStream
	subtask int
}

func (w resultWriter) Write(b arrow.RecordBatch) error {
	w.s.mu.Lock()
	finished := w.s.finished[w.subtask]
	w.s.mu.Unlock()
	if finished {
		return nil
	}
	select {
	case <-w.s.aborted:
		return w.s.writeErr()
	default:
	}
	b.Retain()
	select {
	case w.s.ch <- b:
		return nil
	case <-w.s.aborted:
		b.Release()
		return w.s.writeErr()
	}
}

func (w resultWriter) WriteSeq(seq int64, b arrow.RecordBatch) error {
	s := w.s
	s.mu.Lock()
	dup := seq < s.delivered[w.subtask]
	s.mu.Unlock()
	if dup {
		return nil
	}
	if err := w.Write(b); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.delivered == nil {
		s.delivered = map[int]int64{}
	}
	s.delivered[w.subtask] = seq + 1
	return nil
}

// writeErr is what a writer sees after an abort: nothing for a client that
// closed (the job may finish), the job's error otherwise.
func (s *ResultStream) writeErr() error {
	err := s.abortErr()
	if errors.Is(err, ErrResultClosed) {
		return nil
	}
	return err
}

func (w resultWriter) Finish() error {
	s := w.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.finished[w.subtask] {
		return nil
	}
	if s.finished == nil {
		s.finished = map[int]bool{}
	}
	s.finished[w.subtask] = true
	s.pending--
	if s.pending == 0 && s.err == nil {
		s.closed = true
		close(s.ch)
	}
	return nil
}

// endAtSavepoint ends a stream whose writers stopped at a savepoint without
// finishing: the client reads what they wrote, then io.EOF. It is called
// once no writer runs.
func (s *ResultStream) endAtSavepoint() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.err != nil {
		return
	}
	s.closed = true
	s.pending = 0
	close(s.ch)
}
