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
//	fields.#.length    Int, default 100: length of random strings and bytes;
//	                   default 3: elements of an ARRAY, MAP or MULTISET
//	fields.#.null-rate Double, default 0: fraction of random NULLs
//	seed               Long (Eddy extension): seed of the random generators
//
// Random columns may be BOOLEAN, numeric, character, binary, DATE, TIME or
// a timestamp, and ARRAY, MAP, MULTISET and ROW of them (nested.go), as Flink's
// RandomGeneratorVisitor generates them: 'length' elements of an ARRAY;
// 'length' keys drawn into a hash map for a MAP, so a key drawn twice
// appears once; 'length' elements drawn into a hash map for a MULTISET,
// each repeated 0 to 10 times; a value for each field of a ROW. The parts
// take the defaults of their types; Flink's nested keys for them
// ("fields.m.key.length") are not accepted, since option validation knows
// only the top-level columns. 'null-rate' applies to the whole value.
// Collections and rows cannot be sequences, as in Flink.
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
// not depend on which other columns a projection keeps; each part of a
// nested column has a stream of its own, derived from the column's, and
// every stream is drawn in row order, so the values do not depend on the
// batch size either. With 'seed' set the
// data is reproducible; timestamps and dates are drawn relative to the time
// the reader was created, as Flink draws them relative to now.
//
// Readers fill Arrow builders a batch at a time (ReaderContext.BatchSize
// rows), reusing them between batches; a nested column's array is
// assembled from the arrays of its parts without copying them. Every row has a position (a
// sequence value is start + position), and a reader's snapshot is the
// positions it still owes, as arithmetic progressions, plus the state of
// each random stream (the parts' of a nested column included), so a reader restored at the same parallelism
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
