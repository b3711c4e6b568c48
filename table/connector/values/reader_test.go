package values

import (
	"context"
	"encoding/json"
	"io"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/exec/connector"
)

// TestReaderRestorePoint checks the reader's stops: with Pause it waits
// after Before (counted as paused) until its context ends; restored from
// that point it emits After, then ends, or with KeepOpen waits again.
func TestReaderRestorePoint(t *testing.T) {
	for _, keepOpen := range []bool{false, true} {
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		d := &Data{
			Before:   []Row{{Kind: connector.Insert, Values: []any{json.Number("1"), "a"}}},
			After:    []Row{{Kind: connector.Insert, Values: []any{json.Number("2"), "b"}}},
			Pause:    true,
			KeepOpen: keepOpen,
		}
		id := Register(d)
		spec := connector.ScanSpec{Table: changelogTestTable(map[string]string{"data-id": id})}
		rctx := connector.ReaderContext{Parallelism: 1, Mem: mem}

		// next reads one row, or the error with which the reader stops
		// within a short deadline.
		next := func(r connector.SourceReader) (int32, error) {
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			b, err := r.Next(ctx)
			if err != nil {
				return 0, err
			}
			defer b.Release()
			return b.Column(0).(*array.Int32).Value(0), nil
		}

		first, err := Factory{}.CreateReader(spec, rctx)
		require.NoError(t, err)
		v, err := next(first)
		require.NoError(t, err)
		require.Equal(t, int32(1), v)
		_, err = next(first)
		require.ErrorIs(t, err, context.DeadlineExceeded, "waits after Before")
		created, paused := d.Readers()
		require.Equal(t, [2]int{1, 1}, [2]int{created, paused})
		state, err := first.Snapshot()
		require.NoError(t, err)
		require.NoError(t, first.Close())

		restored, err := Factory{}.CreateReader(spec, rctx)
		require.NoError(t, err)
		require.NoError(t, restored.Restore(state))
		v, err = next(restored)
		require.NoError(t, err)
		require.Equal(t, int32(2), v)
		_, err = next(restored)
		if keepOpen {
			require.ErrorIs(t, err, context.DeadlineExceeded, "KeepOpen waits after After")
			_, paused = d.Readers()
			require.Equal(t, 1, paused)
		} else {
			require.ErrorIs(t, err, io.EOF)
		}
		require.NoError(t, restored.Close())
		created, paused = d.Readers()
		require.Equal(t, [2]int{0, 0}, [2]int{created, paused})
		Unregister(id)
		mem.AssertSize(t, 0)
	}
}
