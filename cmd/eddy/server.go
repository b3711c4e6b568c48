package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/eddysql/eddy/server"
)

func serverCommand() *cobra.Command {
	var (
		cfg              server.Config
		pgAddr, httpAddr string
		rpcAddr          string
		users            []string
		usersFile, auth  string
		tlsCert, tlsKey  string
		sets             []string
		shutdownTimeout  time.Duration
	)
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Serve Eddy over the PostgreSQL wire protocol and HTTP",
		Long: `Server runs a JobManager with an embedded TaskManager and serves SQL
sessions over the PostgreSQL wire protocol (psql, pgx, JDBC, psycopg) and an
HTTP API (/healthz, /readyz, /v1/jobs, POST /v1/statements, /metrics), and
serves its JobManager on --rpc-addr (Arrow Flight over gRPC, Flink's
jobmanager.rpc.port 6123) to Go programs whose table.Environment sets
JobManagerAddress: they plan locally and run their jobs here. Every
connection is a session over one shared catalog. --data-dir keeps the catalog
(tables, views, materialized views) and the list of running jobs, which a
restarted server submits again (from their latest checkpoint when they
checkpointed into execution.checkpointing.dir).

Without --user or --users-file every loopback connection is trusted; with
them, clients authenticate with --auth (scram-sha-256, md5 or password).
SIGINT or SIGTERM stops accepting connections, cancels running statements
and jobs, and exits.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg.Auth = server.AuthMethod(auth)
			cfg.Users = map[string]string{}
			if usersFile != "" {
				if err := readUsers(usersFile, cfg.Users); err != nil {
					return err
				}
			}
			for _, u := range users {
				name, pw, ok := strings.Cut(u, ":")
				if !ok || name == "" {
					return fmt.Errorf("--user wants name:password, not %q", u)
				}
				cfg.Users[name] = pw
			}
			if (tlsCert == "") != (tlsKey == "") {
				return errors.New("--tls-cert and --tls-key go together")
			}
			if tlsCert != "" {
				cert, err := tls.LoadX509KeyPair(tlsCert, tlsKey)
				if err != nil {
					return err
				}
				cfg.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
			}
			cfg.SessionConfig = map[string]string{}
			for _, s := range sets {
				k, v, ok := strings.Cut(s, "=")
				if !ok {
					return fmt.Errorf("--set wants key=value, not %q", s)
				}
				cfg.SessionConfig[k] = v
			}
			cfg.Log = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			return runServer(cmd.Context(), cfg, pgAddr, httpAddr, rpcAddr, shutdownTimeout)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.DataDir, "data-dir", "", "directory keeping the catalog durable (empty: in memory)")
	f.StringVar(&pgAddr, "pg-addr", server.DefaultPGAddr, "address of the PostgreSQL wire protocol")
	f.StringVar(&httpAddr, "http-addr", server.DefaultHTTPAddr, "address of the HTTP API (empty: none)")
	f.StringVar(&rpcAddr, "rpc-addr", server.DefaultRPCAddr, "address of the JobManager RPC endpoint for remote table.Environments (empty: none)")
	f.StringArrayVar(&users, "user", nil, "a user as name:password (repeatable)")
	f.StringVar(&usersFile, "users-file", "", "file of users, one name:password per line")
	f.StringVar(&auth, "auth", string(server.AuthSCRAM), "authentication of users: scram-sha-256, md5 or password")
	f.StringVar(&tlsCert, "tls-cert", "", "TLS certificate (PEM) for SSLRequest")
	f.StringVar(&tlsKey, "tls-key", "", "TLS private key (PEM)")
	f.IntVar(&cfg.MaxMessageSize, "max-message-size", server.DefaultMaxMessageSize, "largest protocol message in bytes")
	f.IntVar(&cfg.Slots, "slots", 64, "task slots of the embedded TaskManager")
	f.DurationVar(&cfg.ProgressInterval, "progress-interval", server.DefaultProgressInterval, "how long a statement waits for its result before a NOTICE reports its progress, and then how often (negative: never)")
	f.StringArrayVar(&sets, "set", nil, "initial session option key=value for every session (repeatable)")
	f.DurationVar(&shutdownTimeout, "shutdown-timeout", 10*time.Second, "how long shutdown waits for sessions and jobs")
	return cmd
}

func readUsers(path string, into map[string]string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, pw, ok := strings.Cut(line, ":")
		if !ok || name == "" {
			return fmt.Errorf("%s:%d: want name:password", path, n)
		}
		into[name] = pw
	}
	return sc.Err()
}

// runServer serves until ctx is cancelled (SIGINT/SIGTERM), then closes
// the server within timeout.
func runServer(ctx context.Context, cfg server.Config, pgAddr, httpAddr, rpcAddr string, timeout time.Duration) error {
	srv, err := server.New(cfg)
	if err != nil {
		return err
	}
	pl, err := net.Listen("tcp", pgAddr)
	if err != nil {
		_ = srv.Close(context.Background())
		return err
	}
	errc := make(chan error, 3)
	go func() { errc <- srv.ServePG(pl) }()
	cfg.Log.Info("serving PostgreSQL wire protocol", "addr", pl.Addr().String())
	if httpAddr != "" {
		hl, err := net.Listen("tcp", httpAddr)
		if err != nil {
			_ = srv.Close(context.Background())
			return err
		}
		go func() { errc <- srv.ServeHTTP(hl) }()
		cfg.Log.Info("serving HTTP API", "addr", hl.Addr().String())
	}
	if rpcAddr != "" {
		rl, err := net.Listen("tcp", rpcAddr)
		if err != nil {
			_ = srv.Close(context.Background())
			return err
		}
		go func() { errc <- srv.ServeRPC(rl) }()
		cfg.Log.Info("serving JobManager RPC", "addr", rl.Addr().String())
	}
	var serveErr error
	select {
	case <-ctx.Done():
		cfg.Log.Info("shutting down")
	case serveErr = <-errc:
	}
	sctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := srv.Close(sctx); err != nil && serveErr == nil {
		serveErr = err
	}
	return serveErr
}
