package optimizer_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/catalog"
	"github.com/eddysql/eddy/exec"
	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/optimizer"
	"github.com/eddysql/eddy/planner"
	"github.com/eddysql/eddy/sql"
)

// TestWatermarkIdleTimeoutOption checks that the table option
// 'scan.watermark.idle-timeout' is the engine's (accepted whatever the
// connector declares, validated as a duration, not passed to the
// connector) and reaches the watermark assigner's spec, and that the other
// 'scan.watermark.*' options of Flink 1.18 are validated and accepted.
func TestWatermarkIdleTimeoutOption(t *testing.T) {
	for _, tc := range []struct {
		option string // the WITH entry added to the table, if any
		want   int64
		err    string
	}{
		{want: 0},
		{option: `, 'scan.watermark.idle-timeout' = '50 ms'`, want: 50},
		{option: `, 'scan.watermark.idle-timeout' = '1 min'`, want: 60000},
		{option: `, 'scan.watermark.idle-timeout' = 'soon'`, err: "scan.watermark.idle-timeout"},
		{option: `, 'scan.watermark.emit.strategy' = 'on-event', 'scan.watermark.alignment.group' = 'g',
			'scan.watermark.alignment.max-drift' = '1 s', 'scan.watermark.alignment.update-interval' = '100 ms'`, want: 0},
		{option: `, 'scan.watermark.emit.strategy' = 'sometimes'`, err: "must be 'on-event' or 'on-periodic'"},
		{option: `, 'scan.watermark.alignment.max-drift' = 'far'`, err: "scan.watermark.alignment.max-drift"},
		{option: `, 'scan.watermark.bogus' = 'x'`, err: "unsupported option 'scan.watermark.bogus'"},
	} {
		p := &planner.Planner{Catalog: catalog.NewManager()}
		out := execDDL(p, `CREATE TABLE t (a BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts)
WITH ('connector' = 'datagen'`+tc.option+`);`)
		if tc.err != "" {
			require.Contains(t, out, tc.err)
			continue
		}
		require.Empty(t, out)
		stmt, err := sql.ParseStatement("SELECT * FROM t")
		require.NoError(t, err)
		n, err := p.PlanQuery("SELECT * FROM t", stmt.(*sql.QueryStatement).Query)
		require.NoError(t, err)
		phys, err := optimizer.Physicalize(optimizer.Optimize(n, optimizer.Options{}), optimizer.Config{Parallelism: 1, CollectID: "test"})
		require.NoError(t, err)
		g, err := optimizer.ToJobGraph("test", nil, phys)
		require.NoError(t, err)
		found := false
		for _, v := range g.Vertices {
			for _, op := range v.Operators {
				switch op.Kind {
				case exec.KindWatermarkAssigner:
					var s exec.WatermarkAssignerSpec
					require.NoError(t, json.Unmarshal(op.Spec, &s))
					require.Equal(t, tc.want, s.IdleTimeoutMillis)
					found = true
				case exec.KindSource:
					var s connector.ScanSpec
					require.NoError(t, json.Unmarshal(op.Spec, &s))
					require.NotContains(t, s.Table.Options, "scan.watermark.idle-timeout")
				}
			}
		}
		require.True(t, found, "no watermark assigner in the job graph")
	}
}
