package exec

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestJoinStoreSlotGrowth stores rows across several growths of the
// per-slot slices (which the store grows ahead of the slots it hands
// out), removes some in runs as an expiring join does (removeSlots),
// reuses their slots, and checks every key's rows in arrival order, the
// slots handed out, and an encode/decode round trip of the state.
func TestJoinStoreSlotGrowth(t *testing.T) {
	const rows, keys = 5000, 97
	newStore := func() *joinStore { return newJoinStore([]vkind{vkInt, vkStr}, []int{0}, metaTime) }
	views := func(ids []int) []colView {
		v := []colView{{kind: vkInt}, {kind: vkStr}}
		for _, id := range ids {
			v[0].ints = append(v[0].ints, int64(id%keys))
			v[1].strs = append(v[1].strs, fmt.Sprintf("row-%d", id))
		}
		return v
	}
	hashOf := func(k int64) uint64 { return fmix64(uint64(k)) }
	// add stores the rows ids as one batch: keys first, the other columns
	// with copyPending, as the joins do.
	add := func(s *joinStore, ids []int, slotOf map[int]int32) {
		v := views(ids)
		for i, id := range ids {
			h := hashOf(v[0].ints[i])
			slotOf[id] = s.addRowKeys(h, s.findKey(h, v, []int{0}, i), v, i, int64(id))
		}
		s.copyPending(v)
	}
	// contents lists each key's rows in the order of its list.
	contents := func(s *joinStore) map[int64][]string {
		out := map[int64][]string{}
		for k := range int64(keys) {
			v := []colView{{kind: vkInt, ints: []int64{k}}}
			e := s.findKey(hashOf(k), v, []int{0}, 0)
			if e < 0 {
				continue
			}
			for sl := s.entHead[e]; sl >= 0; sl = s.next[sl] {
				require.Equal(t, k, s.cols[0].ints[sl])
				out[k] = append(out[k], s.cols[1].str(sl))
			}
		}
		return out
	}

	s := newStore()
	slotOf := map[int]int32{}
	want := map[int64][]string{}
	var ids []int
	for id := range rows {
		ids = append(ids, id)
		want[int64(id%keys)] = append(want[int64(id%keys)], fmt.Sprintf("row-%d", id))
		if len(ids) == 333 || id == rows-1 {
			add(s, ids, slotOf)
			ids = ids[:0]
		}
	}
	require.Equal(t, int32(rows), s.slots)
	require.Equal(t, rows, s.live)
	require.Greater(t, len(s.count), rows, "the slices grow ahead of the slots handed out")
	for sl := int(s.slots); sl < len(s.count); sl++ {
		require.Zero(t, s.count[sl], "slot %d past those handed out is free", sl)
	}
	require.Equal(t, want, contents(s))

	// Expire the first 1000 rows (more than one run of removeSlots), then
	// store as many: they take the freed slots, no new ones.
	var expired []int32
	for id := range 1000 {
		expired = append(expired, slotOf[id])
		k := int64(id % keys)
		want[k] = want[k][1:]
		if len(want[k]) == 0 {
			delete(want, k)
		}
	}
	s.removeSlots(expired)
	require.Equal(t, rows-1000, s.live)
	for id := rows; id < rows+1000; id++ {
		ids = append(ids, id)
		want[int64(id%keys)] = append(want[int64(id%keys)], fmt.Sprintf("row-%d", id))
	}
	add(s, ids, slotOf)
	require.Equal(t, int32(rows), s.slots, "freed slots are reused")
	require.Equal(t, want, contents(s))

	// Snapshot and restore: the restored store holds the same rows in the
	// same order.
	var w wbuf
	groups := s.slotsByKeyGroup()
	n := 0
	for _, g := range groups {
		for _, sl := range g {
			s.encodeSlot(&w, sl)
			n++
		}
	}
	r := &rbuf{b: w.b}
	restored := newStore()
	for range n {
		restored.decodeSlot(r)
	}
	require.NoError(t, r.err)
	require.Equal(t, s.live, restored.live)
	require.Equal(t, want, contents(restored))
}
