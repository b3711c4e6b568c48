package exec

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/eddysql/eddy/exec/connector"
)

// Flink's checkpointing options, read from the job's configuration
// (JobGraph.Config, the session's SET options) when the job is submitted.
const (
	// CheckpointingIntervalKey enables periodic checkpoints: the
	// JobManager triggers one every interval. Unset, the job takes none.
	CheckpointingIntervalKey = "execution.checkpointing.interval"
	// CheckpointingTimeoutKey aborts a checkpoint that has not completed
	// in time (default DefaultCheckpointTimeout).
	CheckpointingTimeoutKey = "execution.checkpointing.timeout"
	// CheckpointingMaxConcurrentKey is how many checkpoints may be in
	// flight; only 1 (Flink's default) is supported.
	CheckpointingMaxConcurrentKey = "execution.checkpointing.max-concurrent-checkpoints"
	// CheckpointingDirKey (alias CheckpointsDirKey) is where completed
	// checkpoints are written, in the savepoint format; unset, they are
	// kept in the JobManager's memory only.
	CheckpointingDirKey = "execution.checkpointing.dir"
	CheckpointsDirKey   = "state.checkpoints.dir"
	// CheckpointingNumRetainedKey (alias NumRetainedKey) is how many
	// completed checkpoints stay in the directory (default 1).
	CheckpointingNumRetainedKey = "execution.checkpointing.num-retained"
	NumRetainedKey              = "state.checkpoints.num-retained"
)

// runtimeModeKey is Flink's execution.runtime-mode (the table package's
// RuntimeMode).
const runtimeModeKey = "execution.runtime-mode"

// DefaultCheckpointTimeout is Flink's default execution.checkpointing.timeout.
const DefaultCheckpointTimeout = 10 * time.Minute

// CheckpointConfig is how a job takes periodic checkpoints.
type CheckpointConfig struct {
	// Interval between checkpoint triggers; 0 disables checkpointing.
	Interval time.Duration
	// Timeout aborts a checkpoint that has not completed.
	Timeout time.Duration
	// Dir, when set, receives every completed checkpoint as
	// Dir/<job id>/chk-<n>/_metadata (Flink's layout); only the Retained
	// latest are kept there.
	Dir      string
	Retained int
}

// Enabled reports whether the job takes checkpoints.
func (c CheckpointConfig) Enabled() bool { return c.Interval > 0 }

// CheckpointConfigFrom reads the checkpointing options of a job's
// configuration; an invalid value is an error naming the option.
func CheckpointConfigFrom(cfg map[string]string) (CheckpointConfig, error) {
	c := CheckpointConfig{Timeout: DefaultCheckpointTimeout, Retained: 1}
	if v, ok := cfg[CheckpointingIntervalKey]; ok && v != "" {
		d, err := positiveDuration(CheckpointingIntervalKey, v)
		if err != nil {
			return c, err
		}
		c.Interval = d
	}
	if v, ok := cfg[CheckpointingTimeoutKey]; ok && v != "" {
		d, err := positiveDuration(CheckpointingTimeoutKey, v)
		if err != nil {
			return c, err
		}
		c.Timeout = d
	}
	if v, ok := cfg[CheckpointingMaxConcurrentKey]; ok && v != "" {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 1 {
			return c, fmt.Errorf("exec: %s must be a positive integer, not '%s'", CheckpointingMaxConcurrentKey, v)
		}
		if n != 1 {
			return c, fmt.Errorf("exec: %s = %d is not supported yet: at most one checkpoint is in flight", CheckpointingMaxConcurrentKey, n)
		}
	}
	for _, key := range []string{NumRetainedKey, CheckpointingNumRetainedKey} {
		if v, ok := cfg[key]; ok && v != "" {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || n < 1 {
				return c, fmt.Errorf("exec: %s must be a positive integer, not '%s'", key, v)
			}
			c.Retained = n
		}
	}
	key := CheckpointingDirKey
	c.Dir = cfg[key]
	if c.Dir == "" {
		key, c.Dir = CheckpointsDirKey, cfg[CheckpointsDirKey]
	}
	if strings.EqualFold(cfg[runtimeModeKey], "batch") {
		// As in Flink, a batch job takes no checkpoints: a restart runs it
		// again from the start.
		c.Interval = 0
	}
	// Flink names directories by URI; only the local file system is
	// supported.
	if rest, ok := strings.CutPrefix(c.Dir, "file://"); ok {
		c.Dir = rest
	} else if strings.Contains(c.Dir, "://") {
		return c, fmt.Errorf("exec: %s '%s': only local directories (file://) are supported", key, c.Dir)
	}
	return c, nil
}

