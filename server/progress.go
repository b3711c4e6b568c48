package server

import (
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/eddysql/eddy/exec"
)

// DefaultProgressInterval is Config.ProgressInterval's default.
const DefaultProgressInterval = 10 * time.Second

// progress tells the client how a long statement is getting on: while the
// session waits for the next batch of a result and nothing went to the
// client for an interval (a batch aggregate reading its input, a filter
// that matches nothing yet, an updating result being applied), it sends a
// NoticeResponse with the records the statement's job has read so far.
// PostgreSQL lets a server send notices at any time, between the rows of
// a result too.
//
// The notices are written by a goroutine of their own, but only while the
// session goroutine is blocked reading the result (waiting, under mu), so
// the two never write to the connection at once.
type progress struct {
	ss       *session
	job      *exec.Job
	interval time.Duration
	started  time.Time

	mu      sync.Mutex
	waiting bool
	// last is when something last went to the client.
	last time.Time

	stop chan struct{}
	done chan struct{}
}

// startProgress starts reporting the progress of job's statement.
func startProgress(ss *session, job *exec.Job, interval time.Duration) *progress {
	now := time.Now()
	p := &progress{ss: ss, job: job, interval: interval, started: now, last: now,
		stop: make(chan struct{}), done: make(chan struct{})}
	go p.run()
	return p
}

func (p *progress) run() {
	defer close(p.done)
	t := time.NewTicker(p.interval / 4)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case now := <-t.C:
			p.mu.Lock()
			if p.waiting && now.Sub(p.last) >= p.interval {
				p.ss.be.Send(&pgproto3.NoticeResponse{Severity: "NOTICE", SeverityUnlocalized: "NOTICE", Code: "00000",
					Message: fmt.Sprintf("job %s has read %d records in %s", p.job.ID(), recordsRead(p.job), now.Sub(p.started).Round(time.Second))})
				// A client that went away is noticed by the session.
				_ = p.ss.be.Flush()
				p.last = now
			}
			p.mu.Unlock()
		}
	}
}

// wait marks the session goroutine as blocked reading the result (or no
// longer); a nil progress does nothing.
func (p *progress) wait(waiting bool) {
	if p == nil {
		return
	}
	p.mu.Lock()
	p.waiting = waiting
	p.mu.Unlock()
}

// sent records that rows went to the client.
func (p *progress) sent() {
	if p == nil {
		return
	}
	p.mu.Lock()
	p.last = time.Now()
	p.mu.Unlock()
}

// close stops the reports and waits for their goroutine.
func (p *progress) close() {
	if p == nil {
		return
	}
	close(p.stop)
	<-p.done
}

// recordsRead is how many records the sources of j produced.
func recordsRead(j *exec.Job) int64 {
	var n int64
	for _, m := range j.Metrics() {
		if m.Kind == exec.KindSource {
			n += m.RecordsOut
		}
	}
	return n
}
