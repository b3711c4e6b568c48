package server

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/catalog"
	"github.com/eddysql/eddy/exec"
)

// Defaults of Config.
const (
	DefaultPGAddr         = "127.0.0.1:5433"
	DefaultHTTPAddr       = "127.0.0.1:8081"
	DefaultMaxMessageSize = 64 << 20
	DefaultDatabase       = "eddy"
	DefaultUser           = "eddy"
	// ServerVersion is the PostgreSQL version Eddy advertises. psql and
	// drivers choose their catalog queries and features by it.
	ServerVersion = "15.0"
	// serverVersionNum is ServerVersion as SHOW server_version_num prints it.
	serverVersionNum = "150000"
)

// DefaultRPCAddr is the JobManager RPC endpoint's address, Flink's
// jobmanager.rpc.port on loopback.
const DefaultRPCAddr = exec.DefaultRPCAddr

// AuthMethod is how configured users prove who they are.
type AuthMethod string

const (
	AuthSCRAM     AuthMethod = "scram-sha-256"
	AuthMD5       AuthMethod = "md5"
	AuthCleartext AuthMethod = "password"
)

// Config configures a Server. The zero value serves trust authentication
// on loopback with an in-memory catalog.
type Config struct {
	// DataDir, when set, keeps the catalog durable: DDL that changes the
	// shared catalog is recorded there and replayed by New, and the
	// continuous jobs still running when the server stops are submitted
	// again by New: from their latest checkpoint when they checkpointed
	// into a directory, else from scratch. The jobs' checkpoint and
	// savepoint directories default to its checkpoints and savepoints
	// subdirectories (withStateDirs).
	DataDir string
	// Users maps user names to passwords. With no users every connection
	// from a loopback address is trusted and others are refused.
	Users map[string]string
	// Auth is the method used for Users (default SCRAM-SHA-256).
	Auth AuthMethod
	// TLS, when set, answers SSLRequest with 'S' and a TLS handshake.
	TLS *tls.Config
	// MaxMessageSize bounds one protocol message (default 64 MiB); a larger
	// message closes its connection.
	MaxMessageSize int
	// TaskManagers and Slots size the embedded cluster (defaults 1 and 64).
	TaskManagers, Slots int
	// Mem allocates the Arrow buffers of the cluster (nil: Go's allocator).
	Mem memory.Allocator
	// ProgressInterval is how long a statement waiting for its result
	// stays silent before a NOTICE reports how many records its job has
	// read, and then how often (default DefaultProgressInterval; negative:
	// never).
	ProgressInterval time.Duration
	// SessionConfig holds the initial SET options of every session.
	SessionConfig map[string]string
	// Log receives connection-level events (nil: discarded).
	Log *slog.Logger
}

// Server serves Eddy over the PostgreSQL wire protocol and HTTP: one
// embedded cluster and one shared catalog, one table.Environment per
// connection. Its methods are safe for concurrent use.
type Server struct {
	cfg     Config
	cluster *exec.EmbeddedCluster
	// catalog is the default catalog every session shares.
	catalog catalog.Catalog
	store   *catalogStore
	// jobStore keeps the running continuous jobs durable (nil without a
	// data directory).
	jobStore *jobStore
	log      *slog.Logger
	jobs     *jobRegistry
	// rpc serves the JobManager to remote table.Environments.
	rpc *exec.JobManagerService

	// ctx is cancelled by Close: it ends every session's statements.
	ctx    context.Context
	cancel context.CancelFunc

	mu       sync.Mutex
	sessions map[uint32]*session
	// mviews are the running materialized views, by catalog path.
	mviews    map[catalog.Path]*materializedView
	listeners map[net.Listener]bool
	httpSrvs  []*http.Server
	closed    bool
	nextPID   uint32
	wg        sync.WaitGroup

	ready atomic.Bool
}

