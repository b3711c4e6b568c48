package table_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/table"
)

// TestFilesystemChangelogSQL reads a directory of debezium-json change
// events as an updating table: a GROUP BY over it retracts what updates
// and deletes take away, at parallelism 1 and 2 (each reader a file), and
// the table materializes to the rows the events leave; EXPLAIN shows the
// scan as a retract changelog, its projection pushed down.
func TestFilesystemChangelogSQL(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	// Each row's changes are in one file, which one reader reads in order.
	plain := filepath.Join(dir, "plain")
	require.NoError(t, os.Mkdir(plain, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(plain, "part-0.json"), []byte(
		`{"before":null,"after":{"id":1,"k":"a","v":10},"op":"r"}

{"before":{"id":1,"k":"a","v":10},"after":{"id":1,"k":"b","v":12},"op":"u"}
`), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(plain, "part-1.json"), []byte(
		`{"before":null,"after":{"id":2,"k":"a","v":5},"op":"c"}
{"before":null,"after":{"id":3,"k":"b","v":7},"op":"c"}
`), 0o644))
	// Kafka Connect's envelope (debezium-json.schema-include), in a
	// table of its own.
	sub := filepath.Join(dir, "schema")
	require.NoError(t, os.Mkdir(sub, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(sub, "part-1.json"), []byte(
		`{"schema":{"type":"struct"},"payload":{"before":null,"after":{"id":4,"k":"c","v":1},"op":"c"}}
{"schema":{"type":"struct"},"payload":{"before":{"id":4,"k":"c","v":1},"after":null,"op":"d"}}
{"schema":{"type":"struct"},"payload":{"before":null,"after":{"id":5,"k":"c","v":3},"op":"c"}}
`), 0o644))
	ddl := fmt.Sprintf(`
		CREATE TABLE plain (id INT, k STRING, v BIGINT) WITH ('connector' = 'filesystem', 'path' = '%s', 'format' = 'debezium-json');
		CREATE TABLE enveloped (id INT, k STRING, v BIGINT) WITH ('connector' = 'filesystem', 'path' = '%s',
		  'format' = 'debezium-json', 'debezium-json.schema-include' = 'true');
		CREATE VIEW events AS SELECT * FROM plain UNION ALL SELECT * FROM enveloped;`,
		plain, sub)
	env, err := table.NewEnvironment(table.Settings{})
	require.NoError(t, err)
	_, err = env.ExecuteSQL(ctx, strings.TrimSpace(strings.Split(ddl, ";")[0]))
	require.NoError(t, err)
	explain, err := env.ExecuteSQL(ctx, "EXPLAIN CHANGELOG_MODE SELECT k, SUM(v) FROM plain GROUP BY k")
	require.NoError(t, err)
	plan := readAll(t, explain)
	require.Contains(t, plan, "project=[k, v], fields=[k, v]), changelogMode=[I,UB,UA,D]", plan)
	for _, par := range []string{"1", "2"} {
		cfg := map[string]string{"parallelism.default": par}
		require.Equal(t, []string{"a | 5", "b | 19", "c | 3"},
			runRows(t, ctx, cfg, ddl, "SELECT k, SUM(v) FROM events GROUP BY k"), "parallelism %s", par)
		require.Equal(t, []string{"1 | b | 12", "2 | a | 5", "3 | b | 7", "5 | c | 3"},
			runRows(t, ctx, cfg, ddl, "SELECT * FROM events"), "parallelism %s", par)
	}
}

// TestFilesystemChangelogParseError: a malformed change event fails the
// query with its file and line, unless ignore-parse-errors skips it.
func TestFilesystemChangelogParseError(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	p := filepath.Join(dir, "events.json")
	require.NoError(t, os.WriteFile(p, []byte(
		`{"data":[{"k":"a","v":"1"},{"k":"b","v":"2"}],"type":"INSERT"}
{"data":[{"k":"a","v":"x"}],"type":"INSERT"}
{"data":[{"k":"a","v":"1"}],"old":[{"v":"1"}],"type":"UPDATE"}
`), 0o644))
	ddl := `CREATE TABLE t (k STRING, v BIGINT) WITH ('connector' = 'filesystem', 'path' = '` + dir + `', 'format' = 'canal-json'%s);`
	_, err := finalRows(ctx, nil, fmt.Sprintf(ddl, ""), "SELECT k, SUM(v) FROM t GROUP BY k")
	require.ErrorContains(t, err, p+":2: cannot decode the event with format 'canal-json'")
	require.Equal(t, []string{"a | 1", "b | 2"},
		runRows(t, ctx, nil, fmt.Sprintf(ddl, ", 'canal-json.ignore-parse-errors' = 'true'"), "SELECT k, SUM(v) FROM t GROUP BY k"))
}

// TestRescaleFilesystemChangelogSQL is TestRescaleFilesystemSQL over
// canal-json events: each event inserts three rows, n, n+1 and a row
// the next event deletes, so an event makes several rows and the readers'
// positions (lines) differ from the rows they emitted. Stopped with a
// savepoint inside their first files at parallelism 2 and restored at 1
// and 3, the readers neither lose nor repeat rows: the keyed COUNT and
// SUM are those of n = 1..2000.
func TestRescaleFilesystemChangelogSQL(t *testing.T) {
	dir := t.TempDir()
	n := 0
	for f := range 4 {
		var b strings.Builder
		for range 250 {
			n += 2
			fmt.Fprintf(&b, `{"data":[{"n":"%d"},{"n":"%d"},{"n":"%d"}],"type":"INSERT"}`+"\n", n-1, n, 100000+n)
			fmt.Fprintf(&b, `{"data":[{"n":"%d"}],"type":"DELETE"}`+"\n", 100000+n)
		}
		require.NoError(t, os.WriteFile(filepath.Join(dir, fmt.Sprintf("part-%d.json", f)), []byte(b.String()), 0o644))
	}
	rescaleFileSQL(t, dir, "canal-json")
}

// TestFilesystemPartitionColumnsOnlySQL reads only the partition column
// of a partitioned table, so that no column of the files is decoded: the
// rows are still counted, in every format.
func TestFilesystemPartitionColumnsOnlySQL(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for format, data := range map[string]string{
		"csv":           "1\n2\n",
		"json":          `{"id":1}` + "\n" + `{"id":2}` + "\n",
		"debezium-json": `{"before":null,"after":{"id":1},"op":"c"}` + "\n" + `{"before":null,"after":{"id":2},"op":"c"}` + "\n",
	} {
		dir := t.TempDir()
		require.NoError(t, os.Mkdir(filepath.Join(dir, "p=a"), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "p=a", "f"), []byte(data), 0o644))
		ddl := "CREATE TABLE t (id INT, p STRING) PARTITIONED BY (p) WITH ('connector' = 'filesystem', 'path' = '" + dir + "', 'format' = '" + format + "');"
		require.Equal(t, []string{"a | 2"}, runRows(t, ctx, nil, ddl, "SELECT p, COUNT(*) FROM t GROUP BY p"), format)
		require.Equal(t, []string{"2"}, runRows(t, ctx, nil, ddl, "SELECT COUNT(*) FROM t"), format)
	}
}
