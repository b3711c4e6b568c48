package kafka

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/table/connector/format"
	"github.com/eddysql/eddy/table/connector/format/avro"
	"github.com/eddysql/eddy/table/connector/format/cdcjson"
)

// DefaultBatchSize is used when the ReaderContext does not set one.
const DefaultBatchSize = 8192

// partState is the position of one assigned partition.
type partState struct {
	tp   topicPartition
	id   string // tp as a split id, "topic-partition"
	next int64  // offset of the next record to read
	hw   int64  // the partition's high watermark at the last fetch; -1 before
	stop int64  // bounded reads: offset to stop before; -1 when unbounded
	done bool
	// readElsewhere marks a partition that a reader which finished
	// before a rescale had read to its end: done, with no offsets known.
	readElsewhere bool
}

// reader reads the partitions assigned to one subtask. It consumes them
// directly (kgo.ConsumePartitions semantics via AddConsumePartitions), not
// through a consumer group: the assignment is Flink's deterministic one,
// and the offsets are the reader's snapshot state.
type reader struct {
	cfg  *config
	rc   connector.ReaderContext
	out  *arrow.Schema
	kind bool // batches carry the RowKindColumn (upsert-kafka)

	adm      *admin
	cl       *kgo.Client // adm.cl
	started  bool
	startErr error // a failed start in Idle, returned by Next
	parts    map[topicPartition]*partState
	open     int    // partitions not done
	restored *state // merged snapshots to resume from, nil when none
	nextDisc time.Time

	keyB, valB *array.RecordBuilder
	keyDec     format.RecordDecoder
	valDec     format.RecordDecoder // nil for the changelog formats
	changes    changelogDecoder     // set for the changelog formats
	kindB      *array.Int8Builder
	srcCol     []colSource // where each output column comes from
	meta       []metaCol
	skipped    int64
	closed     bool

	// toCommit are the offsets of the checkpoints taken and not yet
	// complete, in checkpoint order, when offsets are committed on
	// checkpoints (committer is then set). toCommit belongs to the task's
	// goroutine, which may run NotifyCheckpointComplete while Next runs
	// on another.
	toCommit  []checkpointOffsets
	committer *offsetCommitter

	// runs covers the batch being built with runs of rows per partition;
	// assigned lists the partitions still read. Both are replaced, never
	// modified, once handed out (connector.SplitAware).
	runs     []connector.SplitRun
	assigned []string
}

var (
	_ connector.SplitAware = (*reader)(nil)
	_ connector.IdleAware  = (*reader)(nil)

	_ connector.SplitBacklogReporter = (*reader)(nil)
	_ connector.ErrorCountReporter   = (*reader)(nil)

	_ connector.CheckpointSnapshotter = (*reader)(nil)
	_ connector.CheckpointListener    = (*reader)(nil)
)

// checkpointOffsets are the next offsets of a checkpoint's snapshot.
type checkpointOffsets struct {
	id      int64
	offsets map[string]map[int32]int64
}

// colSource locates an output column in the key or value part.
type colSource struct {
	key bool
	idx int
}

func newReader(cfg *config, spec connector.ScanSpec, rc connector.ReaderContext) (*reader, error) {
	if rc.BatchSize <= 0 {
		rc.BatchSize = DefaultBatchSize
	}
	r := &reader{cfg: cfg, rc: rc, kind: cfg.upsert || isChangelog(cfg.value.format), parts: map[topicPartition]*partState{}}
	keyProj, valProj := r.project(spec.Projection)
	var phys types.Schema
	for _, i := range r.physCols(spec.Projection) {
		phys.Columns = append(phys.Columns, cfg.physical.Columns[i])
	}
	fields := phys.Arrow().Fields()
	for _, m := range cfg.metadata {
		fields = append(fields, arrow.Field{Name: m.Name, Type: m.Type.Arrow(), Nullable: m.Type.Nullable()})
	}
	r.meta = newMetaCols(rc.Mem, cfg.metadata)
	if r.kind {
		fields = append(fields, arrow.Field{Name: connector.RowKindColumn, Type: arrow.PrimitiveTypes.Int8})
		r.kindB = array.NewInt8Builder(rc.Mem)
	}
	r.out = arrow.NewSchema(fields, nil)
	var err error
	valSchema := cfg.value.projected(valProj)
	r.valB = array.NewRecordBuilder(rc.Mem, valSchema.Arrow())
	if cf := cdcjson.Lookup(cfg.value.format); cf != nil {
		r.changes, err = newChangelogDecoder(cf, cfg.value.opts, valSchema, r.valB, r.meta)
	} else if cfg.value.format == avro.Debezium {
		r.changes, err = newDebeziumDecoder(cfg.value, valProj, r.valB)
	} else {
		r.valDec, err = newDecoder(cfg.value, valProj, r.valB)
	}
	if err != nil {
		r.Close()
		return nil, err
	}
	if cfg.key != nil {
		r.keyB = array.NewRecordBuilder(rc.Mem, cfg.key.projected(keyProj).Arrow())
		if r.keyDec, err = newDecoder(cfg.key, keyProj, r.keyB); err != nil {
			r.Close()
			return nil, err
		}
	}
	return r, nil
}

