package jdbc

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/internal/errs"
)

// config is a table's options, checked and translated: the PostgreSQL
// connection the 'url' names and the scan and sink settings.
type config struct {
	table connector.TableInfo
	// url is the table's 'url' without its password, for messages.
	url  string
	conn *pgconn.Config
	// target is table-name as SQL: each dotted part an identifier.
	target string

	partition  *partition
	autoCommit bool
	// lookupRetries is how often a scan resumes a failed read
	// (lookup.max-retries).
	lookupRetries   int
	maxRetryTimeout time.Duration

	flushRows     int
	flushInterval time.Duration
	sinkRetries   int
}

// partition is a partitioned scan's scan.partition.* options.
type partition struct {
	column       string
	num          int
	lower, upper int64
}

// The JDBC driver class the 'driver' option may name.
const postgresDriver = "org.postgresql.Driver"

func parseConfig(t connector.TableInfo) (*config, error) {
	o, err := connector.Parse(Factory{}, t)
	if err != nil {
		return nil, err
	}
	c := &config{
		table:           t,
		lookupRetries:   o.Int(LookupMaxRetries),
		maxRetryTimeout: o.Duration(ConnectionMaxRetryTimeout),
		flushRows:       o.Int(SinkBufferFlushMaxRows),
		flushInterval:   o.Duration(SinkBufferFlushInterval),
		sinkRetries:     o.Int(SinkMaxRetries),
		autoCommit:      o.Bool(ScanAutoCommit),
	}
	if d := o.String(Driver); d != "" && d != postgresDriver {
		return nil, errs.New(errs.InvalidOption, "jdbc: driver '%s' is not supported: Eddy's 'jdbc' connector talks to PostgreSQL only, whose driver is '%s'", d, postgresDriver)
	}
	user, pass := o.String(Username), o.String(Password)
	if o.IsSet(Username) != o.IsSet(Password) {
		return nil, errs.New(errs.InvalidOption, "jdbc: set both '%s' and '%s', or neither", Username, Password)
	}
	if c.conn, c.url, err = postgresConfig(o.String(URL), user, pass); err != nil {
		return nil, err
	}
	if c.target, err = quoteQualified(o.String(TableName)); err != nil {
		return nil, err
	}
	if c.maxRetryTimeout < time.Second {
		return nil, errs.New(errs.InvalidOption, "jdbc: '%s' must be at least 1 s, not %s", ConnectionMaxRetryTimeout, c.maxRetryTimeout)
	}
	for _, k := range []string{LookupMaxRetries, SinkMaxRetries, SinkBufferFlushMaxRows, ScanFetchSize} {
		if o.Int(k) < 0 {
			return nil, errs.New(errs.InvalidOption, "jdbc: '%s' must not be negative", k)
		}
	}
	if o.Enum(LookupCache) != "NONE" {
		return nil, errs.New(errs.InvalidOption, "jdbc: '%s' = '%s' is not supported: Eddy's lookup join loads the whole lookup table through its scan and joins in memory, so there is no per-key cache to configure", LookupCache, o.Enum(LookupCache))
	}
	for _, k := range cacheOptions {
		if o.IsSet(k) {
			return nil, errs.New(errs.InvalidOption, "jdbc: '%s' is not supported: Eddy's lookup join loads the whole lookup table through its scan and joins in memory, so there is no per-key cache to configure", k)
		}
	}
	if c.partition, err = parsePartition(o, t); err != nil {
		return nil, err
	}
	return c, nil
}

