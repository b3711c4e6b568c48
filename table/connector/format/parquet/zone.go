package parquet

import (
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Flink writes a TIMESTAMP (a wall-clock time without zone) as the INT96
// instant at which that wall clock reads so in the local time zone, unless
// parquet.utc-timezone is set, and reads INT96 back the same way, as Hive
// 0.x-2.x does. Eddy's TIMESTAMP columns hold the wall clock as if in UTC,
// so with a local zone other than UTC the values of top-level TIMESTAMP
// columns are shifted at the file boundary (nested ones are not). The
// offset changes only at the zone's transitions, so the loop looks it up
// once per transition period, not per value.

// zoneShifter converts timestamps between wall clocks and instants of loc.
type zoneShifter struct {
	loc      *time.Location
	from, to int64 // the current zone period, in Unix seconds
	off      int64 // its offset east of UTC, in seconds
}

// needsShift reports whether TIMESTAMP values must be shifted for loc:
// not for UTC or another zone that is always at offset 0.
func needsShift(loc *time.Location) bool {
	if loc == time.UTC {
		return false
	}
	// A zone without transitions reports the whole time line as one period.
	name, off := time.Unix(0, 0).In(loc).Zone()
	start, end := time.Unix(0, 0).In(loc).ZoneBounds()
	return !(off == 0 && (name == "UTC" || start.IsZero() && end.IsZero()))
}

func newZoneShifter(loc *time.Location) *zoneShifter {
	return &zoneShifter{loc: loc, from: 1, to: 0}
}

// offset is the zone's offset at Unix second sec.
func (z *zoneShifter) offset(sec int64) int64 {
	if sec >= z.from && sec < z.to {
		return z.off
	}
	t := time.Unix(sec, 0).In(z.loc)
	_, off := t.Zone()
	start, end := t.ZoneBounds()
	z.off = int64(off)
	z.from, z.to = -1<<62, 1<<62
	if !start.IsZero() {
		z.from = start.Unix()
	}
	if !end.IsZero() {
		z.to = end.Unix()
	}
	return z.off
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// shift returns a copy of a with every value converted: wall clocks to
// instants (toInstant) or instants to wall clocks.
func (z *zoneShifter) shift(a *array.Timestamp, toInstant bool) arrow.Array {
	// The result shares a's validity bitmap and offset; only the values
	// buffer is new.
	vals := a.TimestampValues()
	perSec := int64(time.Second / a.DataType().(*arrow.TimestampType).Unit.Multiplier())
	start := a.Data().Offset()
	out := make([]arrow.Timestamp, start+len(vals))
	for i, v := range vals {
		if a.IsNull(i) {
			continue
		}
		sec := floorDiv(int64(v), perSec)
		if toInstant {
			// The offset at the instant, found from the offset at the
			// wall clock read as UTC (exact but for the hour around a
			// transition, where a wall clock is ambiguous or missing).
			out[start+i] = v - arrow.Timestamp(z.offset(sec-z.offset(sec))*perSec)
		} else {
			out[start+i] = v + arrow.Timestamp(z.offset(sec)*perSec)
		}
	}
	d := array.NewData(a.DataType(), a.Len(),
		[]*memory.Buffer{a.Data().Buffers()[0], memory.NewBufferBytes(arrow.TimestampTraits.CastToBytes(out))},
		nil, a.NullN(), start)
	defer d.Release()
	return array.MakeFromData(d)
}