// newChangelogDecoder creates the decoder of a changelog value part, which
// fills the 'value.*' metadata columns of meta.
func newChangelogDecoder(f *cdcjson.Format, opts connector.Options, s types.Schema, b *array.RecordBuilder, meta []metaCol) (*cdcjson.Decoder, error) {
	cfg, err := f.ParseConfig(opts)
	if err != nil {
		return nil, err
	}
	var mb []cdcjson.MetadataBuilder
	for _, m := range meta {
		if m.ofValue {
			mb = append(mb, cdcjson.MetadataBuilder{Key: strings.TrimPrefix(m.key, valueMetadata), Builder: m.b})
		}
	}
	return f.NewDecoder(cfg, s, b, mb)
}

// physCols lists the physical columns a reader produces: the scan's
// projection, or all of them.
func (r *reader) physCols(projection []int) []int {
	if projection != nil {
		return projection
	}
	all := make([]int, r.cfg.physical.Len())
	for i := range all {
		all[i] = i
	}
	return all
}

// project sets srcCol, where each produced physical column comes from, and
// returns the positions of the key and value columns the decoders build
// (nil: all of them). A column in both parts (value.fields-include = ALL)
// is taken from the key, which tombstones carry too. A part none of whose
// columns is read gets an empty projection: its records are still parsed,
// so malformed ones are reported as without the projection, but nothing
// is built. A raw part is its one column and is always built whole.
func (r *reader) project(projection []int) (keyProj, valProj []int) {
	cfg := r.cfg
	pos := func(p *part) map[int]int {
		m := map[int]int{}
		if p != nil {
			for k, i := range p.cols {
				m[i] = k
			}
		}
		return m
	}
	keyPos, valPos := pos(cfg.key), pos(cfg.value)
	cols := r.physCols(projection)
	r.srcCol = make([]colSource, len(cols))
	if projection != nil {
		keyProj, valProj = []int{}, []int{}
	}
	// take returns the builder field of part position k, adding it to
	// the projection once.
	take := func(proj *[]int, k int) int {
		if *proj == nil {
			return k
		}
		if j := slices.Index(*proj, k); j >= 0 {
			return j
		}
		*proj = append(*proj, k)
		return len(*proj) - 1
	}
	for j, i := range cols {
		if k, ok := keyPos[i]; ok {
			r.srcCol[j] = colSource{key: true, idx: take(&keyProj, k)}
		} else {
			r.srcCol[j] = colSource{idx: take(&valProj, valPos[i])}
		}
	}
	if cfg.key != nil && cfg.key.format == "raw" {
		keyProj = nil
	}
	if cfg.value.format == "raw" {
		valProj = nil
	}
	return keyProj, valProj
}

// start connects, lists the partitions, assigns this subtask's, resolves
// their start and stop offsets and starts fetching them.
func (r *reader) start(ctx context.Context) error {
	opts := append([]kgo.Opt{}, r.cfg.client.consumer...)
	// Partitions are assigned explicitly and never through a group, so the
	// client is a direct consumer that starts with no partitions.
	opts = append(opts, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{}))
	// Control records (transaction markers) take offsets too: the reader
	// sees them to move its position past them, as a Kafka consumer's
	// position does, so a bounded read of a transactional topic reaches
	// a stop offset that follows a marker.
	opts = append(opts, kgo.KeepControlRecords())
	if d := r.cfg.discovery; d > 0 && d < 5*time.Second {
		// Partitions found by a discovery faster than kgo's metadata
		// refresh floor (5s) should start being fetched as soon.
		opts = append(opts, kgo.MetadataMinAge(d))
	}
	adm, err := newClient(r.cfg, opts...)
	if err != nil {
		return err
	}
	r.adm, r.cl = adm, adm.cl
	tps, err := adm.listPartitions(ctx)
	if err == nil {
		err = r.addPartitions(ctx, r.mine(tps), false)
	}
	if err != nil {
		// A start that failed or was interrupted (a checkpoint cancels
		// the ctx of a waiting Next) is retried by the next Next with a
		// new client.
		r.cl.Close()
		r.adm, r.cl = nil, nil
		return err
	}
	r.started = true
	if r.cfg.discovery > 0 && r.cfg.bounded == modeUnbounded {
		r.nextDisc = time.Now().Add(r.cfg.discovery)
	}
	return nil
}

