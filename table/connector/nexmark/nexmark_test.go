package nexmark

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/table/connector/connectortest"
)

func col(name string, t types.DataType) types.Column { return types.Column{Name: name, Type: t} }

var (
	ts3 = types.TimestampType(3)
	str = types.StringType
	i64 = types.BigIntType
)

func fieldsOf(cols ...types.Column) []types.Field {
	out := make([]types.Field, len(cols))
	for i, c := range cols {
		out[i] = types.Field{Name: c.Name, Type: c.Type}
	}
	return out
}

var (
	personCols = []types.Column{col("id", i64), col("name", str), col("emailAddress", str), col("creditCard", str),
		col("city", str), col("state", str), col("dateTime", ts3), col("extra", str)}
	auctionCols = []types.Column{col("id", i64), col("itemName", str), col("description", str), col("initialBid", i64),
		col("reserve", i64), col("dateTime", ts3), col("expires", ts3), col("seller", i64), col("category", i64), col("extra", str)}
	bidCols = []types.Column{col("auction", i64), col("bidder", i64), col("price", i64), col("channel", str),
		col("url", str), col("dateTime", ts3), col("extra", str)}
	eventsCols = []types.Column{col("event_type", types.IntType),
		col("person", types.RowType(fieldsOf(personCols...)...)),
		col("auction", types.RowType(fieldsOf(auctionCols...)...)),
		col("bid", types.RowType(fieldsOf(bidCols...)...))}
	flatCols = map[string][]types.Column{TableEvents: eventsCols, TablePerson: personCols, TableAuction: auctionCols, TableBid: bidCols}
)

func tableInfo(table string, opts ...string) connector.TableInfo {
	o := map[string]string{"connector": Identifier, TableOpt: table, Seed: "7", EventsNum: "5000"}
	for i := 0; i+1 < len(opts); i += 2 {
		o[opts[i]] = opts[i+1]
	}
	return connector.TableInfo{Name: "t", Schema: types.Schema{Columns: flatCols[table]}, Options: o}
}

// readRows reads all subtasks of a scan and returns its rows as text, in
// subtask order.
func readRows(t *testing.T, spec connector.ScanSpec, parallelism, batchSize int) []string {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	var rows []string
	for sub := range parallelism {
		for _, b := range connectortest.ReadAll(t, Factory{}, spec, connector.ReaderContext{Subtask: sub, Parallelism: parallelism, Mem: mem, BatchSize: batchSize}) {
			rows = append(rows, batchRows(b)...)
			b.Release()
		}
	}
	return rows
}

func batchRows(b arrow.RecordBatch) []string {
	out := make([]string, b.NumRows())
	for i := range out {
		var s strings.Builder
		for j, c := range b.Columns() {
			if j > 0 {
				s.WriteString("|")
			}
			s.WriteString(valueStr(c, i))
		}
		out[i] = s.String()
	}
	return out
}

// valueStr prints a value; a ROW prints its fields as a flat row would.
func valueStr(a arrow.Array, i int) string {
	st, ok := a.(*array.Struct)
	if !ok || st.IsNull(i) {
		return a.ValueStr(i)
	}
	parts := make([]string, st.NumField())
	for j := range parts {
		parts[j] = valueStr(st.Field(j), i)
	}
	return "{" + strings.Join(parts, "|") + "}"
}

func TestConformance(t *testing.T) {
	for _, table := range []string{TableEvents, TablePerson, TableAuction, TableBid} {
		for _, p := range []int{1, 3} {
			for _, bs := range []int{1, 7, 0} {
				t.Run(fmt.Sprintf("%s/p=%d/batch=%d", table, p, bs), func(t *testing.T) {
					n := connectortest.CheckSource(t, Factory{}, connector.ScanSpec{Table: tableInfo(table, EventsNum, "500")}, p, bs)
					want := map[string]int64{TableEvents: 500, TablePerson: 10, TableAuction: 30, TableBid: 460}[table]
					if n != want {
						t.Errorf("rows = %d, want %d", n, want)
					}
				})
			}
		}
	}
}

