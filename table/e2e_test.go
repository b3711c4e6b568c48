package table_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/table"
)

// TestMillionRowsToCSV reads 1,000,000 datagen sequence rows, filters and
// projects them, writes CSV through the filesystem sink, and checks that the
// files hold exactly the expected rows, at parallelism 1 and 4.
func TestMillionRowsToCSV(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a million rows")
	}
	for _, par := range []int{1, 4} {
		t.Run(fmt.Sprintf("parallelism=%d", par), func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			dir := t.TempDir()
			env, err := table.NewEnvironment(table.Settings{Mem: mem, Config: map[string]string{
				"parallelism.default": strconv.Itoa(par), "table.dml-sync": "true",
			}})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			for _, stmt := range []string{
				`CREATE TABLE src (id BIGINT, v STRING) WITH ('connector' = 'datagen',
				  'rows-per-second' = '100000000',
				  'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '1000000',
				  'fields.v.kind' = 'sequence', 'fields.v.start' = '1', 'fields.v.end' = '1000000')`,
				fmt.Sprintf(`CREATE TABLE dst (id BIGINT, doubled BIGINT, tag STRING) WITH (
				  'connector' = 'filesystem', 'path' = '%s', 'format' = 'csv')`, dir),
				`INSERT INTO dst SELECT id, id * 2, CONCAT('v', v) FROM src WHERE id % 3 = 0`,
			} {
				r, err := env.ExecuteSQL(ctx, stmt)
				if err != nil {
					t.Fatalf("%s: %v", stmt, err)
				}
				r.Close()
			}
			var lines []string
			files, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range files {
				if strings.HasPrefix(f.Name(), ".") {
					t.Fatalf("in-progress file %s left behind", f.Name())
				}
				data, err := os.ReadFile(filepath.Join(dir, f.Name()))
				if err != nil {
					t.Fatal(err)
				}
				lines = append(lines, strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")...)
			}
			if len(lines) != 333333 {
				t.Fatalf("got %d rows, want 333333", len(lines))
			}
			ids := make([]int, len(lines))
			for i, l := range lines {
				parts := strings.Split(l, ",")
				id, _ := strconv.Atoi(parts[0])
				if len(parts) != 3 || parts[1] != strconv.Itoa(2*id) || parts[2] != "v"+parts[0] {
					t.Fatalf("bad row %q", l)
				}
				ids[i] = id
			}
			sort.Ints(ids)
			for i, id := range ids {
				if id != 3*(i+1) {
					t.Fatalf("row %d has id %d, want %d", i, id, 3*(i+1))
				}
			}
		})
	}
}

// BenchmarkDatagenFilterProjectBlackhole measures the datagen → filter →
// projection → blackhole pipeline at parallelism 1 and reports rows per
// CPU-second of the whole process.
func BenchmarkDatagenFilterProjectBlackhole(b *testing.B) {
	const rows = 2_000_000
	ctx := context.Background()
	var cpu time.Duration
	for i := 0; i < b.N; i++ {
		env, err := table.NewEnvironment(table.Settings{Config: map[string]string{"table.dml-sync": "true"}})
		if err != nil {
			b.Fatal(err)
		}
		for _, stmt := range []string{
			fmt.Sprintf(`CREATE TABLE src (id BIGINT, price DOUBLE, name STRING) WITH ('connector' = 'datagen',
			  'rows-per-second' = '1000000000', 'seed' = '1',
			  'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '%d',
			  'fields.name.length' = '10')`, rows),
			`CREATE TABLE dst (id BIGINT, euros DOUBLE, name STRING) WITH ('connector' = 'blackhole')`,
		} {
			if _, err := env.ExecuteSQL(ctx, stmt); err != nil {
				b.Fatal(err)
			}
		}
		start := cpuTime()
		if _, err := env.ExecuteSQL(ctx, `INSERT INTO dst SELECT id, price * 0.908, UPPER(name) FROM src WHERE id % 2 = 0 AND price > 100`); err != nil {
			b.Fatal(err)
		}
		cpu += cpuTime() - start
	}
	b.ReportMetric(float64(rows)*float64(b.N)/cpu.Seconds(), "rows/cpu-s")
}

// cpuTime is the user+system CPU time of the process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
