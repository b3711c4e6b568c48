package all

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/table/connector/connectortest"
)

func TestAllRegistered(t *testing.T) {
	if got := strings.Join(connector.Identifiers(), " "); got != "blackhole datagen filesystem jdbc kafka nexmark print upsert-kafka" {
		t.Errorf("registered: %s", got)
	}
	for _, id := range connector.Identifiers() {
		f, _ := connector.Lookup(id)
		connectortest.CheckFactory(t, f)
	}
	if _, ok := connector.Source("datagen"); !ok {
		t.Error("datagen is not a source")
	}
	if _, ok := connector.Sink("filesystem"); !ok {
		t.Error("filesystem is not a sink")
	}
}

// TestImports keeps connectors off the engine's upper layers: they may use
// exec/connector, catalog/types and Arrow, never exec, planner, sql or
// optimizer.
func TestImports(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/eddysql/eddy/table/connector/all").Output()
	if err != nil {
		t.Skip(err)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, bad := range []string{"/exec", "/planner", "/sql", "/optimizer"} {
			p := "github.com/eddysql/eddy" + bad
			if (dep == p || strings.HasPrefix(dep, p+"/")) && dep != "github.com/eddysql/eddy/exec/connector" {
				t.Errorf("connectors depend on %s", dep)
			}
		}
	}
}
