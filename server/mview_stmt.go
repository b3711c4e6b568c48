package server

import (
	"context"
	"fmt"
	"strings"

	"github.com/eddysql/eddy/catalog"
	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/sql"
	"github.com/eddysql/eddy/table"
)

// materializedView is a running materialized view: its state and the job
// that maintains it.
type materializedView struct {
	st  *mvState
	res *table.TableResult
	// stop ends the maintenance; done is closed once it stopped.
	stop context.CancelFunc
	done chan struct{}
}

// close stops the view's job and releases its contents.
func (v *materializedView) close() {
	v.stop()
	<-v.done
	v.res.Close()
	v.st.close()
}

func okResult() *table.TableResult {
	return &table.TableResult{Kind: table.Success, Message: "Execute statement succeed."}
}

// createMaterializedView runs CREATE MATERIALIZED VIEW: the query starts
// as a streaming job (whatever the session's runtime mode, named
// materialized-view_<path>) whose changes the server applies to the view's
// state, and the view enters the shared catalog.
func (ss *session) createMaterializedView(src string, s *sql.CreateMaterializedView) (*table.TableResult, error) {
	srv := ss.srv
	cm := ss.env.Catalog()
	path, err := cm.Qualify(s.Name.Parts)
	if err != nil {
		return nil, err
	}
	if _, err := cm.Get(path); err == nil {
		if s.IfNotExists {
			return okResult(), nil
		}
		return nil, errs.New(errs.DuplicateTable, "materialized view %s already exists", path)
	}
	restoreMode := ss.withOption(table.RuntimeMode, "streaming")
	restoreName := ss.withOption(table.PipelineName, "materialized-view_"+path.Catalog+"."+path.Database+"."+path.Name)
	// The job outlives the statement: it runs until the view is dropped
	// or the server stops.
	r, err := ss.env.ExecuteStatement(srv.ctx, src, &sql.QueryStatement{Query: s.Query}, nil)
	restoreName()
	restoreMode()
	if err != nil {
		return nil, err
	}
	schema := r.Schema
	if len(s.Columns) > 0 {
		if len(s.Columns) != len(schema.Columns) {
			r.Close()
			return nil, errs.New(errs.SyntaxError, "materialized view %s names %d columns, its query has %d", path, len(s.Columns), len(schema.Columns))
		}
		cols := make([]types.Column, len(schema.Columns))
		for i, c := range schema.Columns {
			cols[i] = types.Column{Name: s.Columns[i], Type: c.Type}
		}
		schema = types.Schema{Columns: cols}
	}
	st := newMVState(schema, srv.cfg.Mem)
	t := &catalog.Table{Comment: s.Comment, Options: map[string]string{
		"connector": mvConnector, mvOptionID: st.id, catalog.MaterializedViewQueryOption: s.QueryText}}
	for _, c := range schema.Columns {
		t.Columns = append(t.Columns, catalog.Column{Name: c.Name, Kind: catalog.Physical, Type: c.Type})
	}
	if err := cm.Create(path, t, false, false); err != nil {
		r.Close()
		st.close()
		return nil, err
	}
	ctx, stop := context.WithCancel(srv.ctx)
	v := &materializedView{st: st, res: r, stop: stop, done: make(chan struct{})}
	srv.mu.Lock()
	srv.mviews[path] = v
	srv.mu.Unlock()
	if r.Job != nil {
		srv.jobs.add(r.Job, ss.user)
	}
	go func() {
		defer close(v.done)
		if err := st.maintain(ctx, r.Next, r.Changelog); err != nil && ctx.Err() == nil {
			srv.log.Error("server: materialized view failed", "view", path.String(), "err", err)
		}
	}()
	return okResult(), nil
}

// dropMaterializedView runs DROP MATERIALIZED VIEW: the view leaves the
// catalog and its job stops.
func (ss *session) dropMaterializedView(s *sql.DropMaterializedView) (*table.TableResult, error) {
	srv := ss.srv
	cm := ss.env.Catalog()
	path, err := cm.Qualify(s.Name.Parts)
	if err != nil {
		return nil, err
	}
	srv.mu.Lock()
	v := srv.mviews[path]
	delete(srv.mviews, path)
	srv.mu.Unlock()
	if v == nil {
		if _, err := cm.Get(path); err == nil {
			return nil, errs.New(errs.WrongObjectType, "%s is not a materialized view", path)
		}
		if s.IfExists {
			return okResult(), nil
		}
		return nil, errs.New(errs.UndefinedTable, "materialized view %s does not exist", path)
	}
	err = cm.Drop(path, false, false)
	v.close()
	return okResult(), err
}

// subscribeTarget returns the query SUBSCRIBE TO name runs: a scan of the
// view's state in changelog mode for a materialized view (through a
// temporary table of the session, dropped by the returned function once
// the scan is planned), else SELECT * FROM name.
func (ss *session) subscribeTarget(s *sql.Subscribe) (*sql.Query, func(), error) {
	name := s.Name
	cleanup := func() {}
	cm := ss.env.Catalog()
	if path, err := cm.Qualify(name.Parts); err == nil {
		if obj, err := cm.Get(path); err == nil {
			if t, ok := obj.(*catalog.Table); ok && t.Options["connector"] == mvConnector {
				opts := map[string]string{}
				for k, v := range t.Options {
					opts[k] = v
				}
				opts[mvOptionMode] = mvModeChangelog
				tmp := catalog.Path{Catalog: path.Catalog, Database: path.Database,
					Name: fmt.Sprintf("$subscribe_%s_%d", strings.ReplaceAll(path.Name, "$", ""), ss.pid)}
				if err := cm.Create(tmp, &catalog.Table{Columns: t.Columns, Options: opts}, true, false); err != nil {
					return nil, nil, err
				}
				cleanup = func() { _ = cm.Drop(tmp, true, true) }
				name = sql.ObjectName{Parts: []string{tmp.Catalog, tmp.Database, tmp.Name}, Pos: name.Pos}
			}
		}
	}
	q := &sql.Query{Pos: s.Pos, Body: &sql.Select{Pos: s.Pos,
		Items: []sql.SelectItem{{Pos: s.Pos, Star: true}},
		From:  &sql.TableRef{Pos: name.Pos, Name: name}}}
	return q, cleanup, nil
}

// closeMaterializedViews stops every view (the server is closing).
func (s *Server) closeMaterializedViews() {
	s.mu.Lock()
	views := s.mviews
	s.mviews = map[catalog.Path]*materializedView{}
	s.mu.Unlock()
	for _, v := range views {
		v.close()
	}
}
