// Package server is Eddy's front door (`eddy server`): the PostgreSQL wire
// protocol, so psql and every Postgres driver can run Flink SQL, and an
// HTTP API for health, jobs and metrics.
//
// One Server runs one embedded cluster and one shared default catalog;
// every pgwire connection is a session with its own table.Environment
// (SET options, temporary objects, current database) over that catalog, so
// DDL in one session is seen by all. With a data directory the DDL that
// changes the shared catalog is recorded and replayed at start.
//
// The protocol runs on github.com/jackc/pgx/v5/pgproto3:
//
//   - startup: SSLRequest ('S' and TLS when configured, else 'N'),
//     GSSEncRequest ('N'), CancelRequest, StartupMessage (protocol 3.0);
//     authentication is trust for loopback clients when no users are
//     configured, else cleartext, MD5 or SCRAM-SHA-256; then the
//     ParameterStatus values PostgreSQL 15 sends, BackendKeyData and
//     ReadyForQuery.
//   - simple query: a Query holds a script of statements, run in order
//     until the first error.
//   - extended query: Parse infers the types of undeclared parameters by
//     binding the statement (planner.Planner.Params); Bind decodes text or
//     binary values into typed literals the planner substitutes; Describe,
//     Execute with a row limit (PortalSuspended), Close, Sync, Flush; after
//     an error messages are skipped until Sync.
//   - results: RowDescription with PostgreSQL type OIDs per Eddy type,
//     DataRow in text or binary format (see types.go), flushed batch by
//     batch so unbounded queries stream until the client cancels.
//   - errors carry the SQLSTATE of internal/errs and the 1-based character
//     position of the offending text.
//   - progress: a statement that waits for its result longer than
//     Config.ProgressInterval gets NoticeResponses with the records its
//     job has read (progress.go).
//
// psql sends a script a statement at a time, so a statement set (BEGIN
// STATEMENT SET; … END; or EXECUTE STATEMENT SET BEGIN … END;) arrives
// in pieces: the session collects them and runs the set at its END
// (stmtset.go).
//
// Robustness: every message is bounded by Config.MaxMessageSize; malformed
// or hostile input ends its connection only (a panic in a session is
// recovered and logged); startup must finish within a minute.
//
// BEGIN/COMMIT/ROLLBACK/SAVEPOINT are accepted as no-ops that move the
// transaction status, since Eddy has no transactions and clients send
// them unasked. Inside them, SQL cursors work (DECLARE … CURSOR FOR,
// FETCH [FORWARD] n|ALL, CLOSE; see sqlcursor.go): the cursor keeps its
// query's result stream open across messages, which is how psql 15's
// FETCH_COUNT and psycopg's named cursors read results as they arrive.
// COMMIT and ROLLBACK close them. SHOW of the PostgreSQL settings drivers
// probe (transaction_isolation, TRANSACTION ISOLATION LEVEL, the
// ParameterStatus ones) answers like PostgreSQL.
//
// psql's describe commands read pg_catalog and information_schema views
// that catalog.Manager builds from the live catalog (catalog/pgcatalog.go);
// a query reading only those (or materialized views) is planned in batch
// mode whatever the session's mode, since they are bounded.
//
// An updating result (a streaming aggregate) is sent as the rows that
// remain once its changes are applied (changelogRows in query.go), the
// answer PostgreSQL would give; SUBSCRIBE [TO] name | (query) sends the
// changes themselves, each row led by an op column (subscribe.go), as
// rows, through a cursor or through COPY (…) TO STDOUT (copy.go).
//
// Jobs: SHOW JOBS, STOP JOB (also WITH SAVEPOINT [WITH DRAIN], and
// POST /v1/jobs/{id}/stop) and DESCRIBE JOB reach the jobs of every
// session (jobs.go). With a data directory the continuous jobs still
// running when the server stops are submitted again at start
// (jobstore.go), from their latest checkpoint file when they checkpointed
// into a directory, else from scratch; a job stopped with a savepoint
// stays recorded with it and is not submitted again.
//
// Materialized views (mview.go, mview_stmt.go): CREATE MATERIALIZED VIEW
// runs its query as a job whose changelog the server applies to an
// in-memory multiset of Arrow rows; SELECT … FROM mv reads a snapshot of
// it and SUBSCRIBE TO mv its contents and then its changes.
//
// The HTTP API (http.go) serves health, jobs (with their plan and
// per-operator metrics), Prometheus metrics (records in and out,
// watermark and watermark lag per operator) and POST /v1/statements,
// which runs a script and answers JSON (http_statements.go).
//
// The JobManager RPC endpoint (ServeRPC, `--rpc-addr`, default
// 127.0.0.1:6123 as Flink's jobmanager.rpc.port) is exec's Arrow Flight
// JobManagerService over the server's cluster: Go programs whose
// table.Environment sets JobManagerAddress plan locally and submit their
// job graphs here, and their query results stream back as Arrow record
// batches. Their jobs are listed with the sessions' jobs.
package server
