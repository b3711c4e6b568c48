package nexmark

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/exec/connector"
)

// eventType is the predicate event_type op v over the events table.
func eventType(op connector.CompareOp, v int) connector.Predicate {
	return connector.Predicate{Column: 0, Op: op, Value: fmt.Sprint(v)}
}

func TestApplyFilters(t *testing.T) {
	events := tableInfo(TableEvents)
	res := Factory{}.ApplyFilters(events, []connector.Predicate{
		eventType(connector.OpEqual, 2),
		{Column: 3, Op: connector.OpEqual, Value: "2"}, // bid: not event_type
		{Column: 0, Op: connector.OpEqual, Value: "two"},
		eventType(connector.OpGreaterEqual, 1),
	})
	if want := []bool{true, false, false, true}; fmt.Sprint(res.Accepted) != fmt.Sprint(want) {
		t.Errorf("events table: accepted %v, want %v", res.Accepted, want)
	}
	// The dateTime fields of person, auction and bid.
	if got, want := fmt.Sprint(res.EventTimeFields), "[[1 6] [2 5] [3 5]]"; got != want {
		t.Errorf("event-time fields %s, want %s", got, want)
	}
	// A flat table has no event_type; its columns are not filtered.
	res = Factory{}.ApplyFilters(tableInfo(TableBid), []connector.Predicate{{Column: 2, Op: connector.OpEqual, Value: "2"}})
	if res.Accepted[0] {
		t.Errorf("flat bid table accepted a filter on price")
	}
}

// TestNestedProjectionAndFilter reads fields of the ROW columns as flat
// columns, only of the kinds a filter keeps, and checks them against the
// whole events table filtered and projected row by row.
func TestNestedProjectionAndFilter(t *testing.T) {
	info := tableInfo(TableEvents, EventsNum, "2000")
	full := readRows(t, connector.ScanSpec{Table: info}, 1, 0)
	for _, tc := range []struct {
		name    string
		paths   []connector.FieldPath
		filters []connector.Predicate
		kinds   []int
	}{
		{"bid fields of bids", []connector.FieldPath{{3, 2}, {0}, {3, 6}, {1, 6}}, []connector.Predicate{eventType(connector.OpEqual, 2)}, []int{2}},
		{"persons and auctions", []connector.FieldPath{{2, 0}, {1, 1}, {2, 5}}, []connector.Predicate{eventType(connector.OpLess, 2)}, []int{0, 1}},
		{"two filters", []connector.FieldPath{{1}, {3, 0}}, []connector.Predicate{eventType(connector.OpNotEqual, 1), eventType(connector.OpLessEqual, 1)}, []int{0}},
		{"contradiction", []connector.FieldPath{{0}}, []connector.Predicate{eventType(connector.OpEqual, 1), eventType(connector.OpEqual, 2)}, nil},
		{"no filter", []connector.FieldPath{{3, 1}, {2, 7}}, nil, []int{0, 1, 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var want []string
			for i, row := range full {
				if !containsInt(tc.kinds, kindOf(i)) {
					continue
				}
				top := splitTop(row)
				vals := make([]string, len(tc.paths))
				for j, p := range tc.paths {
					v := top[p[0]]
					if len(p) == 2 {
						v = "(null)"
						if f := top[p[0]]; f != "(null)" {
							v = splitTop(strings.TrimSuffix(strings.TrimPrefix(f, "{"), "}"))[p[1]]
						}
					}
					vals[j] = v
				}
				want = append(want, strings.Join(vals, "|"))
			}
			spec := connector.ScanSpec{Table: info, NestedProjection: tc.paths, Filters: tc.filters}
			for _, bs := range []int{1, 7, 0} {
				got := readRows(t, spec, 1, bs)
				if strings.Join(got, "\n") != strings.Join(want, "\n") {
					t.Fatalf("batch size %d: %d rows, want %d; first: %v, want %v", bs, len(got), len(want), head(got), head(want))
				}
			}
		})
	}
}

func containsInt(xs []int, x int) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}

func head(rows []string) []string { return rows[:min(len(rows), 2)] }

// TestFilteredSnapshotRestore restores a filtered reader in the middle of
// its stream: it continues with the same rows.
func TestFilteredSnapshotRestore(t *testing.T) {
	spec := connector.ScanSpec{Table: tableInfo(TableEvents, EventsNum, "3000"),
		NestedProjection: []connector.FieldPath{{2, 0}, {2, 5}}, Filters: []connector.Predicate{eventType(connector.OpEqual, 1)}}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rc := connector.ReaderContext{Subtask: 0, Parallelism: 2, Mem: mem, BatchSize: 5}
	checkResume(t, spec, rc, 4)
}

func TestPushdownSpecErrors(t *testing.T) {
	info := tableInfo(TableEvents)
	for _, tc := range []struct {
		spec connector.ScanSpec
		want string
	}{
		{connector.ScanSpec{Table: info, NestedProjection: []connector.FieldPath{{3, 9}}}, "does not name a field"},
		{connector.ScanSpec{Table: info, NestedProjection: []connector.FieldPath{{0, 1}}}, "does not name a field"},
		{connector.ScanSpec{Table: info, Filters: []connector.Predicate{{Column: 2, Op: connector.OpEqual, Value: "1"}}}, "cannot apply filter"},
		{connector.ScanSpec{Table: info, Filters: []connector.Predicate{{Column: 7, Op: connector.OpEqual, Value: "1"}}}, "out of range"},
	} {
		_, err := Factory{}.CreateReader(tc.spec, connector.ReaderContext{Parallelism: 1})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want %q", tc.spec, err, tc.want)
		}
	}
}

// TestUnboundedEmptyFilter: an unbounded stream no kind passes waits for
// cancellation instead of spinning.
func TestUnboundedEmptyFilter(t *testing.T) {
	spec := connector.ScanSpec{Table: tableInfo(TableEvents, EventsNum, "0"),
		Filters: []connector.Predicate{eventType(connector.OpGreater, 2)}}
	r, err := Factory{}.CreateReader(spec, connector.ReaderContext{Parallelism: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := r.Next(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Next = %v, want context.DeadlineExceeded", err)
	}
}
