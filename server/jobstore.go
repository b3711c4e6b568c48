package server

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"time"

	"github.com/eddysql/eddy/catalog"
	"github.com/eddysql/eddy/exec"
	"github.com/eddysql/eddy/table"
)

// jobStore keeps the list of running continuous jobs durable in the data
// directory (jobs.json): the statement that submitted each job, with the
// session's catalog, database and SET options it was planned under. A job
// leaves the list when it ends while the server runs (finished, failed or
// stopped); jobs the server's own shutdown cancels stay, and New submits
// them again. Without checkpoints they restart from scratch.
type jobStore struct {
	path string

	mu   sync.Mutex
	list jobList
}

type jobList struct {
	Version int          `json:"version"`
	Jobs    []durableJob `json:"jobs"`
}

// durableJob is one running job as recorded.
type durableJob struct {
	// ID is the id of the job's current run; it changes on each restart.
	ID       string            `json:"id"`
	Name     string            `json:"name"`
	User     string            `json:"user"`
	Catalog  string            `json:"catalog"`
	Database string            `json:"database"`
	Config   map[string]string `json:"config,omitempty"`
	SQL      string            `json:"sql"`
	// Submitted is when a client first submitted the job; restarts keep it.
	Submitted time.Time `json:"submitted"`
}

func openJobStore(dir string) (*jobStore, error) {
	st := &jobStore{path: filepath.Join(dir, "jobs.json"), list: jobList{Version: 1}}
	if err := readJSONFile(st.path, &st.list); err != nil {
		return nil, err
	}
	return st, nil
}

// add records a job that started running.
func (st *jobStore) add(j durableJob) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.list.Jobs = append(st.list.Jobs, j)
	return st.writeLocked()
}

// remove forgets the job whose current run is id.
func (st *jobStore) remove(id string) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	for i, j := range st.list.Jobs {
		if j.ID == id {
			st.list.Jobs = append(st.list.Jobs[:i], st.list.Jobs[i+1:]...)
			return st.writeLocked()
		}
	}
	return nil
}

// jobs returns the recorded jobs.
func (st *jobStore) jobs() []durableJob {
	st.mu.Lock()
	defer st.mu.Unlock()
	return append([]durableJob(nil), st.list.Jobs...)
}

// restarted records that the job whose run was id runs again as d.
func (st *jobStore) restarted(id string, d durableJob) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	for i, j := range st.list.Jobs {
		if j.ID == id {
			st.list.Jobs[i] = d
			return st.writeLocked()
		}
	}
	return nil
}

// writeLocked rewrites the file atomically.
func (st *jobStore) writeLocked() error { return writeJSONFile(st.path, &st.list) }

// restartJobs submits again the jobs that were running when the server
// last stopped. A job that no longer plans (a table it read was dropped,
// a temporary table of its session is gone) is logged and forgotten; it
// does not keep the server from starting.
func (s *Server) restartJobs(ctx context.Context) error {
	for _, d := range s.jobStore.jobs() {
		env, err := table.NewEnvironment(table.Settings{Cluster: s.cluster, Mem: s.cfg.Mem, Config: d.Config,
			Catalogs: []catalog.Catalog{s.catalog}})
		if err != nil {
			return err
		}
		if err = env.Catalog().UseCatalog(d.Catalog); err == nil {
			err = env.Catalog().UseDatabase([]string{d.Database})
		}
		var r *table.TableResult
		if err == nil {
			r, err = env.ExecuteSQL(ctx, d.SQL)
		}
		if err == nil && r.Job == nil {
			err = errors.New("the statement submitted no job")
		}
		if err != nil {
			s.log.Error("server: cannot restart job", "job", d.ID, "name", d.Name, "err", err, "sql", d.SQL)
			if err := s.jobStore.remove(d.ID); err != nil {
				return err
			}
			continue
		}
		s.log.Info("server: restarted job", "job", r.Job.ID(), "previous", d.ID, "name", r.Job.Name())
		previous := d.ID
		d.ID = r.Job.ID()
		if err := s.jobStore.restarted(previous, d); err != nil {
			return err
		}
		s.watchJob(r.Job, d.User)
	}
	return nil
}

// trackJob lists a continuous job in the registry and, with a data
// directory, in the durable list until it ends while the server runs.
func (s *Server) trackJob(j *exec.Job, d durableJob) error {
	if s.jobStore != nil {
		if err := s.jobStore.add(d); err != nil {
			s.jobs.add(j, d.User)
			return err
		}
	}
	s.watchJob(j, d.User)
	return nil
}

// watchJob lists a job in the registry and, when it is in the durable
// list, removes it from there once it ends while the server runs.
func (s *Server) watchJob(j *exec.Job, user string) {
	s.jobs.add(j, user)
	if s.jobStore == nil {
		return
	}
	go func() {
		select {
		case <-j.Done():
			// A job the server's shutdown cancelled ends after s.ctx is
			// cancelled: it stays listed, to be restarted.
			if s.ctx.Err() == nil {
				if err := s.jobStore.remove(j.ID()); err != nil {
					s.log.Error("server: cannot update the running jobs list", "err", err)
				}
			}
		case <-s.ctx.Done():
		}
	}()
}
