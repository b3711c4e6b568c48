package table_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/table"
)

// TestParquetSQLRoundTrip writes every type the parquet format supports,
// NULLs and nested types included, through INSERT into a filesystem table
// and reads it back with SELECT, at parallelism 1 and 2, with and without
// INT64 timestamps.
func TestParquetSQLRoundTrip(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, par := range []string{"1", "2"} {
		for _, opts := range []string{"", ", 'parquet.write.int64.timestamp' = 'true', 'parquet.compression' = 'GZIP'"} {
			dir := t.TempDir()
			cfg := map[string]string{"parallelism.default": par, "table.dml-sync": "true"}
			ddl := fmt.Sprintf(`CREATE TABLE pq (
				b BOOLEAN, ti TINYINT, si SMALLINT, i INT, bi BIGINT, f FLOAT, d DOUBLE, dec DECIMAL(12, 3),
				c CHAR(3), s STRING, vb VARBINARY(10), dt DATE, tm TIME(3), ts TIMESTAMP(3), ts6 TIMESTAMP(6),
				ltz TIMESTAMP_LTZ(3), a ARRAY<INT>, m MAP<STRING, DOUBLE>, r ROW<x INT, y ARRAY<STRING>>
			) WITH ('connector' = 'filesystem', 'path' = '%s', 'format' = 'parquet'%s);
			INSERT INTO pq VALUES
			  (TRUE, CAST(-128 AS TINYINT), CAST(32767 AS SMALLINT), 2147483647, -9223372036854775808, CAST(1.5 AS FLOAT), 2.25, 123456789.125,
			   'abc', 'héllo', X'0102', DATE '2024-02-29', TIME '23:59:59.999', TIMESTAMP '1969-12-31 23:59:59.999',
			   TIMESTAMP '2024-01-01 00:00:00.123456', TO_TIMESTAMP_LTZ(1700000000123, 3), ARRAY[1, CAST(NULL AS INT), 3],
			   MAP['k', 1.5, 'n', CAST(NULL AS DOUBLE)], CAST(ROW(7, ARRAY['p', CAST(NULL AS STRING)]) AS ROW<x INT, y ARRAY<STRING>>)),
			  (CAST(NULL AS BOOLEAN), CAST(NULL AS TINYINT), CAST(NULL AS SMALLINT), CAST(NULL AS INT), CAST(NULL AS BIGINT),
			   CAST(NULL AS FLOAT), CAST(NULL AS DOUBLE), CAST(NULL AS DECIMAL(12, 3)), CAST(NULL AS CHAR(3)), CAST(NULL AS STRING),
			   CAST(NULL AS VARBINARY(10)), CAST(NULL AS DATE), CAST(NULL AS TIME(3)), CAST(NULL AS TIMESTAMP(3)),
			   CAST(NULL AS TIMESTAMP(6)), CAST(NULL AS TIMESTAMP_LTZ(3)), CAST(NULL AS ARRAY<INT>),
			   CAST(NULL AS MAP<STRING, DOUBLE>), CAST(NULL AS ROW<x INT, y ARRAY<STRING>>)),
			  (FALSE, CAST(0 AS TINYINT), CAST(0 AS SMALLINT), 0, 0, CAST(-0.25 AS FLOAT), -1e300, -0.001,
			   '', '', X'', DATE '1970-01-01', TIME '00:00:00', TIMESTAMP '2038-01-19 03:14:08.000',
			   TIMESTAMP '1900-01-01 00:00:00.000001', TO_TIMESTAMP_LTZ(0, 3), ARRAY[CAST(NULL AS INT)],
			   MAP['e', 0.0], CAST(ROW(CAST(NULL AS INT), CAST(NULL AS ARRAY<STRING>)) AS ROW<x INT, y ARRAY<STRING>>));`, dir, opts)
			want := runRows(t, ctx, cfg, strings.Replace(ddl, "INSERT INTO pq VALUES", "CREATE VIEW v AS VALUES", 1)+"\n", "SELECT * FROM v")
			got := runRows(t, ctx, cfg, ddl, "SELECT * FROM pq")
			require.Len(t, got, 3)
			require.Equal(t, want, got, "parallelism %s%s", par, opts)
			// Only the projected columns are read (the files written above,
			// without writing them again).
			create := ddl[:strings.Index(ddl, "INSERT")]
			got = runRows(t, ctx, cfg, create, "SELECT m['k'], r.x, i FROM pq WHERE b")
			require.Equal(t, []string{"1.5 | 7 | 2147483647"}, got)
		}
	}
}

