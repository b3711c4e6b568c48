// Package nexmarkbaseline computes Nexmark q0–q2 by hand: the same events
// as the nexmark connector generates (the same Generator, the same
// configuration), consumed by plain Go loops with no engine, no Arrow and no
// channels in between. `eddy bench nexmark` runs it next to the engine so
// the engine's overhead over the irreducible cost of generating the events
// is visible on any machine.
//
// Each query folds its output rows into a checksum, so the compiler cannot
// drop the work, and counts them, so tests can check the engine's row
// counts against it.
package nexmarkbaseline

import (
	"fmt"
	"sync"

	"github.com/eddysql/eddy/table/connector/nexmark"
)

// Queries lists the queries the baseline computes.
var Queries = []string{"q0", "q1", "q2"}

// Result is what a baseline run produced.
type Result struct {
	// Rows is the number of output rows.
	Rows int64
	// Checksum folds every output value; equal runs have equal checksums.
	Checksum uint64
}

// Supported reports whether the baseline computes query q.
func Supported(q string) bool {
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
	query := q[1] - '0' // Queries are q0..q2
	for n := first; n < end; n += step {
		if g.Kind(n) != nexmark.BidKind {
			continue
		}
		g.Bid(n, &b)
		switch query {
		case 0:
			// SELECT auction, bidder, price, dateTime, extra FROM bid
			r.Checksum += fold(uint64(b.Auction), uint64(b.Bidder), uint64(b.Price), uint64(b.DateTime), hashBytes(b.Extra))
			r.Rows++
		case 1:
			// SELECT auction, bidder, 0.908 * price, dateTime, extra FROM bid;
			// DECIMAL(23, 3) of price × 0.908 is price × 908 at scale 3.
			euros := b.Price * 908
			r.Checksum += fold(uint64(b.Auction), uint64(b.Bidder), uint64(euros), uint64(b.DateTime), hashBytes(b.Extra))
			r.Rows++
		case 2:
			// SELECT auction, price FROM bid WHERE MOD(auction, 123) = 0
			if b.Auction%123 == 0 {
				r.Checksum += fold(uint64(b.Auction), uint64(b.Price))
				r.Rows++
			}
		}
	}
	return r
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
