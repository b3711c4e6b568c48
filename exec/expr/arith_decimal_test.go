package expr

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

// TestDecimalMulFast checks the int64 fast path of DECIMAL * against the
// math/big path it short-cuts, on random and edge operands and every shift.
func TestDecimalMulFast(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	edges := []int64{0, 1, -1, 5, -5, 15, 908, -908, 1e9, math.MaxInt64, math.MinInt64, math.MaxInt32, math.MinInt64 + 1}
	operand := func() int64 {
		switch r.IntN(4) {
		case 0:
			return edges[r.IntN(len(edges))]
		case 1:
			return r.Int64N(2e6) - 1e6
		case 2:
			return int64(r.Uint64())
		}
		return r.Int64N(1e10) * int64(1-2*r.IntN(2))
	}
	fast := 0
	for range 200_000 {
		x, y, shift := operand(), operand(), r.IntN(21)
		got, ok := decimalMulFast(decimal128.FromI64(x), decimal128.FromI64(y), shift)
		q := new(big.Int).Mul(big.NewInt(x), big.NewInt(y))
		rescaleHalfUp(q, shift, 0)
		if !ok {
			continue
		}
		fast++
		if want := decimal128.FromBigInt(q); got != want {
			t.Fatalf("%d * %d >> %d digits: fast %s, math/big %s", x, y, shift, got.BigInt(), q)
		}
	}
	if fast < 100_000 {
		t.Errorf("the fast path took only %d of 200000 products", fast)
	}
	// Rounding is half away from zero on both signs.
	for _, c := range []struct{ x, y, want int64 }{{15, 1, 2}, {-15, 1, -2}, {14, 1, 1}, {-14, 1, -1}, {25, -1, -3}} {
		if got, ok := decimalMulFast(decimal128.FromI64(c.x), decimal128.FromI64(c.y), 1); !ok || got != decimal128.FromI64(c.want) {
			t.Errorf("%d * %d >> 1 digit = %v (%v), want %d", c.x, c.y, got.BigInt(), ok, c.want)
		}
	}
}
