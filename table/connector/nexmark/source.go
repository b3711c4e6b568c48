package nexmark

import (
	"context"
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/table/connector/internal/positions"
)

// DefaultBatchSize is used when the ReaderContext does not set one.
const DefaultBatchSize = 8192

// Factory is the nexmark source.
type Factory struct{}

var (
	_ connector.SourceFactory                    = Factory{}
	_ connector.SupportsProjectionPushdown       = Factory{}
	_ connector.SupportsNestedProjectionPushdown = Factory{}
	_ connector.SupportsFilterPushDown           = Factory{}
)

func init() { connector.Register(Factory{}) }

func (Factory) Identifier() string                     { return Identifier }
func (Factory) Options() []connector.Option            { return options }
func (Factory) SupportsProjectionPushdown() bool       { return true }
func (Factory) SupportsNestedProjectionPushdown() bool { return true }

// ApplyFilters accepts the comparisons of the events table's event_type
// column with an integer: the reader then skips the events of the other
// kinds without generating them (it still numbers them, so ids and
// timestamps do not change). Event time follows the event number, so the
// dateTime fields of the three kinds are on one event-time line, whichever
// kinds are dropped (unlike auction.expires).
func (Factory) ApplyFilters(t connector.TableInfo, preds []connector.Predicate) connector.FilterPushDownResult {
	res := connector.FilterPushDownResult{Accepted: make([]bool, len(preds))}
	c, err := parseConfig(t)
	if err != nil || c.Table != TableEvents {
		return res
	}
	for i, col := range t.Schema.Columns {
		if col.Type.Kind != types.Row || !slices.ContainsFunc(kindNames[:], func(k string) bool { return strings.EqualFold(k, col.Name) }) {
			continue
		}
		for j, f := range col.Type.Fields {
			if strings.EqualFold(f.Name, "dateTime") {
				res.EventTimeFields = append(res.EventTimeFields, connector.FieldPath{i, j})
			}
		}
	}
	for i, p := range preds {
		_, err := kindsOf(t, p)
		res.Accepted[i] = err == nil
	}
	return res
}

// kindsOf is the set of event kinds that satisfy p, a predicate on the
// event_type column.
func kindsOf(t connector.TableInfo, p connector.Predicate) ([3]bool, error) {
	var ks [3]bool
	if p.Column < 0 || p.Column >= t.Schema.Len() || !strings.EqualFold(t.Schema.Columns[p.Column].Name, "event_type") {
		return ks, errs.New(errs.ConnectorFailure, "nexmark: cannot apply filter on column %d of table '%s'", p.Column, t.Name)
	}
	v, err := strconv.ParseInt(p.Value, 10, 64)
	if err != nil {
		return ks, errs.New(errs.ConnectorFailure, "nexmark: cannot compare event_type with %q", p.Value)
	}
	for k := range ks {
		e := int64(k)
		switch p.Op {
		case connector.OpEqual:
			ks[k] = e == v
		case connector.OpNotEqual:
			ks[k] = e != v
		case connector.OpLess:
			ks[k] = e < v
		case connector.OpLessEqual:
			ks[k] = e <= v
		case connector.OpGreater:
			ks[k] = e > v
		case connector.OpGreaterEqual:
			ks[k] = e >= v
		default:
			return ks, errs.New(errs.ConnectorFailure, "nexmark: unknown comparison %q", p.Op)
		}
	}
	return ks, nil
}

// ValidateSource checks the options and that every declared column is one
// the generator produces, with a type that carries it.
func (Factory) ValidateSource(t connector.TableInfo) (connector.ScanProperties, error) {
	c, err := parseConfig(t)
	if err != nil {
		return connector.ScanProperties{}, err
	}
	if _, err := bindColumns(c.Table, t.Name, t.Schema.Columns); err != nil {
		return connector.ScanProperties{}, err
	}
	return connector.ScanProperties{Bounded: c.Bounded()}, nil
}

