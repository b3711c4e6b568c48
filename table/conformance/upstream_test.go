package conformance_test

import (
	"slices"
	"testing"
)

// upstreamFix is a change Flink made to one of its own programs after the
// revision testdata/flink was extracted from. Either the sink is compared
// by its final rows from then on (final), or its expected changelog before
// the restore was corrected (before).
type upstreamFix struct {
	ref    string // the Flink issue and pull request that made the change
	sink   string
	final  []string
	before []string
}

// upstreamFixes are the later changes Flink's maintainers made to their
// programs:
//   - programs whose expected changelog assumed one interleaving of two
//     sources were flaky in Flink's own CI and now assert only their final
//     rows, as Flink's test sink materializes them (by primary key, else
//     as a bag);
//   - a program whose expectation recorded what Flink's code generation
//     read from NULLs in NOT NULL columns was corrected when Flink stopped
//     evaluating non-key expressions for delete-by-key rows.
var upstreamFixes = map[string]upstreamFix{
	"common/CalcTestPrograms.COALESCE_NESTED_ROW_LEFT_JOIN": {
		ref: "FLINK-40363 (apache/flink#28950)", sink: "coalesce_sink",
		final: []string{"+I[1]", "+I[2]"},
	},
	"stream/DeletesByKeyPrograms.JOIN_INTO_FULL_DELETES": {
		ref: "FLINK-40317 (apache/flink#28896)", sink: "sink_t",
		final: []string{"+I[3, Emily, 40]", "+I[2, BOB, 20]"},
	},
	"stream/DeletesByKeyPrograms.JOIN_INTO_DELETES_BY_KEY": {
		ref: "FLINK-40317 (apache/flink#28896)", sink: "sink_t",
		final: []string{"+I[2, BOB, 20]", "+I[3, Emily, 40]"},
	},
	"stream/DeletesByKeyPrograms.INSERT_SELECT_DELETE_BY_KEY_DELETE_BY_KEY_WITH_PROJECTION": {
		ref: "FLINK-40528 (apache/flink#29106)", sink: "sink_t",
		before: []string{"+I[1, Alice, 12]", "+I[2, Bob, 22]", "-D[1, null, null]", "+U[2, Bob, 32]"},
	},
}

// applyUpstreamFixes rewrites the sinks of the programs Flink changed
// since; a fix that no longer matches its program fails the test, so that
// a refreshed testdata/flink does not silently keep a stale fix.
func applyUpstreamFixes(t *testing.T, programs []loaded) {
	applied := map[string]bool{}
	for i := range programs {
		fix, ok := upstreamFixes[programs[i].key]
		if !ok {
			continue
		}
		for j := range programs[i].p.Sinks {
			s := &programs[i].p.Sinks[j]
			if s.Name != fix.sink {
				continue
			}
			switch {
			case fix.final != nil:
				if s.Compare == "materialized" {
					t.Errorf("%s: its sink %s already compares final rows; drop the fix of %s", programs[i].key, s.Name, fix.ref)
				}
				s.Compare, s.ExpectedBefore, s.ExpectedAfter = "materialized", fix.final, nil
			case slices.Equal(s.ExpectedBefore, fix.before):
				t.Errorf("%s: its sink %s already expects the corrected changelog; drop the fix of %s", programs[i].key, s.Name, fix.ref)
			default:
				s.ExpectedBefore = fix.before
			}
			applied[programs[i].key] = true
		}
	}
	for key, fix := range upstreamFixes {
		if !applied[key] {
			t.Errorf("the fix of %s names program %s and sink %s, which do not exist", fix.ref, key, fix.sink)
		}
	}
}
