package conformance

import (
	"context"
	"fmt"
	"testing"

	"github.com/eddysql/eddy/table"
	"github.com/eddysql/eddy/table/connector/values"
)

func TestTmpJoinDebug(t *testing.T) {
	ctx := context.Background()
	env, err := table.NewEnvironment(table.Settings{SlotsPerTaskManager: 4, Config: map[string]string{table.Parallelism: "1"}})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := rows([][]any{{"+I", "K1", 100, true, "k4_val1", "Gus"}, {"+I", "A1", 200, false, "k4_val2", "Bob"}, {"+I", "A1", 200, false, "k4_val2", "John"}, {"-D", "A1", 200, false, "k4_val2", "John"}})
	o, _ := rows([][]any{{"+I", 100, "order1", true, "K1", "k4_val1"}, {"+I", 200, "order2", false, "A1", "k4_val2"}})
	uid := values.Register(&values.Data{Before: u})
	oid := values.Register(&values.Data{Before: o})
	for _, s := range []string{
		ddl("Users4K", []string{"k1 STRING PRIMARY KEY NOT ENFORCED", "k2 INT", "k3 BOOLEAN", "k4 STRING", "name STRING"}, nil, nil, "", uid),
		ddl("Orders4K", []string{"k2 INT PRIMARY KEY NOT ENFORCED", "order_id STRING", "k3 BOOLEAN", "k1 STRING", "k4 STRING"}, nil, nil, "", oid),
		"EXPLAIN CHANGELOG_MODE SELECT U.name, O.order_id FROM Users4K AS U JOIN Orders4K AS O ON O.k2 > 100 AND U.k2 = O.k2 AND U.k1 = O.k1 AND U.k3 = O.k3 AND U.k4 = O.k4",
		"SELECT U.name, O.order_id FROM Users4K AS U JOIN Orders4K AS O ON O.k2 > 100 AND U.k2 = O.k2 AND U.k1 = O.k1 AND U.k3 = O.k3 AND U.k4 = O.k4",
	} {
		res, err := env.ExecuteSQL(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Println(res)
	}
}
