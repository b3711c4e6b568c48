package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/eddysql/eddy/exec"
	"github.com/eddysql/eddy/internal/nexmarkbaseline"
	"github.com/eddysql/eddy/table"
	"github.com/eddysql/eddy/table/connector/nexmark"
)

func benchCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Run benchmarks on the embedded cluster",
	}
	cmd.AddCommand(nexmarkBenchCommand())
	return cmd
}

// allNexmarkQueries are the query files of testdata/nexmark, in order: q0
// to q22 in nexmark-flink's form (the events table and its views), then the
// flat-table variants of the stateless queries, which read the nexmark
// connector's flat bid table instead of the bid view (to compare the cost
// of the view, which the optimizer pushes into the scan).
var allNexmarkQueries = func() []string {
	q := make([]string, 23)
	for i := range q {
		q[i] = "q" + strconv.Itoa(i)
	}
	return append(q, flatNexmarkQueries...)
}()

var flatNexmarkQueries = []string{"q0_flat", "q1_flat", "q2_flat", "q14_flat", "q21_flat", "q22_flat"}

func nexmarkBenchCommand() *cobra.Command {
	var (
		o       nexmarkBench
		queries string
	)
	cmd := &cobra.Command{
		Use:   "nexmark",
		Short: "Run the Nexmark queries and a hand-written baseline, and print throughput per CPU-second",
		Long: `Nexmark runs each query of DIR/qN.sql through a fresh SQL session with the
nexmark source's events.num set to --events, and prints the events, wall
seconds, CPU seconds (user+system of the whole process), events per wall
second and per CPU-second, and the peak memory of the Go runtime during the
query. For the stateless queries (q0–q2, q14, q21, q22 and their _flat
variants) it also runs a hand-written Go baseline that generates the same
events with the same generator and computes the query in plain loops, and
prints the engine's CPU time over the baseline's. A query that fails
prints its error instead of numbers. Run it from the repository root, or
point --dir at testdata/nexmark.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if queries != "" {
				o.queries = strings.Split(queries, ",")
			}
			return o.run(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	cmd.Flags().StringVar(&queries, "queries", "", "comma-separated queries to run (default all: q0..q22, then the _flat variants)")
	cmd.Flags().Int64Var(&o.events, "events", 10_000_000, "events per query (the source's events.num)")
	cmd.Flags().IntVar(&o.parallelism, "parallelism", 1, "parallelism of the queries and the baseline")
	cmd.Flags().StringVar(&o.dir, "dir", "testdata/nexmark", "directory of the query files")
	cmd.Flags().BoolVar(&o.noBaseline, "no-baseline", false, "skip the hand-written baseline")
	cmd.Flags().StringVar(&o.profileDir, "cpuprofile", "", "write a CPU profile of each query's engine run to DIR/qN.pprof")
	cmd.Flags().StringVar(&o.memProfileDir, "memprofile", "", "write the allocations of each query's engine run to DIR/qN.allocs.pprof (as go tool pprof -sample_index=alloc_space reads them)")
	return cmd
}

// nexmarkBench is one run of `eddy bench nexmark`.
type nexmarkBench struct {
	queries     []string
	events      int64
	parallelism int
	dir         string
	noBaseline  bool
	profileDir  string
	// memProfileDir: the allocation profile is cumulative, so each
	// query's is the difference of the profiles before and after it
	// (pprof -diff_base DIR/qN.before.allocs.pprof).
	memProfileDir string
}

// measurement is the cost of one run of a query.
type measurement struct {
	wall, cpu time.Duration
	peakMem   uint64 // bytes
	rows      int64  // rows the sinks wrote (engine) or the baseline produced
	err       error
}

// run prints the table to out when every query has run, and a line per
// query to progress as it goes.
func (o *nexmarkBench) run(ctx context.Context, out, progress io.Writer) error {
	if o.events <= 0 {
		return fmt.Errorf("--events must be positive")
	}
	if o.parallelism < 1 {
		return fmt.Errorf("--parallelism must be positive")
	}
	queries := o.queries
	if len(queries) == 0 {
		queries = allNexmarkQueries
	}
	fmt.Fprintf(out, "Nexmark: %d events per query, parallelism %d, %s/%s, %d CPUs, %s\n\n",
		o.events, o.parallelism, runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version())
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "query\tevents\twall s\tcpu s\tevents/s\tevents/cpu-s\tpeak MiB\tbaseline events/cpu-s\tengine/baseline cpu\t")
	for _, q := range queries {
		q = strings.TrimSpace(q)
		if err := ctx.Err(); err != nil {
			return err
		}
		fmt.Fprintf(progress, "running %s...\n", q)
		m := o.profiled(q, func() measurement { return o.runQuery(ctx, q) })
		if m.err != nil {
			// The error is the row's last, unterminated cell, so it does
			// not widen the columns.
			fmt.Fprintf(tw, "%s\t  %s\n", q, firstLine(m.err.Error()))
			continue
		}
		base := "-\t-"
		if !o.noBaseline && nexmarkbaseline.Supported(q) {
			if b := o.runBaseline(q); b.err != nil {
				base = firstLine(b.err.Error()) + "\t-"
			} else {
				base = fmt.Sprintf("%s\t%.2fx", rate(o.events, b.cpu), m.cpu.Seconds()/max(b.cpu.Seconds(), 1e-9))
			}
		}
		fmt.Fprintf(tw, "%s\t%d\t%.2f\t%.2f\t%s\t%s\t%.0f\t%s\t\n", q, o.events, m.wall.Seconds(), m.cpu.Seconds(),
			rate(o.events, m.wall), rate(o.events, m.cpu), float64(m.peakMem)/(1<<20), base)
	}
	tw.Flush()
	fmt.Fprintf(out, "\npeak RSS of the process: %.0f MiB\n", float64(maxRSS())/(1<<20))
	return nil
}

var eventsNum = regexp.MustCompile(`'events\.num'\s*=\s*'\d+'`)

// outputPrefix starts the paths the query files write files to (q10's).
const outputPrefix = "'/tmp/eddy-nexmark-"

// script reads a query file and sets its events.num, the path of the side
// input (which the files give relative to the repository root) and, when
// outDir is not empty, the directory of the files it writes.
func (o *nexmarkBench) script(q, outDir string) (string, error) {
	text, err := os.ReadFile(filepath.Join(o.dir, q+".sql"))
	if err != nil {
		return "", err
	}
	s := eventsNum.ReplaceAllString(string(text), fmt.Sprintf("'events.num' = '%d'", o.events))
	if abs, err := filepath.Abs(o.dir); err == nil {
		s = strings.ReplaceAll(s, "'testdata/nexmark/", "'"+abs+"/")
	}
	if outDir != "" {
		s = strings.ReplaceAll(s, outputPrefix, "'"+filepath.Join(outDir, "eddy-nexmark-"))
	}
	return s, nil
}

// profiled runs f under the CPU profiler when --cpuprofile is set, and
// writes the allocation profiles around it when --memprofile is.
func (o *nexmarkBench) profiled(q string, f func() measurement) measurement {
	if o.memProfileDir != "" {
		if err := writeAllocs(o.memProfileDir, q+".before.allocs.pprof"); err != nil {
			return measurement{err: err}
		}
		defer func() {
			if err := writeAllocs(o.memProfileDir, q+".allocs.pprof"); err != nil {
				fmt.Fprintf(os.Stderr, "memprofile: %v\n", err)
			}
		}()
	}
	if o.profileDir == "" {
		return f()
	}
	if err := os.MkdirAll(o.profileDir, 0o755); err != nil {
		return measurement{err: err}
	}
	file, err := os.Create(filepath.Join(o.profileDir, q+".pprof"))
	if err != nil {
		return measurement{err: err}
	}
	defer file.Close()
	if err := pprof.StartCPUProfile(file); err != nil {
		return measurement{err: err}
	}
	defer pprof.StopCPUProfile()
	return f()
}

// writeAllocs writes the allocation profile so far to dir/name.
func writeAllocs(dir, name string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	file, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		return err
	}
	runtime.GC() // the profile is as of the last GC
	if err := pprof.Lookup("allocs").WriteTo(file, 0); err != nil {
		file.Close()
		return err
	}
	return file.Close()
}

// runQuery runs one query file in a fresh session and measures it. Files a
// query writes go to a temporary directory, removed afterwards.
func (o *nexmarkBench) runQuery(ctx context.Context, q string) measurement {
	outDir, err := os.MkdirTemp("", "eddy-bench-")
	if err != nil {
		return measurement{err: err}
	}
	defer os.RemoveAll(outDir)
	text, err := o.script(q, outDir)
	if err != nil {
		return measurement{err: err}
	}
	env, err := table.NewEnvironment(table.Settings{Config: map[string]string{
		table.Parallelism: strconv.Itoa(o.parallelism),
	}})
	if err != nil {
		return measurement{err: err}
	}
	var rows int64
	m := measure(func() error {
		return env.ExecuteScript(ctx, text, func(_ string, r *table.TableResult) error {
			defer r.Close()
			if r.Job == nil {
				return nil
			}
			if err := r.Job.Wait(ctx); err != nil {
				return err
			}
			for _, s := range r.Job.Metrics() {
				if s.Kind == exec.KindSink {
					rows += s.RecordsIn
				}
			}
			return nil
		})
	})
	m.rows = rows
	return m
}

// baselineConfig is the stream of the query files (whose nexmark tables
// set first-event.rate to 100000 and no seed) with o.events events.
func (o *nexmarkBench) baselineConfig() (nexmark.Config, error) {
	return nexmark.ParseOptions(map[string]string{
		nexmark.TableOpt: nexmark.TableBid, nexmark.EventsNum: strconv.FormatInt(o.events, 10), nexmark.FirstEventRate: "100000",
	})
}

func (o *nexmarkBench) runBaseline(q string) measurement {
	cfg, err := o.baselineConfig()
	if err != nil {
		return measurement{err: err}
	}
	var res nexmarkbaseline.Result
	m := measure(func() error {
		res, err = nexmarkbaseline.Run(q, cfg, o.parallelism)
		return err
	})
	m.rows = res.Rows
	return m
}

// measure runs f and returns its wall and process CPU time and the peak of
// the Go runtime's memory while it ran.
func measure(f func() error) measurement {
	runtime.GC()
	stop := make(chan struct{})
	var (
		peak uint64
		wg   sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			peak = max(peak, runtimeMemory())
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	cpu0, wall0 := cpuTime(), time.Now()
	err := f()
	m := measurement{wall: time.Since(wall0), cpu: cpuTime() - cpu0, err: err}
	close(stop)
	wg.Wait()
	m.peakMem = max(peak, runtimeMemory())
	return m
}

// runtimeMemory is the memory the Go runtime holds from the OS and has not
// released: its heap, stacks and metadata, Arrow buffers included (they
// come from the Go allocator).
func runtimeMemory() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 || s[1].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64() - s[1].Value.Uint64()
}

// cpuTime is the user+system CPU time of the process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// maxRSS is the process's peak resident set size (Linux reports KiB).
func maxRSS() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return int64(ru.Maxrss) * 1024
}

// rate formats n per d, e.g. "1.23M".
func rate(n int64, d time.Duration) string {
	if d <= 0 {
		return "-"
	}
	r := float64(n) / d.Seconds()
	switch {
	case r >= 1e6:
		return fmt.Sprintf("%.2fM", r/1e6)
	case r >= 1e3:
		return fmt.Sprintf("%.0fK", r/1e3)
	}
	return fmt.Sprintf("%.0f", r)
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	const maxLen = 160
	if len(s) > maxLen {
		s = s[:maxLen] + "..."
	}
	return "error: " + s
}
