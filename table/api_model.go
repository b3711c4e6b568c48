package table

import (
	"sort"
	"strings"

	"github.com/eddysql/eddy/planner"
)

// ModelDescriptor describes a model for CreateModel, Flink's
// ModelDescriptor: what CREATE MODEL declares.
type ModelDescriptor struct {
	provider      string
	input, output []string
	options       map[string]string
	comment       string
}

// NewModelDescriptor starts a descriptor for a model provider ('provider'
// option), Flink's ModelDescriptor.forProvider.
func NewModelDescriptor(provider string) *ModelDescriptor {
	return &ModelDescriptor{provider: provider, options: map[string]string{}}
}

// InputSchema sets the model's input columns (physical Columns).
func (d *ModelDescriptor) InputSchema(cols ...ColumnSpec) *ModelDescriptor {
	for _, c := range cols {
		d.input = append(d.input, c.ddl)
	}
	return d
}

// OutputSchema sets the model's output columns (physical Columns).
func (d *ModelDescriptor) OutputSchema(cols ...ColumnSpec) *ModelDescriptor {
	for _, c := range cols {
		d.output = append(d.output, c.ddl)
	}
	return d
}

// Option sets a provider option.
func (d *ModelDescriptor) Option(key, value string) *ModelDescriptor {
	d.options[key] = value
	return d
}

// Comment sets the model's comment.
func (d *ModelDescriptor) Comment(c string) *ModelDescriptor { d.comment = c; return d }

// DDL is the CREATE MODEL statement the descriptor stands for.
func (d *ModelDescriptor) DDL(name string, temporary bool) string {
	var b strings.Builder
	b.WriteString("CREATE ")
	if temporary {
		b.WriteString("TEMPORARY ")
	}
	b.WriteString("MODEL " + name)
	if len(d.input) > 0 {
		b.WriteString("\nINPUT (" + strings.Join(d.input, ", ") + ")")
	}
	if len(d.output) > 0 {
		b.WriteString("\nOUTPUT (" + strings.Join(d.output, ", ") + ")")
	}
	if d.comment != "" {
		b.WriteString("\nCOMMENT " + quoteString(d.comment))
	}
	opts := map[string]string{"provider": d.provider}
	for k, v := range d.options {
		opts[k] = v
	}
	keys := make([]string, 0, len(opts))
	for k := range opts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	entries := make([]string, len(keys))
	for i, k := range keys {
		entries[i] = "  " + quoteString(k) + " = " + quoteString(opts[k])
	}
	b.WriteString("\nWITH (\n" + strings.Join(entries, ",\n") + "\n)")
	return b.String()
}

// CreateModel creates a catalog model from a descriptor, as CREATE MODEL
// does; name may be qualified.
func (e *Environment) CreateModel(name string, d *ModelDescriptor) error {
	return e.createModel(name, d, false)
}

// CreateTemporaryModel creates a temporary model from a descriptor.
func (e *Environment) CreateTemporaryModel(name string, d *ModelDescriptor) error {
	return e.createModel(name, d, true)
}

func (e *Environment) createModel(name string, d *ModelDescriptor, temporary bool) error {
	return e.runDescriptorDDL(name, temporary, d.DDL)
}

// Model is a catalog model for the Table API, Flink's Model: FromModel
// names it, Predict applies it.
type Model struct {
	env  *Environment
	name []string
}

// FromModel refers to the model path (partially qualified as in SQL),
// Flink's TableEnvironment.fromModel; it is resolved when used.
func (e *Environment) FromModel(path string) *Model {
	return &Model{env: e, name: splitPath(path)}
}

// Predict is ML_PREDICT(TABLE t, MODEL m, DESCRIPTOR(columns...)
// [, config]): t's columns followed by the model's output columns, each
// row joined with each prediction the model makes for it. config holds
// the runtime options ('async', 'max-concurrent-operations',
// 'output-mode', 'timeout'); nil for none.
func (m *Model) Predict(t *Table, columns []string, config map[string]string) *Table {
	return t.derive("Predict", func(in planner.Node) (planner.Node, error) {
		return m.env.planner.PlanMLPredict(in, m.name, columns, config)
	})
}