// mine filters the partitions this subtask reads and has not seen yet.
func (r *reader) mine(tps []topicPartition) []topicPartition {
	var out []topicPartition
	for _, tp := range tps {
		if _, seen := r.parts[tp]; !seen && assignedSubtask(tp, max(r.rc.Parallelism, 1)) == r.rc.Subtask {
			out = append(out, tp)
		}
	}
	return out
}

// addPartitions resolves the start (and stop) offsets of new partitions and
// starts consuming them. Partitions found by discovery start at the
// earliest offset, as in Flink.
func (r *reader) addPartitions(ctx context.Context, tps []topicPartition, discovered bool) error {
	if len(tps) == 0 {
		return nil
	}
	start, stop := map[topicPartition]int64{}, map[topicPartition]int64{}
	var rest, unstopped []topicPartition
	consume := map[string]map[int32]kgo.Offset{}
	for _, tp := range tps {
		if r.restored.readElsewhere(tp) {
			r.parts[tp] = &partState{tp: tp, id: tp.String(), stop: -1, hw: -1, done: true, readElsewhere: true}
			continue
		}
		if o, ok := r.restored.offset(tp, false); ok {
			start[tp] = o
		} else {
			rest = append(rest, tp)
		}
		if o, ok := r.restored.offset(tp, true); ok && r.cfg.bounded != modeUnbounded {
			stop[tp] = o
		} else {
			unstopped = append(unstopped, tp)
		}
	}
	mode := r.cfg.startup
	if discovered {
		mode = modeEarliest
	}
	got, err := r.resolve(ctx, rest, mode, r.cfg.startTS, r.cfg.startOffs, true)
	if err != nil {
		return err
	}
	for tp, o := range got {
		start[tp] = o
	}
	if r.cfg.bounded != modeUnbounded {
		// A restored partition keeps the stop offset its first read
		// resolved, as a Flink split keeps its stopping offset, so that
		// a bounded 'latest-offset' read restored after a failure or a
		// rescale ends where it would have ended without one.
		got, err := r.resolve(ctx, unstopped, r.cfg.bounded, r.cfg.boundTS, r.cfg.boundOffs, false)
		if err != nil {
			return err
		}
		for tp, o := range got {
			stop[tp] = o
		}
	}
	for _, tp := range tps {
		if r.parts[tp] != nil {
			continue
		}
		st := &partState{tp: tp, id: tp.String(), next: start[tp], stop: -1, hw: -1}
		if s, ok := stop[tp]; ok {
			st.stop = s
			st.done = st.next >= s
		}
		r.parts[tp] = st
		if st.done {
			continue
		}
		r.open++
		if consume[tp.topic] == nil {
			consume[tp.topic] = map[int32]kgo.Offset{}
		}
		consume[tp.topic][tp.partition] = kgo.NewOffset().At(st.next)
	}
	r.cl.AddConsumePartitions(consume)
	r.updateAssigned()
	return nil
}

// updateAssigned rebuilds the list of partitions still read, as split ids.
func (r *reader) updateAssigned() {
	assigned := make([]string, 0, r.open)
	for _, st := range r.parts {
		if !st.done {
			assigned = append(assigned, st.id)
		}
	}
	r.assigned = assigned
}

// Idle implements connector.IdleAware: a subtask that is assigned no
// partition (more subtasks than partitions) is idle from the start, as a
// Flink source reader without splits, so that it does not hold back the
// watermark downstream. Telling needs the partitions, so Idle starts the
// reader; its requests are bounded by 'properties.default.api.timeout.ms'
// and a failure is returned by the next Next.
func (r *reader) Idle() bool {
	if !r.started && r.startErr == nil {
		r.startErr = r.start(context.Background())
	}
	return r.startErr == nil && len(r.parts) == 0
}