// TestParallelSplit checks that the subtasks together produce exactly the
// single generator's stream, whatever the batch size.
func TestParallelSplit(t *testing.T) {
	for _, table := range []string{TableEvents, TableBid} {
		spec := connector.ScanSpec{Table: tableInfo(table, EventsNum, "3000")}
		one := readRows(t, spec, 1, 0)
		for _, p := range []int{2, 5} {
			many := readRows(t, spec, p, 13)
			sort.Strings(many)
			sorted := append([]string(nil), one...)
			sort.Strings(sorted)
			if strings.Join(many, "\n") != strings.Join(sorted, "\n") {
				t.Errorf("%s: parallelism %d differs from 1", table, p)
			}
		}
	}
}

func TestDeterminism(t *testing.T) {
	spec := connector.ScanSpec{Table: tableInfo(TableEvents, EventsNum, "2000")}
	a, b := readRows(t, spec, 1, 0), readRows(t, spec, 1, 100)
	if strings.Join(a, "\n") != strings.Join(b, "\n") {
		t.Error("same seed, different streams")
	}
	spec.Table.Options[Seed] = "8"
	c := readRows(t, spec, 1, 0)
	same := 0
	for i := range a {
		if a[i] == c[i] {
			same++
		}
	}
	if same > len(a)/10 {
		t.Errorf("seeds 7 and 8 agree on %d of %d events", same, len(a))
	}
}

// TestProjection checks that projected columns have the values they have
// when every column is read.
func TestProjection(t *testing.T) {
	for _, tc := range []struct {
		table string
		proj  []int
	}{{TableBid, []int{2, 0}}, {TableBid, []int{6}}, {TableEvents, []int{3}}, {TableEvents, []int{0, 2}}, {TableAuction, []int{9, 5}}} {
		info := tableInfo(tc.table, EventsNum, "1000")
		full := readRows(t, connector.ScanSpec{Table: info}, 1, 0)
		proj := readRows(t, connector.ScanSpec{Table: info, Projection: tc.proj}, 1, 0)
		if len(full) != len(proj) {
			t.Fatalf("%s %v: %d rows, want %d", tc.table, tc.proj, len(proj), len(full))
		}
		for i := range full {
			f := splitTop(full[i])
			var want []string
			for _, p := range tc.proj {
				want = append(want, f[p])
			}
			if got := strings.Join(want, "|"); proj[i] != got {
				t.Fatalf("%s %v row %d: %s, want %s", tc.table, tc.proj, i, proj[i], got)
			}
		}
	}
}

// drain reads r to its end and returns its rows as text.
func drain(t *testing.T, r connector.SourceReader) []string {
	t.Helper()
	var out []string
	for {
		b, err := r.Next(context.Background())
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, batchRows(b)...)
		b.Release()
	}
}

// checkResume reads skip batches of a scan, snapshots the reader and
// checks that a fresh reader restored from the snapshot produces the rows
// the first one goes on to produce (at least one). It returns the
// snapshot.
func checkResume(t *testing.T, spec connector.ScanSpec, rc connector.ReaderContext, skip int) []byte {
	t.Helper()
	r1, err := Factory{}.CreateReader(spec, rc)
	if err != nil {
		t.Fatal(err)
	}
	defer r1.Close()
	for range skip {
		b, err := r1.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		b.Release()
	}
	state, err := r1.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	rest := drain(t, r1)
	r2, err := Factory{}.CreateReader(spec, rc)
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	if err := r2.Restore(state); err != nil {
		t.Fatal(err)
	}
	if got := drain(t, r2); strings.Join(got, "\n") != strings.Join(rest, "\n") || len(rest) == 0 {
		t.Errorf("restored reader produced %d rows, original %d", len(got), len(rest))
	}
	return state
}