// CreateReader creates the reader of one subtask.
func (Factory) CreateReader(spec connector.ScanSpec, rc connector.ReaderContext) (connector.SourceReader, error) {
	c, err := parseConfig(spec.Table)
	if err != nil {
		return nil, err
	}
	if err := spec.Validate(); err != nil {
		return nil, errs.New(errs.ConnectorFailure, "nexmark: %v", err)
	}
	out := spec.OutputSchema()
	var cols []column
	if spec.NestedProjection != nil {
		cols, err = bindPaths(c.Table, spec.Table, spec.NestedProjection)
	} else {
		cols, err = bindColumns(c.Table, spec.Table.Name, out.Columns)
	}
	if err != nil {
		return nil, err
	}
	r, err := newReader(NewGenerator(c), cols, out, rc)
	if err != nil {
		return nil, err
	}
	for _, p := range spec.Filters {
		ks, err := kindsOf(spec.Table, p)
		if err != nil {
			return nil, err
		}
		for k := range ks {
			r.wants[k] = r.wants[k] && ks[k]
		}
	}
	return r, nil
}

// valueType is how a generated field is carried.
type valueType uint8

const (
	intValue valueType = iota
	bigintValue
	stringValue
	timestampValue
)

func (v valueType) accepts(t types.DataType) bool {
	switch v {
	case intValue:
		return t.Kind == types.Int
	case bigintValue:
		return t.Kind == types.BigInt
	case stringValue:
		return t.Kind == types.Varchar
	case timestampValue:
		return (t.Kind == types.Timestamp || t.Kind == types.TimestampLTZ) && t.Precision == 3
	}
	return false
}

func (v valueType) String() string {
	return [...]string{"INT", "BIGINT", "STRING", "TIMESTAMP(3)"}[v]
}

// batch is the events of one output batch, generated row-wise into reused
// slices and then appended column by column. kinds has one entry per
// output row; persons, auctions and bids hold the rows of each kind in
// order (only for the kinds whose data some column needs).
type batch struct {
	kinds    []Kind
	persons  []Person
	auctions []Auction
	bids     []Bid
}

// field is one generated field: its name in the schema, the kind of event
// it belongs to, its type, and the typed loop that builds a batch's column
// of it (NULL for rows of another kind) with the Arrow type dt.
type field struct {
	name  string
	kind  Kind
	typ   valueType
	build func(mem memory.Allocator, dt arrow.DataType, e *batch) arrow.ArrayData
}

type buildFunc = func(memory.Allocator, arrow.DataType, *batch) arrow.ArrayData

func personInt64(get func(*Person) int64) buildFunc {
	return func(mem memory.Allocator, dt arrow.DataType, e *batch) arrow.ArrayData {
		return int64Data(mem, dt, e.kinds, PersonKind, e.persons, get)
	}
}
func personBytes(get func(*Person) []byte) buildFunc {
	return func(mem memory.Allocator, dt arrow.DataType, e *batch) arrow.ArrayData {
		return bytesData(mem, dt, e.kinds, PersonKind, e.persons, get)
	}
}
func auctionInt64(get func(*Auction) int64) buildFunc {
	return func(mem memory.Allocator, dt arrow.DataType, e *batch) arrow.ArrayData {
		return int64Data(mem, dt, e.kinds, AuctionKind, e.auctions, get)
	}
}
func auctionBytes(get func(*Auction) []byte) buildFunc {
	return func(mem memory.Allocator, dt arrow.DataType, e *batch) arrow.ArrayData {
		return bytesData(mem, dt, e.kinds, AuctionKind, e.auctions, get)
	}
}
func bidInt64(get func(*Bid) int64) buildFunc {
	return func(mem memory.Allocator, dt arrow.DataType, e *batch) arrow.ArrayData {
		return int64Data(mem, dt, e.kinds, BidKind, e.bids, get)
	}
}
func bidBytes(get func(*Bid) []byte) buildFunc {
	return func(mem memory.Allocator, dt arrow.DataType, e *batch) arrow.ArrayData {
		return bytesData(mem, dt, e.kinds, BidKind, e.bids, get)
	}
}

