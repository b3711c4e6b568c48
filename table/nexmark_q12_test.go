package table_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/eddysql/eddy/exec"
	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/table"
	"github.com/eddysql/eddy/table/connector/values"
)

// q12Clock is the processing time of a q12 run: a manual clock the test
// moves, as Flink's operator tests drive a manual processing-time service.
type q12Clock struct{ now atomic.Int64 }

// NowMillis implements exec.Clock.
func (c *q12Clock) NowMillis() int64 { return c.now.Load() }

func (c *q12Clock) set(t time.Time) { c.now.Store(t.UnixMilli()) }

// q12Window is the start of the first processing-time window of a run: a
// multiple of q12's 10-second windows, so that the clock can be held
// inside one window and then moved to its end.
var q12Window = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

const q12Size = 10 * time.Second

var (
	q12Source = regexp.MustCompile(`WITH \('connector' = 'nexmark'[^)]*\)`)
	q12Sink   = regexp.MustCompile(`WITH \('connector' = 'blackhole'\)`)
)

// TestDifferentialNexmarkQ12 checks Nexmark q12, whose windows are
// processing-time TUMBLEs, against PostgreSQL over the stream
// TestDifferentialNexmark uses. Open processing-time windows never fire
// at the end of a bounded stream (as in Flink), so the test replays the
// generated events through the values connector, which stays open after
// them, into q12's views and query unchanged, and fires the windows by
// moving the cluster's clock:
//
//   - one-window holds the clock inside one window while every event is
//     processed, then moves it to the window's end: the window holds each
//     bidder's bids, PostgreSQL's GROUP BY bidder;
//   - two-windows moves the clock to the next window after the first half
//     of the events, across a savepoint and restore, so that the first
//     window holds the bids of the first half and the second those of the
//     second half.
func TestDifferentialNexmarkQ12(t *testing.T) {
	skipWithoutPostgres(t)
	const events = 10000
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	pg := connectPostgres(t, ctx)
	loadNexmark(t, ctx, pg, events)

	ddl, query := nexmarkScript(t, "q12", events)
	rows, times, err := q12Events(ctx, ddl)
	if err != nil {
		t.Fatalf("generating the events: %v", err)
	}
	if len(rows) != events {
		t.Fatalf("generated %d events, want %d", len(rows), events)
	}
	// The halves are told apart by event time in PostgreSQL, which holds
	// the bids without their position in the stream: that needs event
	// time to increase along the stream, as the generator makes it.
	for i := 1; i < len(times); i++ {
		if !times[i].After(times[i-1]) {
			t.Fatalf("event %d is not later than event %d: %s, %s", i, i-1, times[i], times[i-1])
		}
	}
	half := events / 2
	ts := func(t time.Time) string { return "TIMESTAMP '" + t.Format("2006-01-02 15:04:05.000") + "'" }

	t.Run("one-window", func(t *testing.T) {
		want, err := runPostgres(ctx, pg, fmt.Sprintf(
			`SELECT bidder, COUNT(*), %s, %s FROM bid GROUP BY bidder`, ts(q12Window), ts(q12Window.Add(q12Size))))
		if err != nil {
			t.Fatalf("PostgreSQL: %v", err)
		}
		got, err := runQ12(ctx, ddl, query, rows, times, len(rows), len(want))
		if err != nil {
			t.Fatal(err)
		}
		if diff := diffRows(want, got); diff != "" {
			t.Errorf("%d rows, PostgreSQL %d; differences:\n%s", len(got), len(want), firstLines(diff, 10))
		}
		t.Logf("%d bidders in one window", len(want))
	})
	t.Run("two-windows", func(t *testing.T) {
		want, err := runPostgres(ctx, pg, fmt.Sprintf(`SELECT bidder, COUNT(*), ws, ws + INTERVAL '10 seconds' FROM (
  SELECT bidder, CASE WHEN datetime < %s THEN %s ELSE %s END AS ws FROM bid
) b GROUP BY bidder, ws`, ts(times[half]), ts(q12Window), ts(q12Window.Add(q12Size))))
		if err != nil {
			t.Fatalf("PostgreSQL: %v", err)
		}
		got, err := runQ12(ctx, ddl, query, rows, times, half, len(want))
		if err != nil {
			t.Fatal(err)
		}
		if diff := diffRows(want, got); diff != "" {
			t.Errorf("%d rows, PostgreSQL %d; differences:\n%s", len(got), len(want), firstLines(diff, 10))
		}
		t.Logf("%d rows in two windows", len(want))
	})
}

