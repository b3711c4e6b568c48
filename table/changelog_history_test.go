package table_test

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// writeDebeziumHistory writes a random change history of the rows with
// ids 0 to ids-1 as debezium-json files part-0.json .. part-<files-1>.json
// in cdcDir (row id in file id % files, so one reader per file keeps each
// row's changes in order), and the rows the history leaves as one
// insert-only json file, part-0.json, in finalDir. Each row is created
// with first, updated zero to three times with update (which may change
// any column but the id), and then deleted when deleted says so. R is a
// struct whose json encoding is the row's fields. The calls draw on rng
// in a fixed order, so a seed gives one history. It returns the final
// rows.
func writeDebeziumHistory[R any](t *testing.T, rng *rand.Rand, cdcDir, finalDir string, files, ids int,
	first func(id int) R, update func(id int, cur R) R, deleted func(cur R) bool) []R {
	t.Helper()
	require.NoError(t, os.MkdirAll(cdcDir, 0o755))
	require.NoError(t, os.MkdirAll(finalDir, 0o755))
	var final []R
	for f := range files {
		var events strings.Builder
		write := func(before, after any, op string) {
			b, err := json.Marshal(map[string]any{"before": before, "after": after, "op": op})
			require.NoError(t, err)
			events.Write(b)
			events.WriteByte('\n')
		}
		for id := f; id < ids; id += files {
			cur := first(id)
			write(nil, cur, "c")
			for range rng.Intn(4) {
				next := update(id, cur)
				write(cur, next, "u")
				cur = next
			}
			if deleted(cur) {
				write(cur, nil, "d")
				continue
			}
			final = append(final, cur)
		}
		require.NoError(t, os.WriteFile(filepath.Join(cdcDir, fmt.Sprintf("part-%d.json", f)), []byte(events.String()), 0o644))
	}
	var ins strings.Builder
	for _, r := range final {
		b, err := json.Marshal(r)
		require.NoError(t, err)
		ins.Write(b)
		ins.WriteByte('\n')
	}
	require.NoError(t, os.WriteFile(filepath.Join(finalDir, "part-0.json"), []byte(ins.String()), 0o644))
	return final
}
