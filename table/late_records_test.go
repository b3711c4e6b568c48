package table_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/eddysql/eddy/table"
)

// TestLateRecordsMetric runs a tumbling window aggregation over bids of
// which 6 (see writeBids) arrive after the watermark has passed their
// window, and checks that the job's metrics, which DESCRIBE JOB prints,
// count them as dropped by the window aggregate and by no other operator.
// Batches of one row let the watermark advance between rows, as it would
// on a live source.
func TestLateRecordsMetric(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	env, err := table.NewEnvironment(table.Settings{Config: map[string]string{
		"parallelism.default": "1", "table.exec.batch-size": "1",
	}})
	if err != nil {
		t.Fatal(err)
	}
	script := writeBids(t) + `
CREATE TABLE maxima (ws TIMESTAMP(3), p BIGINT) WITH ('connector' = 'blackhole');
INSERT INTO maxima SELECT window_start, MAX(price) FROM TABLE(TUMBLE(TABLE bids, DESCRIPTOR(ts), INTERVAL '10' SECOND))
GROUP BY window_start, window_end;`
	var job *table.TableResult
	err = env.ExecuteScript(ctx, script, func(_ string, r *table.TableResult) error {
		if r.Job != nil {
			job = r
			return r.Job.Wait(ctx)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if job == nil {
		t.Fatal("the INSERT submitted no job")
	}
	var dropped int64
	for _, m := range job.Job.Metrics() {
		if m.LateRecordsDropped == 0 {
			continue
		}
		if !strings.Contains(strings.ToLower(m.Kind+m.Name), "window") {
			t.Errorf("operator %s (%s) dropped %d late rows", m.Name, m.Kind, m.LateRecordsDropped)
		}
		dropped += m.LateRecordsDropped
	}
	if dropped != 6 {
		t.Errorf("%d late rows dropped, want the 6 whose windows had fired", dropped)
	}
}
