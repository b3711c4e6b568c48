// Package format holds what the text formats (csv, json) and the print sink
// share: how each scalar SQL type is written as text and read back, in the
// exact spellings Flink uses, and a binding step that picks the typed code
// for a column once per batch so the per-row loops never switch on types.
//
// Three spellings of temporal values exist in Flink and all are here: the
// SQL style of the csv and json formats ("2020-01-01 00:00:00.123", the
// fraction trimmed of trailing zeros), ISO-8601 ("2020-01-01T00:00:00.123",
// json's alternative), and Java's toString of LocalDateTime/Instant
// ("2020-01-01T00:00", fraction in groups of three) that the print sink
// shows. Doubles and decimals print as Java's Double.toString and
// BigDecimal.toString do, since that is what Flink's formats emit.
package format
