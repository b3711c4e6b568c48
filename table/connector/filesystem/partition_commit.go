package filesystem

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/internal/javafmt"
)

// Partition commit, as Flink's filesystem sink: once a partition is
// complete by its trigger, a policy tells downstream readers so. Flink
// decides in a committer of parallelism 1 after the writers; here the
// JobManager does, through the factory's connector.JobCommitter, with every
// subtask's state of a completed checkpoint: the partitions each writer
// wrote to and has not seen committed, and its watermark. A partition
// commits when
//   - process-time: the processing time is past the time a writer first
//     wrote to it plus sink.partition-commit.delay;
//   - partition-time: the least watermark of the writers is past the time
//     extracted from its values plus the delay;
//   - or when the job ends (every subtask finished its input).
//
// The success-file policy then writes an empty sink.partition-commit.
// success-file.name file into the partition's directory, after the part
// files of that checkpoint are committed. Only partitioned tables commit
// partitions, as in Flink.
const (
	CommitTrigger       = "sink.partition-commit.trigger"
	CommitDelay         = "sink.partition-commit.delay"
	CommitWatermarkZone = "sink.partition-commit.watermark-time-zone"
	CommitPolicyKind    = "sink.partition-commit.policy.kind"
	CommitPolicyClass   = "sink.partition-commit.policy.class"
	SuccessFileName     = "sink.partition-commit.success-file.name"
	TimeExtractorKind   = "partition.time-extractor.kind"
	TimeExtractorClass  = "partition.time-extractor.class"
	TimestampPattern    = "partition.time-extractor.timestamp-pattern"
	TimestampFormatter  = "partition.time-extractor.timestamp-formatter"
)

var commitOptions = []connector.Option{
	{Key: CommitTrigger, Type: connector.Enum, Enum: []string{"process-time", "partition-time"}, Default: "process-time",
		Doc: "When a partition commits: 'process-time' once the processing time passes the time a writer first wrote to it plus the delay; 'partition-time' once the watermark passes the time extracted from its values plus the delay."},
	{Key: CommitDelay, Type: connector.Duration, Default: "0 s", Doc: "How long after its trigger time a partition commits."},
	{Key: CommitWatermarkZone, Type: connector.String, Default: "UTC",
		Doc: "The time zone of the partition times the partition-time trigger compares with the watermark (e.g. 'Asia/Shanghai')."},
	{Key: CommitPolicyKind, Type: connector.String,
		Doc: "How a partition commits: 'success-file' writes an empty file into its directory. Without it, partitions do not commit. 'metastore' applies to Hive tables only, 'custom' needs a Java class: both are errors here."},
	{Key: CommitPolicyClass, Type: connector.String, Doc: "The class of a 'custom' commit policy: Java classes cannot run here."},
	{Key: SuccessFileName, Type: connector.String, Default: "_SUCCESS", Doc: "The name of the success-file policy's file."},
	{Key: TimeExtractorKind, Type: connector.Enum, Enum: []string{"default", "custom"}, Default: "default",
		Doc: "How partition times are extracted: 'default' by timestamp-pattern and timestamp-formatter; 'custom' needs a Java class."},
	{Key: TimeExtractorClass, Type: connector.String, Doc: "The class of a 'custom' time extractor: Java classes cannot run here."},
	{Key: TimestampPattern, Type: connector.String,
		Doc: "The partition time built from the partition values, each $name replaced by its value (e.g. '$dt $hour:00:00'); by default the first partition column's value."},
	{Key: TimestampFormatter, Type: connector.String,
		Doc: "The Java date-time pattern of the partition time (e.g. 'yyyyMMdd'); by default 'yyyy-MM-dd HH:mm:ss', a date alone meaning its midnight."},
}

// commitConfig is the parsed partition-commit options; successFile is
// unset when partitions do not commit.
type commitConfig struct {
	successFile string
	byWatermark bool
	delay       int64 // ms
	zone        *time.Location
	pattern     string
	layout      string // Go layout of timestamp-formatter, "" for the default
}

