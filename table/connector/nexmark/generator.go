package nexmark

import (
	"math"
	"math/bits"
	"strconv"
)

// Constants of nexmark-flink's generator that are not options.
const (
	FirstPersonID   = 1000
	FirstAuctionID  = 1000
	FirstCategoryID = 10

	numCategories       = 5
	numActivePeople     = 1000
	numInFlightAuctions = 100
	personIDLead        = 10
	auctionIDLead       = 10
	// The hot auction, bidder and seller are the first (second for
	// bidders) of the last batch of this many auctions or people.
	hotBatch          = 100
	hotChannelsRatio  = 2
	channelsNumber    = 10_000
	minStringLength   = 3
	extraBufferLength = 1 << 16
	// spacedBufferLength holds the characters random names, descriptions
	// and e-mail parts are cut from.
	spacedBufferLength = 1 << 16
)

// Kind is the kind of an event, with the event_type values of the
// single-table schema.
type Kind int8

const (
	PersonKind  Kind = 0
	AuctionKind Kind = 1
	BidKind     Kind = 2
)

var (
	hotChannels = [...]string{"Google", "Facebook", "Baidu", "Apple"}
	usStates    = [...]string{"AZ", "CA", "ID", "OR", "WA", "WY"}
	usCities    = [...]string{"Phoenix", "Los Angeles", "San Francisco", "Boise", "Portland", "Bend", "Redmond", "Seattle", "Kent", "Cheyenne"}
	firstNames  = [...]string{"Peter", "Paul", "Luke", "John", "Saul", "Vicky", "Kate", "Julie", "Sarah", "Deiter", "Walter"}
	lastNames   = [...]string{"Shultz", "Abrams", "Spencer", "White", "Bartels", "Walton", "Smith", "Jones", "Noris"}
	// personNames are all first+" "+last combinations, so a name costs no
	// concatenation.
	personNames = func() []string {
		out := make([]string, 0, len(firstNames)*len(lastNames))
		for _, f := range firstNames {
			for _, l := range lastNames {
				out = append(out, f+" "+l)
			}
		}
		return out
	}()
)

// Person is a generated person. Email and CreditCard are held inline (no
// allocation); the byte slices of Extra alias the generator's buffers and
// stay valid as long as the generator.
type Person struct {
	ID         int64
	Name       string
	email      [16]byte
	emailLen   uint8
	creditCard [19]byte
	City       string
	State      string
	DateTime   int64 // milliseconds since the epoch
	Extra      []byte
}

// Email is the person's e-mail address (aliases p).
func (p *Person) Email() []byte { return p.email[:p.emailLen] }

// CreditCard is the person's credit card number (aliases p).
func (p *Person) CreditCard() []byte { return p.creditCard[:] }

// Auction is a generated auction; ItemName, Description and Extra alias the
// generator's buffers.
type Auction struct {
	ID          int64
	ItemName    []byte
	Description []byte
	InitialBid  int64
	Reserve     int64
	DateTime    int64
	Expires     int64
	Seller      int64
	Category    int64
	Extra       []byte
}

// Bid is a generated bid; Extra aliases the generator's buffers.
type Bid struct {
	Auction  int64
	Bidder   int64
	Price    int64
	Channel  string
	URL      string
	DateTime int64
	Extra    []byte
}

// Generator computes the events of one Nexmark stream. Event number n
// (0, 1, 2, ...) is a pure function of n, the configuration and the seed:
// its kind comes from n mod the total proportion, its ids from the id
// formulas, its timestamp from the rate, and its random fields from a
// random stream seeded by (seed, n). Any subset of event numbers can
// therefore be generated in any order by any number of generators, which
// is how parallel subtasks split one stream.
//
// A Generator is not safe for concurrent use; its construction builds the
// string tables (about 1 MiB), so make one per reader.
type Generator struct {
	cfg     Config
	seed    uint64
	delayUs float64 // event-time distance between consecutive events
	total   int64   // person + auction + bid proportions

	extraBuf  []byte // lowercase letters, for extra
	spacedBuf []byte // lowercase letters and spaces (1 in 13), for nextString
	hotURLs   [len(hotChannels)]string
	channels  []string // "channel-N"
	urls      []string // the URL of channel N
}

