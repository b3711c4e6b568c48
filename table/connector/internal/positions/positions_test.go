package positions

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDeal: the shares of every reader are disjoint, cover the owed
// positions exactly, in order, and differ in size by at most one.
func TestDeal(t *testing.T) {
	owed := []Span{{First: 0, Step: 3, Count: 5}, {First: 1, Step: 3, Count: 2}, {First: 40, Step: 1, Count: 4}}
	var want []int64
	for _, s := range owed {
		for k := range s.Count {
			want = append(want, s.First+k*s.Step)
		}
	}
	for n := int64(1); n <= 13; n++ {
		var got []int64
		for i := range n {
			share := Deal(owed, i, n)
			var size int64
			for _, s := range share {
				size += s.Count
				for k := range s.Count {
					got = append(got, s.First+k*s.Step)
				}
			}
			require.Equal(t, Share(int64(len(want)), n, i), size)
		}
		require.Equal(t, want, got, "n=%d", n)
	}
}

// TestCutJoins: a cut across two spans that continue one another is one
// span.
func TestCutJoins(t *testing.T) {
	spans := []Span{{First: 0, Step: 2, Count: 3}, {First: 6, Step: 2, Count: 3}}
	require.Equal(t, []Span{{First: 2, Step: 2, Count: 4}}, Cut(spans, 1, 5))
}

func TestReadSpans(t *testing.T) {
	spans := []Span{{First: 7, Step: 2, Count: 3}, {First: 0, Step: 1, Count: 1}}
	b := AppendSpans(nil, spans)
	got, rest, err := ReadSpans(append(b, 9))
	require.NoError(t, err)
	require.Equal(t, spans, got)
	require.Equal(t, []byte{9}, rest)
	for _, bad := range [][]byte{nil, {1}, {1, 0, 0, 1}, {1, 0, 1, 0}, {5, 0}} {
		_, _, err := ReadSpans(bad)
		require.ErrorIs(t, err, ErrCorrupt, "%v", bad)
	}
}
