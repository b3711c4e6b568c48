package optimizer

import (
	"maps"
	"strings"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/planner"
)

// ChangelogMode is the changelog a node emits as Flink's
// FlinkChangelogModeInferenceProgram infers it: which kinds of change
// (insert, update, delete) it may produce, and for updates whether each
// comes as a -U/+U pair or, where every consumer applies updates by an
// upsert key, as the +U alone (Flink's UPDATE_BEFORE elimination).
type ChangelogMode struct {
	Update, Delete bool
	// AfterOnly: updates are sent without their -U.
	AfterOnly bool
	// None: the node emits nothing (a sink).
	None bool
}

// String prints the mode as Flink's EXPLAIN CHANGELOG_MODE does: I, UB,
// UA and D in that order, NONE for a sink.
func (m ChangelogMode) String() string {
	if m.None {
		return "NONE"
	}
	kinds := []string{"I"}
	if m.Update {
		if !m.AfterOnly {
			kinds = append(kinds, "UB")
		}
		kinds = append(kinds, "UA")
	}
	if m.Delete {
		kinds = append(kinds, "D")
	}
	return strings.Join(kinds, ",")
}

// updateKind is what a consumer asks of its input's updates.
type updateKind uint8

const (
	// noUpdates: the input produces no updates.
	noUpdates updateKind = iota
	// beforeAndAfter: updates as -U/+U pairs.
	beforeAndAfter
	// onlyAfter: +U alone suffices (the consumer upserts by key).
	onlyAfter
)

// ChangelogModes infers the changelog mode of every node of an optimized
// plan rooted at a Sink or Collect, in two passes as Flink does: the kinds
// of change each node produces, bottom up; then, top down from the root,
// whether its updates need their -U. An upsert sink whose primary key is
// exactly an upsert key of its query asks for +U only, and so, through
// the operators that can serve it (calcs without a condition, aggregates,
// ranks, joins without a non-equi condition whose inputs are keyed by
// their join keys, unions, correlates, sources), does
// every producer of updates up to the next operator that itself needs
// -U/+U pairs (an aggregate consumes retractions). Where some node cannot
// serve +U only, the whole query falls back to -U/+U pairs. The versioned
// input of an event-time temporal join asks for +U only too, whatever the
// root asks, and falls back to pairs on its own.
//
// The modes explain the plan the way Flink's EXPLAIN CHANGELOG_MODE prints
// it, and the run time sends exactly those changes: where a node is marked
// +U only, either it leaves its -U out itself or a DropUpdateBefore
// follows it (updateBeforeDroppers). sinkTakesAfterOnly is false when the
// root sink's rows pass a forced upsert materializer or a batch run's
// final rows, which consume -U rows (SinkTakesUpdateAfterOnly). The
// logical plan has no ChangelogNormalize or DropUpdateBefore nodes: a source shows the
// changelog its consumer receives, as a Flink source does whose
// DropUpdateBefore sits right after it. Where Eddy's operators retract by
// -U rows that Flink's would not emit (a Top-N replacing the row at a
// position, a join whose match may change), the node asks for -U/+U pairs
// instead of +U alone, so that a +U never leaves a stale row behind.
func ChangelogModes(root planner.Node, sinkTakesAfterOnly bool) map[planner.Node]ChangelogMode {
	inf := &changelogInference{kinds: map[planner.Node]ChangelogMode{}}
	inf.modifyKinds(root)
	modes := map[planner.Node]ChangelogMode{}
	req := beforeAndAfter
	if s, ok := root.(*planner.Sink); ok && sinkTakesAfterOnly && takesAfterOnly(s) {
		req = onlyAfter
	}
	if !inf.updateKinds(root, req, modes) {
		clear(modes)
		inf.updateKinds(root, beforeAndAfter, modes)
	}
	return modes
}

// takesAfterOnly reports whether sink s asks for +U rows alone: an
// upsert sink whose primary key is exactly an upsert key of its query,
// and a sink that drops -U rows (Flink's blackhole), as Flink's
// inferSinkRequiredTraits tries ONLY_UPDATE_AFTER for a sink without
// UPDATE_BEFORE in its changelog mode and no primary key to match.
func takesAfterOnly(s *planner.Sink) bool {
	return s.Upsert && upsertKeyIsPrimaryKey(s) || s.DropsUpdateBefore && !s.Upsert
}

// SinkTakesUpdateAfterOnly reports whether an upsert sink keyed by its
// query's upsert key may get +U rows alone under cfg: not when
// table.exec.sink.upsert-materialize is FORCE (Flink's materializer
// consumes -U/+U pairs) nor in a batch run (its final rows need the -U).
func SinkTakesUpdateAfterOnly(cfg Config) bool {
	return !cfg.Batch && cfg.UpsertMaterialize != SinkModeForce
}

