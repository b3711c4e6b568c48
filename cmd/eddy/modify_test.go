package main

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/table"
)

// threeRows deletes three rows whatever the filters, to show how `eddy
// run` prints a DELETE's result.
type threeRows struct{}

func (threeRows) Identifier() string          { return "test-three-rows" }
func (threeRows) Options() []connector.Option { return nil }
func (threeRows) Internal() bool              { return true }
func (threeRows) ApplyDeleteFilters(connector.TableInfo, []connector.Predicate) bool {
	return true
}

func (threeRows) ExecuteDeletion(context.Context, connector.TableInfo, []connector.Predicate) (int64, error) {
	return 3, nil
}

func init() { connector.Register(threeRows{}) }

// TestDeletePrintsRowsAffected checks that `eddy run` prints a DELETE's
// rows affected as Flink's SQL client prints its TableResult.
func TestDeletePrintsRowsAffected(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	env, err := table.NewEnvironment(table.Settings{})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err = runScript(ctx, &out, env, `SET 'execution.runtime-mode' = 'batch';
CREATE TABLE t (k INT) WITH ('connector' = 'test-three-rows');
DELETE FROM t WHERE k > 1;`)
	if err != nil {
		t.Fatal(err)
	}
	want := `[INFO] Execute statement succeed.

[INFO] Execute statement succeed.

+---------------+
| rows affected |
+---------------+
|             3 |
+---------------+
1 row in set
`
	if got := out.String(); got != want {
		t.Errorf("got:\n%q\nwant:\n%q", got, want)
	}
}