// runQ12 runs q12's query over the events rows, with the source open
// after them, and returns its rows in canonical text, sorted. The clock
// stands in the middle of the window starting at q12Window while the
// first split events are processed. With split < len(rows) the job is
// then stopped with a savepoint, the clock moved into the next window
// and the job restored for the remaining events. Finally the clock
// moves to the end of the last window, which fires every window; the
// sink is read once it holds want rows (see waitQ12Rows).
func runQ12(ctx context.Context, ddl, query string, rows []values.Row, times []time.Time, split, want int) ([]string, error) {
	src := &values.Data{Before: rows[:split], After: rows[split:], Pause: true, KeepOpen: true}
	srcID := values.Register(src)
	defer values.Unregister(srcID)
	sink := &values.Data{}
	sinkID := values.Register(sink)
	defer values.Unregister(sinkID)
	if !q12Source.MatchString(ddl) || !q12Sink.MatchString(ddl) {
		return nil, errors.New("q12.sql no longer declares a nexmark source and a blackhole sink for the test to replace")
	}
	ddl = q12Source.ReplaceAllLiteralString(ddl, fmt.Sprintf("WITH ('connector' = 'values', 'data-id' = '%s')", srcID))
	ddl = q12Sink.ReplaceAllLiteralString(ddl, fmt.Sprintf("WITH ('connector' = 'values', 'data-id' = '%s')", sinkID))
	insert := "INSERT INTO nexmark_q12\n" + query

	clock := &q12Clock{}
	window := q12Window
	clock.set(window.Add(q12Size / 2))
	job, stop, err := startQ12(ctx, clock, ddl, insert, nil)
	if err != nil {
		return nil, err
	}
	defer func() { stop() }()
	if err := waitQ12Drained(ctx, job, src, times[split-1]); err != nil {
		return nil, err
	}
	if split < len(rows) {
		sp, err := job.StopWithSavepoint(ctx)
		if err != nil {
			return nil, fmt.Errorf("stop with savepoint: %w", err)
		}
		if recs, _ := sink.Sink(); len(recs) > 0 {
			return nil, fmt.Errorf("%d rows before the window's end, first %s", len(recs), recs[0])
		}
		stop()
		window = window.Add(q12Size)
		clock.set(window.Add(q12Size / 2))
		if job, stop, err = startQ12(ctx, clock, ddl, insert, sp); err != nil {
			return nil, fmt.Errorf("after restore: %w", err)
		}
		if err := waitQ12Drained(ctx, job, src, times[len(times)-1]); err != nil {
			return nil, fmt.Errorf("after restore: %w", err)
		}
	}
	// The last window must not fire before the clock reaches its end
	// (the restore fires the one before it).
	recs, _ := sink.Sink()
	for _, r := range recs {
		end, err := time.Parse(time.RFC3339Nano, r.Fields[3])
		if err != nil {
			return nil, fmt.Errorf("row %s: %w", r, err)
		}
		if !end.Before(window.Add(q12Size)) {
			return nil, fmt.Errorf("the open window fired before the clock reached its end: %s", r)
		}
	}
	clock.set(window.Add(q12Size))
	return waitQ12Rows(ctx, job, sink, window.Add(q12Size), want)
}

// startQ12 starts q12's job on a fresh cluster reading clock, restored
// from sp unless nil; stop cancels it.
func startQ12(ctx context.Context, clock exec.Clock, ddl, insert string, sp *exec.Savepoint) (*exec.Job, func(), error) {
	const slots = 4
	cluster := exec.NewEmbeddedClusterWithClock(1, slots, nil, clock)
	stop := func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = cluster.Close(sctx)
	}
	env, err := table.NewEnvironment(table.Settings{Cluster: cluster, Config: map[string]string{
		"parallelism.default": "1", "table.local-time-zone": "UTC",
	}})
	if err != nil {
		return nil, stop, err
	}
	if err := env.ExecuteScript(ctx, ddl, func(string, *table.TableResult) error { return nil }); err != nil {
		return nil, stop, err
	}
	if sp != nil {
		env.RestoreNextJob(sp)
	}
	r, err := env.ExecuteSQL(ctx, insert)
	if err != nil {
		return nil, stop, err
	}
	return r.Job, stop, nil
}