// parsePartition reads scan.partition.*: all four or none, as in Flink.
func parsePartition(o connector.Options, t connector.TableInfo) (*partition, error) {
	keys := []string{ScanPartitionColumn, ScanPartitionNum, ScanPartitionLowerBound, ScanPartitionUpperBound}
	set := 0
	for _, k := range keys {
		if o.IsSet(k) {
			set++
		}
	}
	if set == 0 {
		return nil, nil
	}
	if set != len(keys) {
		return nil, errs.New(errs.InvalidOption, "jdbc: the scan partition options %s must all be set, or none of them", strings.Join(keys, ", "))
	}
	p := &partition{column: o.String(ScanPartitionColumn), num: o.Int(ScanPartitionNum),
		lower: o.Long(ScanPartitionLowerBound), upper: o.Long(ScanPartitionUpperBound)}
	if p.num <= 0 {
		return nil, errs.New(errs.InvalidOption, "jdbc: '%s' must be positive, not %d", ScanPartitionNum, p.num)
	}
	if i := t.Schema.Index(p.column); i >= 0 && !t.Schema.Columns[i].Type.IsNumeric() {
		return nil, errs.New(errs.InvalidOption, "jdbc: '%s' names column '%s' of type %s; a partitioned scan needs a numeric column", ScanPartitionColumn, p.column, t.Schema.Columns[i].Type)
	}
	if p.lower > p.upper {
		return nil, errs.New(errs.InvalidOption, "jdbc: '%s' (%d) must not be larger than '%s' (%d)", ScanPartitionLowerBound, p.lower, ScanPartitionUpperBound, p.upper)
	}
	return p, nil
}

// ranges splits [lower, upper] into the partitions' inclusive ranges exactly
// as Flink's JdbcNumericBetweenParametersProvider.ofBatchNum: num ranges (at
// most one per value) of ceil(count/num) values, the last ones one value
// shorter so that they end at upper.
func (p *partition) ranges() [][2]int64 {
	count := uint64(p.upper-p.lower) + 1 // the bounds may span all of int64
	if count == 0 {
		count = math.MaxUint64 // all of int64: one value short, no matter
	}
	num := uint64(p.num)
	if count != 0 && num > count {
		num = count
	}
	size := count / num
	if count%num != 0 {
		size++
	}
	// Ranges from index big on are one value shorter.
	big := count - (size-1)*num
	out := make([][2]int64, num)
	start := p.lower
	for i := uint64(0); i+1 < num; i++ {
		end := start + int64(size) - 1
		if i >= big {
			end--
		}
		out[i] = [2]int64{start, end}
		start = end + 1
	}
	out[num-1] = [2]int64{start, p.upper}
	return out
}

// postgresConfig translates a JDBC URL of the PostgreSQL driver
// ('jdbc:postgresql://host:port/database?param=value&...') into a pgconn
// configuration. It returns the URL without its password, for messages.
func postgresConfig(jdbcURL, user, password string) (*pgconn.Config, string, error) {
	rest, ok := strings.CutPrefix(jdbcURL, "jdbc:postgresql:")
	if !ok {
		return nil, "", errs.New(errs.InvalidOption, "jdbc: unsupported url '%s': Eddy's 'jdbc' connector supports PostgreSQL only, with urls of the form 'jdbc:postgresql://host:port/database'", redact(jdbcURL))
	}
	rest, query, _ := strings.Cut(rest, "?")
	var err error
	hosts, db := "localhost", rest
	if r, ok := strings.CutPrefix(rest, "//"); ok {
		hosts, db, _ = strings.Cut(r, "/")
		if hosts == "" {
			hosts = "localhost"
		}
	}
	if db, err = url.PathUnescape(db); err != nil {
		return nil, "", errs.New(errs.InvalidOption, "jdbc: invalid database name in url '%s': %v", redact(jdbcURL), err)
	}
	params, err := url.ParseQuery(query)
	if err != nil {
		return nil, "", errs.New(errs.InvalidOption, "jdbc: invalid parameters in url '%s': %v", redact(jdbcURL), err)
	}
	settings := url.Values{}
	var searchPath string
	for k, vs := range params {
		v := vs[len(vs)-1]
		switch k {
		case "user", "password", "sslmode", "sslrootcert", "sslcert", "sslkey", "options":
			settings.Set(k, v)
		case "ssl":
			// pgjdbc's ssl=true verifies the server's certificate and name.
			if strings.EqualFold(v, "true") {
				settings.Set("sslmode", "verify-full")
			} else {
				settings.Set("sslmode", "disable")
			}
		case "ApplicationName":
			settings.Set("application_name", v)
		case "connectTimeout":
			settings.Set("connect_timeout", v)
		case "currentSchema":
			searchPath = v
		default:
			return nil, "", errs.New(errs.InvalidOption, "jdbc: url parameter '%s' is not supported; supported: %s", k, strings.Join(urlParams, ", "))
		}
	}
	if _, ok := settings["sslmode"]; !ok {
		// pgjdbc's default, stated so that pgconn does not take PGSSLMODE.
		settings.Set("sslmode", "prefer")
	}
	if user != "" {
		settings.Set("user", user)
		settings.Set("password", password)
	}
	dsn := "postgres://" + hosts + "/" + url.PathEscape(db) + "?" + settings.Encode()
	cfg, err := pgconn.ParseConfig(dsn)
	if err != nil {
		return nil, "", errs.New(errs.InvalidOption, "jdbc: invalid url '%s': %v", redact(jdbcURL), err)
	}
	if searchPath != "" {
		cfg.RuntimeParams["search_path"] = searchPath
	}
	return cfg, redact(jdbcURL), nil
}

