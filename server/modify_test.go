package server

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/exec/connector"
)

// keysConnector is a table of the keys 1..5 that deletes and updates them
// itself (connector.SupportsDeletePushDown, SupportsUpdatePushDown), for
// the command tags of DELETE and UPDATE. It takes `k > literal` only.
type keysConnector struct {
	mu   sync.Mutex
	keys []int64
	set  []int32 // the values UPDATEs set
}

func (*keysConnector) Identifier() string          { return "test-keys" }
func (*keysConnector) Options() []connector.Option { return nil }
func (*keysConnector) Internal() bool              { return true }

func (*keysConnector) accepts(filters []connector.Predicate) bool {
	return len(filters) == 1 && filters[0].Op == connector.OpGreater
}

// matching returns the keys filters select.
func (c *keysConnector) matching(filters []connector.Predicate) []int64 {
	v, _ := strconv.ParseInt(filters[0].Value, 10, 64)
	var out []int64
	for _, k := range c.keys {
		if k > v {
			out = append(out, k)
		}
	}
	return out
}

func (c *keysConnector) ApplyDeleteFilters(_ connector.TableInfo, filters []connector.Predicate) bool {
	return c.accepts(filters)
}

func (c *keysConnector) ExecuteDeletion(_ context.Context, _ connector.TableInfo, filters []connector.Predicate) (int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	gone := c.matching(filters)
	c.keys = slices.DeleteFunc(c.keys, func(k int64) bool { return slices.Contains(gone, k) })
	return int64(len(gone)), nil
}

func (c *keysConnector) ApplyUpdate(_ connector.TableInfo, _ []int, filters []connector.Predicate) bool {
	return c.accepts(filters)
}

func (c *keysConnector) ExecuteUpdate(_ context.Context, _ connector.TableInfo, u connector.UpdatePushDown) (int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.set = append(c.set, u.Values.Column(0).(*array.Int32).Value(0))
	return int64(len(c.matching(u.Filters))), nil
}

var keys = &keysConnector{keys: []int64{1, 2, 3, 4, 5}}

func init() { connector.Register(keys) }

// TestDeleteUpdateCommandTags checks that DELETE and UPDATE complete with
// PostgreSQL's command tags carrying the rows affected, over the simple
// and the extended protocol.
func TestDeleteUpdateCommandTags(t *testing.T) {
	_, addr, _ := testServer(t, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn := connect(t, addr)
	for _, s := range []string{
		"SET 'execution.runtime-mode' = 'batch'",
		"CREATE TABLE ks (k BIGINT, v INT) WITH ('connector' = 'test-keys')",
	} {
		_, err := conn.Exec(ctx, s)
		require.NoError(t, err, s)
	}

	tag, err := conn.Exec(ctx, "UPDATE ks SET v = 7 WHERE k > 1", pgx.QueryExecModeSimpleProtocol)
	require.NoError(t, err)
	require.Equal(t, "UPDATE 4", tag.String())

	// Extended protocol: the parameters take the types of the column
	// they are assigned to and compared with.
	tag, err = conn.Exec(ctx, "UPDATE ks SET v = $1 WHERE k > $2", 9, 4)
	require.NoError(t, err)
	require.Equal(t, "UPDATE 1", tag.String())

	tag, err = conn.Exec(ctx, "DELETE FROM ks WHERE k > $1", 3)
	require.NoError(t, err)
	require.Equal(t, "DELETE 2", tag.String())

	tag, err = conn.Exec(ctx, "DELETE FROM ks WHERE k > 0", pgx.QueryExecModeSimpleProtocol)
	require.NoError(t, err)
	require.Equal(t, "DELETE 3", tag.String())

	keys.mu.Lock()
	defer keys.mu.Unlock()
	require.Empty(t, keys.keys)
	require.Equal(t, []int32{7, 9}, keys.set)
}
