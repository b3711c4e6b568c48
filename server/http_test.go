package server

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestHTTPJobPlanAndMetrics reads a running job through the HTTP API: its
// plan (vertices, their operators and how rows reach them) and metrics,
// the backpressure, watermark and watermark lag in /metrics, and DELETE
// cancelling it.
func TestHTTPJobPlanAndMetrics(t *testing.T) {
	_, addr, httpAddr := testServer(t, Config{})
	ctx := context.Background()
	conn := connect(t, addr)
	_, err := conn.Exec(ctx, `CREATE TABLE clicks (k INT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
WITH ('connector' = 'datagen', 'rows-per-second' = '1000', 'fields.k.min' = '1', 'fields.k.max' = '3');
CREATE TABLE counts (k INT, n BIGINT) WITH ('connector' = 'blackhole');
SET 'parallelism.default' = '2';
INSERT INTO counts SELECT k, count(*) FROM clicks GROUP BY k`)
	require.NoError(t, err)

	do := func(method, path string) (int, string) {
		req, err := http.NewRequest(method, "http://"+httpAddr+path, nil)
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(b)
	}
	_, body := do("GET", "/v1/jobs")
	var list struct{ Jobs []jobJSON }
	require.NoError(t, json.Unmarshal([]byte(body), &list))
	var id string
	for _, j := range list.Jobs {
		if strings.HasPrefix(j.Name, "insert-into") {
			id = j.ID
		}
	}
	require.NotEmpty(t, id, body)

	code, body := do("GET", "/v1/jobs/"+id)
	require.Equal(t, 200, code)
	var job jobJSON
	require.NoError(t, json.Unmarshal([]byte(body), &job))
	require.NotNil(t, job.Plan, body)
	require.Len(t, job.Plan.Nodes, 2, body)
	src, agg := job.Plan.Nodes[0], job.Plan.Nodes[1]
	require.Equal(t, 2, src.Parallelism)
	require.Contains(t, src.Operators[0], "TableSourceScan")
	require.Equal(t, []planInputJSON{{Num: 0, ID: src.ID, ShipStrategy: "HASH", Keys: []int{0}}}, agg.Inputs)
	require.Contains(t, strings.Join(agg.Operators, " "), "GroupAggregate")
	require.NotEmpty(t, job.Metrics)

	lag := regexp.MustCompile(`(?m)^eddy_operator_watermark_lag_seconds\{job="` + id + `",[^}]*WatermarkAssigner[^}]*\} (\S+)$`)
	state := regexp.MustCompile(`(?m)^eddy_operator_state_bytes\{job="` + id + `",[^}]*GroupAggregate[^}]*\} [1-9][0-9]*$`)
	require.Eventually(t, func() bool {
		_, body = do("GET", "/metrics")
		return lag.MatchString(body) && strings.Contains(body, "eddy_operator_watermark_milliseconds{job=\""+id+"\"") &&
			strings.Contains(body, "eddy_operator_backpressured_seconds_total{job=\""+id+"\"") && state.MatchString(body)
	}, 10*time.Second, 50*time.Millisecond, "%s", body)
	_, body = do("GET", "/v1/jobs/"+id)
	require.Contains(t, body, `"stateBytes"`)

	code, _ = do("DELETE", "/v1/jobs/"+id)
	require.Equal(t, http.StatusAccepted, code)
	require.Eventually(t, func() bool {
		_, body = do("GET", "/v1/jobs/"+id)
		return strings.Contains(body, `"CANCELED"`)
	}, 10*time.Second, 20*time.Millisecond)
	code, _ = do("DELETE", "/v1/jobs/nope")
	require.Equal(t, http.StatusNotFound, code)
}
