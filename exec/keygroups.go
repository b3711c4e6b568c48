package exec

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strconv"
)

// MaxParallelismKey is Flink's pipeline.max-parallelism: the number of key
// groups keyed state is split into, hence the largest parallelism a keyed
// operator can ever be rescaled to. A savepoint records it, and a job
// restores only with the same value, since the key group of every key
// depends on it.
const MaxParallelismKey = "pipeline.max-parallelism"

// MaxParallelismFrom reads pipeline.max-parallelism from a job's
// configuration. Flink derives the default from the parallelism (at least
// 128, computeDefaultMaxParallelism); this runtime organizes keyed state in
// KeyGroups groups (KeyGroupOf takes the top bits of the key hash), so
// that is both the default and the only value it accepts.
func MaxParallelismFrom(cfg map[string]string) (int, error) {
	v, ok := cfg[MaxParallelismKey]
	if !ok || v == "" {
		return KeyGroups, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("exec: %s must be a positive integer, got %q", MaxParallelismKey, v)
	}
	if n != KeyGroups {
		return 0, fmt.Errorf("exec: %s is %d, but this runtime keeps keyed state in %d key groups: only %d is supported",
			MaxParallelismKey, n, KeyGroups, KeyGroups)
	}
	return n, nil
}

// keyGroupRange is the key groups [start, end) that subtask i of n owns:
// those a Hash exchange sends to it (targetOf, Flink's
// KeyGroupRangeAssignment.computeKeyGroupRangeForOperatorIndex).
func keyGroupRange(i, n int) (start, end int) {
	return (i*KeyGroups + n - 1) / n, ((i+1)*KeyGroups + n - 1) / n
}

// ownsKeyGroup reports whether the subtask of ctx owns key group kg, the
// key-group form of ownsHash.
func ownsKeyGroup(ctx *OperatorContext, kg int) bool {
	return ctx == nil || ctx.Parallelism <= 1 || kg*ctx.Parallelism/KeyGroups == ctx.Subtask
}

// rescaledSources lists, for subtask i of a vertex rescaled to n subtasks
// from old subtasks, the old subtasks whose key-group ranges intersect its
// own: the only ones holding keys it owns.
func rescaledSources(i, n, old int) []int {
	start, end := keyGroupRange(i, n)
	var out []int
	for o := range old {
		os, oe := keyGroupRange(o, old)
		if os < end && start < oe {
			out = append(out, o)
		}
	}
	return out
}

// mergeGroupAggSnapshots adds the key groups that ctx's subtask owns in
// state, a group aggregate snapshot (see groupAgg.Snapshot), to prev, the
// snapshot restored so far (nil: none), and returns one snapshot in the
// same format. A group aggregate builds its accumulators only from its
// first batch, so a rescaled one merges its snapshots as bytes: every key
// group belonged to one old subtask, so no key group occurs twice.
func mergeGroupAggSnapshots(prev, state []byte, ctx *OperatorContext) ([]byte, error) {
	type section struct {
		kg   int
		body []byte
	}
	parse := func(s []byte) (header []byte, secs []section, err error) {
		src := s[len(snapshotMagic):]
		if len(src) < 8 {
			return nil, nil, errGroupAggState
		}
		src = src[8:]
		for range 2 { // calls, keys
			_, n := binary.Uvarint(src)
			if n <= 0 {
				return nil, nil, errGroupAggState
			}
			src = src[n:]
		}
		header = s[:len(s)-len(src)]
		count, n := binary.Uvarint(src)
		if n <= 0 {
			return nil, nil, errGroupAggState
		}
		src = src[n:]
		for range count {
			kg, n := binary.Uvarint(src)
			if n <= 0 || kg >= KeyGroups {
				return nil, nil, errGroupAggState
			}
			src = src[n:]
			length, n := binary.Uvarint(src)
			if n <= 0 || uint64(len(src)-n) < length {
				return nil, nil, errGroupAggState
			}
			secs = append(secs, section{int(kg), src[n : n+int(length)]})
			src = src[n+int(length):]
		}
		if len(src) != 0 {
			return nil, nil, errGroupAggState
		}
		return header, secs, nil
	}
	header, secs, err := parse(state)
	if err != nil {
		return nil, err
	}
	secs = slices.DeleteFunc(secs, func(s section) bool { return !ownsKeyGroup(ctx, s.kg) })
	if prev != nil {
		prevHeader, prevSecs, err := parse(prev)
		if err != nil {
			return nil, err
		}
		if string(prevHeader) != string(header) {
			return nil, fmt.Errorf("group-aggregate: the snapshots restored together were taken over different input types or calls")
		}
		secs = append(prevSecs, secs...)
	}
	slices.SortFunc(secs, func(a, b section) int { return a.kg - b.kg })
	out := slices.Clone(header)
	out = binary.AppendUvarint(out, uint64(len(secs)))
	for _, s := range secs {
		out = binary.AppendUvarint(out, uint64(s.kg))
		out = binary.AppendUvarint(out, uint64(len(s.body)))
		out = append(out, s.body...)
	}
	return out, nil
}