// SplitBacklog implements connector.SplitBacklogReporter: the consumer lag
// of each partition still read, the records between its next offset and
// its high watermark at the last fetch (Kafka's records-lag).
func (r *reader) SplitBacklog(into map[string]int64) {
	for _, st := range r.parts {
		if !st.done && st.hw >= 0 {
			into[st.id] = max(st.hw-st.next, 0)
		}
	}
}

// BatchSplits implements connector.SplitAware: the partition runs of the
// batch Next returned last.
func (r *reader) BatchSplits() []connector.SplitRun { return r.runs }

// AssignedSplits implements connector.SplitAware: the partitions the
// reader reads (bounded ones that reached their stop offset are done).
func (r *reader) AssignedSplits() []string { return r.assigned }

// resolve turns a startup or bounded mode into concrete offsets.
func (r *reader) resolve(ctx context.Context, tps []topicPartition, mode string, ts int64, specific map[int32]int64, starting bool) (map[topicPartition]int64, error) {
	if len(tps) == 0 {
		return map[topicPartition]int64{}, nil
	}
	switch mode {
	case modeEarliest:
		return r.adm.listOffsets(ctx, tps, earliestTS)
	case modeLatest:
		return r.adm.listOffsets(ctx, tps, latestTS)
	case modeTimestamp:
		return r.adm.listOffsets(ctx, tps, ts)
	case modeSpecific:
		out := map[topicPartition]int64{}
		var missing []topicPartition
		for _, tp := range tps {
			if o, ok := specific[tp.partition]; ok {
				out[tp] = o
			} else {
				missing = append(missing, tp)
			}
		}
		// Partitions without a specific offset start at the earliest
		// offset and, for bounded reads, are read to the latest one.
		fill := int64(earliestTS)
		if !starting {
			fill = latestTS
		}
		more, err := r.adm.listOffsets(ctx, missing, fill)
		for tp, o := range more {
			out[tp] = o
		}
		return out, err
	case modeGroup:
		out, err := r.adm.committedOffsets(ctx, tps)
		if err != nil {
			return nil, err
		}
		var missing []topicPartition
		for _, tp := range tps {
			if _, ok := out[tp]; !ok {
				missing = append(missing, tp)
			}
		}
		if len(missing) == 0 {
			return out, nil
		}
		fill := int64(latestTS)
		switch {
		case !starting:
		case r.cfg.client.resetOffset == "earliest":
			fill = earliestTS
		case r.cfg.client.resetOffset == "none":
			return nil, fmt.Errorf("kafka: group '%s' has no committed offset for %s and 'properties.auto.offset.reset' is none; set it to earliest or latest, or use another 'scan.startup.mode'",
				r.cfg.client.groupID, missing[0])
		}
		more, err := r.adm.listOffsets(ctx, missing, fill)
		for tp, o := range more {
			out[tp] = o
		}
		return out, err
	}
	return nil, fmt.Errorf("kafka: internal error: unknown offset mode %q", mode)
}

// discover adds partitions that appeared since the last look.
func (r *reader) discover(ctx context.Context) error {
	tps, err := r.adm.listPartitions(ctx)
	if err != nil {
		return err
	}
	r.nextDisc = time.Now().Add(r.cfg.discovery)
	return r.addPartitions(ctx, r.mine(tps), true)
}

