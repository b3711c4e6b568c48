package sql

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParseScript checks that no input panics in this package and every
// error is a positioned *Error inside the input. Seeds are the inputs of
// the testdata files.
func FuzzParseScript(f *testing.F) {
	files, _ := filepath.Glob("testdata/*")
	for _, path := range files {
		if info, err := os.Stat(path); err != nil || info.IsDir() {
			continue
		}
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		for _, block := range strings.Split(string(data), "\n\n") {
			lines := strings.SplitN(block, "\n----\n", 2)
			if i := strings.Index(lines[0], "\n"); i >= 0 {
				f.Add(lines[0][i+1:])
			}
		}
	}
	f.Fuzz(func(t *testing.T, src string) {
		_, err := ParseScript(src)
		if err == nil {
			return
		}
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("error %v is %T, not *Error", err, err)
		}
		if strings.HasPrefix(e.Msg, "internal error") {
			t.Fatalf("parser panicked: %v", e)
		}
		if e.Pos < 0 || int(e.Pos) > len(src) {
			t.Fatalf("error position %d outside input of length %d: %v", e.Pos, len(src), e)
		}
	})
}
