package exec

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"
)

// TestInputTracker scripts the watermark and end-of-input combining of a
// task's input channels:
//
//	init channels=<input of channel 0>,<input of channel 1>,...
//	wm ch=<channel> wm=<ms>
//	end ch=<channel>
//	idle ch=<channel>
//	active ch=<channel>
//
// and prints the events delivered to the operator.
func TestInputTracker(t *testing.T) {
	var tr *inputTracker
	datadriven.RunTest(t, "testdata/input_tracker", func(t *testing.T, d *datadriven.TestData) string {
		return runTracker(t, d, &tr)
	})
}

func runTracker(t *testing.T, d *datadriven.TestData, trp **inputTracker) string {
	tr := *trp
	var ch int
	if d.HasArg("ch") {
		d.ScanArgs(t, "ch", &ch)
	}
	switch d.Cmd {
	case "init":
		var spec string
		d.ScanArgs(t, "channels", &spec)
		var chanInput []int
		inputs := 0
		for _, s := range strings.Split(spec, ",") {
			in, err := strconv.Atoi(s)
			if err != nil {
				t.Fatal(err)
			}
			chanInput = append(chanInput, in)
			inputs = max(inputs, in+1)
		}
		*trp = newInputTracker(chanInput, inputs)
		return ""
	case "wm":
		var wm int64
		d.ScanArgs(t, "wm", &wm)
		if in, w, ok := tr.watermark(ch, Watermark(wm)); ok {
			return fmt.Sprintf("input %d: watermark %s\n", in, fmtWM(w))
		}
		return "nothing\n"
	case "end":
		var out strings.Builder
		in, w, advanced, ended, changed := tr.end(ch)
		if advanced {
			fmt.Fprintf(&out, "input %d: watermark %s\n", in, fmtWM(w))
		}
		if changed {
			fmt.Fprintf(&out, "input %d: %s\n", in, status(tr.inputIdle[in]))
		}
		if ended {
			fmt.Fprintf(&out, "input %d: end\n", in)
		}
		if out.Len() == 0 {
			return "nothing\n"
		}
		return out.String()
	case "idle", "active":
		var out strings.Builder
		in, w, advanced, changed, idle := tr.status(ch, d.Cmd == "idle")
		if advanced {
			fmt.Fprintf(&out, "input %d: watermark %s\n", in, fmtWM(w))
		}
		if changed {
			fmt.Fprintf(&out, "input %d: %s\n", in, status(idle))
		}
		if out.Len() == 0 {
			return "nothing\n"
		}
		return out.String()
	}
	t.Fatalf("unknown command %s", d.Cmd)
	return ""
}

func fmtWM(w Watermark) string {
	if w == MaxWatermark {
		return "MAX"
	}
	return strconv.FormatInt(int64(w), 10)
}

func status(idle bool) string {
	if idle {
		return "idle"
	}
	return "active"
}
