package nexmarkbaseline

import (
	"testing"

	"github.com/eddysql/eddy/table/connector/nexmark"
)

func TestRun(t *testing.T) {
	cfg := nexmark.DefaultConfig(3)
	cfg.EventsNum = 100_000
	g := nexmark.NewGenerator(cfg)
	var bids, q2 int64
	var b nexmark.Bid
	for n := range cfg.EventsNum {
		if g.Kind(n) == nexmark.BidKind {
			bids++
			if g.Bid(n, &b); b.Auction%123 == 0 {
				q2++
			}
		}
	}
	for q, rows := range map[string]int64{"q0": bids, "q1": bids, "q2": q2} {
		one, err := Run(q, cfg, 1)
		if err != nil {
			t.Fatal(err)
		}
		if one.Rows != rows {
			t.Errorf("%s: %d rows, want %d", q, one.Rows, rows)
		}
		three, err := Run(q, cfg, 3)
		if err != nil {
			t.Fatal(err)
		}
		if three != one {
			t.Errorf("%s: parallelism 3 gives %+v, 1 gives %+v", q, three, one)
		}
	}
	if q2 == 0 {
		t.Error("no q2 rows")
	}
	if _, err := Run("q5", cfg, 1); err == nil {
		t.Error("q5 ran")
	}
	cfg.EventsNum = 0
	if _, err := Run("q0", cfg, 1); err == nil {
		t.Error("unbounded run")
	}
}