// Next returns the next batch: the records one or more polls return, up to
// the batch size, decoded column by column into the builders.
func (r *reader) Next(ctx context.Context) (arrow.RecordBatch, error) {
	if r.closed {
		return nil, errors.New("kafka: Next on a closed reader")
	}
	if r.startErr != nil {
		return nil, r.startErr
	}
	if !r.started {
		if err := r.start(ctx); err != nil {
			return nil, err
		}
	}
	for {
		if r.cfg.bounded != modeUnbounded && r.open == 0 {
			return nil, io.EOF
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		pollCtx, cancel := ctx, context.CancelFunc(func() {})
		if !r.nextDisc.IsZero() {
			if !time.Now().Before(r.nextDisc) {
				if err := r.discover(ctx); err != nil {
					return nil, err
				}
			}
			pollCtx, cancel = context.WithDeadline(ctx, r.nextDisc)
		}
		rows, err := r.poll(pollCtx)
		cancel()
		if err != nil {
			return nil, err
		}
		if rows > 0 {
			return r.flush(rows), nil
		}
	}
}

// poll fetches and decodes up to a batch of records; it returns 0 rows
// when the poll's context ends (the caller checks its own) or every record
// fetched was skipped.
func (r *reader) poll(ctx context.Context) (int, error) {
	limit := r.rc.BatchSize
	if r.changes != nil {
		// An update event makes two rows; a batch size of 1 gets batches
		// of two for updates, which do not split (nor do canal events of
		// several rows).
		limit = max(limit/2, 1)
	}
	fetches := r.cl.PollRecords(ctx, limit)
	var ferr error
	fetches.EachError(func(topic string, partition int32, err error) {
		if ferr == nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
			ferr = fmt.Errorf("kafka: fetching %s-%d: %w", topic, partition, err)
		}
	})
	if ferr != nil {
		return 0, ferr
	}
	rows := 0
	r.runs = nil
	var derr error
	fetches.EachPartition(func(p kgo.FetchTopicPartition) {
		st := r.parts[topicPartition{p.Topic, p.Partition}]
		if derr != nil || st == nil || st.done {
			return
		}
		if p.HighWatermark >= 0 {
			st.hw = p.HighWatermark
		}
		if len(p.Records) == 0 {
			return
		}
		// The partition's rows are consecutive in the batch: one run.
		before := rows
		defer func() {
			if rows > before {
				r.runs = append(r.runs, connector.SplitRun{Split: st.id, Rows: rows - before})
			}
		}()
		for _, rec := range p.Records {
			if rec.Offset < st.next {
				continue
			}
			if st.stop >= 0 && rec.Offset >= st.stop {
				r.finish(st)
				return
			}
			if !rec.Attrs.IsControl() {
				n, err := r.decode(rec)
				if err != nil {
					derr = err
					return
				}
				rows += n
			}
			st.next = rec.Offset + 1
			if st.stop >= 0 && st.next >= st.stop {
				r.finish(st)
				return
			}
		}
	})
	return rows, derr
}

// finish marks a bounded partition done and stops fetching it.
func (r *reader) finish(st *partState) {
	st.done = true
	r.open--
	r.cl.PauseFetchPartitions(map[string][]int32{st.tp.topic: {st.tp.partition}})
	r.updateAssigned()
}

// decode appends one record's rows and returns how many: none for a
// skipped malformed record or a value-less record of an insert-only table,
// two for a changelog update, several for a canal event of several rows
// (of which those before a malformed one stay, as in Flink).
func (r *reader) decode(rec *kgo.Record) (int, error) {
	kind := connector.Insert
	if rec.Value == nil && r.cfg.value.format != "raw" {
		if !r.cfg.upsert {
			// Flink's value formats turn a missing value into no row.
			return 0, nil
		}
		kind = connector.Delete
	}
	if r.changes != nil {
		n, err := r.changes.Decode(rec.Value, r.kindB)
		for i := range r.meta {
			r.meta[i].append(rec, n)
		}
		if err != nil {
			_, err = r.parseError(rec, "value", r.cfg.value, err)
		}
		return n, err
	}
	if r.keyDec != nil {
		if err := r.keyDec.Stage(rec.Key); err != nil {
			return r.parseError(rec, "key", r.cfg.key, err)
		}
	}
	if kind == connector.Delete {
		r.valDec.StageNull()
	} else if err := r.valDec.Stage(rec.Value); err != nil {
		return r.parseError(rec, "value", r.cfg.value, err)
	}
	if r.keyDec != nil {
		r.keyDec.Commit()
	}
	r.valDec.Commit()
	for i := range r.meta {
		r.meta[i].append(rec, 1)
	}
	if r.kind {
		r.kindB.Append(int8(kind))
	}
	return 1, nil
}

func (r *reader) parseError(rec *kgo.Record, what string, p *part, err error) (int, error) {
	if p.ignoreParseErrors() {
		r.skipped++
		return 0, nil
	}
	return 0, fmt.Errorf("kafka: cannot decode the %s of the record at topic '%s' partition %d offset %d with format '%s': %w",
		what, rec.Topic, rec.Partition, rec.Offset, p.format, err)
}

// flush assembles the output batch from the key and value builders.
func (r *reader) flush(rows int) arrow.RecordBatch {
	val := r.valB.NewRecordBatch()
	defer val.Release()
	var key arrow.RecordBatch
	if r.keyB != nil {
		key = r.keyB.NewRecordBatch()
		defer key.Release()
	}
	cols := make([]arrow.Array, 0, len(r.srcCol)+len(r.meta)+1)
	for _, s := range r.srcCol {
		if s.key {
			cols = append(cols, key.Column(s.idx))
		} else {
			cols = append(cols, val.Column(s.idx))
		}
	}
	for _, m := range r.meta {
		a := m.b.NewArray()
		defer a.Release()
		cols = append(cols, a)
	}
	if r.kind {
		k := r.kindB.NewArray()
		defer k.Release()
		cols = append(cols, k)
	}
	return array.NewRecordBatch(r.out, cols, int64(rows))
}

// RecordsInErrors implements connector.ErrorCountReporter: the malformed
// records skipped under ignore-parse-errors.
func (r *reader) RecordsInErrors() int64 { return r.skipped }

// state is the snapshot: the next offset of every assigned partition, the
// stop offset of each of a bounded read, and the partitions read to their
// end elsewhere.
type state struct {
	Offsets map[string]map[int32]int64 `json:"offsets"`
	Stops   map[string]map[int32]int64 `json:"stops,omitempty"`
	// Done lists partitions a reader that finished before a rescale had
	// read to their end; their offsets are not known.
	Done map[string][]int32 `json:"done,omitempty"`
	// Finished names the readers that had finished before a rescale
	// (FinishedReaderSnapshot): every partition such a reader was
	// assigned is done. A reader turns them into Done entries once it
	// knows its partitions.
	Finished []finishedReader `json:"finished,omitempty"`
}

// finishedReader is subtask Subtask of a source read at Parallelism.
type finishedReader struct {
	Subtask     int `json:"subtask"`
	Parallelism int `json:"parallelism"`
}

// readElsewhere tells whether a finished reader had read tp to its end.
func (s *state) readElsewhere(tp topicPartition) bool {
	if s == nil {
		return false
	}
	if slices.Contains(s.Done[tp.topic], tp.partition) {
		return true
	}
	if _, ok := s.offset(tp, false); ok {
		return false
	}
	for _, f := range s.Finished {
		if assignedSubtask(tp, f.Parallelism) == f.Subtask {
			return true
		}
	}
	return false
}

// offset is tp's restored next offset, or its stop offset; false when
// there is none (or no restored state).
func (s *state) offset(tp topicPartition, stop bool) (int64, bool) {
	if s == nil {
		return 0, false
	}
	m := s.Offsets
	if stop {
		m = s.Stops
	}
	o, ok := m[tp.topic][tp.partition]
	return o, ok
}

// merge adds snapshot o to s.
func (s *state) merge(o state) {
	for t, ps := range o.Offsets {
		for p, v := range ps {
			setOffset(&s.Offsets, t, p, v)
		}
	}
	for t, ps := range o.Stops {
		for p, v := range ps {
			setOffset(&s.Stops, t, p, v)
		}
	}
	for t, ps := range o.Done {
		if s.Done == nil {
			s.Done = map[string][]int32{}
		}
		s.Done[t] = append(s.Done[t], ps...)
	}
	s.Finished = append(s.Finished, o.Finished...)
}

func setOffset(m *map[string]map[int32]int64, topic string, partition int32, o int64) {
	if *m == nil {
		*m = map[string]map[int32]int64{}
	}
	if (*m)[topic] == nil {
		(*m)[topic] = map[int32]int64{}
	}
	(*m)[topic][partition] = o
}

// FinishedReaderSnapshot implements connector.FinishedReaderSnapshotter:
// the snapshot of a reader that had finished before a rescale names it,
// and the new readers take the partitions it was assigned as done (its
// bounded read had reached their stop offsets), as Flink does not
// reassign finished splits.
func (Factory) FinishedReaderSnapshot(_ connector.ScanSpec, subtask, parallelism int) ([]byte, error) {
	return json.Marshal(state{Offsets: map[string]map[int32]int64{}, Finished: []finishedReader{{subtask, parallelism}}})
}

// Snapshot captures the next offset of every assigned partition. Before the
// first Next it is the restored state, if any.
func (r *reader) Snapshot() ([]byte, error) { return json.Marshal(r.offsets()) }

