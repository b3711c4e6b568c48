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

// TestHTTPJobCheckpoints: a job checkpointing every 10 ms shows its
// completed checkpoints and restarts in GET /v1/jobs/{id} and as
// Prometheus counters.
func TestHTTPJobCheckpoints(t *testing.T) {
	_, addr, httpAddr := testServer(t, Config{})
	ctx := context.Background()
	conn := connect(t, addr)
	_, err := conn.Exec(ctx, `CREATE TABLE clicks (k INT) WITH ('connector' = 'datagen', 'rows-per-second' = '1000', 'fields.k.min' = '1', 'fields.k.max' = '3');
CREATE TABLE counts (k INT, n BIGINT) WITH ('connector' = 'blackhole');
SET 'execution.checkpointing.interval' = '10 ms';
INSERT INTO counts SELECT k, count(*) FROM clicks GROUP BY k`)
	require.NoError(t, err)

	get := func(path string) string {
		resp, err := http.Get("http://" + httpAddr + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return string(b)
	}
	var list struct{ Jobs []jobJSON }
	require.NoError(t, json.Unmarshal([]byte(get("/v1/jobs")), &list))
	require.Len(t, list.Jobs, 1)
	id := list.Jobs[0].ID

	require.Eventually(t, func() bool {
		var job jobJSON
		require.NoError(t, json.Unmarshal([]byte(get("/v1/jobs/"+id)), &job))
		return job.Checkpoints != nil && job.Checkpoints.Completed > 0 && job.Checkpoints.Restarts == 0
	}, 10*time.Second, 20*time.Millisecond)
	completed := regexp.MustCompile(`(?m)^eddy_job_checkpoints_completed_total\{job="` + id + `"\} [1-9][0-9]*$`)
	body := get("/metrics")
	require.Regexp(t, completed, body)
	require.True(t, strings.Contains(body, `eddy_job_restarts_total{job="`+id+`"} 0`), body)
}
