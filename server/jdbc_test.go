package server

import (
	"net"
	"os"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/require"
)

// jdbcJar is where Debian's libpostgresql-jdbc-java installs the driver.
const jdbcJar = "/usr/share/java/postgresql.jar"

// TestJDBC is the JDBC column of the client matrix: it compiles
// testdata/jdbc/Scenario.java and runs it with the PostgreSQL JDBC driver
// against a server (extended protocol with unnamed and named statements,
// PreparedStatement parameters, a streaming job, a materialized view read
// while it updates, SHOW JOBS and Statement.cancel()).
func TestJDBC(t *testing.T) {
	javac, err := exec.LookPath("javac")
	if err != nil {
		t.Skip("javac is not installed")
	}
	java, err := exec.LookPath("java")
	if err != nil {
		t.Skip("java is not installed")
	}
	if _, err := os.Stat(jdbcJar); err != nil {
		t.Skipf("the PostgreSQL JDBC driver is not installed (%s; Debian package libpostgresql-jdbc-java)", jdbcJar)
	}
	classes := t.TempDir()
	out, err := exec.Command(javac, "-d", classes, "testdata/jdbc/Scenario.java").CombinedOutput()
	require.NoError(t, err, string(out))

	_, addr, _ := testServer(t, Config{})
	host, port, _ := net.SplitHostPort(addr)
	out, err = exec.Command(java, "-cp", jdbcJar+":"+classes, "Scenario", host, port).CombinedOutput()
	require.NoError(t, err, string(out))
	require.Equal(t, `server 15.0
schema true
server_version_num 150000
bounded [11:x:true, 12:x:true, 13:x:true]
bounded [12:x:true, 13:x:true, 14:x:true]
bounded [13:x:true, 14:x:true, 15:x:true]
bounded [14:x:true, 15:x:true, 16:x:true]
bounded [15:x:true, 16:x:true, 17:x:true]
bounded [16:x:true, 17:x:true, 18:x:true]
typed [d=0.1(Double), m=12.34(BigDecimal), ts=2020-01-01 00:00:00.123(Timestamp), dt=2020-02-03(Date), b=true(Boolean), nothing=null] exact true
insert notice true
view grows
jobs [insert-into_default_catalog.default_database.sink=RUNNING, materialized-view_default_catalog.default_database.live=RUNNING]
cancelled 57014 ERROR: canceling statement due to user request
after cancel 1
`, string(out))
}
