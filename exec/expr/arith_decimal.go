package expr

import (
	"math/bits"

	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

// pow10u64[k] is 10^k for the shifts a 64-bit division can apply.
var pow10u64 = func() (p [20]uint64) {
	p[0] = 1
	for k := 1; k < len(p); k++ {
		p[k] = p[k-1] * 10
	}
	return p
}()

// decimalMulFast multiplies two decimals whose unscaled values fit in
// int64 (the common case: a BIGINT cast to DECIMAL(19, 0) times a literal
// such as Nexmark q1's 0.908) without math/big: the 128-bit product of the
// magnitudes, then a drop of shift digits rounded HALF_UP (away from zero,
// as rescaleHalfUp does) when the result scale is below s1+s2. ok is false
// when the operands or the result do not fit this path, and the caller then
// takes the math/big one; results are identical where both apply.
func decimalMulFast(x, y decimal128.Num, shift int) (res decimal128.Num, ok bool) {
	xv, xok := int64Of(x)
	yv, yok := int64Of(y)
	if !xok || !yok || shift < 0 || shift >= len(pow10u64) {
		return decimal128.Num{}, false
	}
	hi, lo := bits.Mul64(absUint64(xv), absUint64(yv))
	if shift > 0 {
		d := pow10u64[shift]
		if hi >= d {
			return decimal128.Num{}, false // the quotient needs more than 64 bits
		}
		q, r := bits.Div64(hi, lo, d)
		if r >= d-r { // 2r >= d without overflow: round half away from zero
			if q == ^uint64(0) {
				return decimal128.Num{}, false
			}
			q++
		}
		hi, lo = 0, q
	}
	if hi >= 1<<63 {
		return decimal128.Num{}, false
	}
	res = decimal128.New(int64(hi), lo)
	if (xv < 0) != (yv < 0) {
		res = res.Negate()
	}
	return res, true
}

// int64Of is n's unscaled value when it fits in an int64.
func int64Of(n decimal128.Num) (int64, bool) {
	lo := n.LowBits()
	return int64(lo), n.HighBits() == int64(lo)>>63
}

// absUint64 is |v| (also for math.MinInt64).
func absUint64(v int64) uint64 {
	if v < 0 {
		return -uint64(v)
	}
	return uint64(v)
}
