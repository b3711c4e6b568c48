// Package nexmark is the 'nexmark' source: the event generator of the
// Nexmark benchmark, faithful to nexmark-flink's (github.com/nexmark/nexmark),
// writing events straight into Arrow builders a batch at a time.
//
// # Tables
//
// With 'table' = 'events' (the default) the table is nexmark-flink's single
// table; declare the columns it needs of
//
//	event_type INT,                      -- 0 person, 1 auction, 2 bid
//	person  ROW<id BIGINT, name STRING, emailAddress STRING, creditCard STRING,
//	            city STRING, state STRING, dateTime TIMESTAMP(3), extra STRING>,
//	auction ROW<id BIGINT, itemName STRING, description STRING, initialBid BIGINT,
//	            reserve BIGINT, dateTime TIMESTAMP(3), expires TIMESTAMP(3),
//	            seller BIGINT, category BIGINT, extra STRING>,
//	bid     ROW<auction BIGINT, bidder BIGINT, price BIGINT, channel STRING,
//	            url STRING, dateTime TIMESTAMP(3), extra STRING>
//
// plus, as in nexmark-flink's DDL, the computed column
// `dateTime AS CASE WHEN event_type = 0 THEN person.dateTime WHEN event_type
// = 1 THEN auction.dateTime ELSE bid.dateTime END` and
// `WATERMARK FOR dateTime AS dateTime - INTERVAL '4' SECOND`. Exactly one of
// the ROW columns of a row is non-NULL.
//
// Eddy extension: 'table' = 'person', 'auction' or 'bid' produces only the
// events of that kind, as flat columns named like the ROW's fields (for
// bid: auction, bidder, price, channel, url, dateTime, extra). Such a table
// is what nexmark-flink's views (`CREATE VIEW bid AS SELECT bid.auction, ...
// FROM datagen WHERE event_type = 2`) compute, without generating the other
// kinds; two flat tables with the same options see the same stream (the
// same ids and timestamps), so joins between them match as over the views.
// testdata/nexmark's queries use the events table and the views, as
// nexmark-flink does; the qN_flat variants of the stateless queries read a
// flat bid table.
//
// # Pushdown
//
// The connector supports projection pushdown, nested too: a scan builds
// only the columns, and the fields of the ROW columns, that a query reads
// (a field read alone is produced as a column of its own, NULL for the
// rows of other kinds). Kinds no column needs are not generated, and the
// values of a column never depend on which others are read. It also
// accepts filters on event_type (=, <>, <, <=, >, >= with an integer):
// the events of the kinds they drop are not generated, though still
// numbered, so ids and timestamps do not change. Event time follows the
// event number, so the dateTime fields of the kept rows stay in event-time
// order, and the optimizer moves the filters of the views below the events
// table's WATERMARK too when it is on them, as in nexmark-flink's DDL (not
// when it is on auction.expires). With both, a view's scan generates what
// the flat table of its kind generates.
//
// Columns are matched by name, case-insensitively, and may be omitted or
// reordered (so may the fields of the ROW columns). Strings may be declared
// STRING or VARCHAR(n); values are never truncated. Timestamps are
// TIMESTAMP(3) or TIMESTAMP_LTZ(3).
//
// # Options
//
// nexmark-flink's: events.num (0 unbounded), first-event.rate, next-event.rate,
// rate.shape, rate.period, rate.limited, person.avg-size, auction.avg-size,
// bid.avg-size, person.proportion, auction.proportion, bid.proportion,
// bid.hot-ratio.auctions, bid.hot-ratio.bidders, auction.hot-ratio.sellers.
// Eddy's: table, seed, base-time. events.num counts the events of the whole
// stream, all kinds, also for the flat tables (a bid table with events.num
// = 1000 has the 920 bids among the first 1000 events).
//
// # The stream
//
// Event number n = 0, 1, 2, ... is a pure function of n, the options and the
// seed (see Generator): its kind is person if n mod 50 < 1, auction if < 4,
// else bid (with the default proportions); person and auction ids are dense
// (1000 + the count of earlier events of the kind); bids go to the hot
// auction (the first of the last 100) with probability 1 - 1/2, else to one
// of the last 100 auctions or 10 ahead; bidders are the hot bidder (second
// of the last 100 people) with probability 3/4, else one of the last 1000
// people or 10 ahead; sellers likewise with the first of the last 100.
// Prices are log-uniform in [100, 10^8]; categories 10..14; auctions expire
// 1 ms to twice the event-time span of the next 1,666 events after their
// start; half the bids are on one of the channels Google, Facebook, Baidu,
// Apple with one fixed URL each, the others on channel-N (N < 10,000) with
// a URL per N, 9 in 10 of them ending in &channel_id=|bit-reversed N|. The
// extra column pads each event to the configured average size ± 20 %.
// Event time of event n is base-time + floor(n × 10^6 / first-event.rate) µs
// truncated to milliseconds.
//
// Parallel subtasks split the event numbers: subtask i of p generates
// i, i+p, i+2p, ..., so the union of the subtasks is exactly the
// single-generator stream, and all subtasks advance through event time
// together (each one's timestamps are non-decreasing). The reader's
// snapshot is the event numbers it still owes: its tail (the next of
// i, i+p, ...) and, after a rescale, spans of numbers before it. The
// source rescales (connector.SupportsRescaling, rescale.go): restored at
// another parallelism, the new readers share what all the old readers
// owed, so every event number is emitted once over the whole job, bounded
// or not; events the old readers lagged behind on come first, then the
// tails interleave again. A finished reader owes nothing
// (connector.FinishedReaderSnapshotter). Version 1 snapshots (the next
// event number) restore only at the parallelism they were taken with.
//
// # Deviations from nexmark-flink, on purpose
//
//   - Determinism: nexmark-flink draws from one unseeded random generator
//     per source, so runs differ. Here every event has its own random stream
//     (SplitMix64 seeded by seed and event number), as Beam seeds one per
//     event: the stream is reproducible with 'seed', and any subtask can
//     generate any event. Without 'seed' a random seed is chosen once per
//     process, shared by all unseeded nexmark tables.
//   - Parallelism: nexmark-flink gives each of p generators a contiguous
//     block of event ids but the same event numbers, so generator j's k-th
//     event has the timestamp of generator 0's k-th event and event ids do
//     not map to times. Here event n's timestamp depends on n alone and
//     subtasks take every p-th event (see above); the global rate is the
//     same.
//   - Numbering: event numbers and ids start at 0 (Beam's and nexmark-rs's
//     convention; nexmark-flink's source starts one or two later), so the
//     first event is a person.
//   - Base time: nexmark-flink anchors event time at the wall clock when the
//     source is created. Here it is base-time if set, 2015-07-15 00:00:00
//     UTC (Beam's) when seed is set, else the wall clock when the process
//     first used the connector.
//   - Random strings (item names, descriptions, e-mail parts) are cut from a
//     pre-generated 64 KiB buffer of the same character distribution
//     (lowercase letters, 1 in 13 a space, ends trimmed), as nexmark-flink
//     cuts extra from a pre-generated buffer; lengths are drawn exactly as
//     nexmark-flink draws them. The extra buffer is 64 KiB rather than
//     nexmark-flink's 1 MiB so that copying extra at random offsets stays
//     in cache (the copy is most of the cost of q0); the average sizes are
//     therefore limited to 64kb. The 4 hot URLs and the 10,000 channel
//     URLs come from the seed rather than from an unseeded generator per JVM.
//   - next-event.rate, rate.shape and rate.period are accepted and, as in
//     nexmark-flink, ignored: the rate is constant at first-event.rate.
//     Events are emitted as fast as possible unless rate.limited.
//
// Kept on purpose: nexmark-flink adds the first person id (1000) to bid
// bidders twice, so bidder ids are 1000 above the matching person ids
// (Beam and the Rust ports add it once). This changes only joins of bidders
// with persons (q23), and keeps results comparable with nexmark-flink's.
package nexmark