// NewGenerator builds the generator of cfg's stream; cfg must be valid
// (see Config.Validate).
func NewGenerator(cfg Config) *Generator {
	g := &Generator{
		cfg:     cfg,
		seed:    cfg.seed(),
		delayUs: 1e6 / float64(cfg.FirstEventRate),
		total:   int64(cfg.PersonProportion + cfg.AuctionProportion + cfg.BidProportion),
	}
	// The tables come from their own streams of the seed, so they are the
	// same in every generator of the stream.
	r := rng{s: mix(g.seed ^ 0x6e65786d61726b)}
	g.extraBuf = make([]byte, extraBufferLength)
	for i := range g.extraBuf {
		g.extraBuf[i] = 'a' + byte(r.intn(26))
	}
	g.spacedBuf = make([]byte, spacedBufferLength)
	for i := range g.spacedBuf {
		g.spacedBuf[i] = spacedChar(&r, ' ')
	}
	for i := range g.hotURLs {
		g.hotURLs[i] = baseURL(&r)
	}
	g.channels = make([]string, channelsNumber)
	g.urls = make([]string, channelsNumber)
	for i := range channelsNumber {
		g.channels[i] = "channel-" + strconv.Itoa(i)
		u := baseURL(&r)
		if r.intn(10) > 0 {
			rev := int32(bits.Reverse32(uint32(i)))
			if rev < 0 && rev != math.MinInt32 {
				rev = -rev
			}
			// Java's Math.abs(Integer.MIN_VALUE) stays negative.
			u += "&channel_id=" + strconv.FormatInt(int64(rev), 10)
		}
		g.urls[i] = u
	}
	return g
}

// Config returns the generator's configuration.
func (g *Generator) Config() Config { return g.cfg }

// Kind is the kind of event number n.
func (g *Generator) Kind(n int64) Kind {
	rem := n % g.total
	switch {
	case rem < int64(g.cfg.PersonProportion):
		return PersonKind
	case rem < int64(g.cfg.PersonProportion+g.cfg.AuctionProportion):
		return AuctionKind
	}
	return BidKind
}

// Timestamp is the event time of event number n, in milliseconds since
// the epoch: the base time plus n inter-event delays, truncated to whole
// milliseconds as nexmark-flink does.
func (g *Generator) Timestamp(n int64) int64 {
	return g.cfg.BaseTime + int64(float64(n)*g.delayUs)/1000
}

// lastPerson is the base-0 id of the last person generated at or before
// event id.
func (g *Generator) lastPerson(id int64) int64 {
	pp := int64(g.cfg.PersonProportion)
	epoch, off := id/g.total, id%g.total
	if off >= pp {
		off = pp - 1
	}
	return epoch*pp + off
}

// lastAuction is the base-0 id of the last auction generated at or before
// event id.
func (g *Generator) lastAuction(id int64) int64 {
	pp, ap := int64(g.cfg.PersonProportion), int64(g.cfg.AuctionProportion)
	epoch, off := id/g.total, id%g.total
	switch {
	case off < pp:
		epoch--
		off = ap - 1
	case off >= pp+ap:
		off = ap - 1
	default:
		off -= pp
	}
	return epoch*ap + off
}

// randomPerson picks one of the active people or a few ids ahead (base 0).
func (g *Generator) randomPerson(id int64, r *rng) int64 {
	people := g.lastPerson(id) + 1
	active := min(people, numActivePeople)
	return people - active + int64(r.intn(uint64(active+personIDLead)))
}

// randomAuction picks one of the auctions likely still in flight or a few
// ids ahead (base 0).
func (g *Generator) randomAuction(id int64, r *rng) int64 {
	hi := g.lastAuction(id)
	lo := max(hi-numInFlightAuctions, 0)
	return lo + int64(r.intn(uint64(hi-lo+1+auctionIDLead)))
}