// waitQ12Drained waits until the window aggregate has taken in every
// event the source emitted: the source waits after its rows, and the
// aggregate has passed on the watermark of the last of them (dateTime -
// 4 s, q12's WATERMARK), which follows every row in its channel.
func waitQ12Drained(ctx context.Context, job *exec.Job, src *values.Data, last time.Time) error {
	want := exec.Watermark(last.Add(-4 * time.Second).UnixMilli())
	for {
		if _, paused := src.Readers(); paused == 1 {
			for _, s := range job.Metrics() {
				if s.Kind == exec.KindWindowAggregate && s.Watermark == want {
					return nil
				}
			}
		}
		select {
		case <-job.Done():
			return fmt.Errorf("job ended while processing the events: %v", job.Wait(ctx))
		case <-ctx.Done():
			return fmt.Errorf("waiting for the events to be processed: %w", ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// waitQ12Rows waits until the sink has received the rows of the window
// ending at end, which come in one firing: until one of them has arrived,
// the sink holds at least the want rows PostgreSQL expects (so a slow
// machine only waits longer) and no more have come for a few
// processing-time ticks (so extra rows are seen). It returns every row the
// sink received in canonical text, sorted.
func waitQ12Rows(ctx context.Context, job *exec.Job, sink *values.Data, end time.Time, want int) ([]string, error) {
	fired := func(recs []values.Record) bool {
		for _, r := range recs {
			if e, err := time.Parse(time.RFC3339Nano, r.Fields[3]); err == nil && e.Equal(end) {
				return true
			}
		}
		return false
	}
	idle, seen := 0, -1
	for start := time.Now(); idle < 5; {
		select {
		case <-job.Done():
			return nil, fmt.Errorf("job ended: %v", job.Wait(ctx))
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for the windows to fire: %w", ctx.Err())
		case <-time.After(exec.ProcessingTimeInterval):
		}
		recs, _ := sink.Sink()
		switch {
		case !fired(recs) || len(recs) < want:
			if time.Since(start) > 30*time.Second {
				return nil, fmt.Errorf("the window ending at %s did not fire within 30 s of the clock reaching its end (%d of %d rows)", end, len(recs), want)
			}
		case len(recs) == seen:
			idle++
		default:
			idle, seen = 0, len(recs)
		}
	}
	recs, _ := sink.Sink()
	out := make([]string, len(recs))
	for i, r := range recs {
		if r.Kind != connector.Insert {
			return nil, fmt.Errorf("window rows are inserts, got %s", r)
		}
		// The values sink prints TIMESTAMP_LTZ as Flink's Instant does;
		// PostgreSQL's side is canonGo's form.
		bounds := make([]string, 2)
		for j, c := range []int{2, 3} {
			ts, err := time.Parse(time.RFC3339Nano, r.Fields[c])
			if err != nil {
				return nil, fmt.Errorf("row %s: %w", r, err)
			}
			bounds[j] = canonGo(ts)
		}
		out[i] = strings.Join([]string{r.Fields[0], r.Fields[1], bounds[0], bounds[1]}, " | ")
	}
	slices.Sort(out)
	return out, nil
}

// q12Events generates the events of q12's stream (its DDL, with the
// seeded options of nexmarkScript) in batch mode and returns them as rows
// of the values connector, with each event's dateTime.
func q12Events(ctx context.Context, ddl string) ([]values.Row, []time.Time, error) {
	var rows []values.Row
	var times []time.Time
	_, err := queryBatches(ctx, batchOneCfg, ddl, "SELECT event_type, person, auction, bid, dateTime FROM events", func(_ *table.TableResult, b arrow.RecordBatch) error {
		dt := b.Column(4).(*array.Timestamp)
		unit := dt.DataType().(*arrow.TimestampType).Unit
		for i := 0; i < int(b.NumRows()); i++ {
			vals := make([]any, 4)
			for c := range vals {
				var err error
				if vals[c], err = valuesValue(b.Column(c), i); err != nil {
					return err
				}
			}
			rows = append(rows, values.Row{Kind: connector.Insert, Values: vals})
			times = append(times, dt.Value(i).ToTime(unit).UTC())
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return rows, times, nil
}

// valuesValue is the value at row i of a in the form values.AppendValue
// reads, for the column types of the Nexmark events table.
func valuesValue(a arrow.Array, i int) (any, error) {
	if a.IsNull(i) {
		return nil, nil
	}
	switch c := a.(type) {
	case *array.Int32:
		return strconv.FormatInt(int64(c.Value(i)), 10), nil
	case *array.Int64:
		return strconv.FormatInt(c.Value(i), 10), nil
	case *array.String:
		return c.Value(i), nil
	case *array.Timestamp:
		return c.Value(i).ToTime(c.DataType().(*arrow.TimestampType).Unit).UTC().Format("2006-01-02T15:04:05.000"), nil
	case *array.Struct:
		fields := make([]any, c.NumField())
		for f := range fields {
			v, err := valuesValue(c.Field(f), i)
			if err != nil {
				return nil, err
			}
			fields[f] = v
		}
		return map[string]any{"$row": fields}, nil
	}
	return nil, fmt.Errorf("no values form for %s", a.DataType())
}