func positiveDuration(key, v string) (time.Duration, error) {
	d, err := connector.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("exec: %s: %v", key, err)
	}
	if d <= 0 {
		return 0, fmt.Errorf("exec: %s must be a positive duration, not '%s'", key, v)
	}
	return d, nil
}

// Flink's restart strategy options.
const (
	RestartStrategyKey = "restart-strategy.type"

	FixedDelayAttemptsKey = "restart-strategy.fixed-delay.attempts"
	FixedDelayDelayKey    = "restart-strategy.fixed-delay.delay"

	FailureRateMaxFailuresKey = "restart-strategy.failure-rate.max-failures-per-interval"
	FailureRateIntervalKey    = "restart-strategy.failure-rate.failure-rate-interval"
	FailureRateDelayKey       = "restart-strategy.failure-rate.delay"

	ExponentialInitialBackoffKey = "restart-strategy.exponential-delay.initial-backoff"
	ExponentialMaxBackoffKey     = "restart-strategy.exponential-delay.max-backoff"
	ExponentialMultiplierKey     = "restart-strategy.exponential-delay.backoff-multiplier"
	ExponentialResetThresholdKey = "restart-strategy.exponential-delay.reset-backoff-threshold"
	ExponentialJitterKey         = "restart-strategy.exponential-delay.jitter-factor"
	ExponentialAttemptsKey       = "restart-strategy.exponential-delay.attempts-before-reset-backoff"
)

// RestartStrategy decides, after a task failure, whether the job restarts
// and after which delay (Flink's RestartBackoffTimeStrategy). It is used by
// one job's JobManager goroutines under the job's lock.
type RestartStrategy interface {
	// OnFailure records a failure at now and returns whether the job may
	// restart and the delay before it does.
	OnFailure(now time.Time) (restart bool, delay time.Duration)
	// String names the strategy, for errors.
	String() string
}

// RestartStrategyFrom builds the job's restart strategy from its
// configuration. Without restart-strategy.type the job restarts only when
// checkpointing is enabled, with exponential-delay, as Flink does.
func RestartStrategyFrom(cfg map[string]string, checkpointing bool) (RestartStrategy, error) {
	typ := strings.ToLower(strings.TrimSpace(cfg[RestartStrategyKey]))
	if typ == "" {
		if !checkpointing {
			return noRestart{}, nil
		}
		typ = "exponential-delay"
	}
	switch typ {
	case "none", "off", "disable":
		return noRestart{}, nil
	case "fixed-delay", "fixeddelay":
		attempts, err := intOption(cfg, FixedDelayAttemptsKey, 1)
		if err != nil {
			return nil, err
		}
		delay, err := durationOption(cfg, FixedDelayDelayKey, time.Second)
		if err != nil {
			return nil, err
		}
		return &fixedDelay{attempts: attempts, delay: delay}, nil
	case "failure-rate", "failurerate":
		maxFailures, err := intOption(cfg, FailureRateMaxFailuresKey, 1)
		if err != nil {
			return nil, err
		}
		interval, err := durationOption(cfg, FailureRateIntervalKey, time.Minute)
		if err != nil {
			return nil, err
		}
		delay, err := durationOption(cfg, FailureRateDelayKey, time.Second)
		if err != nil {
			return nil, err
		}
		return &failureRate{max: maxFailures, interval: interval, delay: delay}, nil
	case "exponential-delay", "exponentialdelay":
		return exponentialDelayFrom(cfg)
	}
	return nil, fmt.Errorf("exec: %s must be one of none, fixed-delay, failure-rate, exponential-delay, not '%s'", RestartStrategyKey, cfg[RestartStrategyKey])
}

// exponentialDelayFrom reads Flink's exponential-delay options with their
// defaults (Flink 1.19+).
func exponentialDelayFrom(cfg map[string]string) (RestartStrategy, error) {
	s := &exponentialDelay{}
	var err error
	if s.initial, err = durationOption(cfg, ExponentialInitialBackoffKey, time.Second); err != nil {
		return nil, err
	}
	if s.max, err = durationOption(cfg, ExponentialMaxBackoffKey, time.Minute); err != nil {
		return nil, err
	}
	if s.multiplier, err = floatOption(cfg, ExponentialMultiplierKey, 1.5); err != nil {
		return nil, err
	}
	if s.multiplier < 1 {
		return nil, fmt.Errorf("exec: %s must be at least 1, not %g", ExponentialMultiplierKey, s.multiplier)
	}
	if s.reset, err = durationOption(cfg, ExponentialResetThresholdKey, time.Hour); err != nil {
		return nil, err
	}
	if s.jitter, err = floatOption(cfg, ExponentialJitterKey, 0.1); err != nil {
		return nil, err
	}
	if s.jitter < 0 || s.jitter > 1 {
		return nil, fmt.Errorf("exec: %s must be between 0 and 1, not %g", ExponentialJitterKey, s.jitter)
	}
	if s.attempts, err = intOption(cfg, ExponentialAttemptsKey, math.MaxInt32); err != nil {
		return nil, err
	}
	return s, nil
}