// updateBeforeDroppers decides how the run time leaves out the -U rows
// that ChangelogModes says no consumer under root (a Sink or a Collect)
// receives. flags are the producers of updates that emit them without
// their -U themselves (exec specs' DropUpdateBefore, Flink's
// generateUpdateBefore = false): aggregates, Top-Ns and deduplications,
// non-time OVER aggregates, and normalized sources and FROM_CHANGELOGs
// (their ChangelogNormalize). nodes are the other producers, whose output
// passes a DropUpdateBefore (Physicalize): retract sources read without a
// normalization, retract FROM_CHANGELOGs, lookup joins, LIMITs.
//
// Two consumers take +U alone: an upsert sink whose primary key is
// exactly an upsert key of its query, unless sinkTakesAfterOnly is false
// (a forced upsert materializer, and batch runs' final rows, consume the
// -U rows); and the versioned input of every event-time temporal join,
// which applies updates by its key. Both are nil when neither is there.
// From them the walk follows the nodes ChangelogModes marks +U only,
// through those that pass their input's rows on (Calcs, which the
// inference lets pass +U alone only without a condition, projections,
// watermark assigners, unions, correlates), regular joins (whose inputs
// it marks +U only only where the join keeps them in keyed state views
// and has no non-equi condition) and the probe input of temporal joins
// (of left ones: an inner one asks an updating probe input for pairs).
// cdcEventsDuplicate is table.exec.source.cdc-events-duplicate, which
// decides whether a retract source is normalized (scanNormalized).
func updateBeforeDroppers(root planner.Node, sinkTakesAfterOnly, cdcEventsDuplicate bool) (flags, nodes map[planner.Node]bool) {
	s, _ := root.(*planner.Sink)
	sinkPath := sinkTakesAfterOnly && s != nil && takesAfterOnly(s)
	var versioned []planner.Node
	var findTemporal func(n planner.Node)
	findTemporal = func(n planner.Node) {
		if j, ok := n.(*planner.Join); ok && j.SystemTime >= 0 {
			versioned = append(versioned, j.Right)
		}
		for _, c := range n.Children() {
			findTemporal(c)
		}
	}
	findTemporal(root)
	if !sinkPath && len(versioned) == 0 {
		return nil, nil
	}
	modes := ChangelogModes(root, sinkTakesAfterOnly)
	flags, nodes = map[planner.Node]bool{}, map[planner.Node]bool{}
	var walk func(n planner.Node)
	walk = func(n planner.Node) {
		if !modes[n].AfterOnly {
			return
		}
		switch x := n.(type) {
		case *planner.WatermarkAssigner:
			walk(x.Input)
			// A DropUpdateBefore below the assigner, behind projections
			// only, moves above it: an assigner behind a split-aware
			// source then still reads the source's batches row for row
			// (its per-split watermarks).
			for in := x.Input; ; in = in.Children()[0] {
				if nodes[in] {
					delete(nodes, in)
					nodes[n] = true
					break
				}
				if _, ok := in.(*planner.Calc); !ok {
					if _, ok := in.(*planner.Project); !ok {
						break
					}
				}
			}
		case *planner.UnionAll, *planner.Correlate, *planner.Calc, *planner.Project:
			for _, c := range n.Children() {
				walk(c)
			}
		case *planner.Join:
			switch {
			case x.Lookup:
				// Its input sends the pairs it looks rows up for.
				nodes[n] = true
			case x.SystemTime >= 0:
				walk(x.Left)
			default:
				walk(x.Left)
				walk(x.Right)
			}
		case *planner.Aggregate, *planner.Over, *planner.Rank:
			flags[n] = true
		case *planner.Scan:
			if scanNormalized(x, cdcEventsDuplicate) {
				flags[n] = true
			} else {
				nodes[n] = true
			}
		case *planner.FromChangelog:
			if x.Upsert {
				flags[n] = true
			} else {
				nodes[n] = true
			}
		default:
			nodes[n] = true
		}
	}
	if sinkPath {
		walk(s.Input)
	}
	for _, v := range versioned {
		walk(v)
	}
	return flags, nodes
}

// upsertKeyIsPrimaryKey: the sink's primary key is exactly an upsert key
// of its query, so it can apply +U rows alone.
func upsertKeyIsPrimaryKey(s *planner.Sink) bool {
	pk := make([]int, len(s.Table.PrimaryKey))
	for i, k := range s.Table.PrimaryKey {
		pk[i] = s.Table.Schema.Index(k)
	}
	pk = normalizeKeys([][]int{pk})[0]
	for _, k := range UpsertKeys(s.Input) {
		if len(k) == len(pk) && containsAll(pk, k) {
			return true
		}
	}
	return false
}

