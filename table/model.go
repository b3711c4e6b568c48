package table

import (
	"fmt"
	"maps"
	"strings"

	"github.com/eddysql/eddy/catalog"
	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/sql"

	// The built-in model providers register themselves.
	_ "github.com/eddysql/eddy/table/model/openai"
)

// executeModel runs Flink's model statements: CREATE, DROP, ALTER, SHOW,
// SHOW CREATE and DESCRIBE MODEL. Models live in the catalogs beside the
// tables (catalog.ModelCatalog), temporary ones in the session.
func (e *Environment) executeModel(src string, stmt sql.Statement) (*TableResult, error) {
	switch s := stmt.(type) {
	case *sql.CreateModel:
		path, m, err := e.planner.CreateModel(src, s)
		if err != nil {
			return nil, err
		}
		return okResult(), positioned(src, s.Name, e.catalog.CreateModel(path, m, s.Temporary, s.IfNotExists))
	case *sql.DropModel:
		path, err := e.catalog.Qualify(s.Name.Parts)
		if err != nil {
			return nil, positioned(src, s.Name, err)
		}
		return okResult(), positioned(src, s.Name, e.catalog.DropModel(path, s.Temporary, s.IfExists))
	case *sql.AlterModel:
		return e.alterModel(src, s)
	case *sql.ShowModels:
		cat, db := e.catalog.Current()
		if len(s.Database.Parts) > 0 {
			c, d, err := e.databaseOf(s.Database)
			if err == nil && !c.DatabaseExists(d) {
				err = errs.New(errs.UndefinedDatabase, "database %s does not exist in catalog %s", quoteName(d), quoteName(c.Name()))
			}
			if err != nil {
				return nil, positioned(src, s.Database, err)
			}
			cat, db = c.Name(), d
		}
		names, err := e.catalog.ListModels(cat, db)
		if err != nil {
			return nil, err
		}
		var rows [][]*string
		for _, n := range names {
			if s.Like == nil || s.Like.Match(n) {
				rows = append(rows, strs(n))
			}
		}
		return stringRows(e.mem, []string{"model name"}, rows), nil
	case *sql.ShowCreateModel:
		path, m, err := e.model(src, s.Name)
		if err != nil {
			return nil, err
		}
		r := stringRows(e.mem, []string{"result"}, [][]*string{strs(showCreateModel(path, m, e.catalog.IsTemporaryModel(path)))})
		r.Plain = true
		return r, nil
	case *sql.DescribeModel:
		_, m, err := e.model(src, s.Name)
		if err != nil {
			return nil, err
		}
		return describeModel(e, m), nil
	}
	return nil, errs.Internalf("not a model statement: %T", stmt)
}

// model resolves a model name.
func (e *Environment) model(src string, name sql.ObjectName) (catalog.Path, *catalog.Model, error) {
	path, err := e.catalog.Qualify(name.Parts)
	if err != nil {
		return catalog.Path{}, nil, positioned(src, name, err)
	}
	m, err := e.catalog.GetModel(path)
	if err != nil {
		return catalog.Path{}, nil, positioned(src, name, err)
	}
	return path, m, nil
}

// alterModel runs ALTER MODEL ... SET (options), RESET (keys) and RENAME
// TO, as Flink's AlterModel*Operation: SET adds or replaces options,
// RESET removes them.
func (e *Environment) alterModel(src string, s *sql.AlterModel) (*TableResult, error) {
	path, m, err := e.model(src, s.Name)
	if err != nil {
		if s.IfExists && errs.Is(err, errs.UndefinedObject) {
			return okResult(), nil
		}
		return nil, err
	}
	if s.RenameTo != nil {
		to, err := e.catalog.Qualify(s.RenameTo.Parts)
		if err != nil {
			return nil, positioned(src, *s.RenameTo, err)
		}
		return okResult(), positioned(src, *s.RenameTo, e.catalog.RenameModel(path, to))
	}
	cp := *m
	cp.Options = maps.Clone(m.Options)
	for _, o := range s.Set {
		cp.Options[o.Key] = o.Value
	}
	for _, k := range s.Reset {
		delete(cp.Options, k)
	}
	return okResult(), positioned(src, s.Name, e.catalog.AlterModel(path, &cp))
}

// showCreateModel prints m as Flink's ShowCreateUtil prints a model.
func showCreateModel(path catalog.Path, m *catalog.Model, temporary bool) string {
	var b strings.Builder
	b.WriteString("CREATE ")
	if temporary {
		b.WriteString("TEMPORARY ")
	}
	fmt.Fprintf(&b, "MODEL %s\n", path)
	cols := func(kw string, cs []catalog.ModelColumn) {
		if len(cs) == 0 {
			return
		}
		parts := make([]string, len(cs))
		for i, c := range cs {
			parts[i] = fmt.Sprintf("%s %s", quoteIdent(c.Name), c.Type)
			if c.Metadata {
				parts[i] += " METADATA"
			}
			if c.Comment != "" {
				parts[i] += " COMMENT " + quoteString(c.Comment)
			}
		}
		fmt.Fprintf(&b, "%s (%s)\n", kw, strings.Join(parts, ", "))
	}
	cols("INPUT", m.Input)
	cols("OUTPUT", m.Output)
	if m.Comment != "" {
		fmt.Fprintf(&b, "COMMENT %s\n", quoteString(m.Comment))
	}
	b.WriteString("WITH (\n")
	opts := make([]string, 0, len(m.Options))
	for _, k := range sortedKeys(m.Options) {
		opts = append(opts, fmt.Sprintf("  %s = %s", quoteString(k), quoteString(m.Options[k])))
	}
	b.WriteString(strings.Join(opts, ",\n"))
	b.WriteString("\n)\n")
	return b.String()
}

// describeModel lists the model's input and then output columns with
// Flink's DescribeModelOperation columns: name, type, null, is input, and
// comment when a column has one.
func describeModel(e *Environment, m *catalog.Model) *TableResult {
	withComment := false
	for _, c := range append(append([]catalog.ModelColumn(nil), m.Input...), m.Output...) {
		withComment = withComment || c.Comment != ""
	}
	names := []string{"name", "type", "null", "is input"}
	if withComment {
		names = append(names, "comment")
	}
	var rows [][]*string
	add := func(cs []catalog.ModelColumn, input bool) {
		for _, c := range cs {
			row := strs(c.Name, c.Type.WithNullable(true).String(), strings.ToUpper(fmt.Sprint(c.Type.Nullable())), strings.ToUpper(fmt.Sprint(input)))
			if withComment {
				var comment *string
				if c.Comment != "" {
					comment = strPtr(c.Comment)
				}
				row = append(row, comment)
			}
			rows = append(rows, row)
		}
	}
	add(m.Input, true)
	add(m.Output, false)
	return stringRows(e.mem, names, rows)
}
