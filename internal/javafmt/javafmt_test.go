package javafmt

import (
	"math"
	"testing"
)

func TestFloat(t *testing.T) {
	for _, tc := range []struct {
		f    float64
		bits int
		want string
	}{
		{4, 64, "4.0"},
		{-0.5, 64, "-0.5"},
		{0, 64, "0.0"},
		{math.Copysign(0, -1), 64, "-0.0"},
		{1e7, 64, "1.0E7"},
		{1.5e-4, 64, "1.5E-4"},
		{0.001, 64, "0.001"},
		{123456.789, 64, "123456.789"},
		{float64(float32(0.1)), 32, "0.1"},
		{math.NaN(), 64, "NaN"},
		{math.Inf(1), 64, "Infinity"},
		{math.Inf(-1), 32, "-Infinity"},
	} {
		if got := Float(tc.f, tc.bits); got != tc.want {
			t.Errorf("Float(%v, %d) = %s, want %s", tc.f, tc.bits, got, tc.want)
		}
	}
}
