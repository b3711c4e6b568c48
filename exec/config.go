package exec

import (
	"fmt"
	"strconv"
)

// BatchSizeKey is the job option that sets the preferred number of rows per
// batch produced by sources and operators that build batches.
const BatchSizeKey = "table.exec.batch-size"

// DefaultBatchSize is the batch size used when BatchSizeKey is not set.
const DefaultBatchSize = 8192

// ChannelCapacity is how many elements (batches, watermarks, end-of-input)
// a channel between two subtasks buffers before its producer blocks. It is
// small on purpose: backpressure must reach sources quickly, and with
// batches of DefaultBatchSize rows a few in flight keep both sides busy.
const ChannelCapacity = 4

// BatchSize reads BatchSizeKey from a job configuration.
func BatchSize(config map[string]string) (int, error) {
	s, ok := config[BatchSizeKey]
	if !ok || s == "" {
		return DefaultBatchSize, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("exec: %s must be a positive integer, got %q", BatchSizeKey, s)
	}
	return n, nil
}
