package eddy_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLayering enforces the package layering: the SQL front end imports
// nothing of ours, the catalog nothing above it, and neither the runtime
// nor the connectors import the front end, planner or optimizer, so that a
// TaskManager binary needs only exec and the connectors.
func TestLayering(t *testing.T) {
	const mod = "github.com/eddysql/eddy/"
	rules := []struct {
		pkg     string
		allowed []string
	}{
		{"sql", nil},
		{"catalog", []string{"internal"}},
		{"exec", []string{"catalog/types", "internal"}},
		{"table/connector", []string{"catalog/types", "exec/connector", "internal"}},
	}
	for _, r := range rules {
		out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", "./"+r.pkg+"/...").Output()
		if err != nil {
			t.Fatalf("go list %s: %v", r.pkg, err)
		}
	deps:
		for _, dep := range strings.Fields(string(out)) {
			rel, ours := strings.CutPrefix(dep, mod)
			if !ours || rel == r.pkg || strings.HasPrefix(rel, r.pkg+"/") {
				continue
			}
			for _, a := range r.allowed {
				if rel == a || strings.HasPrefix(rel, a+"/") {
					continue deps
				}
			}
			t.Errorf("%s must not import %s", r.pkg, rel)
		}
	}
}
