package exec

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
)

// The intake of the operators that buffer insert-only rows in a rowStore
// until the watermark passes their rowtime (MATCH_RECOGNIZE, the temporal
// sort, the SESSION window table function): each input batch is loaded
// into a joinBatch, its partition keys hashed, and its rowtime read as
// epoch millis, so that late rows can be dropped and the rest put in the
// store by time.

// loadRowtime loads the first nIn columns of b into jb, hashing keys, and,
// unless procTime, reads b's rowtime column timeCol into ms (resized to
// b's rows), which it returns. op names the operator in a load error,
// what the one in a rowtime error.
func (jb *joinBatch) loadRowtime(b arrow.RecordBatch, nIn int, keys []int, timeCol int, procTime bool, ms []int64, op, what string) ([]int64, error) {
	if err := jb.load(b, nIn, keys, false, false); err != nil {
		return ms, fmt.Errorf("%s: %w", op, err)
	}
	if procTime {
		return ms, nil
	}
	ms = resize(ms, int(b.NumRows()))
	return ms, rowtimeMillis(b.Column(timeCol), ms, what)
}

// putTimed stores row i of v with the next arrival sequence number of
// *seq and the time ts (millis, or 0 for proctime rows), and returns its
// slot.
func (s *rowStore) putTimed(v []colView, i int, seq *int64, ts int64) int32 {
	*seq++
	sl := s.put(v, i, *seq)
	s.time[sl] = ts
	return sl
}
