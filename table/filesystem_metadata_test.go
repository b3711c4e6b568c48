package table_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestFilesystemMetadataSQL reads the filesystem source's metadata
// columns (Flink's file.name, file.path, file.size and
// file.modification-time) through SQL: grouped by file at parallelism 1
// and 2, from a partitioned table, and rejects unknown keys, wrong types
// and writing them.
func TestFilesystemMetadataSQL(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.csv"), []byte("1\n2\n3\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "b.csv"), []byte("4\n5\n"), 0o644))
	mtime := time.UnixMilli(1577836800123)
	require.NoError(t, os.Chtimes(filepath.Join(dir, "b.csv"), mtime, mtime))
	ddl := fmt.Sprintf(`CREATE TABLE t (
		  a INT,
		  fname STRING METADATA FROM 'file.name' VIRTUAL,
		  fpath STRING NOT NULL METADATA FROM 'file.path' VIRTUAL,
		  fsize BIGINT METADATA FROM 'file.size' VIRTUAL,
		  mtime TIMESTAMP_LTZ(3) METADATA FROM 'file.modification-time' VIRTUAL
		) WITH ('connector' = 'filesystem', 'path' = '%s', 'format' = 'csv');`, dir)
	for _, par := range []string{"1", "2"} {
		cfg := map[string]string{"parallelism.default": par, "table.local-time-zone": "UTC"}
		require.Equal(t, []string{"a.csv | 3 | 6", "b.csv | 2 | 9"},
			runRows(t, ctx, cfg, ddl, "SELECT fname, COUNT(*), SUM(a) FROM t GROUP BY fname"), "parallelism %s", par)
		b := filepath.Join(dir, "b.csv")
		require.Equal(t, []string{"4 | " + b + " | 4 | 2020-01-01 00:00:00.123", "5 | " + b + " | 4 | 2020-01-01 00:00:00.123"},
			runRows(t, ctx, cfg, ddl, "SELECT a, fpath, fsize, mtime FROM t WHERE fname = 'b.csv'"), "parallelism %s", par)
	}

	// A column named as its key needs no FROM; partition columns come first.
	part := t.TempDir()
	for _, p := range []string{"x", "y"} {
		require.NoError(t, os.MkdirAll(filepath.Join(part, "p="+p), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(part, "p="+p, "f-"+p+".json"), []byte(`{"a": 1}`+"\n"+`{"a": 2}`+"\n"), 0o644))
	}
	pddl := fmt.Sprintf("CREATE TABLE pt (a INT, p STRING, `file.name` STRING METADATA VIRTUAL) PARTITIONED BY (p) "+
		"WITH ('connector' = 'filesystem', 'path' = '%s', 'format' = 'json');", part)
	require.Equal(t, []string{"x | f-x.json | 3", "y | f-y.json | 3"},
		runRows(t, ctx, nil, pddl, "SELECT p, `file.name`, SUM(a) FROM pt GROUP BY p, `file.name`"))

	for _, c := range []struct{ col, want string }{
		{"f STRING METADATA FROM 'file.owner' VIRTUAL", "metadata key 'file.owner' of column 'f' is not available from connector 'filesystem'; available keys: file.modification-time, file.name, file.path, file.size"},
		{"f INT METADATA FROM 'file.size' VIRTUAL", "metadata column 'f' cannot have type INT; 'file.size' is BIGINT NOT NULL"},
	} {
		_, err := finalRows(ctx, nil, fmt.Sprintf("CREATE TABLE bad (a INT, %s) WITH ('connector' = 'filesystem', 'path' = '%s', 'format' = 'csv');", c.col, dir), "SELECT * FROM bad")
		require.ErrorContains(t, err, c.want)
	}
	// The metadata are read only: a persisted column cannot be written.
	out := t.TempDir()
	_, err := finalRows(ctx, nil, fmt.Sprintf("CREATE TABLE snk (a INT, fname STRING METADATA FROM 'file.name') WITH ('connector' = 'filesystem', 'path' = '%s', 'format' = 'csv');", out),
		"INSERT INTO snk VALUES (1, 'x')")
	require.ErrorContains(t, err, "writing METADATA column 'fname' is not supported by its connector")
}
