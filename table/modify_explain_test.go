package table_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/table"
)

// updatable accepts every UPDATE and DELETE and records the last UPDATE it
// ran, so tests see what EXPLAIN promised against what runs.
type updatable struct{ last *connector.UpdatePushDown }

func (*updatable) Identifier() string          { return "test-explain-modify" }
func (*updatable) Options() []connector.Option { return nil }
func (*updatable) Internal() bool              { return true }
func (*updatable) ApplyDeleteFilters(connector.TableInfo, []connector.Predicate) bool {
	return true
}
func (*updatable) ExecuteDeletion(context.Context, connector.TableInfo, []connector.Predicate) (int64, error) {
	return 0, nil
}
func (*updatable) ApplyUpdate(connector.TableInfo, []int, []connector.Predicate) bool { return true }
func (u *updatable) ExecuteUpdate(_ context.Context, _ connector.TableInfo, up connector.UpdatePushDown) (int64, error) {
	up.Values.Retain()
	u.last = &up
	return 2, nil
}

var explainModifyConnector = &updatable{}

func init() { connector.Register(explainModifyConnector) }

// TestExplainUpdate: EXPLAIN UPDATE prints the statement pushed into its
// connector, with its SET values and filters, and running it hands the
// connector those values.
func TestExplainUpdate(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	env, err := table.NewEnvironment(table.Settings{})
	require.NoError(t, err)
	for _, s := range []string{
		"SET 'execution.runtime-mode' = 'batch'",
		"CREATE TABLE t (k INT, v STRING, n BIGINT) WITH ('connector' = 'test-explain-modify')",
	} {
		_, err := env.ExecuteSQL(ctx, s)
		require.NoError(t, err, s)
	}
	const update = "UPDATE t SET v = 'x', n = 1 + 1 WHERE k = 3"
	res, err := env.ExecuteSQL(ctx, "EXPLAIN "+update)
	require.NoError(t, err)
	require.Equal(t, `== Abstract Syntax Tree ==
TableModify(table=[default_catalog.default_database.t], operation=[UPDATE], set=[v = CAST('x' AS STRING NOT NULL), n = CAST((1 + 1) AS BIGINT NOT NULL)])
  +- Filter(condition=[(k = 3)])
    +- TableSourceScan(table=[[default_catalog, default_database, t]], fields=[k, v, n])

== Optimized Logical Plan ==
UpdateFromFilter(table=[default_catalog.default_database.t], set=[v = 'x', n = 2], filters=[k = 3])

== Physical Plan ==
UpdateFromFilter(table=[default_catalog.default_database.t], set=[v = 'x', n = 2], filters=[k = 3]), connector=[test-explain-modify], job=[none]

`, readAll(t, res))

	res, err = env.ExecuteSQL(ctx, update)
	require.NoError(t, err)
	require.Equal(t, int64(2), res.RowsAffected)
	last := explainModifyConnector.last
	require.NotNil(t, last)
	defer last.Values.Release()
	require.Equal(t, []int{1, 2}, last.Columns)
	require.Equal(t, "x", last.Values.Column(0).ValueStr(0))
	require.Equal(t, "2", last.Values.Column(1).ValueStr(0))
	require.Len(t, last.Filters, 1)
}