// TestParquetSQLPartitionedDatagen writes a partitioned table from a
// datagen source and aggregates it back.
func TestParquetSQLPartitionedDatagen(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	cfg := map[string]string{"parallelism.default": "2", "table.dml-sync": "true"}
	ddl := fmt.Sprintf(`
		CREATE TABLE gen (id BIGINT, v STRING) WITH ('connector' = 'datagen', 'number-of-rows' = '10000',
		  'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '10000',
		  'fields.v.kind' = 'sequence', 'fields.v.start' = '1', 'fields.v.end' = '10000');
		CREATE TABLE pq (id BIGINT, v STRING, part INT) PARTITIONED BY (part)
		  WITH ('connector' = 'filesystem', 'path' = '%s', 'format' = 'parquet', 'parquet.compression' = 'SNAPPY');
		INSERT INTO pq SELECT id, v, CAST(id %% 3 AS INT) FROM gen;`, dir)
	got := runRows(t, ctx, cfg, ddl, "SELECT part, COUNT(*), SUM(id), MAX(CAST(v AS BIGINT)) FROM pq GROUP BY part")
	require.Equal(t, []string{"0 | 3333 | 16668333 | 9999", "1 | 3334 | 16671667 | 10000", "2 | 3333 | 16665000 | 9998"}, got)
	dirs, err := filepath.Glob(filepath.Join(dir, "part=*"))
	require.NoError(t, err)
	require.Len(t, dirs, 3)
}

// TestParquetSQLForeignFile reads a file written by another tool, with
// other Arrow types than the table's (INT32 for BIGINT, timestamp[us]
// for TIMESTAMP(3), dictionary-encoded strings) and a column the table
// does not have; a file that is not Parquet fails the query naming it.
func TestParquetSQLForeignFile(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	fs := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond}, Nullable: true},
		{Name: "name", Type: &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}, Nullable: true},
		{Name: "other", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	in, _, err := array.RecordFromJSON(memory.DefaultAllocator, fs, strings.NewReader(`[
		{"id": 1, "ts": 1700000000123456, "name": "a", "other": "x"},
		{"id": 2, "ts": null, "name": "b", "other": "y"},
		{"id": null, "ts": 0, "name": "a", "other": null}]`))
	require.NoError(t, err)
	defer in.Release()
	var buf bytes.Buffer
	require.NoError(t, pqarrow.WriteTable(array.NewTableFromRecords(fs, []arrow.RecordBatch{in}), &buf, 2, nil,
		pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema())))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "tool.parquet"), buf.Bytes(), 0o644))
	ddl := fmt.Sprintf(`CREATE TABLE t (id BIGINT, ts TIMESTAMP(3), name STRING, missing DOUBLE)
		WITH ('connector' = 'filesystem', 'path' = '%s', 'format' = 'parquet');`, dir)
	got := runRows(t, ctx, nil, ddl, "SELECT id, ts, name, missing FROM t")
	require.Equal(t, []string{
		"1 | 2023-11-14 22:13:20.123 | a | NULL",
		"2 | NULL | b | NULL",
		"NULL | 1970-01-01 00:00:00.000 | a | NULL",
	}, got)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "zz.parquet"), []byte("id,ts\n1,2\n"), 0o644))
	_, err = finalRows(ctx, nil, ddl, "SELECT id FROM t")
	require.ErrorContains(t, err, "parquet: "+filepath.Join(dir, "zz.parquet")+": ")
}