type changelogInference struct {
	kinds map[planner.Node]ChangelogMode
}

var (
	insertOnly = ChangelogMode{}
	allChanges = ChangelogMode{Update: true, Delete: true}
)

// modifyKinds is the first pass: which kinds of change n emits.
func (c *changelogInference) modifyKinds(n planner.Node) ChangelogMode {
	var in []ChangelogMode
	for _, ch := range n.Children() {
		in = append(in, c.modifyKinds(ch))
	}
	var m ChangelogMode
	switch x := n.(type) {
	case *planner.Scan, *planner.FromChangelog:
		if n.Changelog() != planner.InsertOnly {
			m = allChanges
		}
	case *planner.Aggregate:
		// Results update; a group disappears only when its input can
		// shrink.
		m = ChangelogMode{Update: true, Delete: in[0].Update || in[0].Delete}
	case *planner.Rank:
		m = allChanges
		if isDeduplicate(x) && !x.Order[0].Desc && x.Input.Schema().Columns[x.Order[0].Col].Type.TimeAttr == types.ProctimeAttr {
			// Keeping the first row of each key by processing time only
			// inserts (the other deduplications update, as Eddy's
			// deduplicate operator does).
			m = insertOnly
		}
	case *planner.Sort:
		m = allChanges
	case *planner.Limit:
		// A batch limit emits the final rows it reads (planner.Limit.Batch).
		if in[0] != insertOnly && !x.Batch {
			m = allChanges
		}
	case *planner.Join:
		switch {
		case x.Interval:
		case x.SystemTime >= 0 || x.Lookup:
			m = in[0]
		case x.Type == planner.InnerJoin || x.Type == planner.SemiJoin:
			m = ChangelogMode{Update: in[0].Update || in[1].Update, Delete: in[0].Delete || in[1].Delete}
		default:
			m = allChanges
		}
	case *planner.Over:
		m = in[0]
		switch {
		case x.Batch:
			// A batch Over emits the final rows of its whole input.
			m = insertOnly
		case x.NonTimeOrdered():
			m = allChanges
		}
	case *planner.UnionAll:
		for _, k := range in {
			m.Update, m.Delete = m.Update || k.Update, m.Delete || k.Delete
		}
	case *planner.Calc, *planner.Project, *planner.Filter, *planner.WatermarkAssigner,
		*planner.Correlate, *planner.Sink, *planner.Collect:
		m = in[0]
	default:
		// Windows, window joins, Top-N per window, temporal sorts,
		// MATCH_RECOGNIZE, TO_CHANGELOG, VALUES and snapshot joins emit
		// inserts only.
		if n.Changelog() != planner.InsertOnly {
			m = allChanges
		}
	}
	c.kinds[n] = m
	return m
}

