package format

import (
	"math"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

func TestJavaDouble(t *testing.T) {
	for _, tc := range []struct {
		f    float64
		bits int
		want string
	}{
		{1, 64, "1.0"}, {1e10, 64, "1.0E10"}, {1e7, 64, "1.0E7"}, {9999999, 64, "9999999.0"}, {0.001, 64, "0.001"},
		{0.0001, 64, "1.0E-4"}, {1.5e-5, 64, "1.5E-5"}, {-2.5, 64, "-2.5"}, {123.456, 64, "123.456"},
		{0, 64, "0.0"}, {math.Copysign(0, -1), 64, "-0.0"}, {math.NaN(), 64, "NaN"}, {math.Inf(1), 64, "Infinity"},
		{math.Inf(-1), 64, "-Infinity"}, {0.1, 32, "0.1"}, {float64(float32(0.1)), 32, "0.1"}, {1.0 / 3, 64, "0.3333333333333333"},
		{math.MaxFloat64, 64, "1.7976931348623157E308"}, {1234567.0, 64, "1234567.0"}, {12345678.9, 64, "1.23456789E7"},
		{100, 64, "100.0"},
	} {
		if got := string(AppendJavaDouble(nil, tc.f, tc.bits)); got != tc.want {
			t.Errorf("%v/%d: got %s, want %s", tc.f, tc.bits, got, tc.want)
		}
	}
}

func TestBigDecimal(t *testing.T) {
	for _, tc := range []struct {
		v     int64
		scale int32
		want  string
	}{
		{1230, 2, "12.30"}, {-5, 2, "-0.05"}, {0, 2, "0.00"}, {1, 8, "1E-8"}, {0, 8, "0E-8"}, {1, 7, "1E-7"},
		{1, 6, "0.000001"}, {12, 8, "1.2E-7"}, {42, 0, "42"}, {-42, 0, "-42"},
	} {
		if got := string(AppendBigDecimal(nil, decimal128.FromI64(tc.v), tc.scale)); got != tc.want {
			t.Errorf("%d scale %d: got %s, want %s", tc.v, tc.scale, got, tc.want)
		}
	}
	big, _ := decimal128.FromString("-12345678901234567890123.45", 38, 2)
	if got := string(AppendBigDecimal(nil, big, 2)); got != "-12345678901234567890123.45" {
		t.Errorf("big: %s", got)
	}
}

func TestTemporal(t *testing.T) {
	check := func(got []byte, want string) {
		t.Helper()
		if string(got) != want {
			t.Errorf("got %s, want %s", got, want)
		}
	}
	check(AppendDate(nil, 0), "1970-01-01")
	check(AppendDate(nil, 2932897), "+10000-01-01")
	check(AppendTime(nil, 0, true), "00:00")
	check(AppendTime(nil, 61e9, true), "00:01:01")
	check(AppendTime(nil, 1500, true), "00:00:00.000001500")
	check(AppendTime(nil, 120e6, false), "00:00:00.12")
	check(AppendTimestamp(nil, 0, 0, SQL, false), "1970-01-01 00:00:00")
	check(AppendTimestamp(nil, -1, 999e6, SQL, false), "1969-12-31 23:59:59.999")
	check(AppendTimestamp(nil, 0, 5e8, ISO8601, true), "1970-01-01T00:00:00.5Z")
	check(AppendTimestamp(nil, 0, 5e8, Java, false), "1970-01-01T00:00:00.500")
	check(AppendTimestamp(nil, 0, 0, Java, true), "1970-01-01T00:00:00Z")
	check(AppendJavaBytes(nil, []byte{0, 127, 128, 255}), "[0, 127, -128, -1]")

	for s, want := range map[string][2]int64{
		"2020-01-01 00:00:00.123": {1577836800, 123e6}, "2020-01-01T00:00": {1577836800, 0},
		"1969-12-31 23:59:59.999999999Z": {-1, 999999999},
	} {
		sec, nano, err := ParseTimestamp(s)
		if err != nil || sec != want[0] || nano != want[1] {
			t.Errorf("ParseTimestamp(%s) = %d %d %v", s, sec, nano, err)
		}
	}
	for _, s := range []string{"2020-13-01 00:00", "2020-01-01", "2020-01-01 25:00", "2020-01-01 00:00:00.1234567890", "2020-01-01 00:00:0x"} {
		if _, _, err := ParseTimestamp(s); err == nil {
			t.Errorf("ParseTimestamp(%s) succeeded", s)
		}
	}
}

func TestParseDecimal(t *testing.T) {
	for s, want := range map[string]string{
		"1.005": "1.01", "-1.004": "-1.00", "12": "12.00", ".5": "0.50", "1E-8": "0.00", "1.5E2": "150.00",
	} {
		n, err := ParseDecimal(s, 10, 2)
		if err != nil || n.ToString(2) != want {
			t.Errorf("ParseDecimal(%s) = %s %v, want %s", s, n.ToString(2), err, want)
		}
	}
	for _, s := range []string{"", "abc", "1.2.3", "123456789012"} {
		if _, err := ParseDecimal(s, 10, 2); err == nil {
			t.Errorf("ParseDecimal(%q) succeeded", s)
		}
	}
}
