package table_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/table"
	"github.com/eddysql/eddy/table/connector/values"
)

// TestDropUpdateBeforeIntoUpsertSink reads a retract source (-U/+U
// pairs, no normalization) into an upsert sink keyed by the source's
// primary key. EXPLAIN CHANGELOG_MODE shows the source without -U and a
// DropUpdateBefore after it; the sink must then receive no -U row at all
// and end with the source's final rows, at parallelism 1 and 2, with the
// job stopped with a savepoint in the middle and restored. A sink that
// asks for -U/+U pairs receives every -U, which shows that the count is
// real.
func TestDropUpdateBeforeIntoUpsertSink(t *testing.T) {
	n := func(s string) json.Number { return json.Number(s) }
	row := func(k connector.RowKind, key string, v string) values.Row {
		return values.Row{Kind: k, Values: []any{key, n(v)}}
	}
	before := []values.Row{
		row(connector.Insert, "a", "1"), row(connector.Insert, "b", "2"),
		row(connector.UpdateBefore, "a", "1"), row(connector.UpdateAfter, "a", "3"),
		row(connector.Delete, "b", "2"), row(connector.Insert, "c", "4"),
	}
	after := []values.Row{
		row(connector.UpdateBefore, "c", "4"), row(connector.UpdateAfter, "c", "5"),
		row(connector.UpdateBefore, "a", "3"), row(connector.UpdateAfter, "a", "6"),
		row(connector.Insert, "b", "7"),
	}
	want := []string{"a[a, 6]", "b[b, 7]", "c[c, 5]"}
	for _, tc := range []struct {
		name string
		// sinkMode is the sink's 'sink-changelog-mode-enforced'.
		sinkMode string
		wantUB   int64
	}{
		{"upsert", "I,UA,D", 0},
		{"retract", "I,UB,UA,D", 3},
	} {
		for _, par := range []string{"1", "2"} {
			for _, savepoint := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/p=%s/savepoint=%t", tc.name, par, savepoint), func(t *testing.T) {
					ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
					defer cancel()
					src := &values.Data{Before: before, After: after, Pause: savepoint}
					if !savepoint {
						src.Before = append(append([]values.Row(nil), before...), after...)
						src.After = nil
					}
					srcID := values.Register(src)
					defer values.Unregister(srcID)
					out := &values.Data{}
					snkID := values.Register(out)
					defer values.Unregister(snkID)

					env, err := table.NewEnvironment(table.Settings{Config: map[string]string{
						"parallelism.default": par, "table.dml-sync": fmt.Sprint(!savepoint)}})
					require.NoError(t, err)
					for _, s := range []string{
						"CREATE TABLE src (k STRING PRIMARY KEY NOT ENFORCED, v BIGINT) WITH ('connector' = 'values', 'data-id' = '" + srcID + "', 'changelog-mode' = 'I,UB,UA,D')",
						"CREATE TABLE snk (k STRING PRIMARY KEY NOT ENFORCED, v BIGINT) WITH ('connector' = '" + ubCountingIdentifier + "', 'data-id' = '" + snkID + "', 'sink-changelog-mode-enforced' = '" + tc.sinkMode + "')",
					} {
						_, err := env.ExecuteSQL(ctx, s)
						require.NoError(t, err, s)
					}
					const insert = "INSERT INTO snk SELECT k, v FROM src"
					explain, err := env.ExecuteSQL(ctx, "EXPLAIN CHANGELOG_MODE "+insert)
					require.NoError(t, err)
					plan := readAll(t, explain)
					require.Equal(t, tc.wantUB == 0, strings.Contains(plan, "DropUpdateBefore"), plan)
					require.Equal(t, tc.wantUB == 0, strings.Contains(plan, "fields=[k, v]), changelogMode=[I,UA,D]"), plan)

					res, err := env.ExecuteSQL(ctx, insert)
					require.NoError(t, err)
					if savepoint {
						restartAtPause(ctx, t, env, src, res, insert)
					}
					require.Equal(t, tc.wantUB, updateBeforesReceived(snkID))
					recs, _ := out.Sink()
					final := map[string]string{}
					for _, r := range recs {
						if r.Kind.IsRetraction() {
							delete(final, r.Fields[0])
						} else {
							final[r.Fields[0]] = "[" + strings.Join(r.Fields, ", ") + "]"
						}
					}
					var got []string
					for k, v := range final {
						got = append(got, k+v)
					}
					sort.Strings(got)
					require.Equal(t, want, got)
				})
			}
		}
	}
}

// restartAtPause stops the job of res with a savepoint once src waits
// after its Before rows, runs insert again restored from it, and waits for
// that job to end.
func restartAtPause(ctx context.Context, t *testing.T, env *table.Environment, src *values.Data, res *table.TableResult, insert string) {
	t.Helper()
	waitPaused(ctx, t, src)
	sp, err := res.Job.StopWithSavepoint(ctx)
	require.NoError(t, err)
	env.RestoreNextJob(sp)
	res, err = env.ExecuteSQL(ctx, insert)
	require.NoError(t, err)
	require.NoError(t, res.Job.Wait(ctx))
}

// waitPaused waits until the source's reader waits after its Before rows.
func waitPaused(ctx context.Context, t *testing.T, src *values.Data) {
	for {
		if _, paused := src.Readers(); paused == 1 {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the source did not pause: %v", ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// ubCountingIdentifier names the values sink that counts the -U rows it
// receives: the values sink itself leaves them out silently, as an upsert
// sink in Flink never receives them.
const ubCountingIdentifier = "values-counting-update-before"

func init() { connector.Register(ubCountingSink{}) }

// ubCounts holds, per 'data-id', the -U rows the sink received.
var ubCounts sync.Map // string -> *atomic.Int64

func updateBeforesReceived(dataID string) int64 {
	c, ok := ubCounts.Load(dataID)
	if !ok {
		return 0
	}
	return c.(*atomic.Int64).Load()
}

type ubCountingSink struct{ values.Factory }

func (ubCountingSink) Identifier() string { return ubCountingIdentifier }

func (f ubCountingSink) CreateWriter(spec connector.SinkSpec, ctx connector.ReaderContext) (connector.SinkWriter, error) {
	w, err := f.Factory.CreateWriter(spec, ctx)
	if err != nil {
		return nil, err
	}
	c, _ := ubCounts.LoadOrStore(spec.Table.Options["data-id"], new(atomic.Int64))
	return &ubCountingWriter{SinkWriter: w, n: c.(*atomic.Int64)}, nil
}

type ubCountingWriter struct {
	connector.SinkWriter
	n *atomic.Int64
}

func (w *ubCountingWriter) Write(b arrow.RecordBatch) error {
	last := int(b.NumCols()) - 1
	if last >= 0 && b.ColumnName(last) == connector.RowKindColumn {
		for _, k := range b.Column(last).(*array.Int8).Int8Values() {
			if connector.RowKind(k) == connector.UpdateBefore {
				w.n.Add(1)
			}
		}
	}
	return w.SinkWriter.Write(b)
}