// updateKinds is the second pass: n must emit its updates as req asks;
// it reports whether n can, recording the modes of n and its inputs.
func (c *changelogInference) updateKinds(n planner.Node, req updateKind, modes map[planner.Node]ChangelogMode) bool {
	m := c.kinds[n]
	if !m.Update {
		req = noUpdates
	}
	// child asks input i for -U/+U pairs, or (after) for +U only, where
	// it updates at all.
	child := func(i int, after bool) bool {
		in := n.Children()[i]
		r := beforeAndAfter
		if after {
			r = onlyAfter
		}
		return c.updateKinds(in, r, modes)
	}
	ok := true
	switch x := n.(type) {
	case *planner.Sink, *planner.Collect:
		ok = child(0, req == onlyAfter)
	case *planner.Scan, *planner.FromChangelog, *planner.Values:
		// A source serves +U only by dropping its -U rows (Flink's
		// DropUpdateBefore, or a ChangelogNormalize fed the upserts).
	case *planner.Calc:
		// As Flink (FLINK-9528), a condition on an update stream needs the
		// -U: the old row may pass where the new one does not.
		if req == onlyAfter && x.Condition != nil {
			return false
		}
		ok = child(0, req == onlyAfter)
	case *planner.Filter:
		if req == onlyAfter {
			return false
		}
		ok = child(0, false)
	case *planner.Project, *planner.WatermarkAssigner, *planner.Correlate, *planner.UnionAll:
		for i := range n.Children() {
			ok = ok && child(i, req == onlyAfter)
		}
	case *planner.Aggregate, *planner.Limit, *planner.Sort:
		// They retract what they emitted for an input row's old version,
		// so they need the -U; they serve either kind themselves.
		ok = child(0, false)
	case *planner.Rank:
		// Eddy's rank operator retracts the rows that leave the Top-N,
		// so it consumes -U/+U pairs (Flink's RetractStrategy); it
		// serves either kind, unless its -U/+U pairs may hold rows of
		// different upsert keys (rankReplacesKeys).
		if req == onlyAfter && rankReplacesKeys(x) {
			return false
		}
		ok = child(0, false)
	case *planner.Join:
		switch {
		case x.Interval:
			ok = child(0, false) && child(1, false)
		case x.SystemTime >= 0:
			// The probe side follows the consumer. The versioned side is
			// applied by key, each +I/+U a version of its own, so its -U
			// carry nothing the join needs: as Flink's planner, the join
			// asks it for +U alone (ONLY_UPDATE_AFTER) and falls back to
			// -U/+U pairs where it cannot serve that (a condition over its
			// updates, FLINK-9528).
			// An inner join's probe side needs its -U where it updates: a
			// new version may find no version of the right row at its
			// time, and then only the -U retracts the old joined row.
			if req == onlyAfter && x.Type == planner.InnerJoin && c.kinds[x.Left].Update {
				return false
			}
			ok = child(0, req == onlyAfter) && (c.tryUpdateKinds(x.Right, onlyAfter, modes) || child(1, false))
		case x.Lookup:
			// The lookup join's input sends pairs; a DropUpdateBefore
			// after the join serves +U alone, except for an inner join
			// whose new version may find no row to join, which only the
			// -U of the old joined row retracts.
			if req == onlyAfter && x.Type == planner.InnerJoin && c.kinds[x.Left].Update {
				return false
			}
			ok = child(0, false) && child(1, false)
		default:
			// A side with an upsert key that contains its join keys can
			// send +U alone: the join's state for the side is keyed by
			// it (Flink's inputUniqueKeyContainsJoinKey).
			// A non-equi condition may make an updating row's new
			// version join other rows than the old one, whose joined rows
			// only its -U retracts (where Flink would drop it).
			nl := x.Left.Schema().Len()
			lk, rk, rest := splitEquiConditions(x.Condition, nl)
			keyed := [2]bool{len(keysContaining(UpsertKeys(x.Left), lk)) > 0, len(keysContaining(UpsertKeys(x.Right), rk)) > 0}
			for i := range 2 {
				in := c.kinds[n.Children()[i]]
				if req == onlyAfter && in.Update && (!keyed[i] || rest != nil) {
					return false
				}
				ok = ok && child(i, req == onlyAfter)
			}
		}
	case *planner.Over:
		if req == onlyAfter && x.NonTimeOrdered() {
			return false
		}
		ok = child(0, false)
	default:
		for i := range n.Children() {
			ok = ok && child(i, false)
		}
	}
	if !ok {
		return false
	}
	m.AfterOnly = req == onlyAfter
	if _, sink := n.(*planner.Sink); sink {
		m = ChangelogMode{None: true}
	}
	modes[n] = m
	return true
}

// tryUpdateKinds is updateKinds that records the modes of n's subtree
// only when n can serve req, so a caller may fall back to another
// request without the failed attempt's modes left behind.
func (c *changelogInference) tryUpdateKinds(n planner.Node, req updateKind, modes map[planner.Node]ChangelogMode) bool {
	tried := map[planner.Node]ChangelogMode{}
	if !c.updateKinds(n, req, tried) {
		return false
	}
	maps.Copy(modes, tried)
	return true
}

// isDeduplicate reports a ROW_NUMBER() = 1 by a time attribute over
// inserts, which runs as a deduplication (physicalizeRank).
func isDeduplicate(r *planner.Rank) bool {
	s := r.Input.Schema()
	return r.RankType == "ROW_NUMBER" && r.Start == 1 && r.End == 1 && len(r.Order) == 1 &&
		len(r.Partition) > 0 && isTimeAttr(s, r.Order[0].Col) && r.Input.Changelog() == planner.InsertOnly
}

// rankReplacesKeys reports whether a Top-N may emit a -U and a +U of rows
// with different keys of its input: it replaces the row at a position
// (with the rank number, an offset, a Top-1 over inserts, a
// deduplication), and its input has an upsert key strictly containing its
// partition keys, which then stays a key of its output (rankUpsertKeys).
// A consumer applying updates by that key needs the -U to remove the
// replaced row; Flink's Top-N would emit -D for it.
func rankReplacesKeys(r *planner.Rank) bool {
	replaces := isDeduplicate(r) || r.OutputRank || r.Start > 1 || (r.End == 1 && r.Input.Changelog() == planner.InsertOnly)
	if !replaces {
		return false
	}
	for _, k := range keysContaining(UpsertKeys(r.Input), r.Partition) {
		if len(k) > len(normalizeKeys([][]int{r.Partition})[0]) {
			return true
		}
	}
	return false
}