// New starts the embedded cluster and restores the catalog from DataDir.
func New(cfg Config) (*Server, error) {
	if cfg.MaxMessageSize <= 0 {
		cfg.MaxMessageSize = DefaultMaxMessageSize
	}
	if cfg.Auth == "" {
		cfg.Auth = AuthSCRAM
	}
	if cfg.ProgressInterval == 0 {
		cfg.ProgressInterval = DefaultProgressInterval
	}
	if cfg.DataDir != "" {
		cfg.SessionConfig = withStateDirs(cfg.SessionConfig, cfg.DataDir)
	}
	switch cfg.Auth {
	case AuthSCRAM, AuthMD5, AuthCleartext:
	default:
		return nil, fmt.Errorf("server: unknown authentication method %q (want scram-sha-256, md5 or password)", cfg.Auth)
	}
	tms, slots := max(cfg.TaskManagers, 1), cfg.Slots
	if slots <= 0 {
		slots = 64
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		cfg:       cfg,
		cluster:   exec.NewEmbeddedCluster(tms, slots, cfg.Mem),
		catalog:   catalog.NewMemory(catalog.DefaultCatalog, catalog.DefaultDatabase),
		log:       log,
		jobs:      newJobRegistry(),
		ctx:       ctx,
		cancel:    cancel,
		sessions:  map[uint32]*session{},
		mviews:    map[catalog.Path]*materializedView{},
		listeners: map[net.Listener]bool{},
	}
	if cfg.DataDir != "" {
		store, err := openCatalogStore(cfg.DataDir)
		if err != nil {
			cancel()
			return nil, err
		}
		s.store = store
		if err := store.replay(ctx, s); err != nil {
			cancel()
			return nil, err
		}
		if s.jobStore, err = openJobStore(cfg.DataDir); err == nil {
			err = s.restartJobs(ctx)
		}
		if err != nil {
			cancel()
			_ = s.cluster.Close(context.Background())
			return nil, err
		}
	}
	// Jobs of remote Environments are listed by the HTTP API like the
	// sessions' jobs; they have no server user.
	s.rpc = exec.NewJobManagerService(s.cluster.JobManager(), func(j *exec.Job) { s.jobs.add(j, "") })
	s.ready.Store(true)
	return s, nil
}

// withStateDirs defaults the checkpoint and savepoint directories of the
// sessions' jobs to <dataDir>/checkpoints and <dataDir>/savepoints, as a
// Flink cluster's configuration names its state directories: a job the
// server restarts then resumes from its latest checkpoint when it
// checkpoints, and STOP JOB ... WITH SAVEPOINT needs no SET first. Options
// given (--set) win.
func withStateDirs(session map[string]string, dataDir string) map[string]string {
	out := maps.Clone(session)
	if out == nil {
		out = map[string]string{}
	}
	if out[exec.CheckpointingDirKey] == "" && out[exec.CheckpointsDirKey] == "" {
		out[exec.CheckpointingDirKey] = filepath.Join(dataDir, "checkpoints")
	}
	if exec.SavepointDir(out) == "" {
		out[exec.SavepointsDirKey] = filepath.Join(dataDir, "savepoints")
	}
	return out
}

// Cluster returns the server's embedded cluster.
func (s *Server) Cluster() *exec.EmbeddedCluster { return s.cluster }

// ServePG accepts PostgreSQL connections on l until l fails or the server
// closes; it returns nil after Close.
func (s *Server) ServePG(l net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return errors.New("server: closed")
	}
	s.listeners[l] = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, l)
		s.mu.Unlock()
	}()
	for {
		nc, err := l.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			return err
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.handleConn(nc)
		}()
	}
}

// ServeHTTP serves the HTTP API on l until the server closes.
func (s *Server) ServeHTTP(l net.Listener) error {
	srv := &http.Server{Handler: s.HTTPHandler(), ReadHeaderTimeout: 10 * time.Second}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return errors.New("server: closed")
	}
	s.httpSrvs = append(s.httpSrvs, srv)
	s.mu.Unlock()
	if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// ServeRPC serves the JobManager's RPC endpoint (Arrow Flight over gRPC)
