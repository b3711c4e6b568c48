package jdbc

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/internal/errs"
)

var (
	_ connector.SupportsDeletePushDown = Factory{}
	_ connector.SupportsUpdatePushDown = Factory{}
)

// ApplyDeleteFilters accepts a DELETE whose filters the scan's filter
// push-down accepts (ApplyFilters): they are rendered the same way, so
// the statement deletes exactly the rows a scan with them would read.
func (f Factory) ApplyDeleteFilters(t connector.TableInfo, filters []connector.Predicate) bool {
	return f.allPushed(t, filters)
}

// ApplyUpdate accepts an UPDATE whose filters the scan's filter push-down
// accepts; every physical column can be set.
func (f Factory) ApplyUpdate(t connector.TableInfo, columns []int, filters []connector.Predicate) bool {
	return f.allPushed(t, filters)
}

func (f Factory) allPushed(t connector.TableInfo, filters []connector.Predicate) bool {
	res := f.ApplyFilters(t, filters)
	for i := range filters {
		if i >= len(res.Accepted) || !res.Accepted[i] {
			return false
		}
	}
	return true
}

// ExecuteDeletion runs one DELETE FROM table WHERE filters (no WHERE
// without filters) and returns the rows PostgreSQL deleted. The statement
// is its own transaction: it deletes every such row or none.
func (Factory) ExecuteDeletion(ctx context.Context, t connector.TableInfo, filters []connector.Predicate) (int64, error) {
	c, err := parseConfig(t)
	if err != nil {
		return 0, err
	}
	conds, params := pushedFilters(t, filters, 1)
	stmt := "DELETE FROM " + c.target + where(conds)
	return c.modify(ctx, stmt, params, nil)
}

// ExecuteUpdate runs one UPDATE table SET col = $1, ... WHERE filters and
// returns the rows PostgreSQL updated. The SET values are sent in binary
// form, encoded as the sink encodes rows into the columns' PostgreSQL
// types; the filters' literals as text, as a scan sends them.
func (Factory) ExecuteUpdate(ctx context.Context, t connector.TableInfo, u connector.UpdatePushDown) (int64, error) {
	c, err := parseConfig(t)
	if err != nil {
		return 0, err
	}
	if u.Values == nil || int(u.Values.NumCols()) != len(u.Columns) || u.Values.NumRows() != 1 {
		return 0, fmt.Errorf("jdbc: internal error: UPDATE of %d columns with values %v", len(u.Columns), u.Values)
	}
	set := make([]string, len(u.Columns))
	for i, col := range u.Columns {
		set[i] = fmt.Sprintf("%s = $%d", quoteIdent(t.Schema.Columns[col].Name), i+1)
	}
	conds, filterParams := pushedFilters(t, u.Filters, len(u.Columns)+1)
	stmt := "UPDATE " + c.target + " SET " + strings.Join(set, ", ") + where(conds)
	encode := func(oids []uint32) ([][]byte, []int16, error) {
		params := make([][]byte, 0, len(oids))
		formats := make([]int16, 0, len(oids))
		for i, col := range u.Columns {
			a := u.Values.Column(i)
			ct := t.Schema.Columns[col]
			if !writable(ct.Type, oids[i]) {
				return nil, nil, errs.New(errs.DatatypeMismatch, "jdbc: column '%s' of table '%s' is declared %s, but PostgreSQL's column %s of %s has type %s, which cannot store it",
					ct.Name, t.Name, ct.Type, quoteIdent(ct.Name), c.target, pgTypeName(oids[i]))
			}
			if a.IsNull(0) {
				params, formats = append(params, nil), append(formats, 1)
				continue
			}
			enc, err := newEncoder(ct.Type, oids[i], a)
			if err != nil {
				return nil, nil, err
			}
			params, formats = append(params, enc(nil, 0)), append(formats, 1)
		}
		for _, p := range filterParams {
			params, formats = append(params, p), append(formats, 0)
		}
		return params, formats, nil
	}
	return c.modify(ctx, stmt, filterParams, encode)
}

// where is " WHERE c1 AND c2 ..." or "" without conditions.
func where(conds []string) string {
	if len(conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(conds, " AND ")
}

// modify runs the data-modifying statement stmt on a connection of its
// own and returns the rows it affected. Without encode the parameters are
// params, as text; with it, the statement is prepared first and encode
// builds the parameters and their formats from the PostgreSQL types of
// its parameters.
func (c *config) modify(ctx context.Context, stmt string, params [][]byte, encode func(oids []uint32) ([][]byte, []int16, error)) (int64, error) {
	conn, err := c.connect(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer conn.Close(context.Background())
	var formats []int16
	sd, err := conn.Prepare(ctx, "", stmt, nil)
	if err != nil {
		return 0, c.modifyError(stmt, err)
	}
	if encode != nil {
		if params, formats, err = encode(sd.ParamOIDs); err != nil {
			return 0, err
		}
	}
	tag, err := conn.ExecStatement(ctx, sd, params, formats, nil).Close()
	if err != nil {
		return 0, c.modifyError(stmt, err)
	}
	return tag.RowsAffected(), nil
}

// modifyError reports a failed DELETE or UPDATE, a missing table as such.
func (c *config) modifyError(stmt string, err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P01" {
		return errs.New(errs.UndefinedTable, "jdbc: table %s of '%s' does not exist in %s", c.target, c.table.Name, c.url)
	}
	verb, _, _ := strings.Cut(stmt, " ")
	return fmt.Errorf("jdbc: %s in %s: %w", verb, c.url, err)
}
