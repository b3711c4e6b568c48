package table

import (
	"context"
	"encoding/json"
	"net"
	"sort"
	"strings"

	"github.com/eddysql/eddy/exec"
	"github.com/eddysql/eddy/exec/agg"
	"github.com/eddysql/eddy/exec/expr"
	"github.com/eddysql/eddy/internal/errs"
)

// This file connects an Environment to a remote JobManager
// (Settings.JobManagerAddress). Planning stays local, as in Flink: the
// session's catalog, options and the optimizer run in this process, and
// only the JobGraph — plain data, including the rows of FromSlice and
// FromValues tables — travels to the cluster. What exists only in this
// process cannot: Go functions registered with CreateFunction, which the
// remote TaskManagers do not have, so a job calling one is refused before
// submission.

// Flink's options naming the JobManager, accepted in Settings.Config.
const (
	JobManagerRPCAddress = "jobmanager.rpc.address"
	JobManagerRPCPort    = "jobmanager.rpc.port"
)

// defaultRPCPort is Flink's jobmanager.rpc.port default.
const defaultRPCPort = "6123"

// dialRemote returns the client of the JobManager the settings name, or
// nil for an embedded cluster.
func dialRemote(s Settings) (*exec.RemoteJobManager, error) {
	addr := s.JobManagerAddress
	if addr == "" {
		host := s.Config[JobManagerRPCAddress]
		if host == "" {
			return nil, nil
		}
		if _, _, err := net.SplitHostPort(host); err != nil {
			port := s.Config[JobManagerRPCPort]
			if port == "" {
				port = defaultRPCPort
			}
			host = net.JoinHostPort(host, port)
		}
		addr = host
	}
	if s.Cluster != nil {
		return nil, errs.New(errs.InvalidOption, "Settings: set either Cluster or a JobManager address (%s), not both", addr)
	}
	rm, err := exec.DialJobManager(addr, s.Mem)
	if err != nil {
		return nil, errs.New(errs.InvalidOption, "%v", err)
	}
	return rm, nil
}

// submitRemote submits g to the remote JobManager, refusing a job that
// calls functions of this process.
func (e *Environment) submitRemote(ctx context.Context, g *exec.JobGraph, opts exec.SubmitOptions) (*exec.Job, error) {
	switch fns := userFunctionsIn(g); len(fns) {
	case 0:
	case 1:
		return nil, errs.New(errs.NotSupported,
			"function %s is a Go function registered with CreateFunction in this process; it cannot run on the remote JobManager at %s",
			fns[0], e.remote.Addr())
	default:
		return nil, errs.New(errs.NotSupported,
			"functions %s are Go functions registered with CreateFunction in this process; they cannot run on the remote JobManager at %s",
			strings.Join(fns, ", "), e.remote.Addr())
	}
	return e.remote.SubmitWithOptions(ctx, g, opts)
}

// userFunctionsIn lists the CreateFunction functions g calls, sorted.
// Scalar and aggregate calls both name their function in a "func" field
// of their operator's JSON spec (expr and agg serialization), so the specs
// are searched generically rather than per operator kind.
func userFunctionsIn(g *exec.JobGraph) []string {
	found := map[string]bool{}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if name, ok := x.(string); ok && k == "func" {
					if _, isAgg := agg.User(name); isAgg || expr.IsUserFunction(name) {
						found[strings.ToUpper(name)] = true
					}
					continue
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	for _, vx := range g.Vertices {
		for _, op := range vx.Operators {
			var spec any
			if json.Unmarshal(op.Spec, &spec) == nil {
				walk(spec)
			}
		}
	}
	out := make([]string, 0, len(found))
	for n := range found {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