// The fields of each kind, in nexmark-flink's order.
var (
	personFields = []field{
		{"id", PersonKind, bigintValue, personInt64(func(p *Person) int64 { return p.ID })},
		{"name", PersonKind, stringValue, personBytes(func(p *Person) []byte { return bytesOf(p.Name) })},
		{"emailAddress", PersonKind, stringValue, personBytes((*Person).Email)},
		{"creditCard", PersonKind, stringValue, personBytes((*Person).CreditCard)},
		{"city", PersonKind, stringValue, personBytes(func(p *Person) []byte { return bytesOf(p.City) })},
		{"state", PersonKind, stringValue, personBytes(func(p *Person) []byte { return bytesOf(p.State) })},
		{"dateTime", PersonKind, timestampValue, personInt64(func(p *Person) int64 { return p.DateTime })},
		{"extra", PersonKind, stringValue, personBytes(func(p *Person) []byte { return p.Extra })},
	}
	auctionFields = []field{
		{"id", AuctionKind, bigintValue, auctionInt64(func(a *Auction) int64 { return a.ID })},
		{"itemName", AuctionKind, stringValue, auctionBytes(func(a *Auction) []byte { return a.ItemName })},
		{"description", AuctionKind, stringValue, auctionBytes(func(a *Auction) []byte { return a.Description })},
		{"initialBid", AuctionKind, bigintValue, auctionInt64(func(a *Auction) int64 { return a.InitialBid })},
		{"reserve", AuctionKind, bigintValue, auctionInt64(func(a *Auction) int64 { return a.Reserve })},
		{"dateTime", AuctionKind, timestampValue, auctionInt64(func(a *Auction) int64 { return a.DateTime })},
		{"expires", AuctionKind, timestampValue, auctionInt64(func(a *Auction) int64 { return a.Expires })},
		{"seller", AuctionKind, bigintValue, auctionInt64(func(a *Auction) int64 { return a.Seller })},
		{"category", AuctionKind, bigintValue, auctionInt64(func(a *Auction) int64 { return a.Category })},
		{"extra", AuctionKind, stringValue, auctionBytes(func(a *Auction) []byte { return a.Extra })},
	}
	bidFields = []field{
		{"auction", BidKind, bigintValue, bidInt64(func(b *Bid) int64 { return b.Auction })},
		{"bidder", BidKind, bigintValue, bidInt64(func(b *Bid) int64 { return b.Bidder })},
		{"price", BidKind, bigintValue, bidInt64(func(b *Bid) int64 { return b.Price })},
		{"channel", BidKind, stringValue, bidBytes(func(b *Bid) []byte { return bytesOf(b.Channel) })},
		{"url", BidKind, stringValue, bidBytes(func(b *Bid) []byte { return bytesOf(b.URL) })},
		{"dateTime", BidKind, timestampValue, bidInt64(func(b *Bid) int64 { return b.DateTime })},
		{"extra", BidKind, stringValue, bidBytes(func(b *Bid) []byte { return b.Extra })},
	}
	kindFields = [...][]field{PersonKind: personFields, AuctionKind: auctionFields, BidKind: bidFields}
	kindNames  = [...]string{PersonKind: "person", AuctionKind: "auction", BidKind: "bid"}
)

// column is how one output column is produced: event_type, a flat field,
// or a ROW of fields of one kind.
type column struct {
	eventType bool
	row       bool
	kind      Kind
	fields    []field // one for a flat column, the ROW's fields in order
}

// bindColumns maps the declared columns to generated fields, by name
// (case-insensitively) and type. Columns may be omitted and reordered, and
// so may the fields of the ROW columns of the events table.
func bindColumns(table, tableName string, cols []types.Column) ([]column, error) {
	out := make([]column, len(cols))
	for i, c := range cols {
		if table == TableEvents {
			col, err := bindEventsColumn(tableName, c)
			if err != nil {
				return nil, err
			}
			out[i] = col
			continue
		}
		k := map[string]Kind{TablePerson: PersonKind, TableAuction: AuctionKind, TableBid: BidKind}[table]
		f, err := bindField(tableName, kindNames[k]+" table", kindFields[k], c.Name, c.Type)
		if err != nil {
			return nil, err
		}
		out[i] = column{kind: k, fields: []field{f}}
	}
	return out, nil
}

// bindPaths binds a nested projection: whole columns as bindColumns does,
// and fields of the events table's ROW columns as flat columns, NULL for
// the rows of other kinds.
func bindPaths(table string, t connector.TableInfo, paths []connector.FieldPath) ([]column, error) {
	out := make([]column, len(paths))
	for i, p := range paths {
		cs, err := bindColumns(table, t.Name, []types.Column{t.Schema.Columns[p[0]]})
		if err != nil {
			return nil, err
		}
		c := cs[0]
		switch {
		case len(p) == 1:
		case len(p) == 2 && c.row:
			c = column{kind: c.kind, fields: []field{c.fields[p[1]]}}
		default:
			return nil, errs.New(errs.ConnectorFailure, "nexmark: table '%s' has no field at path %v", t.Name, []int(p))
		}
		out[i] = c
	}
	return out, nil
}