func intOption(cfg map[string]string, key string, def int) (int, error) {
	v, ok := cfg[key]
	if !ok || v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 0 {
		return 0, fmt.Errorf("exec: %s must be a non-negative integer, not '%s'", key, v)
	}
	return n, nil
}

func floatOption(cfg map[string]string, key string, def float64) (float64, error) {
	v, ok := cfg[key]
	if !ok || v == "" {
		return def, nil
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("exec: %s must be a number, not '%s'", key, v)
	}
	return f, nil
}

func durationOption(cfg map[string]string, key string, def time.Duration) (time.Duration, error) {
	v, ok := cfg[key]
	if !ok || v == "" {
		return def, nil
	}
	d, err := connector.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("exec: %s: %v", key, err)
	}
	return d, nil
}

// ValidateJobConfig checks the checkpointing and restart options of a job
// configuration, so that a session can refuse an invalid SET at once.
func ValidateJobConfig(cfg map[string]string) error {
	c, err := CheckpointConfigFrom(cfg)
	if err != nil {
		return err
	}
	_, err = RestartStrategyFrom(cfg, c.Enabled())
	return err
}

// ValidateJobOption checks one checkpointing or restart option as SET
// gives it, before the job's other options are known: a restart
// strategy's option is checked as if its strategy were chosen. Other keys
// are accepted.
func ValidateJobOption(key, value string) error {
	cfg := map[string]string{key: value}
	for _, typ := range []string{"fixed-delay", "failure-rate", "exponential-delay"} {
		if strings.HasPrefix(key, "restart-strategy."+typ+".") {
			cfg[RestartStrategyKey] = typ
		}
	}
	return ValidateJobConfig(cfg)
}

// noRestart fails the job at its first failure.
type noRestart struct{}

func (noRestart) OnFailure(time.Time) (bool, time.Duration) { return false, 0 }
func (noRestart) String() string                            { return "none" }

// fixedDelay restarts at most attempts times, each after delay.
type fixedDelay struct {
	attempts int
	delay    time.Duration
	restarts int
}

func (s *fixedDelay) OnFailure(time.Time) (bool, time.Duration) {
	if s.restarts >= s.attempts {
		return false, 0
	}
	s.restarts++
	return true, s.delay
}

func (s *fixedDelay) String() string {
	return fmt.Sprintf("fixed-delay (attempts=%d, delay=%s)", s.attempts, s.delay)
}

// failureRate restarts after delay unless more than max failures fell
// within the last interval.
type failureRate struct {
	max      int
	interval time.Duration
	delay    time.Duration
	failures []time.Time
}

func (s *failureRate) OnFailure(now time.Time) (bool, time.Duration) {
	s.failures = append(s.failures, now)
	for len(s.failures) > 0 && now.Sub(s.failures[0]) > s.interval {
		s.failures = s.failures[1:]
	}
	if len(s.failures) > s.max {
		return false, 0
	}
	return true, s.delay
}

func (s *failureRate) String() string {
	return fmt.Sprintf("failure-rate (max-failures-per-interval=%d, failure-rate-interval=%s)", s.max, s.interval)
}

// exponentialDelay is Flink's ExponentialDelayRestartBackoffTimeStrategy:
// the delay starts at initial and grows by multiplier with each failure up
// to max, with a random jitter of ±jitter; a failure more than reset after
// the previous one starts over at initial. The job fails once attempts
// restarts happened without such a reset.
type exponentialDelay struct {
	initial, max, reset time.Duration
	multiplier, jitter  float64
	attempts            int

	backoff  time.Duration // the next delay before jitter; 0 before the first failure
	last     time.Time
	restarts int
}

func (s *exponentialDelay) OnFailure(now time.Time) (bool, time.Duration) {
	if s.backoff == 0 || now.Sub(s.last) >= s.reset {
		s.backoff, s.restarts = min(s.initial, s.max), 0
	} else {
		s.backoff = min(time.Duration(float64(s.backoff)*s.multiplier), s.max)
	}
	s.last = now
	if s.restarts >= s.attempts {
		return false, 0
	}
	s.restarts++
	d := s.backoff
	if s.jitter > 0 && d > 0 {
		spread := float64(d) * s.jitter
		d += time.Duration(spread * (2*rand.Float64() - 1))
	}
	return true, max(d, 0)
}

func (s *exponentialDelay) String() string {
	return fmt.Sprintf("exponential-delay (attempts-before-reset-backoff=%d)", s.attempts)
}
