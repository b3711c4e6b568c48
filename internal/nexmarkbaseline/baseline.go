// Package nexmarkbaseline computes the stateless Nexmark queries (q0–q2,
// q14, q21, q22) by hand: the same events as the nexmark connector
// generates (the same Generator, the same configuration), consumed by plain
// Go loops with no engine, no Arrow and no channels in between. `eddy bench
// nexmark` runs it next to the engine so the engine's overhead over the
// irreducible cost of generating the events is visible on any machine.
//
// Each query folds its output rows into an order-independent checksum, so
// the compiler cannot drop the work and tests can compare the engine's
// output with the baseline's row for row: ChecksumBatch folds engine
// output batches the same way (a BIGINT or TIMESTAMP(3) column as its
// int64 value, a DECIMAL as its unscaled value, a STRING as the FNV-1a of
// its bytes, in column order).
package nexmarkbaseline

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/eddysql/eddy/table/connector/nexmark"
)

// Queries lists the queries the baseline computes.
var Queries = []string{"q0", "q1", "q2", "q14", "q21", "q22"}

// Result is what a baseline run produced.
type Result struct {
	// Rows is the number of output rows.
	Rows int64
	// Checksum folds every output value; equal runs have equal checksums.
	Checksum uint64
}

// Supported reports whether the baseline computes query q. A variant of a
// query file (q0_flat) is the query it is a variant of.
func Supported(q string) bool {
	q, _, _ = strings.Cut(q, "_")
	for _, s := range Queries {
		if s == q {
			return true
		}
	}
	return false
}

// Run computes query q over the stream cfg describes, which must be
// bounded, splitting the events among parallelism goroutines the way the
// connector's subtasks split them (every parallelism-th event).
func Run(q string, cfg nexmark.Config, parallelism int) (Result, error) {
	if !Supported(q) {
		return Result{}, fmt.Errorf("the baseline has no %s", q)
	}
	q, _, _ = strings.Cut(q, "_")
	if !cfg.Bounded() {
		return Result{}, fmt.Errorf("the baseline needs a bounded stream (events.num > 0)")
	}
	if err := cfg.Validate(); err != nil {
		return Result{}, err
	}
	parallelism = max(parallelism, 1)
	parts := make([]Result, parallelism)
	var wg sync.WaitGroup
	for sub := range parallelism {
		wg.Add(1)
		go func() {
			defer wg.Done()
			parts[sub] = runShare(q, nexmark.NewGenerator(cfg), int64(sub), int64(parallelism), cfg.EventsNum)
		}()
	}
	wg.Wait()
	var out Result
	for _, p := range parts {
		out.Rows += p.Rows
		out.Checksum += p.Checksum // order-independent, like the union of subtasks
	}
	return out, nil
}