func bindEventsColumn(tableName string, c types.Column) (column, error) {
	if strings.EqualFold(c.Name, "event_type") {
		if !intValue.accepts(c.Type) {
			return column{}, typeError(tableName, c.Name, c.Type, intValue.String())
		}
		return column{eventType: true}, nil
	}
	for k, name := range kindNames {
		if !strings.EqualFold(c.Name, name) {
			continue
		}
		if c.Type.Kind != types.Row {
			return column{}, typeError(tableName, c.Name, c.Type, "a ROW of "+name+" fields")
		}
		col := column{row: true, kind: Kind(k)}
		for _, f := range c.Type.Fields {
			bf, err := bindField(tableName, name+" row", kindFields[k], f.Name, f.Type)
			if err != nil {
				return column{}, err
			}
			col.fields = append(col.fields, bf)
		}
		return col, nil
	}
	return column{}, errs.New(errs.InvalidOption,
		"column '%s' of table '%s' is not a column of the nexmark events table; its columns are event_type, person, auction, bid (or set 'table' to person, auction or bid for flat columns)",
		c.Name, tableName)
}

func bindField(tableName, what string, fields []field, name string, t types.DataType) (field, error) {
	for _, f := range fields {
		if strings.EqualFold(f.name, name) {
			if !f.typ.accepts(t) {
				return field{}, typeError(tableName, name, t, f.typ.String())
			}
			return f, nil
		}
	}
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.name
	}
	return field{}, errs.New(errs.InvalidOption, "column '%s' of table '%s' is not a field of the nexmark %s; its fields are %s",
		name, tableName, what, strings.Join(names, ", "))
}

func typeError(tableName, name string, t types.DataType, want string) error {
	return errs.New(errs.DatatypeMismatch, "column '%s' of nexmark table '%s' has type %s, but the generator produces %s",
		name, tableName, t, want)
}

// reader generates the events of one subtask: event numbers subtask,
// subtask+p, subtask+2p, ... of the one stream, so the subtasks together
// produce exactly the single generator's stream, on one event-time
// timeline. After a rescaled restore (see rescale.go) it first emits the
// spans of event numbers the old readers still owed, then its tail. The
// hot loop walks one arithmetic progression, next, next+step, ... below
// end; advance moves on to the next span, then to the tail.
type reader struct {
	g        *Generator
	cols     []column
	schema   *arrow.Schema
	mem      memory.Allocator
	size     int
	sub, par int64
	step     int64
	next     int64
	end      int64 // one past the last event number; -1 unbounded
	// spans are the event numbers owed after the current progression and
	// before the tail, which starts at tail (step par) when onTail is not
	// set yet; the tail of a bounded source ends at the events' count.
	spans   []positions.Span
	tail    int64
	onTail  bool
	pending []*snapshot // restored, applied by the next Next or Snapshot
	err     error       // of applying pending
	// wants reports which kinds produce rows; needs which kinds' data a
	// column reads.
	wants, needs [3]bool
	bidStrings   BidStrings // the string fields of bids some column reads
	b            batch
	// pacing (rate.limited): the wall clock when event number paceFrom
	// was due.
	paceStart time.Time
	paceFrom  int64
	closed    bool
}

func newReader(g *Generator, cols []column, out types.Schema, rc connector.ReaderContext) (*reader, error) {
	p := int64(max(rc.Parallelism, 1))
	if rc.Subtask < 0 || int64(rc.Subtask) >= p {
		return nil, errs.Internalf("nexmark: subtask %d out of range for parallelism %d", rc.Subtask, p)
	}
	mem := rc.Mem
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	r := &reader{g: g, cols: cols, schema: out.Arrow(), mem: mem, size: rc.BatchSize, sub: int64(rc.Subtask), par: p,
		step: p, next: int64(rc.Subtask), end: -1, onTail: true}
	if r.size <= 0 {
		r.size = DefaultBatchSize
	}
	if g.cfg.Bounded() {
		r.end = g.cfg.EventsNum
	}
	switch g.cfg.Table {
	case TableEvents:
		r.wants = [3]bool{true, true, true}
	case TablePerson:
		r.wants[PersonKind] = true
	case TableAuction:
		r.wants[AuctionKind] = true
	case TableBid:
		r.wants[BidKind] = true
	}
	for _, c := range cols {
		if !c.eventType {
			r.needs[c.kind] = true
		}
		for _, f := range c.fields {
			if f.kind == BidKind {
				switch f.name {
				case "channel":
					r.bidStrings.Channel = true
				case "url":
					r.bidStrings.URL = true
				case "extra":
					r.bidStrings.Extra = true
				}
			}
		}
	}
	return r, nil
}