// BenchmarkParquetBlackhole reads 1M rows of five columns (BIGINT,
// STRING, DOUBLE, TIMESTAMP(3), DECIMAL) from Parquet files through SQL
// into a blackhole sink at parallelism 1 and reports rows per CPU-second
// of the whole process. The files are written once, before the timer.
func BenchmarkParquetBlackhole(b *testing.B) {
	const rows = 1_000_000
	ctx := context.Background()
	dir := b.TempDir()
	env, err := table.NewEnvironment(table.Settings{Config: map[string]string{"table.dml-sync": "true", "parallelism.default": "1"}})
	require.NoError(b, err)
	for _, stmt := range []string{
		fmt.Sprintf(`CREATE TABLE src (id BIGINT, name STRING, price DOUBLE, ts TIMESTAMP(3), amount DECIMAL(10, 2)) WITH (
		  'connector' = 'datagen', 'rows-per-second' = '1000000000', 'seed' = '1',
		  'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '%d', 'fields.name.length' = '10')`, rows),
		fmt.Sprintf(`CREATE TABLE pq (id BIGINT, name STRING, price DOUBLE, ts TIMESTAMP(3), amount DECIMAL(10, 2)) WITH (
		  'connector' = 'filesystem', 'path' = '%s', 'format' = 'parquet', 'parquet.compression' = 'SNAPPY')`, dir),
		`CREATE TABLE dst (id BIGINT, name STRING, price DOUBLE, ts TIMESTAMP(3), amount DECIMAL(10, 2)) WITH ('connector' = 'blackhole')`,
		`INSERT INTO pq SELECT * FROM src`,
	} {
		_, err := env.ExecuteSQL(ctx, stmt)
		require.NoError(b, err, stmt)
	}
	b.ResetTimer()
	var cpu time.Duration
	for range b.N {
		start := cpuTime()
		_, err := env.ExecuteSQL(ctx, `INSERT INTO dst SELECT * FROM pq`)
		require.NoError(b, err)
		cpu += cpuTime() - start
	}
	b.ReportMetric(float64(rows)*float64(b.N)/cpu.Seconds(), "rows/cpu-s")
}

// TestParquetSQLCheckpointFailover: with checkpointing on, a Parquet part
// file is completed (footer written) at every checkpoint barrier and
// committed when the checkpoint completes; a job that fails once and
// restarts from its latest checkpoint leaves every row exactly once in
// readable files.
func TestParquetSQLCheckpointFailover(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	env := ckptEnv(t, false, failoverOptions(table.DMLSync, "true"))
	ddl := fmt.Sprintf(`CREATE TABLE sink (id BIGINT, p INT) PARTITIONED BY (p) WITH ('connector' = 'filesystem',
		'path' = '%s', 'format' = 'parquet')`, dir)
	_, err := env.ExecuteSQL(ctx, ddl)
	require.NoError(t, err)
	r, err := env.ExecuteSQL(ctx, "INSERT INTO sink SELECT ckpt_fail_once(id), CAST(id % 3 AS INT) FROM src")
	require.NoError(t, err)
	require.True(t, ckptFailed.Load(), "the function failed once")
	require.EqualValues(t, 1, r.Job.CheckpointStats().Restarts)
	files, err := filepath.Glob(filepath.Join(dir, "p=*", "*"))
	require.NoError(t, err)
	require.Greater(t, len(files), 6, "part files rolled at checkpoints")
	for _, f := range files {
		require.False(t, strings.HasPrefix(filepath.Base(f), "."), "hidden file %s left behind", f)
	}
	got := runRows(t, ctx, nil, ddl+";", "SELECT COUNT(*), COUNT(DISTINCT id), MIN(id), MAX(id), SUM(CASE WHEN id % 3 = p THEN 0 ELSE 1 END) FROM sink")
	require.Equal(t, []string{fmt.Sprintf("%d | %d | 0 | %d | 0", ckptRows, ckptRows, ckptRows-1)}, got)
}
