package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/eddysql/eddy/exec"
	"github.com/eddysql/eddy/table"
)

func runCommand() *cobra.Command {
	var sets []string
	cmd := &cobra.Command{
		Use:   "run FILE.sql",
		Short: "Run a SQL script on the embedded cluster",
		Long: `Run executes the statements of a SQL script in order on an embedded
JobManager and TaskManager, the way Flink's SQL client runs a file: DDL
changes the catalog, INSERT submits a job, SELECT prints its rows. The command
waits for the script's jobs to finish (bounded jobs end; unbounded ones run
until interrupted) and exits non-zero on the first error.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			text, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			config := map[string]string{}
			for _, s := range sets {
				k, v, ok := strings.Cut(s, "=")
				if !ok {
					return fmt.Errorf("--set wants key=value, not %q", s)
				}
				config[k] = v
			}
			env, err := table.NewEnvironment(table.Settings{Config: config})
			if err != nil {
				return err
			}
			return runScript(cmd.Context(), cmd.OutOrStdout(), env, string(text))
		},
	}
	cmd.Flags().StringArrayVar(&sets, "set", nil, "session option key=value, as SET 'key' = 'value' (repeatable)")
	return cmd
}

// runScript executes a script, printing each statement's outcome, then
// waits for the jobs it submitted and reports what they did.
func runScript(ctx context.Context, out io.Writer, env *table.Environment, text string) error {
	var pending []*exec.Job
	err := env.ExecuteScript(ctx, text, func(_ string, r *table.TableResult) error {
		switch {
		case r.Kind == table.SuccessWithContent:
			defer r.Close()
			if r.Plain {
				return table.PrintPlain(ctx, out, r)
			}
			_, err := table.PrintTableau(ctx, out, r)
			return err
		case r.Job != nil:
			fmt.Fprintf(out, "[INFO] Submitting SQL update statement to the cluster...\n[INFO] SQL update statement has been successfully submitted to the cluster:\nJob ID: %s\n\n", r.Job.ID())
			select {
			case <-r.Job.Done():
				return report(ctx, out, r.Job)
			default:
				pending = append(pending, r.Job)
			}
		default:
			fmt.Fprintf(out, "[INFO] %s\n\n", r.Message)
		}
		return nil
	})
	if err != nil {
		for _, j := range pending {
			j.Cancel()
		}
		return err
	}
	for _, j := range pending {
		if err := report(ctx, out, j); err != nil {
			return err
		}
	}
	return nil
}

// report waits for a job and prints what its sources read and its sinks
// wrote.
func report(ctx context.Context, out io.Writer, j *exec.Job) error {
	if err := j.Wait(ctx); err != nil {
		return fmt.Errorf("job %s (%s) failed: %w", j.ID(), j.Name(), err)
	}
	fmt.Fprintf(out, "[INFO] Job %s (%s) finished.\n", j.ID(), j.Name())
	for _, m := range j.Metrics() {
		switch m.Kind {
		case exec.KindSource:
			fmt.Fprintf(out, "  read    %d rows at parallelism %d: %s\n", m.RecordsOut, m.Subtasks, m.Name)
		case exec.KindSink:
			fmt.Fprintf(out, "  wrote   %d rows at parallelism %d: %s\n", m.RecordsIn, m.Subtasks, m.Name)
		}
		if m.LateRecordsDropped > 0 {
			fmt.Fprintf(out, "  dropped %d late rows: %s\n", m.LateRecordsDropped, m.Name)
		}
	}
	fmt.Fprintln(out)
	return nil
}
