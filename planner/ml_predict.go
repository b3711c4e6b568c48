package planner

import (
	"fmt"
	"strings"

	"github.com/eddysql/eddy/catalog"
	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/model"
	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/sql"
)

// MLPredict is Flink's ML_PREDICT(TABLE t, MODEL m, DESCRIPTOR(cols)
// [, config]) table function (FLIP-437/525): every row of Input is sent
// to model m's provider with the columns InputColumns as the model's
// input, and joins each output row the model returns for it
// (exec.KindMLPredict). As in Flink a streaming input must be
// insert-only (optimizer.CheckInsertOnlyInputs refuses an updating one
// with Flink's message) and the output is insert-only.
//
// The output is the input columns and then the model's output columns,
// an output name already taken by an input column made unique as Flink's
// SqlValidatorUtils.makeOutputUnique does (a counter appended).
type MLPredict struct {
	Input Node
	// Model is the resolved model: its qualified name, schemas and
	// options.
	Model        model.Info
	InputColumns []int
	// ConfigKeys and ConfigValues are the config map's entries, in the
	// order written.
	ConfigKeys, ConfigValues []string
	// Batch (batch mode) reads the final rows of an updating input, which
	// the optimizer materializes, as a batch LIMIT does.
	Batch bool
}

var _ Node = (*MLPredict)(nil)

func (m *MLPredict) Schema() types.Schema {
	in := m.Input.Schema()
	out := types.Schema{Columns: append([]types.Column(nil), in.Columns...)}
	for _, name := range mlOutputNames(in, m.Model.Output) {
		c := m.Model.Output.Columns[len(out.Columns)-in.Len()]
		out.Columns = append(out.Columns, types.Column{Name: name, Type: c.Type})
	}
	return out
}

// mlOutputNames names the model's output columns after the input's,
// appending 0, 1, ... to a name an input column has.
func mlOutputNames(in, out types.Schema) []string {
	taken := map[string]bool{}
	for _, c := range in.Columns {
		taken[c.Name] = true
	}
	names := make([]string, out.Len())
	for i, c := range out.Columns {
		name := c.Name
		for n := 0; taken[name]; n++ {
			name = fmt.Sprintf("%s%d", c.Name, n)
		}
		taken[name] = true
		names[i] = name
	}
	return names
}

// Config returns the config map.
func (m *MLPredict) Config() map[string]string {
	cfg := make(map[string]string, len(m.ConfigKeys))
	for i, k := range m.ConfigKeys {
		cfg[k] = m.ConfigValues[i]
	}
	return cfg
}

func (m *MLPredict) Children() []Node         { return []Node{m.Input} }
func (m *MLPredict) Changelog() ChangelogMode { return InsertOnly }
func (m *MLPredict) Bounded() bool            { return m.Input.Bounded() }
func (m *MLPredict) WithChildren(ch ...Node) Node {
	mustChildren("MLPredict", ch, 1)
	cp := *m
	cp.Input = ch[0]
	return &cp
}

func (m *MLPredict) Describe() string {
	in := m.Input.Schema()
	args := make([]string, len(m.InputColumns))
	for i, c := range m.InputColumns {
		args[i] = in.Columns[c].Name
	}
	return fmt.Sprintf("MLPredictTableFunction(model=[%s], args=[%s]%s, select=[%s])",
		m.Model.Name, strings.Join(args, ", "), describeConfig(m.ConfigKeys, m.ConfigValues), fieldList(m.Schema()))
}

// CreateModel resolves CREATE MODEL into the model to store at its path.
// As in Flink, the provider and its options are checked when a query
// uses the model, not here.
func (p *Planner) CreateModel(src string, cm *sql.CreateModel) (catalog.Path, *catalog.Model, error) {
	b := p.binder(src)
	path, err := b.qualify(cm.Name)
	if err != nil {
		return catalog.Path{}, nil, b.positioned(err, cm.Name)
	}
	m := &catalog.Model{Comment: cm.Comment, Options: map[string]string{}}
	if m.Input, err = b.modelColumns(cm.Input); err != nil {
		return catalog.Path{}, nil, err
	}
	if m.Output, err = b.modelColumns(cm.Output); err != nil {
		return catalog.Path{}, nil, err
	}
	for _, o := range cm.Options {
		if _, dup := m.Options[o.Key]; dup {
			return catalog.Path{}, nil, b.errAt(errs.InvalidOption, posNode(o.Pos), "option '%s' is given twice", o.Key)
		}
		m.Options[o.Key] = o.Value
	}
	return path, m, nil
}

func (b *binder) modelColumns(cols []sql.ModelColumn) ([]catalog.ModelColumn, error) {
	out := make([]catalog.ModelColumn, len(cols))
	seen := map[string]bool{}
	for i, c := range cols {
		if seen[c.Name] {
			return nil, b.errAt(errs.DuplicateColumn, posNode(c.Pos), "column '%s' is declared twice", c.Name)
		}
		seen[c.Name] = true
		t, err := b.resolveType(c.Type)
		if err != nil {
			return nil, err
		}
		out[i] = catalog.ModelColumn{Name: c.Name, Type: t, Metadata: c.Metadata, Comment: c.Comment}
	}
	return out, nil
}
