// Package jdbc is Flink's 'jdbc' SQL connector for PostgreSQL: a bounded
// scan source (also the table of a lookup join), and a sink that appends,
// or upserts and deletes by the table's primary key. It speaks
// PostgreSQL's protocol through pgx's pgconn, so only PostgreSQL URLs are
// accepted; any other JDBC URL or driver is an error naming what is
// supported.
//
//	CREATE TABLE users (id BIGINT, name STRING, PRIMARY KEY (id) NOT ENFORCED) WITH (
//	  'connector' = 'jdbc', 'url' = 'jdbc:postgresql://localhost:5432/shop',
//	  'table-name' = 'public.users', 'username' = 'eddy', 'password' = '...');
//
// # Options
//
//	option                          default  meaning
//	url                             required jdbc:postgresql://host[:port][,host2...]/database[?params]; pgjdbc's
//	                                         user, password, ssl, sslmode, sslrootcert, sslcert, sslkey,
//	                                         ApplicationName, connectTimeout, currentSchema and options parameters
//	table-name                      required [schema.]table
//	driver                          -        only org.postgresql.Driver
//	username, password              -        both or neither; they override the url's
//	connection.max-retry-timeout    60s      how long an unreachable server is retried (at least 1 s)
//	scan.partition.column           -        numeric column of a partitioned scan (all four partition options go together)
//	scan.partition.num              -        number of partitions
//	scan.partition.lower-bound      -        smallest value of the first partition
//	scan.partition.upper-bound      -        largest value of the last partition
//	scan.fetch-size                 0        accepted; rows stream over one query, so no fetch hint is needed
//	scan.auto-commit                true     false: a subtask reads in one REPEATABLE READ READ ONLY transaction
//	lookup.cache                    NONE     only NONE (see Lookup); lookup.partial-cache.* and the
//	                                         deprecated lookup.cache.* options are refused
//	lookup.max-retries              3        resumptions of a failed read
//	sink.buffer-flush.max-rows      100      buffered rows that trigger a flush (0: no limit)
//	sink.buffer-flush.interval      1s       background flush interval (0: none)
//	sink.max-retries                3        retries of a failed flush
//	sink.parallelism                -        the sink writers' parallelism
//
// Column and table names are written as PostgreSQL reads Flink's unquoted
// ones: a plain name (letters, digits, '_') folds to lower case; Eddy then
// quotes it, so names that are keywords work too.
//
// # Types
//
//	PostgreSQL                                  Flink
//	smallint, int2, smallserial                 SMALLINT (reads also as INT, BIGINT)
//	integer, int4, serial                       INT (reads also as BIGINT)
//	bigint, int8, bigserial                     BIGINT
//	real, float4                                FLOAT (reads also as DOUBLE)
//	double precision, float8                    DOUBLE
//	numeric(p, s), decimal(p, s)                DECIMAL(p, s)
//	boolean                                     BOOLEAN
//	date                                        DATE
//	time [(p)] [without time zone]              TIME [(p)]
//	timestamp [(p)] [without time zone]         TIMESTAMP [(p)]
//	timestamp [(p)] with time zone              TIMESTAMP_LTZ [(p)]
//	char(n), varchar(n), text                   CHAR, VARCHAR, STRING
//	bytea                                       BYTES, BINARY, VARBINARY
//	one-dimensional arrays of the above         ARRAY<...>
//	any other type (uuid, jsonb, inet, enums)   CHAR, VARCHAR, STRING: its text form, as Flink's getString
//
// A sink also writes a narrower type into a wider column (INT into bigint,
// FLOAT into double precision, a string type into any string column, json
// or jsonb). A
// declared column whose PostgreSQL type does not convert fails the job at
// its start, naming the column and both types. Values travel in
// PostgreSQL's binary format: a numeric is rounded half up to the declared
// scale (an error when its digits exceed the precision), times and
// timestamps are truncated to the unit of the declared precision, and infinite dates and timestamps,
// NaN numerics and multi-dimensional arrays are errors.
//
// # Scan
//
// A scan is bounded and insert-only. It selects only the columns a query
// reads and applies the query's comparisons of integer and BOOLEAN columns
// in its WHERE clause (string comparisons stay in Eddy: PostgreSQL orders
// strings by collation and pads CHAR). Without partition options subtask 0
// reads the table. With them the range [lower-bound, upper-bound] is split
// exactly as Flink's JdbcNumericBetweenParametersProvider splits it, into
// scan.partition.num ranges read with 'column BETWEEN lo AND hi', partition
// i by subtask i mod parallelism; rows outside the bounds are not read, as
// in Flink. A reader's checkpointed position is its partition and the rows
// of it emitted; a restored or retried read runs the partition's query
// again and skips those rows. The session disables synchronize_seqscans so
// that an unchanged table is read in the same order each time; a table
// that changes between a snapshot and its restore may be read with rows
// missing or repeated, as with Flink's JDBC source.
//
// # Sink
//
// Without a primary key the sink appends with COPY and accepts inserts
// only: an updating query into it is refused at planning time. With
// PRIMARY KEY ... NOT ENFORCED it upserts: +I and +U rows become INSERT ...
// ON CONFLICT (key) DO UPDATE, -D rows delete by key, -U rows are ignored;
// the PostgreSQL table needs a primary key or unique constraint on the key
// columns. The buffer keeps the last change per key, so a flush (one
// transaction: the changes are COPYed into temporary tables and applied by
// one INSERT ... ON CONFLICT and one DELETE ... USING) touches each key
// once. Flushes happen at sink.buffer-flush.max-rows, every
// sink.buffer-flush.interval, at every checkpoint barrier
// (connector.SinkFlusher) and at the end of input, so a job restarted from
// a checkpoint replays only rows after it: idempotent upserts make the
// upsert mode effectively exactly-once, the append mode is at-least-once.
// A failed flush is retried up to sink.max-retries times on a new
// connection when the failure is the connection's or transient
// (SQLSTATE classes 08, 40, 53, 57).
//
// # Lookup
//
// A jdbc table used as `JOIN dim FOR SYSTEM_TIME AS OF s.proc_time` is
// loaded whole through its scan by Eddy's lookup join (exec.KindLookupJoin)
// rather than queried per key, so Flink's lookup caches have nothing to
// configure and are refused with that reason; lookup.max-retries bounds the
// scan's resumptions.
//
// # DELETE and UPDATE
//
// In batch mode DELETE FROM and UPDATE run as one PostgreSQL statement,
// without a job (connector.SupportsDeletePushDown, Flink's, and
// connector.SupportsUpdatePushDown, Eddy's): DELETE FROM table WHERE ...
// or UPDATE table SET col = $1, ... WHERE ..., the WHERE clause built from
// the comparisons a scan would push down, the SET values sent as
// parameters in binary form. The statement reports the rows PostgreSQL
// affected. A WHERE clause with anything else (a string comparison, OR, a
// function) or a SET value that is not constant is refused before
// PostgreSQL is contacted.
package jdbc