// urlParams are the pgjdbc URL parameters postgresConfig translates.
var urlParams = []string{"ApplicationName", "connectTimeout", "currentSchema", "options", "password", "ssl", "sslcert", "sslkey", "sslmode", "sslrootcert", "user"}

// redact drops a password parameter from a URL for messages.
func redact(u string) string {
	base, query, ok := strings.Cut(u, "?")
	if !ok {
		return u
	}
	parts := strings.Split(query, "&")
	for i, p := range parts {
		if k, _, _ := strings.Cut(p, "="); k == "password" {
			parts[i] = "password=***"
		}
	}
	return base + "?" + strings.Join(parts, "&")
}

// connect opens a connection, retrying failures to reach the server until
// connection.max-retry-timeout has passed: a job started while PostgreSQL
// restarts waits for it, and an unreachable server is an error after that
// time rather than a hang. Errors PostgreSQL itself reports (a wrong
// password, a missing database) are not retried.
func (c *config) connect(ctx context.Context, runtime map[string]string) (*pgconn.PgConn, error) {
	cfg := c.conn.Copy()
	for k, v := range runtime {
		cfg.RuntimeParams[k] = v
	}
	ctx, cancel := context.WithTimeout(ctx, c.maxRetryTimeout)
	defer cancel()
	backoff := 50 * time.Millisecond
	for {
		conn, err := pgconn.ConnectConfig(ctx, cfg)
		if err == nil {
			return conn, nil
		}
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) {
			return nil, fmt.Errorf("jdbc: connecting to %s: %w", c.url, err)
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("jdbc: cannot connect to %s within %s (%s): %w", c.url, c.maxRetryTimeout, ConnectionMaxRetryTimeout, err)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("jdbc: cannot connect to %s within %s (%s): %w", c.url, c.maxRetryTimeout, ConnectionMaxRetryTimeout, err)
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Second)
	}
}

// quoteQualified quotes a possibly schema-qualified name.
func quoteQualified(name string) (string, error) {
	if strings.TrimSpace(name) == "" {
		return "", errs.New(errs.InvalidOption, "jdbc: '%s' must name a table", TableName)
	}
	parts := strings.Split(name, ".")
	for i, p := range parts {
		if p == "" {
			return "", errs.New(errs.InvalidOption, "jdbc: invalid '%s' '%s'", TableName, name)
		}
		parts[i] = quoteIdent(p)
	}
	return strings.Join(parts, "."), nil
}

// quoteIdent spells a name as PostgreSQL reads Flink's unquoted one: Flink's
// PostgreSQL dialect writes names as they are, so PostgreSQL folds a plain
// name (letters, digits, '_') to lower case; Eddy folds it the same way and
// quotes it, so that names that are also keywords ('user', 'order') work.
// Other names are quoted as they are.
func quoteIdent(name string) string {
	plain := name != "" && !(name[0] >= '0' && name[0] <= '9')
	for _, r := range name {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			plain = false
			break
		}
	}
	if plain {
		name = strings.ToLower(name)
	}
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

// quoteColumns quotes the named columns, comma-separated.
func quoteColumns(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = quoteIdent(n)
	}
	return strings.Join(q, ", ")
}

// itoa is strconv.FormatInt for SQL parameters.
func itoa(v int64) []byte { return strconv.AppendInt(nil, v, 10) }