// runShare computes one goroutine's share: events first, first+step, ...
func runShare(q string, g *nexmark.Generator, first, step, end int64) Result {
	var (
		r Result
		b nexmark.Bid
	)
	for n := first; n < end; n += step {
		if g.Kind(n) != nexmark.BidKind {
			continue
		}
		g.Bid(n, &b)
		switch q {
		case "q0":
			// SELECT auction, bidder, price, dateTime, extra FROM bid
			r.add(fold(uint64(b.Auction), uint64(b.Bidder), uint64(b.Price), uint64(b.DateTime), hashBytes(b.Extra)))
		case "q1":
			// SELECT auction, bidder, 0.908 * price, dateTime, extra FROM bid;
			// DECIMAL(23, 3) of price × 0.908 is price × 908 at scale 3.
			r.add(fold(uint64(b.Auction), uint64(b.Bidder), uint64(b.Price*908), uint64(b.DateTime), hashBytes(b.Extra)))
		case "q2":
			// SELECT auction, price FROM bid WHERE MOD(auction, 123) = 0
			if b.Auction%123 == 0 {
				r.add(fold(uint64(b.Auction), uint64(b.Price)))
			}
		case "q14":
			// 0.908 * price strictly between 1,000,000 and 50,000,000, at
			// scale 3; the hour of the UTC wall clock; the 'c's of extra.
			euros := b.Price * 908
			if euros <= 1_000_000_000 || euros >= 50_000_000_000 {
				continue
			}
			hour := b.DateTime / 3_600_000 % 24
			timeType := "otherTime"
			switch {
			case hour >= 8 && hour <= 18:
				timeType = "dayTime"
			case hour <= 6 || hour >= 20:
				timeType = "nightTime"
			}
			r.add(fold(uint64(b.Auction), uint64(b.Bidder), uint64(euros), hashString(timeType),
				uint64(b.DateTime), hashBytes(b.Extra), uint64(bytes.Count(b.Extra, []byte{'c'}))))
		case "q21":
			// The channel's id for the four named channels, else the URL's
			// channel_id parameter; rows with neither are dropped.
			id, ok := "", true
			switch strings.ToLower(b.Channel) {
			case "apple":
				id = "0"
			case "google":
				id = "1"
			case "facebook":
				id = "2"
			case "baidu":
				id = "3"
			default:
				id, ok = channelID(b.URL)
			}
			if ok {
				r.add(fold(uint64(b.Auction), uint64(b.Bidder), uint64(b.Price), hashString(b.Channel), hashString(id)))
			}
		case "q22":
			// The URL's 4th to 6th '/'-separated parts.
			parts := strings.Split(b.URL, "/")
			dir := func(i int) uint64 {
				if i < len(parts) {
					return hashString(parts[i])
				}
				return nullHash
			}
			r.add(fold(uint64(b.Auction), uint64(b.Bidder), uint64(b.Price), hashString(b.Channel), dir(3), dir(4), dir(5)))
		}
	}
	return r
}

// channelID is REGEXP_EXTRACT(url, '(&|^)channel_id=([^&]*)', 2).
func channelID(url string) (string, bool) {
	for off := 0; ; {
		i := strings.Index(url[off:], "channel_id=")
		if i < 0 {
			return "", false
		}
		i += off
		if i == 0 || url[i-1] == '&' {
			v := url[i+len("channel_id="):]
			if j := strings.IndexByte(v, '&'); j >= 0 {
				v = v[:j]
			}
			return v, true
		}
		off = i + 1
	}
}

func (r *Result) add(row uint64) {
	r.Rows++
	r.Checksum += row // order-independent: the engine's rows come in any order
}

// nullHash stands for a NULL value in a row's fold.
const nullHash = 0x6e756c6c

// ChecksumBatch folds the rows of an engine output batch into r as the
// baseline folds its rows: a BIGINT, INT or TIMESTAMP column as its value, a
// DECIMAL as its unscaled value (which must fit in 64 bits), a STRING as
// hashBytes of its bytes, NULL as nullHash.
func (r *Result) ChecksumBatch(b arrow.RecordBatch) error {
	n := int(b.NumRows())
	vals := make([][]uint64, b.NumCols())
	for j, col := range b.Columns() {
		v := make([]uint64, n)
		for i := range n {
			if col.IsNull(i) {
				v[i] = nullHash
				continue
			}
			switch c := col.(type) {
			case *array.Int64:
				v[i] = uint64(c.Value(i))
			case *array.Int32:
				v[i] = uint64(c.Value(i))
			case *array.Timestamp:
				v[i] = uint64(c.Value(i))
			case *array.Decimal128:
				v[i] = c.Value(i).LowBits()
			case *array.String:
				v[i] = hashString(c.Value(i))
			default:
				return fmt.Errorf("nexmarkbaseline: cannot checksum a column of type %s", col.DataType())
			}
		}
		vals[j] = v
	}
	row := make([]uint64, len(vals))
	for i := range n {
		for j := range vals {
			row[j] = vals[j][i]
		}
		r.add(fold(row...))
	}
	return nil
}

// String shows a result in test failures.
func (r Result) String() string {
	return strconv.FormatInt(r.Rows, 10) + " rows, checksum " + strconv.FormatUint(r.Checksum, 16)
}

// fold mixes a row's values (FNV-1a over 64-bit words).
func fold(vals ...uint64) uint64 {
	h := uint64(14695981039346656037)
	for _, v := range vals {
		h ^= v
		h *= 1099511628211
	}
	return h
}

// hashBytes is FNV-1a of a string's bytes: touching every byte, as copying
// it into an output column would.
func hashBytes(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}

func hashString(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}