func (r *reader) Next(ctx context.Context) (arrow.RecordBatch, error) {
	if r.closed {
		return nil, errors.New("nexmark: Next after Close")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := r.resolve(); err != nil {
		return nil, err
	}
	if r.end >= 0 && r.next >= r.end && !r.advance() {
		return nil, io.EOF
	}
	if r.wants == [3]bool{} {
		// Filters no kind passes: nothing ever comes; an unbounded stream
		// waits until cancelled rather than spinning through event numbers.
		if r.end >= 0 {
			return nil, io.EOF
		}
		<-ctx.Done()
		return nil, ctx.Err()
	}
	if r.g.cfg.RateLimited {
		if err := r.pace(ctx); err != nil {
			return nil, err
		}
	}
	r.generate()
	if len(r.b.kinds) == 0 {
		// Only possible at the very end of the share of a flat table or of
		// an events table filtered by event_type.
		return nil, io.EOF
	}
	// The columns are built straight into buffers of their exact size,
	// without a validity bitmap when every row has the column's kind
	// (a flat table, or the events table filtered by event_type). Array
	// builders set a validity bit per value and allocated about twice
	// these bytes per batch (measured on the bid columns).
	arrs := make([]arrow.Array, len(r.cols))
	for i, c := range r.cols {
		var d arrow.ArrayData
		dt := r.schema.Field(i).Type
		switch {
		case c.eventType:
			d = eventTypeData(r.mem, r.b.kinds)
		case c.row:
			st := dt.(*arrow.StructType)
			children := make([]arrow.ArrayData, len(c.fields))
			for j, f := range c.fields {
				children[j] = f.build(r.mem, st.Field(j).Type, &r.b)
			}
			valid, nulls := kindValidity(r.mem, r.b.kinds, c.kind)
			d = array.NewData(dt, len(r.b.kinds), []*memory.Buffer{valid}, children, nulls, 0)
			releaseBuffers(valid)
			for _, ch := range children {
				ch.Release()
			}
		default:
			d = c.fields[0].build(r.mem, dt, &r.b)
		}
		arrs[i] = array.MakeFromData(d)
		d.Release()
	}
	rec := array.NewRecordBatch(r.schema, arrs, int64(len(r.b.kinds)))
	for _, a := range arrs {
		a.Release()
	}
	return rec, nil
}

// generate fills r.b with the next batch of rows, advancing r.next.
func (r *reader) generate() {
	e := &r.b
	e.kinds, e.persons, e.auctions, e.bids = e.kinds[:0], e.persons[:0], e.auctions[:0], e.bids[:0]
	for len(e.kinds) < r.size && (r.end < 0 || r.next < r.end || r.advance()) {
		n := r.next
		r.next += r.step
		k := r.g.Kind(n)
		if !r.wants[k] {
			continue
		}
		e.kinds = append(e.kinds, k)
		if !r.needs[k] {
			continue
		}
		// Events go straight into the batch's reused slots; a bid gets
		// only the string fields some column reads (BidFields).
		switch k {
		case PersonKind:
			var p *Person
			e.persons, p = extend(e.persons)
			r.g.Person(n, p)
		case AuctionKind:
			var a *Auction
			e.auctions, a = extend(e.auctions)
			r.g.Auction(n, a)
		case BidKind:
			var b *Bid
			e.bids, b = extend(e.bids)
			r.g.BidFields(n, b, r.bidStrings)
		}
	}
}

// extend adds an element to s, reusing a slot of an earlier batch without
// clearing it: the generators overwrite every field a column reads (the
// string fields of a bid no column reads keep stale values, which alias
// the generator's tables).
func extend[T any](s []T) ([]T, *T) {
	if len(s) < cap(s) {
		s = s[:len(s)+1]
	} else {
		var zero T
		s = append(s, zero)
	}
	return s, &s[len(s)-1]
}

// pace waits until the next event is due on the wall clock at
// first-event.rate, counting from the first event this reader emitted.
func (r *reader) pace(ctx context.Context) error {
	now := time.Now()
	if r.paceStart.IsZero() {
		r.paceStart, r.paceFrom = now, r.next
	}
	due := r.paceStart.Add(time.Duration(float64(r.next-r.paceFrom) * r.g.delayUs * float64(time.Microsecond)))
	if wait := due.Sub(now); wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}

func (r *reader) Close() error {
	r.closed = true
	return nil
}

// newBuffer allocates a buffer of n bytes from mem.
func newBuffer(mem memory.Allocator, n int) *memory.Buffer {
	b := memory.NewResizableBuffer(mem)
	b.Resize(n)
	return b
}

// releaseBuffers drops the references the builders below hold once
// array.NewData has taken its own.
func releaseBuffers(bufs ...*memory.Buffer) {
	for _, b := range bufs {
		if b != nil {
			b.Release()
		}
	}
}

func eventTypeData(mem memory.Allocator, kinds []Kind) arrow.ArrayData {
	buf := newBuffer(mem, len(kinds)*arrow.Int32SizeBytes)
	vals := arrow.Int32Traits.CastFromBytes(buf.Bytes())
	for i, k := range kinds {
		vals[i] = int32(k)
	}
	d := array.NewData(arrow.PrimitiveTypes.Int32, len(kinds), []*memory.Buffer{nil, buf}, nil, 0, 0)
	releaseBuffers(buf)
	return d
}

// kindValidity is the validity bitmap of the rows of kind k and the number
// of the others, or nil and 0 when every row is of kind k.
func kindValidity(mem memory.Allocator, kinds []Kind, k Kind) (*memory.Buffer, int) {
	nulls := 0
	for _, kk := range kinds {
		if kk != k {
			nulls++
		}
	}
	if nulls == 0 {
		return nil, 0
	}
	buf := newBuffer(mem, int(bitutil.BytesForBits(int64(len(kinds)))))
	bits := buf.Bytes()
	clear(bits)
	for i, kk := range kinds {
		if kk == k {
			bitutil.SetBit(bits, i)
		}
	}
	return buf, nulls
}

// int64Data is a BIGINT or TIMESTAMP(3) column (dt) of get of the rows of
// kind k, NULL for the others; evs are the rows of kind k in order.
func int64Data[T any](mem memory.Allocator, dt arrow.DataType, kinds []Kind, k Kind, evs []T, get func(*T) int64) arrow.ArrayData {
	buf := newBuffer(mem, len(kinds)*arrow.Int64SizeBytes)
	vals := arrow.Int64Traits.CastFromBytes(buf.Bytes())
	valid, nulls := kindValidity(mem, kinds, k)
	if valid == nil {
		for i := range evs {
			vals[i] = get(&evs[i])
		}
	} else {
		j := 0
		for i, kk := range kinds {
			if kk != k {
				vals[i] = 0
				continue
			}
			vals[i] = get(&evs[j])
			j++
		}
	}
	d := array.NewData(dt, len(kinds), []*memory.Buffer{valid, buf}, nil, nulls, 0)
	releaseBuffers(valid, buf)
	return d
}

// bytesData is a STRING column (dt) of get of the rows of kind k, NULL for
// the others.
func bytesData[T any](mem memory.Allocator, dt arrow.DataType, kinds []Kind, k Kind, evs []T, get func(*T) []byte) arrow.ArrayData {
	total := 0
	for i := range evs {
		total += len(get(&evs[i]))
	}
	offBuf := newBuffer(mem, (len(kinds)+1)*arrow.Int32SizeBytes)
	offsets := arrow.Int32Traits.CastFromBytes(offBuf.Bytes())
	dataBuf := newBuffer(mem, total)
	data := dataBuf.Bytes()
	valid, nulls := kindValidity(mem, kinds, k)
	pos, j := 0, 0
	for i, kk := range kinds {
		offsets[i] = int32(pos)
		if kk == k {
			pos += copy(data[pos:], get(&evs[j]))
			j++
		}
	}
	offsets[len(kinds)] = int32(pos)
	d := array.NewData(dt, len(kinds), []*memory.Buffer{valid, offBuf, dataBuf}, nil, nulls, 0)
	releaseBuffers(valid, offBuf, dataBuf)
	return d
}

// bytesOf views a string's bytes without copying; builders copy them.
func bytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }
