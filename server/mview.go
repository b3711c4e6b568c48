package server

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/catalog"
	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
)

// Materialized views (beyond Flink, as RisingWave and Materialize serve
// them). CREATE MATERIALIZED VIEW runs the view's query as a continuous
// streaming job; the server applies the job's changelog to an in-memory
// multiset of rows, mvState, which holds the view's current contents as
// retained Arrow batches with a liveness flag per row. The view is a
// catalog table of the connector mvConnector naming its state, so
// SELECT … FROM mv — with filters, joins and aggregates on top — is an
// ordinary query whose scan reads a consistent snapshot: the contents
// after the last applied batch, as zero-copy slices of the live rows.
// SUBSCRIBE TO mv scans the same state in changelog mode: the snapshot as
// inserts, then every change as the job produces it.
//
// The contents live in memory only: after a restart the view's CREATE
// statement (kept in the data directory) runs again and rebuilds them
// from scratch.

// mvConnector is the connector of the catalog tables of materialized
// views (catalog.MaterializedViewConnector, so pg_class shows relkind m).
const mvConnector = catalog.MaterializedViewConnector

// Options of mvConnector tables.
const (
	mvOptionID   = "view-id"
	mvOptionMode = "scan.mode"
	// mvModeSnapshot reads the current contents (bounded, insert-only);
	// mvModeChangelog the contents as inserts, then the changes
	// (unbounded, a retract changelog).
	mvModeSnapshot  = "snapshot"
	mvModeChangelog = "changelog"
)

// mvCompactSlack is how many removed rows the retained batches may hold
// beyond as many as there are live rows before the live rows are copied
// into one batch (see compactLocked).
const mvCompactSlack = 4096

// mvSubscriberBuffer bounds the batches a changelog reader may fall
// behind the view's job before it fails.
const mvSubscriberBuffer = 1024

// mviews are the states of the materialized views of every server of the
// process, by id: connectors are process-wide, as are the TaskManagers
// that run the scans.
var mviews = struct {
	sync.Mutex
	m map[string]*mvState
}{m: map[string]*mvState{}}

func lookupMV(id string) (*mvState, error) {
	mviews.Lock()
	defer mviews.Unlock()
	st := mviews.m[id]
	if st == nil {
		return nil, fmt.Errorf("materialized view state %q does not exist (the view was dropped)", id)
	}
	return st, nil
}

// mvState is the current contents of one materialized view.
type mvState struct {
	id     string
	schema types.Schema
	arrow  *arrow.Schema
	mem    memory.Allocator

	mu sync.Mutex
	// batches hold the rows added and not all removed since, in order.
	batches []*mvBatch
	// index maps a row's key (see rowKey) to its live copies.
	index map[string][]mvRef
	// subs receive every applied batch, with its row kind column.
	subs map[chan arrow.RecordBatch]struct{}
	// live counts the rows in the view, retained the rows of the
	// retained batches, live or not.
	live, retained int
	// compactSlack is mvCompactSlack (smaller in tests).
	compactSlack int
	// err is why the view's job failed, if it did.
	err error
	key []byte
	buf []byte
}

type mvBatch struct {
	rec   arrow.RecordBatch
	live  []bool
	nlive int
}

type mvRef struct {
	b   *mvBatch
	row int
}

func newMVState(schema types.Schema, mem memory.Allocator) *mvState {
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	var id [8]byte
	_, _ = rand.Read(id[:])
	st := &mvState{id: hex.EncodeToString(id[:]), schema: schema, arrow: schema.Arrow(), mem: mem,
		index: map[string][]mvRef{}, subs: map[chan arrow.RecordBatch]struct{}{}, compactSlack: mvCompactSlack}
	mviews.Lock()
	mviews.m[st.id] = st
	mviews.Unlock()
	return st
}

// close forgets the view: its rows are released and its subscribers end.
func (st *mvState) close() {
	mviews.Lock()
	delete(mviews.m, st.id)
	mviews.Unlock()
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, b := range st.batches {
		b.rec.Release()
	}
	st.batches, st.index = nil, map[string][]mvRef{}
	for ch := range st.subs {
		close(ch)
		delete(st.subs, ch)
	}
}

// maintain applies the changelog of the view's query result until it ends
// or ctx is cancelled.
func (st *mvState) maintain(ctx context.Context, next func(context.Context) (arrow.RecordBatch, error), changelog bool) error {
	for {
		b, err := next(ctx)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			st.mu.Lock()
			st.err = err
			st.mu.Unlock()
			return err
		}
		st.apply(b, changelog)
		b.Release()
	}
}

// apply applies one batch of changes (with a trailing row kind column
// when changelog) and hands it to the subscribers.
func (st *mvState) apply(b arrow.RecordBatch, changelog bool) {
	if b.NumRows() == 0 {
		return
	}
	ncols := len(st.schema.Columns)
	var kinds interface{ Value(int) int8 }
	if changelog {
		kinds, _ = b.Column(ncols).(interface{ Value(int) int8 })
	}
	n := int(b.NumRows())
	rec := array.NewRecordBatch(st.arrow, b.Columns()[:ncols], int64(n))
	nb := &mvBatch{rec: rec, live: make([]bool, n)}
	encs := make([]encoder, ncols)
	for j := range encs {
		encs[j] = newEncoder(rec.Column(j), st.schema.Columns[j].Type, 0)
	}

	st.mu.Lock()
	defer st.mu.Unlock()
	emptied := false
	for i := 0; i < n; i++ {
		key := st.rowKey(rec, encs, i)
		if kinds != nil && connector.RowKind(kinds.Value(i)).IsRetraction() {
			refs := st.index[key]
			if len(refs) == 0 {
				continue // retracts a row the view never had
			}
			ref := refs[len(refs)-1]
			if len(refs) == 1 {
				delete(st.index, key)
			} else {
				st.index[key] = refs[:len(refs)-1]
			}
			ref.b.live[ref.row] = false
			ref.b.nlive--
			st.live--
			emptied = emptied || ref.b.nlive == 0
			continue
		}
		nb.live[i] = true
		nb.nlive++
		st.index[key] = append(st.index[key], mvRef{nb, i})
	}
	if emptied {
		// Batches whose rows were all removed are released.
		kept := st.batches[:0]
		for _, old := range st.batches {
			if old.nlive > 0 {
				kept = append(kept, old)
			} else {
				st.retained -= len(old.live)
				old.rec.Release()
			}
		}
		clear(st.batches[len(kept):])
		st.batches = kept
	}
	if nb.nlive > 0 {
		st.batches = append(st.batches, nb)
		st.retained += n
	} else {
		rec.Release()
	}
	st.live += nb.nlive
	if st.retained > 2*st.live+st.compactSlack {
		st.compactLocked()
	}
	if len(st.subs) == 0 {
		return
	}
	change := withRowKinds(b, ncols, changelog, st.mem)
	for ch := range st.subs {
		change.Retain()
		select {
		case ch <- change:
		default:
			// A subscriber that fell too far behind ends with an error
			// rather than holding back the view.
			change.Release()
			close(ch)
			delete(st.subs, ch)
		}
	}
	change.Release()
}

// rowKey is row i's key: each value's length (-1 for NULL) and its text,
// so NULL and the empty string never collide. The key is built in a
// reused buffer.
func (st *mvState) rowKey(rec arrow.RecordBatch, encs []encoder, i int) string {
	st.key = st.key[:0]
	for j, enc := range encs {
		if rec.Column(j).IsNull(i) {
			st.key = binary.AppendVarint(st.key, -1)
			continue
		}
		st.buf = enc(st.buf[:0], i)
		st.key = binary.AppendVarint(st.key, int64(len(st.buf)))
		st.key = append(st.key, st.buf...)
	}
	return string(st.key)
}

// compactLocked copies the live rows into one batch and releases the
// retained ones: a batch stays retained while any of its rows lives, so
// without it a view whose rows change often would keep batches of mostly
// removed rows. It runs when removed rows outnumber live ones, so its
// cost, linear in the live rows, is amortized over the removals.
func (st *mvState) compactLocked() {
	parts := st.snapshotLocked()
	defer func() {
		for _, p := range parts {
			p.Release()
		}
	}()
	var rec arrow.RecordBatch
	if len(parts) > 0 {
		cols := make([]arrow.Array, len(st.schema.Columns))
		for j := range cols {
			arrs := make([]arrow.Array, len(parts))
			for k, p := range parts {
				arrs[k] = p.Column(j)
			}
			col, err := array.Concatenate(arrs, st.mem)
			if err != nil {
				// Out of memory: keep the batches as they are.
				for _, c := range cols[:j] {
					c.Release()
				}
				return
			}
			cols[j] = col
		}
		rec = array.NewRecordBatch(st.arrow, cols, int64(cols[0].Len()))
		for _, c := range cols {
			c.Release()
		}
	}
	for _, b := range st.batches {
		b.rec.Release()
	}
	st.batches, st.index, st.retained = nil, map[string][]mvRef{}, 0
	if rec == nil {
		return
	}
	n := int(rec.NumRows())
	nb := &mvBatch{rec: rec, live: make([]bool, n), nlive: n}
	encs := make([]encoder, len(st.schema.Columns))
	for j := range encs {
		encs[j] = newEncoder(rec.Column(j), st.schema.Columns[j].Type, 0)
	}
	for i := 0; i < n; i++ {
		nb.live[i] = true
		key := st.rowKey(rec, encs, i)
		st.index[key] = append(st.index[key], mvRef{nb, i})
	}
	st.batches, st.retained = []*mvBatch{nb}, n
}

// snapshotLocked returns the live rows as slices of the retained batches,
// owned by the caller.
func (st *mvState) snapshotLocked() []arrow.RecordBatch {
	var out []arrow.RecordBatch
	for _, b := range st.batches {
		if b.nlive == len(b.live) {
			b.rec.Retain()
			out = append(out, b.rec)
			continue
		}
		for i := 0; i < len(b.live); {
			if !b.live[i] {
				i++
				continue
			}
			j := i
			for j < len(b.live) && b.live[j] {
				j++
			}
			out = append(out, b.rec.NewSlice(int64(i), int64(j)))
			i = j
		}
	}
	return out
}

// subscribe returns the current contents and a channel of the changes
// applied after them, taken atomically.
func (st *mvState) subscribe() ([]arrow.RecordBatch, chan arrow.RecordBatch, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.err != nil {
		return nil, nil, st.err
	}
	ch := make(chan arrow.RecordBatch, mvSubscriberBuffer)
	st.subs[ch] = struct{}{}
	return st.snapshotLocked(), ch, nil
}

func (st *mvState) unsubscribe(ch chan arrow.RecordBatch) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if _, ok := st.subs[ch]; ok {
		delete(st.subs, ch)
		close(ch)
	}
	for b := range ch {
		b.Release()
	}
}

// withRowKinds returns b with a row kind column, adding one of inserts
// when b has none.
func withRowKinds(b arrow.RecordBatch, ncols int, changelog bool, mem memory.Allocator) arrow.RecordBatch {
	if changelog {
		b.Retain()
		return b
	}
	kb := array.NewInt8Builder(mem)
	defer kb.Release()
	kb.AppendValues(make([]int8, b.NumRows()), nil) // connector.Insert is 0
	kinds := kb.NewArray()
	defer kinds.Release()
	cols := append(append([]arrow.Array{}, b.Columns()[:ncols]...), kinds)
	fields := append(append([]arrow.Field{}, b.Schema().Fields()[:ncols]...),
		arrow.Field{Name: connector.RowKindColumn, Type: arrow.PrimitiveTypes.Int8})
	return array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, b.NumRows())
}

// mvFactory is the connector that scans materialized views.
type mvFactory struct{}

func init() { connector.Register(mvFactory{}) }

func (mvFactory) Identifier() string { return mvConnector }

// Internal keeps the connector out of the list users see: only CREATE
// MATERIALIZED VIEW makes its tables.
func (mvFactory) Internal() bool { return true }

func (mvFactory) Options() []connector.Option {
	return []connector.Option{
		{Key: mvOptionID, Type: connector.String, Required: true, Doc: "The id of the view's state in the server."},
		{Key: catalog.MaterializedViewQueryOption, Type: connector.String, Doc: "The view's query as written, for pg_get_viewdef."},
		{Key: mvOptionMode, Type: connector.Enum, Enum: []string{mvModeSnapshot, mvModeChangelog}, Default: mvModeSnapshot,
			Doc: "snapshot reads the current contents; changelog the contents, then every change."},
	}
}

func (mvFactory) ValidateSource(t connector.TableInfo) (connector.ScanProperties, error) {
	if _, err := lookupMV(t.Options[mvOptionID]); err != nil {
		return connector.ScanProperties{}, err
	}
	if t.Options[mvOptionMode] == mvModeChangelog {
		return connector.ScanProperties{Changelog: connector.RetractChangelog}, nil
	}
	return connector.ScanProperties{Bounded: true}, nil
}

// CreateReader reads the view in subtask 0; other subtasks have nothing to
// read.
func (mvFactory) CreateReader(spec connector.ScanSpec, rc connector.ReaderContext) (connector.SourceReader, error) {
	st, err := lookupMV(spec.Table.Options[mvOptionID])
	if err != nil {
		return nil, err
	}
	return &mvReader{st: st, changelog: spec.Table.Options[mvOptionMode] == mvModeChangelog,
		idle: rc.Subtask != 0, mem: rc.Mem}, nil
}

// mvReader reads a materialized view. Its position is not checkpointed:
// a restored reader reads the view's current contents again.
type mvReader struct {
	st        *mvState
	changelog bool
	idle      bool
	mem       memory.Allocator

	started bool
	pending []arrow.RecordBatch
	ch      chan arrow.RecordBatch
}

func (r *mvReader) Idle() bool { return r.idle }

func (r *mvReader) Next(ctx context.Context) (arrow.RecordBatch, error) {
	if r.idle {
		if r.changelog {
			<-ctx.Done()
			return nil, ctx.Err()
		}
		return nil, io.EOF
	}
	if !r.started {
		r.started = true
		if r.changelog {
			snap, ch, err := r.st.subscribe()
			if err != nil {
				return nil, err
			}
			r.ch = ch
			for _, b := range snap {
				r.pending = append(r.pending, withRowKinds(b, len(r.st.schema.Columns), false, r.mem))
				b.Release()
			}
		} else {
			r.st.mu.Lock()
			err := r.st.err
			if err == nil {
				r.pending = r.st.snapshotLocked()
			}
			r.st.mu.Unlock()
			if err != nil {
				return nil, err
			}
		}
	}
	if len(r.pending) > 0 {
		b := r.pending[0]
		r.pending = r.pending[1:]
		return b, nil
	}
	if !r.changelog {
		return nil, io.EOF
	}
	select {
	case b, ok := <-r.ch:
		if !ok {
			return nil, errors.New("the materialized view was dropped, or this subscriber fell too far behind it")
		}
		return b, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (r *mvReader) Snapshot() ([]byte, error) { return nil, nil }

func (r *mvReader) Restore([]byte) error { return nil }

func (r *mvReader) Close() error {
	for _, b := range r.pending {
		b.Release()
	}
	r.pending = nil
	if r.ch != nil {
		r.st.unsubscribe(r.ch)
		r.ch = nil
	}
	return nil
}
