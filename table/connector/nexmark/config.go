package nexmark

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/internal/errs"
)

// Identifier is the value of the 'connector' option.
const Identifier = "nexmark"

// Option keys: nexmark-flink's names, plus Eddy's table, seed and
// base-time.
const (
	TableOpt               = "table"
	EventsNum              = "events.num"
	FirstEventRate         = "first-event.rate"
	NextEventRate          = "next-event.rate"
	RateShape              = "rate.shape"
	RatePeriod             = "rate.period"
	RateLimited            = "rate.limited"
	PersonAvgSize          = "person.avg-size"
	AuctionAvgSize         = "auction.avg-size"
	BidAvgSize             = "bid.avg-size"
	PersonProportion       = "person.proportion"
	AuctionProportion      = "auction.proportion"
	BidProportion          = "bid.proportion"
	BidHotRatioAuctions    = "bid.hot-ratio.auctions"
	BidHotRatioBidders     = "bid.hot-ratio.bidders"
	AuctionHotRatioSellers = "auction.hot-ratio.sellers"
	Seed                   = "seed"
	BaseTime               = "base-time"
)

// The values of the 'table' option.
const (
	TableEvents  = "events"
	TablePerson  = "person"
	TableAuction = "auction"
	TableBid     = "bid"
)

var options = []connector.Option{
	{Key: TableOpt, Type: connector.Enum, Enum: []string{TableEvents, TablePerson, TableAuction, TableBid}, Default: TableEvents,
		Doc: "Eddy extension: 'events' is nexmark-flink's single table (event_type and the person, auction and bid ROW columns); 'person', 'auction' and 'bid' produce only the events of that kind as flat columns, like the views over the single table."},
	{Key: EventsNum, Type: connector.Long, Default: "0",
		Doc: "Number of events of the whole stream (all kinds); 0 means unbounded."},
	{Key: FirstEventRate, Type: connector.Long, Default: "10000",
		Doc: "Events per second of event time: sets the event-time distance between consecutive events."},
	{Key: NextEventRate, Type: connector.Long, Default: "10000",
		Doc: "Accepted for compatibility; like nexmark-flink, the generator uses first-event.rate only."},
	{Key: RateShape, Type: connector.Enum, Enum: []string{"SQUARE", "SINE"}, Default: "SQUARE",
		Doc: "Accepted for compatibility; like nexmark-flink, the rate is constant."},
	{Key: RatePeriod, Type: connector.Duration, Default: "600 s",
		Doc: "Accepted for compatibility; like nexmark-flink, the rate is constant."},
	{Key: RateLimited, Type: connector.Bool, Default: "false",
		Doc: "Emit events no faster than first-event.rate on the wall clock; by default events are emitted as fast as possible."},
	{Key: PersonAvgSize, Type: connector.MemorySize, Default: "200b",
		Doc: "Average size of a person; the extra column pads persons to it."},
	{Key: AuctionAvgSize, Type: connector.MemorySize, Default: "500b",
		Doc: "Average size of an auction; the extra column pads auctions to it."},
	{Key: BidAvgSize, Type: connector.MemorySize, Default: "100b",
		Doc: "Average size of a bid; the extra column pads bids to it."},
	{Key: PersonProportion, Type: connector.Int, Default: "1",
		Doc: "Persons among every person+auction+bid proportion consecutive events."},
	{Key: AuctionProportion, Type: connector.Int, Default: "3",
		Doc: "Auctions among every person+auction+bid proportion consecutive events."},
	{Key: BidProportion, Type: connector.Int, Default: "46",
		Doc: "Bids among every person+auction+bid proportion consecutive events."},
	{Key: BidHotRatioAuctions, Type: connector.Int, Default: "2",
		Doc: "A bid is for the hot auction with probability 1 - 1/ratio."},
	{Key: BidHotRatioBidders, Type: connector.Int, Default: "4",
		Doc: "A bid is by the hot bidder with probability 1 - 1/ratio."},
	{Key: AuctionHotRatioSellers, Type: connector.Int, Default: "4",
		Doc: "An auction is by the hot seller with probability 1 - 1/ratio."},
	{Key: Seed, Type: connector.Long,
		Doc: "Eddy extension: seed of the random fields, for reproducible streams; also fixes base-time's default. Random (once per process) when unset."},
	{Key: BaseTime, Type: connector.String,
		Doc: "Eddy extension: event time of the first event, 'yyyy-MM-dd HH:mm:ss[.SSS]' (UTC). Defaults to 2015-07-15 00:00:00 when seed is set, else to the wall clock when the process first used the connector."},
}

// Config is the configuration of one Nexmark stream. The zero value is not
// valid; start from DefaultConfig.
type Config struct {
	// Table is the form of the table: TableEvents, TablePerson, ...
	Table string
	// EventsNum is the number of events of the whole stream, 0 unbounded.
	EventsNum int64
	// FirstEventRate is the number of events per second of event time.
	FirstEventRate int64
	// RateLimited paces emission to FirstEventRate on the wall clock.
	RateLimited bool

	PersonProportion, AuctionProportion, BidProportion int
	HotAuctionRatio, HotBiddersRatio, HotSellersRatio  int
	AvgPersonSize, AvgAuctionSize, AvgBidSize          int

	// Seed seeds the random fields when Seeded; otherwise the process's
	// random seed is used.
	Seed   uint64
	Seeded bool
	// BaseTime is the event time of event 0, in milliseconds since the
	// epoch.
	BaseTime int64
}

// SeededBaseTime is the default base time of seeded streams (Beam's).
var SeededBaseTime = time.Date(2015, 7, 15, 0, 0, 0, 0, time.UTC).UnixMilli()