// on l until the server closes: table.Environments created with
// Settings.JobManagerAddress submit their jobs to the server's cluster
// through it and stream their results back. Like the PostgreSQL port
// without users, it is unauthenticated: bind it to a trusted network.
func (s *Server) ServeRPC(l net.Listener) error {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		l.Close()
		return errors.New("server: closed")
	}
	return s.rpc.Serve(l)
}

// Close stops accepting connections, cancels the running statements of
// every session, closes the connections, cancels the cluster's jobs and
// waits for all of it or for ctx.
func (s *Server) Close(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.ready.Store(false)
	for l := range s.listeners {
		l.Close()
	}
	sessions := make([]*session, 0, len(s.sessions))
	for _, ss := range s.sessions {
		sessions = append(sessions, ss)
	}
	httpSrvs := s.httpSrvs
	s.mu.Unlock()

	s.cancel()
	for _, ss := range sessions {
		ss.nc.Close()
	}
	for _, h := range httpSrvs {
		_ = h.Shutdown(ctx)
	}
	s.rpc.Stop()
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		return ctx.Err()
	}
	s.closeMaterializedViews()
	return s.cluster.Close(ctx)
}

// register adds a session and returns its process id and secret key.
func (s *Server) register(ss *session) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	for {
		s.nextPID++
		if s.nextPID != 0 && s.sessions[s.nextPID] == nil {
			break
		}
	}
	ss.pid = s.nextPID
	var key [4]byte
	_, _ = rand.Read(key[:])
	ss.secret = binary.BigEndian.Uint32(key[:])
	s.sessions[ss.pid] = ss
	return true
}

func (s *Server) unregister(ss *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sessions[ss.pid] == ss {
		delete(s.sessions, ss.pid)
	}
}

// cancelRequest cancels the running statement of the session with pid if
// key matches its secret; PostgreSQL ignores wrong keys silently.
func (s *Server) cancelRequest(pid uint32, key []byte) {
	s.mu.Lock()
	ss := s.sessions[pid]
	s.mu.Unlock()
	if ss == nil || len(key) != 4 || binary.BigEndian.Uint32(key) != ss.secret {
		return
	}
	ss.cancelStatement()
}

// Sessions returns the number of open sessions.
func (s *Server) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

// jobRegistry remembers the jobs sessions submitted, for the HTTP API. It
// keeps the most recent maxJobs of them.
type jobRegistry struct {
	mu    sync.Mutex
	jobs  map[string]*jobEntry
	order []string
}

type jobEntry struct {
	job     *exec.Job
	started time.Time
	user    string
}

const maxJobs = 1000

func newJobRegistry() *jobRegistry { return &jobRegistry{jobs: map[string]*jobEntry{}} }

func (r *jobRegistry) add(j *exec.Job, user string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.jobs[j.ID()]; ok {
		return
	}
	r.jobs[j.ID()] = &jobEntry{job: j, started: time.Now(), user: user}
	r.order = append(r.order, j.ID())
	for len(r.order) > maxJobs {
		// Forget the oldest ended job; running ones stay listed.
		for i, id := range r.order {
			if st := r.jobs[id].job.Status(); st != exec.JobRunning && st != exec.JobCanceling && st != exec.JobFailing {
				delete(r.jobs, id)
				r.order = append(r.order[:i], r.order[i+1:]...)
				break
			}
			if i == len(r.order)-1 {
				return
			}
		}
	}
}

func (r *jobRegistry) get(id string) *jobEntry {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.jobs[id]
}

func (r *jobRegistry) list() []*jobEntry {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*jobEntry, 0, len(r.order))
	for _, id := range r.order {
		out = append(out, r.jobs[id])
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].started.Before(out[b].started) })
	return out
}