func TestSnapshotRestore(t *testing.T) {
	spec := connector.ScanSpec{Table: tableInfo(TableBid, EventsNum, "2000")}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rc := connector.ReaderContext{Subtask: 1, Parallelism: 2, Mem: mem, BatchSize: 100}
	state := checkResume(t, spec, rc, 3)
	other, err := Factory{}.CreateReader(spec, connector.ReaderContext{Subtask: 0, Parallelism: 2, Mem: mem})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := other.Restore(state); err == nil {
		t.Error("restoring another subtask's snapshot succeeded")
	}
	if err := other.Restore([]byte{9}); err == nil {
		t.Error("restoring garbage succeeded")
	}
}

// TestEventsTable checks the single-table form: event_type says which ROW
// is set, and the ROWs agree with the flat tables.
func TestEventsTable(t *testing.T) {
	events := readRows(t, connector.ScanSpec{Table: tableInfo(TableEvents)}, 1, 0)
	flat := map[string][]string{}
	for _, k := range []string{TablePerson, TableAuction, TableBid} {
		flat[k] = readRows(t, connector.ScanSpec{Table: tableInfo(k)}, 1, 0)
	}
	idx := map[string]int{}
	for i, row := range events {
		f := splitTop(row)
		kind := []string{TablePerson, TableAuction, TableBid}[kindOf(i)]
		if f[0] != fmt.Sprint(kindOf(i)) {
			t.Fatalf("event %d: event_type %s, want %d", i, f[0], kindOf(i))
		}
		set := f[1+kindOf(i)]
		for j, other := range []string{f[1], f[2], f[3]} {
			if j != kindOf(i) && other != "(null)" {
				t.Fatalf("event %d: %s column set: %s", i, []string{"person", "auction", "bid"}[j], other)
			}
		}
		want := "{" + flat[kind][idx[kind]] + "}"
		idx[kind]++
		if set != want {
			t.Fatalf("event %d: row %s does not match flat %s", i, set, want)
		}
	}
}

// splitTop splits an events row at the '|' outside ROW braces.
func splitTop(row string) []string {
	var out []string
	depth, start := 0, 0
	for i, c := range row {
		switch c {
		case '{':
			depth++
		case '}':
			depth--
		case '|':
			if depth == 0 {
				out = append(out, row[start:i])
				start = i + 1
			}
		}
	}
	return append(out, row[start:])
}

func kindOf(n int) int {
	switch r := n % 50; {
	case r < 1:
		return 0
	case r < 4:
		return 1
	}
	return 2
}

func TestBindErrors(t *testing.T) {
	for _, tc := range []struct {
		table string
		cols  []types.Column
		opts  []string
		code  errs.Code
		msg   string
	}{
		{TableBid, []types.Column{col("nope", i64)}, nil, errs.InvalidOption, "column 'nope' of table 't' is not a field of the nexmark bid table; its fields are auction, bidder, price, channel, url, dateTime, extra"},
		{TableBid, []types.Column{col("price", types.IntType)}, nil, errs.DatatypeMismatch, "column 'price' of nexmark table 't' has type INT, but the generator produces BIGINT"},
		{TableEvents, []types.Column{col("bid", i64)}, nil, errs.DatatypeMismatch, "column 'bid' of nexmark table 't' has type BIGINT, but the generator produces a ROW of bid fields"},
		{TableEvents, []types.Column{col("price", i64)}, nil, errs.InvalidOption, "not a column of the nexmark events table"},
		{TableEvents, []types.Column{col("bid", types.RowType(types.Field{Name: "dateTime", Type: types.TimestampType(6)}))}, nil, errs.DatatypeMismatch, "has type TIMESTAMP(6)"},
		{TableBid, []types.Column{col("price", i64)}, []string{BidProportion, "0"}, errs.InvalidOption, "option 'bid.proportion' of connector 'nexmark' must be positive, got 0"},
		{TableBid, []types.Column{col("price", i64)}, []string{BaseTime, "yesterday"}, errs.InvalidOption, "invalid value 'yesterday' for option 'base-time'"},
		{TableBid, []types.Column{col("price", i64)}, []string{"bid.hot-ratio", "2"}, errs.InvalidOption, "unsupported option 'bid.hot-ratio'"},
	} {
		info := tableInfo(tc.table, tc.opts...)
		info.Schema = types.Schema{Columns: tc.cols}
		_, err := Factory{}.ValidateSource(info)
		var e *errs.Error
		if !errors.As(err, &e) || e.Code != tc.code || !strings.Contains(e.Error(), tc.msg) {
			t.Errorf("%v: got %v, want %s containing %q", tc.cols, err, tc.code.Name, tc.msg)
		}
	}
	// Case-insensitive names, a subset of the fields, VARCHAR(n), LTZ.
	info := tableInfo(TableEvents)
	info.Schema = types.Schema{Columns: []types.Column{col("BID", types.RowType(
		types.Field{Name: "Price", Type: i64.WithNullable(false)}, types.Field{Name: "url", Type: types.VarcharType(10)},
		types.Field{Name: "datetime", Type: types.TimestampLTZType(3)}))}}
	if _, err := (Factory{}).ValidateSource(info); err != nil {
		t.Error(err)
	}
	if p, err := (Factory{}).ValidateSource(tableInfo(TableBid, EventsNum, "0")); err != nil || p.Bounded {
		t.Errorf("events.num = 0: %+v, %v; want unbounded", p, err)
	}
}

