package expr

import (
	"math/rand"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/catalog/types"
)

// TestDateFormatDifferential compares DATE_FORMAT of random TIMESTAMP(3)
// and DATE values from year 1 to 9999, before and after the epoch, in
// batches that cross days (with rows in the second of the row before),
// with Go's time.Format of the same patterns.
func TestDateFormatDifferential(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	const n = 2000
	r := rand.New(rand.NewSource(1))
	tb := array.NewTimestampBuilder(mem, &arrow.TimestampType{Unit: arrow.Millisecond})
	db := array.NewDate32Builder(mem)
	var want []time.Time
	const lo, hi = -62_135_596_800_000, 253_402_300_799_999 // 0001-01-01 .. 9999-12-31, in ms
	var ms int64
	for i := 0; i < n; i++ {
		switch i % 5 {
		case 0: // a run of values a few ms apart, mostly on one day
			ms = 1_700_000_000_000 + int64(i)*997_001
		case 1:
			ms = -int64(r.Intn(1e12))
		case 2: // often in the second of the row before (the text is reused)
			ms += int64(r.Intn(400))
		default:
			ms = lo + r.Int63n(hi-lo)
		}
		tb.Append(arrow.Timestamp(ms))
		db.Append(arrow.Date32(floorDiv(ms, 86_400_000)))
		want = append(want, time.UnixMilli(ms).UTC())
	}
	cols := []arrow.Array{tb.NewArray(), db.NewArray()}
	tb.Release()
	db.Release()
	schema := types.Schema{Columns: []types.Column{{Name: "t", Type: types.TimestampType(3)}, {Name: "d", Type: types.DateType}}}
	batch := array.NewRecordBatch(schema.Arrow(), cols, n)
	defer batch.Release()
	for _, c := range cols {
		c.Release()
	}
	for _, c := range []struct {
		col             string
		pattern, layout string
		date            bool
	}{
		{"$0", "yyyy-MM-dd HH:mm:ss.SSS", "2006-01-02 15:04:05.000", false},
		{"$0", "yy/M/d h:mm a", "06/1/2 3:04 PM", false},
		{"$0", "EEE, d MMM yyyy HH:mm", "Mon, 2 Jan 2006 15:04", false},
		{"$0", "EEEE MMMM dd, DDD", "Monday January 02, 002", false},
		{"$0", "HH:mm", "15:04", false},
		{"$1", "yyyy-MM-dd HH:mm:ss", "2006-01-02 15:04:05", true},
	} {
		e, err := parseExpr("(DATE_FORMAT "+c.col+" '"+c.pattern+"')", schema)
		if err != nil {
			t.Fatal(err)
		}
		ev, err := Compile(e, mem)
		if err != nil {
			t.Fatal(err)
		}
		res, err := ev.Eval(batch)
		if err != nil {
			t.Fatal(err)
		}
		got := res.(*array.String)
		for i, w := range want {
			if c.date {
				w = w.Truncate(24 * time.Hour)
			}
			if g, x := got.Value(i), w.Format(c.layout); g != x {
				t.Errorf("DATE_FORMAT(%s, '%s') row %d: got %q, want %q", c.col, c.pattern, i, g, x)
				break
			}
		}
		res.Release()
	}
}