// eventRNG is the random stream of event number n.
func (g *Generator) eventRNG(n int64) rng {
	return rng{s: mix(g.seed + uint64(n)*0xd1342543de82ef95)}
}

// Person generates event number n, which must be a person.
func (g *Generator) Person(n int64, p *Person) {
	r := g.eventRNG(n)
	p.ID = g.lastPerson(n) + FirstPersonID
	p.DateTime = g.Timestamp(n)
	p.Name = personNames[r.intn(uint64(len(firstNames)))*uint64(len(lastNames))+r.intn(uint64(len(lastNames)))]
	e := p.email[:0]
	e = append(e, g.nextString(&r, 7)...)
	e = append(e, '@')
	e = append(e, g.nextString(&r, 5)...)
	e = append(e, ".com"...)
	p.emailLen = uint8(len(e))
	for i := range 4 {
		v := r.intn(10000)
		c := p.creditCard[i*5 : i*5+4]
		c[0], c[1], c[2], c[3] = byte('0'+v/1000), byte('0'+v/100%10), byte('0'+v/10%10), byte('0'+v%10)
		if i < 3 {
			p.creditCard[i*5+4] = ' '
		}
	}
	p.City = usCities[r.intn(uint64(len(usCities)))]
	p.State = usStates[r.intn(uint64(len(usStates)))]
	size := 8 + len(p.Name) + len(e) + len(p.creditCard) + len(p.City) + len(p.State)
	p.Extra = g.nextExtra(&r, size, g.cfg.AvgPersonSize)
}

// Auction generates event number n, which must be an auction.
func (g *Generator) Auction(n int64, a *Auction) {
	r := g.eventRNG(n)
	a.ID = g.lastAuction(n) + FirstAuctionID
	a.DateTime = g.Timestamp(n)
	if r.intn(uint64(g.cfg.HotSellersRatio)) > 0 {
		a.Seller = g.lastPerson(n) / hotBatch * hotBatch
	} else {
		a.Seller = g.randomPerson(n, &r)
	}
	a.Seller += FirstPersonID
	a.Category = FirstCategoryID + int64(r.intn(numCategories))
	a.InitialBid = nextPrice(&r)
	// An auction lives on average as long as it takes to generate
	// numInFlightAuctions more auctions.
	ahead := int64(numInFlightAuctions) * g.total / int64(g.cfg.AuctionProportion)
	horizon := g.Timestamp(n+ahead) - a.DateTime
	a.Expires = a.DateTime + 1 + int64(r.intn(uint64(max(horizon*2, 1))))
	a.ItemName = g.nextString(&r, 20)
	a.Description = g.nextString(&r, 100)
	a.Reserve = a.InitialBid + nextPrice(&r)
	size := 8 + len(a.ItemName) + len(a.Description) + 8 + 8 + 8 + 8 + 8
	a.Extra = g.nextExtra(&r, size, g.cfg.AvgAuctionSize)
}

// Bid generates event number n, which must be a bid.
func (g *Generator) Bid(n int64, b *Bid) { g.BidFields(n, b, AllBidStrings) }

// BidStrings selects the string fields of a bid BidFields sets.
type BidStrings struct{ Channel, URL, Extra bool }

// AllBidStrings sets every field.
var AllBidStrings = BidStrings{Channel: true, URL: true, Extra: true}

