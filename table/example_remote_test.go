package table_test

import (
	"context"
	"fmt"
	"net"

	"github.com/eddysql/eddy/exec"
	"github.com/eddysql/eddy/table"
)

// An Environment connected to a remote JobManager plans locally and runs
// its jobs on the remote cluster. `eddy server` serves one on --rpc-addr
// (127.0.0.1:6123 by default); here the same service runs in-process over
// an embedded cluster.
func ExampleSettings_remote() {
	cluster := exec.NewEmbeddedCluster(1, 4, nil)
	svc := exec.NewJobManagerService(cluster.JobManager(), nil)
	l := must(net.Listen("tcp", "127.0.0.1:0"))
	go func() { _ = svc.Serve(l) }()
	defer svc.Stop()

	ctx := context.Background()
	env := must(table.NewEnvironment(table.Settings{Mode: table.Batch, JobManagerAddress: l.Addr().String()}))
	defer env.Close()
	type Total struct {
		Customer string  `eddy:"customer"`
		Total    float64 `eddy:"total"`
	}
	// The rows of FromSlice travel to the cluster in the job graph; the
	// result streams back as Arrow record batches.
	totals := must(table.Collect[Total](ctx, env.FromSlice(sampleOrders).
		Filter(table.Col("customer").Eq("ann")).
		GroupBy(table.Col("customer")).
		Select(table.Col("customer"), table.Col("amount").Sum().As("total"))))
	fmt.Println(totals)
	// Output:
	// [{ann 42.5}]
}