// TestStatistics checks the distributions of a long seeded stream against
// nexmark-flink's generator.
func TestStatistics(t *testing.T) {
	const events = 500_000
	g := NewGenerator(DefaultConfig(42))
	var (
		kinds                                [3]int
		hotAuction, hotBidder, hotSeller     int
		buckets                              [3]int
		hotChannel, channelID, categories    int
		bidExtra, personExtra, auctionExtra  stats
		itemName, description                stats
		bids, auctions, persons, lastPersonI int64
		p                                    Person
		a                                    Auction
		b                                    Bid
	)
	prevTS := int64(math.MinInt64)
	lastPerson, lastAuction := int64(-1), int64(-1)
	for n := int64(0); n < events; n++ {
		ts := g.Timestamp(n)
		if ts < prevTS {
			t.Fatalf("event %d: timestamp %d before %d", n, ts, prevTS)
		}
		prevTS = ts
		// 10,000 events per second by default: 10 events per millisecond.
		if want := SeededBaseTime + n/10; ts != want {
			t.Fatalf("event %d: timestamp %d, want %d", n, ts, want)
		}
		k := g.Kind(n)
		kinds[k]++
		switch k {
		case PersonKind:
			g.Person(n, &p)
			persons++
			if lastPerson >= 0 && p.ID != lastPersonI+1 {
				t.Fatalf("person ids not dense: %d after %d", p.ID, lastPersonI)
			}
			lastPerson, lastPersonI = p.ID-FirstPersonID, p.ID
			if p.DateTime != ts || len(p.CreditCard()) != 19 || p.CreditCard()[4] != ' ' || !strings.HasSuffix(string(p.Email()), ".com") {
				t.Fatalf("person %+v", p)
			}
			personExtra.add(len(p.Extra))
		case AuctionKind:
			g.Auction(n, &a)
			auctions++
			if a.ID != lastAuction+1+FirstAuctionID && lastAuction >= 0 {
				t.Fatalf("auction ids not dense: %d after %d", a.ID, lastAuction+FirstAuctionID)
			}
			lastAuction = a.ID - FirstAuctionID
			if a.Seller == lastPerson/100*100+FirstPersonID {
				hotSeller++
			}
			if a.Category < 10 || a.Category > 14 || a.Expires <= a.DateTime || a.Reserve <= a.InitialBid {
				t.Fatalf("auction %+v", a)
			}
			if a.Category == 10 {
				categories++
			}
			itemName.add(len(a.ItemName))
			description.add(len(a.Description))
			auctionExtra.add(len(a.Extra))
		case BidKind:
			g.Bid(n, &b)
			bids++
			if b.Auction == lastAuction/100*100+FirstAuctionID {
				hotAuction++
			}
			if b.Bidder == lastPerson/100*100+1+2*FirstPersonID {
				hotBidder++
			}
			if b.Auction > lastAuction+FirstAuctionID+auctionIDLead || b.Bidder > lastPerson+2*FirstPersonID+personIDLead {
				t.Fatalf("bid %+v points too far ahead (last auction %d, person %d)", b, lastAuction, lastPerson)
			}
			switch {
			case b.Price < 100 || b.Price > 100_000_000:
				t.Fatalf("price %d", b.Price)
			case b.Price < 10_000:
				buckets[0]++
			case b.Price < 1_000_000:
				buckets[1]++
			default:
				buckets[2]++
			}
			if !strings.HasPrefix(b.Channel, "channel-") {
				hotChannel++
			} else if strings.Contains(b.URL, "&channel_id=") {
				channelID++
			}
			if !strings.HasPrefix(b.URL, "https://www.nexmark.com/") || !strings.Contains(b.URL, "/item.htm?query=1") {
				t.Fatalf("url %q", b.URL)
			}
			bidExtra.add(len(b.Extra))
		}
	}
	if kinds != [3]int{events / 50, events / 50 * 3, events / 50 * 46} {
		t.Errorf("kinds %v, want 1:3:46 of %d", kinds, events)
	}
	near := func(what string, got, total int64, want, tol float64) {
		t.Helper()
		if f := float64(got) / float64(total); math.Abs(f-want) > tol {
			t.Errorf("%s: %.4f, want %.4f ± %.4f", what, f, want, tol)
		}
	}
	near("hot auctions", int64(hotAuction), bids, 0.5, 0.01)
	near("hot bidders", int64(hotBidder), bids, 0.75, 0.01)
	near("hot sellers", int64(hotSeller), auctions, 0.75, 0.02)
	for i, c := range buckets {
		near(fmt.Sprintf("price bucket %d", i), int64(c), bids, 1.0/3, 0.01)
	}
	near("hot channels", int64(hotChannel), bids, 0.5, 0.01)
	near("channel_id urls", int64(channelID), bids-int64(hotChannel), 0.9, 0.02)
	near("category 10", int64(categories), auctions, 0.2, 0.02)
	// extra: the average size minus the fixed size ± 20 %.
	bidExtra.check(t, "bid extra", 54, 81, 68)
	personExtra.check(t, "person extra", 0, 200, 140)
	auctionExtra.check(t, "auction extra", 0, 600, 390)
	itemName.check(t, "item name", 0, 19, 10.8)
	description.check(t, "description", 0, 99, 50.8)
}

