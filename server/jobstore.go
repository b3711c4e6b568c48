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
// cancelled), except one stopped with a savepoint, which stays recorded
// as stopped with its savepoint's path; jobs the server's own shutdown
// cancels stay, and New submits them again, as Flink's JobManager HA
// does: from the latest checkpoint of their last run when they were
// checkpointing into a directory (execution.checkpointing.dir), else
// from scratch.
type jobStore struct {
	path string

	mu   sync.Mutex
	list jobList
	// stopping holds the jobs being stopped with a savepoint, with
	// whether they ended meanwhile: their end does not remove them,
	// stopped records them instead.
	stopping map[string]bool
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
	// Restored is the checkpoint the current run resumed from, which its
	// next restart falls back to while the run has completed none.
	Restored string `json:"restored,omitempty"`
	// Savepoint is the path of the savepoint the job was stopped with
	// (STOP JOB ... WITH SAVEPOINT) at Stopped; such a job is not
	// restarted.
	Savepoint string    `json:"savepoint,omitempty"`
	Stopped   time.Time `json:"stopped,omitzero"`
}

func openJobStore(dir string) (*jobStore, error) {
	st := &jobStore{path: filepath.Join(dir, "jobs.json"), list: jobList{Version: 1}, stopping: map[string]bool{}}
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

// ended forgets the job whose run id ended while the server runs, unless
// it is being stopped with a savepoint or was.
func (st *jobStore) ended(id string) error {
	st.mu.Lock()
	if _, ok := st.stopping[id]; ok {
		st.stopping[id] = true
		st.mu.Unlock()
		return nil
	}
	st.mu.Unlock()
	return st.remove(id)
}

// beginStop marks the job whose run is id as being stopped with a
// savepoint.
func (st *jobStore) beginStop(id string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.stopping[id] = false
}

// stopped records that the job whose run is id was stopped with the
// savepoint at path; an empty path (the stop failed) forgets the job if
// it ended meanwhile, as ended would have.
func (st *jobStore) stopped(id, path string) error {
	st.mu.Lock()
	ended := st.stopping[id]
	delete(st.stopping, id)
	if path == "" {
		st.mu.Unlock()
		if ended {
			return st.remove(id)
		}
		return nil
	}
	defer st.mu.Unlock()
	for i, j := range st.list.Jobs {
		if j.ID == id {
			st.list.Jobs[i].Savepoint, st.list.Jobs[i].Stopped = path, time.Now().UTC()
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
		if d.Savepoint != "" {
			continue
		}
		env, err := table.NewEnvironment(table.Settings{Cluster: s.cluster, Mem: s.cfg.Mem, Config: d.Config,
			Catalogs: []catalog.Catalog{s.catalog}})
		if err != nil {
			return err
		}
		if err = env.Catalog().UseCatalog(d.Catalog); err == nil {
			err = env.Catalog().UseDatabase([]string{d.Database})
		}
		checkpoint := ""
		if err == nil {
			checkpoint, err = restoreCheckpoint(env, d)
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
		switch sp := d.Config[table.SavepointPath]; {
		case checkpoint != "":
			s.log.Info("server: restarted job from its latest checkpoint", "job", r.Job.ID(), "previous", d.ID, "name", r.Job.Name(), "checkpoint", checkpoint)
		case sp != "":
			s.log.Info("server: restarted job from the savepoint it was submitted with", "job", r.Job.ID(), "previous", d.ID, "name", r.Job.Name(),
				"savepoint", sp, "reason", "no completed checkpoint in a checkpoint directory")
		default:
			s.log.Info("server: restarted job from scratch", "job", r.Job.ID(), "previous", d.ID, "name", r.Job.Name(),
				"reason", "no completed checkpoint in a checkpoint directory")
		}
		previous := d.ID
		d.ID, d.Restored = r.Job.ID(), checkpoint
		if err := s.jobStore.restarted(previous, d); err != nil {
			return err
		}
		s.watchJob(r.Job, d.User)
	}
	return nil
}

// restoreCheckpoint makes env's next job resume from the latest completed
// checkpoint of d's last run, or of the run before when the last one
// completed none, and returns its path: "" when d did not checkpoint into
// a directory or no checkpoint completed (the job then starts from
// scratch, or from the execution.savepoint.path it was submitted with).
func restoreCheckpoint(env *table.Environment, d durableJob) (string, error) {
	cfg, err := exec.CheckpointConfigFrom(d.Config)
	if err != nil || !cfg.Enabled() || cfg.Dir == "" {
		return "", nil
	}
	path := exec.LatestCheckpointPath(cfg.Dir, d.ID)
	if path == "" {
		path = d.Restored
	}
	if path == "" {
		return "", nil
	}
	sp, err := exec.ReadSavepointFile(path)
	if err != nil {
		return "", err
	}
	env.RestoreNextJob(sp)
	return path, nil
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
				if err := s.jobStore.ended(j.ID()); err != nil {
					s.log.Error("server: cannot update the running jobs list", "err", err)
				}
			}
		case <-s.ctx.Done():
		}
	}()
}