// process-wide defaults of unseeded streams: every unseeded nexmark table
// of a process shares them, so the subtasks of a scan, and different tables
// (person and auction for a join), describe one consistent stream.
var (
	processOnce sync.Once
	processSeed uint64
	processBase int64
)

func processDefaults() (uint64, int64) {
	processOnce.Do(func() {
		processSeed = rand.Uint64()
		processBase = time.Now().UnixMilli()
	})
	return processSeed, processBase
}

// DefaultConfig is nexmark-flink's default configuration, seeded with seed.
func DefaultConfig(seed uint64) Config {
	return Config{
		Table: TableEvents, FirstEventRate: 10000,
		PersonProportion: 1, AuctionProportion: 3, BidProportion: 46,
		HotAuctionRatio: 2, HotBiddersRatio: 4, HotSellersRatio: 4,
		AvgPersonSize: 200, AvgAuctionSize: 500, AvgBidSize: 100,
		Seed: seed, Seeded: true, BaseTime: SeededBaseTime,
	}
}

func (c Config) seed() uint64 {
	if c.Seeded {
		return c.Seed
	}
	s, _ := processDefaults()
	return s
}

// Bounded reports whether the stream ends.
func (c Config) Bounded() bool { return c.EventsNum > 0 }

// Validate checks the ranges of the values.
func (c Config) Validate() error {
	bad := func(key string, v any, want string) error {
		return errs.New(errs.InvalidOption, "option '%s' of connector '%s' must be %s, got %v", key, Identifier, want, v)
	}
	switch {
	case c.EventsNum < 0:
		return bad(EventsNum, c.EventsNum, "0 (unbounded) or positive")
	case c.FirstEventRate <= 0:
		return bad(FirstEventRate, c.FirstEventRate, "positive")
	case c.PersonProportion <= 0:
		return bad(PersonProportion, c.PersonProportion, "positive")
	case c.AuctionProportion <= 0:
		return bad(AuctionProportion, c.AuctionProportion, "positive")
	case c.BidProportion <= 0:
		return bad(BidProportion, c.BidProportion, "positive")
	case c.HotAuctionRatio <= 0:
		return bad(BidHotRatioAuctions, c.HotAuctionRatio, "positive")
	case c.HotBiddersRatio <= 0:
		return bad(BidHotRatioBidders, c.HotBiddersRatio, "positive")
	case c.HotSellersRatio <= 0:
		return bad(AuctionHotRatioSellers, c.HotSellersRatio, "positive")
	case c.AvgPersonSize < 0 || c.AvgPersonSize > extraBufferLength:
		return bad(PersonAvgSize, c.AvgPersonSize, "at most 64kb")
	case c.AvgAuctionSize < 0 || c.AvgAuctionSize > extraBufferLength:
		return bad(AuctionAvgSize, c.AvgAuctionSize, "at most 64kb")
	case c.AvgBidSize < 0 || c.AvgBidSize > extraBufferLength:
		return bad(BidAvgSize, c.AvgBidSize, "at most 64kb")
	}
	return nil
}

// parseConfig reads and checks a table's options.
func parseConfig(t connector.TableInfo) (Config, error) {
	o, err := connector.Parse(Factory{}, t)
	if err != nil {
		return Config{}, err
	}
	c := Config{
		Table:             o.Enum(TableOpt),
		EventsNum:         o.Long(EventsNum),
		FirstEventRate:    o.Long(FirstEventRate),
		RateLimited:       o.Bool(RateLimited),
		PersonProportion:  o.Int(PersonProportion),
		AuctionProportion: o.Int(AuctionProportion),
		BidProportion:     o.Int(BidProportion),
		HotAuctionRatio:   o.Int(BidHotRatioAuctions),
		HotBiddersRatio:   o.Int(BidHotRatioBidders),
		HotSellersRatio:   o.Int(AuctionHotRatioSellers),
		AvgPersonSize:     int(min(o.MemorySize(PersonAvgSize), 1<<30)),
		AvgAuctionSize:    int(min(o.MemorySize(AuctionAvgSize), 1<<30)),
		AvgBidSize:        int(min(o.MemorySize(BidAvgSize), 1<<30)),
	}
	if o.IsSet(Seed) {
		c.Seed, c.Seeded = uint64(o.Long(Seed)), true
		c.BaseTime = SeededBaseTime
	} else {
		_, c.BaseTime = processDefaults()
	}
	if s, ok := o.Lookup(BaseTime); ok {
		bt, err := parseBaseTime(s)
		if err != nil {
			return c, err
		}
		c.BaseTime = bt
	}
	return c, c.Validate()
}

func parseBaseTime(s string) (int64, error) {
	for _, layout := range []string{"2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t.UnixMilli(), nil
		}
	}
	return 0, errs.New(errs.InvalidOption, "invalid value '%s' for option '%s' of connector '%s': expected 'yyyy-MM-dd HH:mm:ss[.SSS]'", s, BaseTime, Identifier)
}

// String describes the configuration for error messages and logs.
func (c Config) String() string {
	return fmt.Sprintf("nexmark{table=%s events=%d rate=%d proportions=%d/%d/%d seed=%d}",
		c.Table, c.EventsNum, c.FirstEventRate, c.PersonProportion, c.AuctionProportion, c.BidProportion, c.Seed)
}

// ParseOptions reads a table's WITH options (those of the nexmark
// connector, 'connector' optional) into a Config, as a table with those
// options would be configured. Programs that generate the stream without
// the engine, such as benchmark baselines, use it to see the same events.
func ParseOptions(opts map[string]string) (Config, error) {
	return parseConfig(connector.TableInfo{Name: "nexmark", Options: opts})
}