// SnapshotCheckpoint implements connector.CheckpointSnapshotter: the
// snapshot of checkpoint id, whose offsets are committed to the group when
// it completes (commit.offsets.on.checkpoint).
func (r *reader) SnapshotCheckpoint(id int64) ([]byte, error) {
	s := r.offsets()
	if r.cfg.client.commitOffsets {
		r.toCommit = append(r.toCommit, checkpointOffsets{id: id, offsets: s.Offsets})
	}
	return json.Marshal(s)
}

// NotifyCheckpointComplete implements connector.CheckpointListener: it
// commits the offsets of checkpoint id (or of the latest checkpoint
// before it that the reader snapshotted) to the consumer group, in the
// background, as Flink's KafkaSourceReader does (offsetCommitter).
func (r *reader) NotifyCheckpointComplete(id int64) error {
	i := len(r.toCommit) - 1
	for i >= 0 && r.toCommit[i].id > id {
		i--
	}
	if i < 0 {
		return nil
	}
	offsets := r.toCommit[i].offsets
	r.toCommit = r.toCommit[i+1:]
	if r.committer == nil {
		r.committer = &offsetCommitter{cfg: r.cfg}
	}
	r.committer.commit(offsets)
	return nil
}

// offsets is the state: the next and stop offsets of every partition, the
// restored ones this subtask is assigned included (after a rescale it was
// restored from other subtasks' offsets too, which their new readers
// hold). A reader that has not listed its partitions yet passes the
// finished readers it was restored with on as they are.
func (r *reader) offsets() state {
	s := state{Offsets: map[string]map[int32]int64{}}
	mine := func(t string, p int32) bool {
		return assignedSubtask(topicPartition{t, p}, max(r.rc.Parallelism, 1)) == r.rc.Subtask
	}
	if rs := r.restored; rs != nil {
		for t, ps := range rs.Offsets {
			for p, o := range ps {
				if mine(t, p) {
					setOffset(&s.Offsets, t, p, o)
				}
			}
		}
		for t, ps := range rs.Stops {
			for p, o := range ps {
				if mine(t, p) {
					setOffset(&s.Stops, t, p, o)
				}
			}
		}
		for t, ps := range rs.Done {
			for _, p := range ps {
				if mine(t, p) {
					s.addDone(t, p)
				}
			}
		}
		if !r.started {
			s.Finished = rs.Finished
		}
	}
	for tp, st := range r.parts {
		if st.readElsewhere {
			s.addDone(tp.topic, tp.partition)
			continue
		}
		setOffset(&s.Offsets, tp.topic, tp.partition, st.next)
		if st.stop >= 0 {
			setOffset(&s.Stops, tp.topic, tp.partition, st.stop)
		}
	}
	return s
}

func (s *state) addDone(topic string, partition int32) {
	if s.Done == nil {
		s.Done = map[string][]int32{}
	}
	if !slices.Contains(s.Done[topic], partition) {
		s.Done[topic] = append(s.Done[topic], partition)
	}
}

// Restore makes the reader continue from a snapshot: partitions in it
// resume at their saved offsets (and stop at their saved stop offsets),
// others start by the startup mode. A reader that already started
// reconnects on the next Next. A reader of a source restored at another
// parallelism is restored from the snapshots of all the old readers
// (connector.SupportsRescaling), a finished one's included
// (FinishedReaderSnapshot): it merges them and resumes the partitions it
// is assigned.
func (r *reader) Restore(b []byte) error {
	var s state
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("kafka: bad snapshot: %w", err)
	}
	if r.started || r.restored == nil {
		r.restored = &state{Offsets: map[string]map[int32]int64{}}
	}
	r.restored.merge(s)
	if r.cl != nil {
		r.cl.Close()
		r.cl = nil
	}
	r.started, r.startErr = false, nil
	r.parts = map[topicPartition]*partState{}
	r.open = 0
	r.runs, r.assigned = nil, nil
	return nil
}

// Close stops the client and releases the builders; it is idempotent.
func (r *reader) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	if r.cl != nil {
		r.cl.Close()
	}
	if r.committer != nil {
		r.committer.close()
	}
	for _, b := range []*array.RecordBuilder{r.keyB, r.valB} {
		if b != nil {
			b.Release()
		}
	}
	if r.kindB != nil {
		r.kindB.Release()
	}
	for _, m := range r.meta {
		m.b.Release()
	}
	return nil
}
