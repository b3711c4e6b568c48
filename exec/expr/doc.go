// Package expr is Eddy's scalar expression layer: a typed expression tree,
// the registry of Flink's scalar functions and operators, and their
// vectorized evaluation over Arrow record batches.
//
// The tree (expr.go) has three immutable node kinds: ColumnRef, Literal and
// Call. Every operator — arithmetic, comparisons, AND/OR/NOT, IS NULL, CASE,
// IN, LIKE, CAST — is a Call of a registered name, so the planner folds,
// prints and serializes them uniformly (Marshal/Unmarshal for task
// descriptors).
//
// How the layers use it:
//
//   - The binder (sql -> planner) builds calls with Resolve(name, args),
//     which type-checks the arguments, inserts Flink's implicit casts
//     (numeric widening, DECIMAL result types) and infers the result type
//     and nullability, and with NewCast for CAST/TRY_CAST. Unknown names
//     wrap ErrUnknownFunction; Names and Lookup serve SHOW FUNCTIONS.
//     Argument layouts of the special forms (CASE, IN, BETWEEN, LIKE,
//     EXTRACT, TRIM) are documented on Resolve. Value constructors and
//     element access are calls too: ARRAY[...] is "ARRAY", MAP[k, v, ...]
//     "MAP", ROW(...) "ROW", arr[i] and map[key] "ITEM", FLOOR|CEIL(t TO
//     unit) is FLOOR|CEIL(t, 'UNIT'), TIMESTAMPADD/DIFF take a leading
//     'UNIT' string, x IS [NOT] DISTINCT FROM y is "IS [NOT] DISTINCT
//     FROM", s IS JSON [kind] is "IS JSON"(s[, 'KIND']) and
//     JSON_EXISTS(j, p b ON ERROR) is JSON_EXISTS(j, p, 'B').
//   - The optimizer folds constants with Fold and leaves non-deterministic
//     calls (RAND, NOW, CURRENT_TIMESTAMP, PROCTIME) alone; see
//     IsDeterministic.
//   - Operators (Calc, filters, projections in exec) Compile each
//     expression once per subtask into an Evaluator and call Eval per
//     batch; FilterBatch applies a predicate result (copying the kept
//     runs of rows itself for flat layouts, filter.go). A calc computes
//     the calls its expressions share once per batch: SharedCalls finds
//     them, ReplaceShared rewrites the expressions to read them
//     (shared.go).
//
// Evaluation is batch-at-a-time. Arithmetic (+, -, * on integers and
// floats), comparisons and Kleene AND/OR use arrow compute kernels with
// literals passed as scalars; everything with Flink-specific semantics
// (integer division and modulo raising on zero, DECIMAL arithmetic with
// HALF_UP rounding and NULL on overflow, casts, strings, LIKE, temporal
// functions) is a typed loop over the Arrow buffers. Constructs that Flink
// evaluates lazily — CASE branches, the right side of AND/OR, COALESCE —
// run an argument that can raise an error only on the rows that reach it,
// so `CASE WHEN b <> 0 THEN a / b END` never divides by zero.
//
// REGEXP, REGEXP_EXTRACT and REGEXP_REPLACE run simple patterns (literals,
// ASCII classes, possessive-equivalent runs, groups, alternation, anchors)
// on a small byte-level matcher with Go's leftmost-first results, and the
// rest on Go's regexp (regex_fast.go).
//
// Nested results (ARRAY, MAP, ROW) are Arrow list, map and struct arrays
// built column-wise (collections.go); they have no Literal form, so Fold
// leaves them alone. JSON functions scan documents in place with a small
// validating scanner and compile literal paths once (json.go).
//
// The wall clock is read in one place (wallClock in temporal.go), by
// PROCTIME(), CURRENT_ROW_TIMESTAMP(), UNIX_TIMESTAMP() and the CURRENT_*
// functions, once per batch.
package expr
