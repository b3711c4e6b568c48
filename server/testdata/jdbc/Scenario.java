// Scenario drives the client matrix scenario through the PostgreSQL JDBC
// driver: DDL, a bounded SELECT with PreparedStatement parameters, a
// streaming job, a materialized view read while it updates, SHOW JOBS and
// Statement.cancel() of an unbounded query. It prints what it reads; the
// Go test compares that output. Usage: java Scenario host port
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.SQLWarning;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

public class Scenario {
    public static void main(String[] args) throws Exception {
        String url = "jdbc:postgresql://" + args[0] + ":" + args[1] + "/eddy?user=eddy&connectTimeout=5";
        try (Connection conn = DriverManager.getConnection(url)) {
            System.out.println("server " + conn.getMetaData().getDatabaseProductVersion());
            try (Statement st = conn.createStatement()) {
                st.execute("CREATE TABLE orders (id BIGINT, name STRING, amount DOUBLE) WITH ('connector' = 'datagen', 'number-of-rows' = '100', "
                        + "'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '100')");
                st.execute("CREATE TABLE endless (k INT) WITH ('connector' = 'datagen', 'rows-per-second' = '500', 'fields.k.min' = '1', 'fields.k.max' = '3')");
                st.execute("CREATE TABLE sink (k INT) WITH ('connector' = 'blackhole')");
            }
            System.out.println("schema " + !conn.getSchema().isEmpty());
            // Session statements drivers and tools send on their own.
            try (Statement st = conn.createStatement()) {
                st.execute("SET extra_float_digits = 3");
                st.execute("SET application_name = 'matrix'");
                try (ResultSet rs = st.executeQuery("SHOW server_version_num")) {
                    rs.next();
                    System.out.println("server_version_num " + rs.getString(1));
                }
            }

            // The driver switches from unnamed to named server-side
            // statements after prepareThreshold (5) executions: run it 6 times.
            try (PreparedStatement ps = conn.prepareStatement("SELECT id, name, amount, ? AS tag FROM orders WHERE id > ? AND id <= ?")) {
                for (int i = 0; i < 6; i++) {
                    ps.setString(1, "x");
                    ps.setLong(2, 10 + i);
                    ps.setInt(3, 13 + i);
                    List<String> got = new ArrayList<>();
                    try (ResultSet rs = ps.executeQuery()) {
                        while (rs.next()) {
                            got.add(rs.getLong("id") + ":" + rs.getString("tag") + ":" + (rs.getString("name") != null));
                        }
                    }
                    got.sort(null);
                    System.out.println("bounded " + got);
                }
            }

            // Values of several types, in text and (after the threshold)
            // binary format; 0.1 must come back exactly (extra_float_digits).
            try (PreparedStatement ps = conn.prepareStatement("SELECT CAST(? AS DOUBLE) AS d, CAST(? AS DECIMAL(10, 2)) AS m, "
                    + "TIMESTAMP '2020-01-01 00:00:00.123' AS ts, DATE '2020-02-03' AS dt, TRUE AS b, CAST(NULL AS INT) AS nothing")) {
                java.util.Set<String> seen = new java.util.LinkedHashSet<>();
                for (int n = 0; n < 6; n++) {
                    ps.setDouble(1, 0.1);
                    ps.setBigDecimal(2, new java.math.BigDecimal("12.34"));
                    try (ResultSet rs = ps.executeQuery()) {
                        rs.next();
                        List<String> got = new ArrayList<>();
                        for (int i = 1; i <= rs.getMetaData().getColumnCount(); i++) {
                            Object v = rs.getObject(i);
                            got.add(rs.getMetaData().getColumnName(i) + "=" + v + (v == null ? "" : "(" + v.getClass().getSimpleName() + ")"));
                        }
                        seen.add("typed " + got + " exact " + (rs.getDouble(1) == 0.1));
                    }
                }
                // Text and binary results must read the same.
                seen.forEach(System.out::println);
            }

            try (Statement st = conn.createStatement()) {
                st.executeUpdate("INSERT INTO sink SELECT k FROM endless");
                SQLWarning w = st.getWarnings();
                System.out.println("insert notice " + (w != null && w.getMessage().startsWith("submitted job ")));

                st.execute("CREATE MATERIALIZED VIEW live AS SELECT k, count(*) AS n FROM endless GROUP BY k");
                long first = waitSum(conn, 0);
                waitSum(conn, first);
                System.out.println("view grows");

                List<String> jobs = new ArrayList<>();
                try (ResultSet rs = st.executeQuery("SHOW JOBS")) {
                    while (rs.next()) {
                        // Each bounded SELECT is a finished job too.
                        if (rs.getString(3).equals("RUNNING")) {
                            jobs.add(rs.getString(2) + "=" + rs.getString(3));
                        }
                    }
                }
                jobs.sort(null);
                System.out.println("jobs " + jobs);
            }

            // Statement.cancel() sends a CancelRequest on a new connection
            // while executeQuery reads the unbounded result. It does nothing
            // while the statement is not executing, so on a slow machine the
            // canceller simply tries again.
            try (Statement st = conn.createStatement()) {
                java.util.concurrent.atomic.AtomicBoolean done = new java.util.concurrent.atomic.AtomicBoolean();
                Thread canceller = new Thread(() -> {
                    try {
                        while (!done.get()) {
                            Thread.sleep(300);
                            if (!done.get()) {
                                st.cancel();
                            }
                        }
                    } catch (Exception e) {
                        throw new RuntimeException(e);
                    }
                });
                canceller.start();
                try (ResultSet rs = st.executeQuery("SELECT k FROM endless")) {
                    System.out.println("cancel did not stop the query");
                } catch (SQLException e) {
                    System.out.println("cancelled " + e.getSQLState() + " " + e.getMessage());
                }
                done.set(true);
                canceller.join();
            }
            try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery("SELECT 1")) {
                rs.next();
                System.out.println("after cancel " + rs.getInt(1));
            }
        }
    }

    // waitSum polls the view until its total count exceeds above.
    static long waitSum(Connection conn, long above) throws Exception {
        try (PreparedStatement ps = conn.prepareStatement("SELECT sum(n) FROM live")) {
            for (int i = 0; i < 500; i++) {
                try (ResultSet rs = ps.executeQuery()) {
                    if (rs.next() && rs.getLong(1) > above) {
                        return rs.getLong(1);
                    }
                }
                Thread.sleep(20);
            }
        }
        throw new IllegalStateException("view live did not grow past " + above);
    }
}
