package sql

import (
	"strings"
	"testing"
	"time"
)

func TestZZPerf(t *testing.T) {
	for _, n := range []int{1000, 4000} {
		cases := map[string]string{
			"nested f":  "SELECT " + strings.Repeat("f(", n) + "1" + strings.Repeat(")", n),
			"casts":     "SELECT " + strings.Repeat("CAST(a AS INT) + ", n) + "1 FROM t",
			"intervals": "SELECT " + strings.Repeat("INTERVAL '1' HOUR + ", n) + "1 FROM t",
			"filters":   "SELECT " + strings.Repeat("COUNT(*) FILTER (WHERE a > 1), ", n) + "1 FROM t",
			"tvfs":      "SELECT * FROM " + strings.Repeat("TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '1' HOUR)), ", n) + "t",
			"groupby":   "SELECT 1 FROM t GROUP BY " + strings.Repeat("a, ", n) + "ROLLUP(b)",
			"parens":    "SELECT " + strings.Repeat("(", n) + "1" + strings.Repeat(")", n),
		}
		for name, src := range cases {
			start := time.Now()
			_, err := ParseScript(src)
			t.Logf("n=%d %-10s %8v err=%v", n, name, time.Since(start).Round(time.Millisecond), err != nil)
		}
	}
}