// BidFields is Bid setting only the string fields of want; the others
// keep their values. A reader that stores bids for a few columns skips
// the pointer stores of the others, each a write barrier while the GC
// marks (which a reader allocating batches keeps it doing), and the
// drawing of extra.
func (g *Generator) BidFields(n int64, b *Bid, want BidStrings) {
	r := g.eventRNG(n)
	b.DateTime = g.Timestamp(n)
	if r.intn(uint64(g.cfg.HotAuctionRatio)) > 0 {
		b.Auction = g.lastAuction(n) / hotBatch * hotBatch
	} else {
		b.Auction = g.randomAuction(n, &r)
	}
	b.Auction += FirstAuctionID
	if r.intn(uint64(g.cfg.HotBiddersRatio)) > 0 {
		b.Bidder = g.lastPerson(n)/hotBatch*hotBatch + 1
	} else {
		b.Bidder = g.randomPerson(n, &r)
	}
	// nexmark-flink adds FIRST_PERSON_ID twice to bidders (see doc.go).
	b.Bidder += 2 * FirstPersonID
	b.Price = nextPrice(&r)
	channel, url := "", ""
	if r.intn(hotChannelsRatio) > 0 {
		i := r.intn(uint64(len(hotChannels)))
		channel, url = hotChannels[i], g.hotURLs[i]
	} else {
		i := r.intn(channelsNumber)
		channel, url = g.channels[i], g.urls[i]
	}
	if want.Channel {
		b.Channel = channel
	}
	if want.URL {
		b.URL = url
	}
	if want.Extra {
		b.Extra = g.nextExtra(&r, 8+8+8+8, g.cfg.AvgBidSize)
	}
}

// nextPrice is log-uniform in [100, 100,000,000]: round(10^(6u)·100).
func nextPrice(r *rng) int64 {
	return int64(math.Round(math.Exp(r.float64()*6*math.Ln10) * 100))
}

// nextString is nexmark-flink's nextString(max): a length uniform in
// [3, max-1] of lowercase letters and, one time in 13, spaces, trimmed of
// spaces at both ends. It is cut from the pre-generated spaced buffer.
func (g *Generator) nextString(r *rng, maxLen int) []byte {
	n := minStringLength + int(r.intn(uint64(maxLen-minStringLength)))
	off := int(r.intn(uint64(len(g.spacedBuf) - n)))
	s := g.spacedBuf[off : off+n]
	for len(s) > 0 && s[0] == ' ' {
		s = s[1:]
	}
	for len(s) > 0 && s[len(s)-1] == ' ' {
		s = s[:len(s)-1]
	}
	return s
}

// nextExtra pads an event of size bytes towards avg bytes on average: a
// length uniform in avg-size ± 20 %, cut from the extra buffer.
func (g *Generator) nextExtra(r *rng, size, avg int) []byte {
	if size > avg {
		return nil
	}
	avg -= size
	delta := int(math.Round(float64(avg) * 0.2))
	n := avg - delta
	if delta != 0 {
		n += int(r.intn(uint64(2 * delta)))
	}
	if n > len(g.extraBuf) {
		n = len(g.extraBuf)
	}
	off := int(r.intn(uint64(len(g.extraBuf) - n + 1)))
	return g.extraBuf[off : off+n]
}

// spacedChar is a lowercase letter, or special one time in 13.
func spacedChar(r *rng, special byte) byte {
	if r.intn(13) == 0 {
		return special
	}
	return 'a' + byte(r.intn(26))
}

// baseURL is a bid URL with three random path segments of up to 4 lowercase
// letters and underscores.
func baseURL(r *rng) string {
	b := []byte("https://www.nexmark.com/")
	for range 3 {
		n := minStringLength + int(r.intn(5-minStringLength))
		for range n {
			b = append(b, spacedChar(r, '_'))
		}
		b = append(b, '/')
	}
	return string(append(b, "item.htm?query=1"...))
}

// rng is SplitMix64: tiny state, so every event gets its own stream at the
// cost of one multiply to seed it.
type rng struct{ s uint64 }

func (r *rng) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	return mix(r.s)
}

// intn is uniform in [0, n) by Lemire's multiply-shift (bias below 2^-40
// for the small n used here).
func (r *rng) intn(n uint64) uint64 {
	hi, _ := bits.Mul64(r.next(), n)
	return hi
}

// float64 is uniform in [0, 1).
func (r *rng) float64() float64 { return float64(r.next()>>11) / (1 << 53) }

// mix is SplitMix64's finalizer.
func mix(x uint64) uint64 {
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}