type stats struct{ n, sum, lo, hi int }

func (s *stats) add(v int) {
	if s.n == 0 || v < s.lo {
		s.lo = v
	}
	if v > s.hi {
		s.hi = v
	}
	s.n++
	s.sum += v
}

func (s *stats) check(t *testing.T, what string, lo, hi int, mean float64) {
	t.Helper()
	m := float64(s.sum) / float64(s.n)
	if s.lo < lo || s.hi > hi || math.Abs(m-mean) > mean*0.03 {
		t.Errorf("%s: lengths %d..%d mean %.2f, want within %d..%d mean %.1f", what, s.lo, s.hi, m, lo, hi, mean)
	}
}

func BenchmarkBidTable(b *testing.B) {
	for _, proj := range [][]int{nil, {0, 2}} {
		b.Run(fmt.Sprintf("proj=%v", proj), func(b *testing.B) {
			spec := connector.ScanSpec{Table: tableInfo(TableBid, EventsNum, "0"), Projection: proj}
			r, err := Factory{}.CreateReader(spec, connector.ReaderContext{Parallelism: 1})
			if err != nil {
				b.Fatal(err)
			}
			defer r.Close()
			b.ReportAllocs()
			var rows int64
			for b.Loop() {
				batch, err := r.Next(context.Background())
				if err != nil {
					b.Fatal(err)
				}
				rows += batch.NumRows()
				batch.Release()
			}
			b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "bids/s")
		})
	}
}
