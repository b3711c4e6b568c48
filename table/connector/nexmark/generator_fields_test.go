package nexmark

import "testing"

// TestBidFields checks that BidFields sets the scalar fields and the
// wanted string fields as Bid does, and leaves the others alone.
func TestBidFields(t *testing.T) {
	cfg, err := ParseOptions(map[string]string{TableOpt: TableBid, EventsNum: "1000"})
	if err != nil {
		t.Fatal(err)
	}
	g := NewGenerator(cfg)
	for n := int64(0); n < 1000; n++ {
		if g.Kind(n) != BidKind {
			continue
		}
		var all Bid
		g.Bid(n, &all)
		for _, want := range []BidStrings{{}, {Channel: true}, {URL: true}, {Extra: true}, {Channel: true, Extra: true}} {
			got := Bid{Channel: "stale", URL: "stale", Extra: []byte("stale")}
			g.BidFields(n, &got, want)
			if got.Auction != all.Auction || got.Bidder != all.Bidder || got.Price != all.Price || got.DateTime != all.DateTime {
				t.Fatalf("bid %d with %+v: %+v, Bid gives %+v", n, want, got, all)
			}
			check := func(name string, wanted bool, got, full string) {
				if wanted && got != full || !wanted && got != "stale" {
					t.Fatalf("bid %d with %+v: %s %q, Bid gives %q", n, want, name, got, full)
				}
			}
			check("channel", want.Channel, got.Channel, all.Channel)
			check("url", want.URL, got.URL, all.URL)
			check("extra", want.Extra, string(got.Extra), string(all.Extra))
		}
	}
}
