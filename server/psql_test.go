package server

import (
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"
)

// TestPsqlScripts drives the machine's psql (15) against a server, one
// psql process per test case, and compares its output (stdout and stderr)
// with what testdata/psql holds. Arguments of a case are extra psql
// options (e.g. "-v FETCH_COUNT=2"); each input line is one -c command.
func TestPsqlScripts(t *testing.T) {
	psql, err := exec.LookPath("psql")
	if err != nil {
		t.Skip("psql is not installed")
	}
	_, addr, _ := testServer(t, Config{})
	host, port, _ := net.SplitHostPort(addr)
	datadriven.RunTest(t, "testdata/psql", func(t *testing.T, d *datadriven.TestData) string {
		args := []string{"-X", "-h", host, "-p", port, "-U", "eddy", "-d", "eddy"}
		for _, a := range d.CmdArgs {
			args = append(args, "-v", a.String())
		}
		for _, c := range strings.Split(d.Input, "\n") {
			args = append(args, "-c", c)
		}
		cmd := exec.Command(psql, args...)
		cmd.Env = append(os.Environ(), "PGCONNECT_TIMEOUT=5", "PAGER=", "PSQL_PAGER=")
		out, _ := cmd.CombinedOutput()
		return string(out)
	})
}
