// Package javafmt formats values as the JVM prints them, which is what
// Flink's casts to STRING and its printed results show.
package javafmt

import (
	"math"
	"strconv"
	"strings"
)

// Float prints a FLOAT (bits 32) or DOUBLE (bits 64) as Java's
// Float.toString/Double.toString: the shortest digits that round-trip,
// plain notation with at least one fractional digit for magnitudes in
// [1e-3, 1e7), otherwise computerized scientific notation such as 1.0E10
// or 1.5E-4.
func Float(f float64, bits int) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0:
		if math.Signbit(f) {
			return "-0.0"
		}
		return "0.0"
	}
	abs := math.Abs(f)
	if abs >= 1e-3 && abs < 1e7 {
		s := strconv.FormatFloat(f, 'f', -1, bits)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	}
	s := strconv.FormatFloat(f, 'E', -1, bits) // e.g. 1E+10, 1.5E-04
	mant, exp, _ := strings.Cut(s, "E")
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	e, _ := strconv.Atoi(exp)
	return mant + "E" + strconv.Itoa(e)
}
