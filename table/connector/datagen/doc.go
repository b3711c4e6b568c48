// Package datagen is Flink's 'datagen' source: it generates rows from
// per-column generators, either random values or bounded sequences, with
// Flink's option names:
//
//	rows-per-second    Long, default 10000: throttles emission (shared by subtasks)
//	number-of-rows     Long: total rows; unbounded when unset
//	fields.#.kind      random | sequence, default random
//	fields.#.start     Long: first value of a sequence
//	fields.#.end       Long: last value of a sequence
//	fields.#.min       smallest random value of a numeric column
//	fields.#.max       largest random value of a numeric column
//	fields.#.max-past  Duration: random timestamps and dates lie this far in the past at most
//	fields.#.length    Int, default 100: length of random strings and bytes
//	fields.#.null-rate Double, default 0: fraction of random NULLs
//	seed               Long (Eddy extension): seed of the random generators
//
// A sequence column makes the source bounded: it ends after end-start+1
// rows, or number-of-rows if that is fewer. Subtasks split a sequence as
// Flink's SequenceGenerator does: subtask i of p emits start+i, start+i+p,
// start+i+2p, ..., so every value is produced exactly once across the
// subtasks. number-of-rows and rows-per-second are split among subtasks, the
// first ones taking the remainder.
//
// Random values come from a PCG stream per column and subtask (math/rand/v2),
// keyed by the column's position in the table, so the values of a column do
// not depend on which other columns a projection keeps. With 'seed' set the
// data is reproducible; timestamps and dates are drawn relative to the time
// the reader was created, as Flink draws them relative to now.
//
// Readers fill Arrow builders a batch at a time (ReaderContext.BatchSize
// rows), reusing them between batches. Every row has a position (a
// sequence value is start + position), and a reader's snapshot is the
// positions it still owes, as arithmetic progressions, plus the state of
// each random stream, so a reader restored at the same parallelism
// continues with exactly the rows the original would have produced next.
// The source rescales (connector.SupportsRescaling), as Flink's datagen
// source redistributes the values its sequence generator still had to
// emit: restored at another parallelism, the positions all the old readers
// still owed are split among the new ones, so every sequence value and
// every row of number-of-rows is emitted exactly once over the job, and an
// unbounded source's positions continue. The random streams of a rescaled
// reader restart from seeds keyed by its first position (Flink, too,
// promises the counts and sequence values after a rescale, not the same
// random values). The wall clock is read only to pace emission and to
// anchor timestamps.
package datagen
