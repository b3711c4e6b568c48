package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/eddysql/eddy/catalog"
	"github.com/eddysql/eddy/sql"
	"github.com/eddysql/eddy/table"
)

// catalogStore keeps the shared catalog durable in the data directory as
// the log of DDL statements that built it (catalog.json), replayed in order
// when the server starts. A statement log, rather than a serialization of
// catalog objects, keeps the file readable and survives changes to the
// catalog's Go types; it is compacted by nothing yet.
type catalogStore struct {
	path string

	mu  sync.Mutex
	log catalogLog
}

type catalogLog struct {
	Version    int            `json:"version"`
	Statements []ddlStatement `json:"statements"`
}

// ddlStatement is one recorded statement with the current catalog and
// database it ran in, which its unqualified names refer to.
type ddlStatement struct {
	Catalog  string `json:"catalog"`
	Database string `json:"database"`
	SQL      string `json:"sql"`
}

func openCatalogStore(dir string) (*catalogStore, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("server: data directory: %w", err)
	}
	st := &catalogStore{path: filepath.Join(dir, "catalog.json"), log: catalogLog{Version: 1}}
	if err := readJSONFile(st.path, &st.log); err != nil {
		return nil, err
	}
	return st, nil
}

// readJSONFile decodes the file at path into v; a missing file leaves v
// as it is, so a fresh data directory starts from v's initial value.
func readJSONFile(path string, v any) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("server: %s is corrupt: %w", path, err)
	}
	return nil
}

// writeJSONFile replaces the file at path with v as indented JSON. It
// writes a temporary file and renames it over path, so a crash leaves
// the old content or the new, never a torn file.
func writeJSONFile(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// replay runs the recorded statements against the server's catalog, as a
// session would (materialized views start their jobs again).
func (st *catalogStore) replay(ctx context.Context, s *Server) error {
	for i, d := range st.log.Statements {
		env, err := table.NewEnvironment(table.Settings{Cluster: s.cluster, Mem: s.cfg.Mem, Catalogs: []catalog.Catalog{s.catalog}})
		if err != nil {
			return err
		}
		if err := env.Catalog().UseCatalog(d.Catalog); err == nil {
			err = env.Catalog().UseDatabase([]string{d.Database})
		}
		var script *sql.Script
		if err == nil {
			script, err = sql.ParseScript(d.SQL)
		}
		if err == nil && len(script.Stmts) != 1 {
			err = fmt.Errorf("want one statement, got %d", len(script.Stmts))
		}
		if err == nil {
			ss := &session{srv: s, env: env, user: DefaultUser, replaying: true}
			var r *table.TableResult
			if r, err = ss.run(ctx, script.Source, script.Stmts[0].Stmt, d.SQL, nil); err == nil {
				r.Close()
			}
		}
		if err != nil {
			return fmt.Errorf("server: replaying statement %d of %s: %w\n%s", i+1, st.path, err, d.SQL)
		}
	}
	return nil
}

// record appends a statement and rewrites the file atomically.
func (st *catalogStore) record(cat, db, sql string) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.log.Statements = append(st.log.Statements, ddlStatement{Catalog: cat, Database: db, SQL: sql})
	return writeJSONFile(st.path, &st.log)
}