func parseCommitConfig(o connector.Options, p partitioning) (commitConfig, error) {
	var c commitConfig
	for _, k := range []string{CommitPolicyClass, TimeExtractorClass} {
		if v := o.String(k); v != "" {
			return c, fmt.Errorf("option '%s' names a Java class (%s), which cannot run here", k, v)
		}
	}
	if o.Enum(TimeExtractorKind) == "custom" {
		return c, fmt.Errorf("option '%s' = 'custom' needs a Java class, which cannot run here", TimeExtractorKind)
	}
	for _, kind := range strings.Split(o.String(CommitPolicyKind), ",") {
		switch kind = strings.TrimSpace(kind); kind {
		case "":
		case "success-file":
			c.successFile = o.String(SuccessFileName)
		case "metastore":
			return c, fmt.Errorf("can not configure a 'metastore' partition commit policy for a file system table; it applies to Hive tables only")
		case "custom":
			return c, fmt.Errorf("the 'custom' partition commit policy needs a Java class (%s), which cannot run here", CommitPolicyClass)
		default:
			return c, fmt.Errorf("option '%s': unknown partition commit policy '%s' (success-file, metastore or custom)", CommitPolicyKind, kind)
		}
	}
	if c.successFile != "" && (strings.ContainsAny(c.successFile, `/\`) || c.successFile == "." || c.successFile == "..") {
		return c, fmt.Errorf("option '%s' must be a file name, not '%s'", SuccessFileName, c.successFile)
	}
	c.byWatermark = o.Enum(CommitTrigger) == "partition-time"
	c.delay = o.Duration(CommitDelay).Milliseconds()
	zone, err := time.LoadLocation(o.String(CommitWatermarkZone))
	if err != nil {
		return c, fmt.Errorf("option '%s': %w", CommitWatermarkZone, err)
	}
	c.zone = zone
	c.pattern = o.String(TimestampPattern)
	if f := o.String(TimestampFormatter); f != "" {
		c.layout = javafmt.GoLayout(f)
	}
	if c.successFile != "" && c.byWatermark && !p.partitioned() {
		return c, fmt.Errorf("the 'partition-time' commit trigger needs a partitioned table")
	}
	return c, nil
}

// commits reports whether the sink commits partitions.
func (c config) commits() bool { return c.commit.successFile != "" && c.parts.partitioned() }

// partitionState is a partition a writer wrote to and has not seen
// committed: its directory relative to the table's path, and the
// processing time (ms) the writer first wrote to it.
type partitionState struct {
	Dir     string `json:"dir"`
	Created int64  `json:"created"`
}

// trackedPartition is a writer's view of a partitionState.
type trackedPartition struct {
	created int64
	// written is set when rows went to the partition since the last
	// pre-commit; ready is the checkpoint at whose pre-commit the writer
	// saw the partition's trigger fire (valid when isReady).
	written bool
	isReady bool
	ready   int64
}

// notePartition records a write into partition directory dir.
func (w *writer) notePartition(dir string) {
	p := w.partitions[dir]
	if p == nil {
		p = &trackedPartition{created: w.now()}
		w.partitions[dir] = p
	}
	p.written, p.isReady = true, false
}

// OnWatermark implements connector.WatermarkWriter, for the partition-time
// trigger.
func (w *writer) OnWatermark(ms int64) error {
	w.watermark = max(w.watermark, ms)
	return nil
}

// partitionsAt lists the tracked partitions at the pre-commit of
// checkpoint id, at processing time now, noting which the writer sees
// ready: not one with a part file still in progress, whose rows are not
// committed with the checkpoint.
func (w *writer) partitionsAt(id, now int64) []partitionState {
	out := make([]partitionState, 0, len(w.partitions))
	for dir, p := range w.partitions {
		p.written = false
		if !p.isReady && w.files[dir] == nil && w.cfg.ready(dir, p.created, now, w.watermark) {
			p.isReady, p.ready = true, id
		}
		out = append(out, partitionState{Dir: dir, Created: p.created})
	}
	slices.SortFunc(out, func(a, b partitionState) int { return strings.Compare(a.Dir, b.Dir) })
	return out
}

// forgetCommitted drops the partitions that committed at checkpoint id:
// those the writer saw ready at its pre-commit of id or earlier, not
// written to since, whose success file is there. The JobManager commits
// the partitions of a checkpoint before it tells the writers, with the
// least watermark of all writers and a later processing time: a partition
// ready in this writer's view whose success file exists was committed by
// then (again, if it was written to after an earlier commit).
func (w *writer) forgetCommitted(id int64) error {
	for dir, p := range w.partitions {
		if p.written || !p.isReady || p.ready > id {
			continue
		}
		_, err := os.Stat(filepath.Join(w.cfg.path, dir, w.cfg.commit.successFile))
		switch {
		case err == nil:
			delete(w.partitions, dir)
		case !errors.Is(err, os.ErrNotExist):
			return fmt.Errorf("filesystem: %w", err)
		}
	}
	return nil
}

// adoptPartitions tracks the partitions of a restored state.
func (w *writer) adoptPartitions(s sinkState) {
	for _, p := range s.Partitions {
		if t := w.partitions[p.Dir]; t == nil || p.Created < t.created {
			w.partitions[p.Dir] = &trackedPartition{created: p.Created}
		}
	}
}

// ready reports whether the trigger of partition dir, first written at
// created, fires at processing time now and watermark wm.
func (c config) ready(dir string, created, now, wm int64) bool {
	if !c.commit.byWatermark {
		return now > created+c.commit.delay
	}
	t, err := c.partitionTime(dir)
	return err == nil && wm > t+c.commit.delay
}

// partitionTime extracts the time of partition directory dir as Flink's
// DefaultPartTimeExtractor: the timestamp pattern with each $key replaced
// by its value (longer keys first, so that $hour is not read as $h), or
// the first partition value, parsed by the formatter, in the watermark
// time zone.
func (c config) partitionTime(dir string) (int64, error) {
	vals := c.parts.values(c.schema, filepath.Join(dir, "f"))
	s := ""
	if c.commit.pattern == "" {
		if v := vals[c.parts.keys[0]]; v != nil {
			s = *v
		}
	} else {
		keys := slices.Clone(c.parts.keys)
		slices.SortFunc(keys, func(a, b int) int {
			return len(c.schema.Columns[b].Name) - len(c.schema.Columns[a].Name)
		})
		s = c.commit.pattern
		for _, k := range keys {
			v := ""
			if p := vals[k]; p != nil {
				v = *p
			}
			s = strings.ReplaceAll(s, "$"+c.schema.Columns[k].Name, v)
		}
	}
	layouts := []string{time.DateTime, "2006-01-02 15:04:05.999999999", "2006-01-02 15:04", time.DateOnly}
	if c.commit.layout != "" {
		layouts = []string{c.commit.layout}
	}
	for _, l := range layouts {
		if t, err := time.ParseInLocation(l, s, c.commit.zone); err == nil {
			return t.UnixMilli(), nil
		}
	}
	return 0, fmt.Errorf("partition %s: cannot read a time from '%s'", dir, s)
}

// CommitJob implements connector.JobCommitter: it commits the part files
// the states pre-committed (at the checkpoint, or all of them when the job
// is restored or ends); an INSERT OVERWRITE that ended first clears what
// its partitions (or the table) held; then the ready partitions commit,
// except those with a file in progress. It leaves the states' in-progress
// files to the writers that recover them, which resume them.
func (Factory) CommitJob(spec connector.SinkSpec, checkpoint int64, raw [][]byte) error {
	c, err := parseConfig(spec.Table)
	if err != nil {
		return err
	}
	var states []sinkState
	for _, b := range raw {
		if len(b) == 0 {
			continue
		}
		s, err := decodeSinkState(b)
		if err != nil {
			return err
		}
		states = append(states, s)
	}
	all := checkpoint == connector.EndOfInput || checkpoint == connector.RestoredStates
	if spec.Overwrite && checkpoint == connector.EndOfInput {
		if err := clearOverwritten(c, spec, states); err != nil {
			return err
		}
	}
	for _, s := range states {
		for _, p := range s.Pending {
			if all || p.Checkpoint > 0 && p.Checkpoint <= checkpoint {
				if err := commitFile(c.path, p.Path); err != nil {
					return err
				}
			}
		}
	}
	if !c.commits() {
		return nil
	}
	created := map[string]int64{}
	// A partition with a part file in progress in any writer is not
	// complete: its success file would precede rows of it.
	open := map[string]bool{}
	wm := int64(math.MaxInt64)
	for _, s := range states {
		wm = min(wm, s.Watermark)
		for _, f := range s.InProgress {
			open[filepath.Dir(f.Path)] = true
		}
		for _, p := range s.Partitions {
			if t, ok := created[p.Dir]; !ok || p.Created < t {
				created[p.Dir] = p.Created
			}
		}
	}
	now := time.Now().UnixMilli()
	for dir, t := range created {
		if open[filepath.Clean(dir)] {
			continue
		}
		if checkpoint == connector.EndOfInput || c.ready(dir, t, now, wm) {
			if err := writeSuccessFile(filepath.Join(c.path, dir, c.commit.successFile)); err != nil {
				return err
			}
		}
	}
	return nil
}

// writeSuccessFile writes the success-file policy's empty file, replacing
// one a previous commit of the partition wrote.
func writeSuccessFile(path string) error {
	f, err := os.Create(path)
	if err == nil {
		err = f.Close()
	}
	if err != nil {
		return fmt.Errorf("filesystem: committing partition: %w", err)
	}
	return nil
}

// clearOverwritten removes what an INSERT OVERWRITE replaces, before its
// part files commit, as Flink's FileSystemCommitter: the whole table when
// it is not partitioned; else every partition the job wrote to, and the
// static partition of INSERT ... PARTITION when it names every partition
// column, even if the query gave no rows. The job's own pending files
// stay.
func clearOverwritten(c config, spec connector.SinkSpec, states []sinkState) error {
	own := map[string]bool{}
	dirs := map[string]bool{}
	for _, s := range states {
		for _, p := range s.Pending {
			own[filepath.Join(c.path, filepath.Dir(p.Path), hiddenName(filepath.Base(p.Path)))] = true
			dirs[filepath.Dir(p.Path)] = true
		}
	}
	switch dir, ok := c.parts.staticDir(c.schema, spec.StaticPartition); {
	case !c.parts.partitioned():
		dirs = map[string]bool{".": true}
	case ok:
		dirs[dir] = true
	}
	for dir := range dirs {
		full := filepath.Join(c.path, dir)
		entries, err := os.ReadDir(full)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("filesystem: overwriting: %w", err)
		}
		for _, e := range entries {
			if p := filepath.Join(full, e.Name()); !own[p] {
				if err := os.RemoveAll(p); err != nil {
					return fmt.Errorf("filesystem: overwriting: %w", err)
				}
			}
		}
	}
	return nil
}
