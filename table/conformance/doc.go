// Package conformance runs Apache Flink's own semantic test programs
// (testdata/flink, extracted from Flink's planner tests; its README says
// from where and in what format) against Eddy. The package holds only its
// test, TestFlinkConformance:
//
//   - every program gets a fresh table.Environment at parallelism 1 with
//     its session options (each mapped to Eddy's behaviour, an unsupported
//     one failing the program), its source and sink tables on the 'values'
//     test connector (table/connector/values), and its setup SQL;
//   - a program Flink runs as a restore test runs its statements until
//     every source waits after its before-restore rows, stops the jobs with
//     exec.Job.StopWithSavepoint (the barriers drain what is in flight),
//     compares what the sinks received with the expected before-restore
//     changelog, restores the jobs from the savepoints in a fresh
//     Environment whose sources emit the after-restore rows to the end, and
//     compares the whole run; other programs run once to the end (in batch
//     mode when Flink runs them only as batch tests);
//   - a restore program whose plan depends on processing time (processing-
//     time windows and joins, state TTL) runs as in Flink's RestoreTestBase:
//     its jobs read a harness clock that starts at a whole minute and that
//     the runner moves a step at a time while the sources wait, until the
//     sinks hold the expected before-restore records; the restore happens
//     30 days later in processing time (Flink restores from savepoints
//     generated long before); the restored sources stay open after their
//     rows, as Flink's end of input would drop unfired processing-time
//     timers, and the jobs are cancelled once the sinks hold every
//     expected record;
//   - sinks are compared as multisets of Flink-rendered records
//     ("+U[a, 1]"), or by their final rows when the program compares
//     materialized tables (upsert by primary key, else a bag of rows);
//   - a program that panics or runs longer than its timeout fails;
//   - programs that Flink's maintainers changed after the extracted
//     revision (upstream_test.go: flaky changelog expectations replaced by
//     final rows) run as changed, each naming the Flink issue.
//
// expectations.txt lists the programs that do not pass yet with a one-line
// reason; the test fails when a listed program passes or an unlisted one
// fails, and prints "flink conformance: P passed, F failed, S skipped"
// (F: unexpected failures; listed ones count as skipped).
//
//	go test ./table/conformance                       # the suite
//	go test ./table/conformance -rewrite              # record today's failures
//	go test ./table/conformance -program GROUP_BY -v  # some programs, with reasons
package conformance
