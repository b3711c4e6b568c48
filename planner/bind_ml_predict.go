package planner

import (
	"maps"
	"sort"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec"
	"github.com/eddysql/eddy/exec/model"
	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/sql"
)

// mlPredictParams are the parameters of Flink's ML_PREDICT, in
// positional order (SqlMLTableFunction's names).
var mlPredictParams = []string{"INPUT", "MODEL", "ARGS", "CONFIG"}

// mlPredictSignature is how Flink's PredictOperandMetadata shows the
// function's signature.
const mlPredictSignature = "ML_PREDICT(TABLE table_name, MODEL model_name, DESCRIPTOR(input_columns), [MAP[]])"

// bindMLPredict checks ML_PREDICT's arguments as Flink's
// SqlMLPredictTableFunction does (with its messages), then has the
// model's provider check the model, as Flink creates the provider when it
// plans the call.
func (b *binder) bindMLPredict(f *sql.TableFunctionRef) (Node, error) {
	args, err := b.ptfArgs(f, mlPredictParams)
	if err != nil {
		return nil, err
	}
	in, ok := args["INPUT"]
	if !ok || in.Table == nil && in.Query == nil {
		return nil, b.errAt(errs.DatatypeMismatch, f, "Invalid function call: the first argument of ML_PREDICT must be a table. Expected %s", mlPredictSignature)
	}
	input, _, err := b.bindTableArg(f, in, "INPUT")
	if err != nil {
		return nil, err
	}
	ma, ok := args["MODEL"]
	if !ok || ma.Model == nil {
		return nil, b.errAt(errs.DatatypeMismatch, f, "Second operand must be a model identifier.")
	}
	da, ok := args["ARGS"]
	if !ok || da.Descriptor == nil {
		return nil, b.errAt(errs.DatatypeMismatch, f, "Invalid function call: the third argument of ML_PREDICT must be a DESCRIPTOR of input columns. Expected %s", mlPredictSignature)
	}
	var keys, vals []string
	var configAt sql.Node = f
	if ca, ok := args["CONFIG"]; ok {
		if _, isMap := ca.Expr.(*sql.MapCtor); !isMap {
			return nil, b.errAt(errs.DatatypeMismatch, f, "Config param should be a MAP.")
		}
		if keys, vals, err = b.stringMapArg(f, ca, "config"); err != nil {
			return nil, err
		}
		configAt = ca.Expr
	}
	return b.mlPredict(f, input, *ma.Model, da.Descriptor, keys, vals, configAt)
}

// mlPredict checks the model, the descriptor columns and the config of
// an ML_PREDICT over input; at positions the errors about the call,
// model those about the model, configAt those about the config.
func (b *binder) mlPredict(at sql.Node, input Node, name sql.ObjectName, desc, keys, vals []string, configAt sql.Node) (*MLPredict, error) {
	path, err := b.qualify(name)
	if err != nil {
		return nil, b.positioned(err, name)
	}
	md, err := b.cat.GetModel(path)
	if err != nil {
		return nil, b.positioned(err, name)
	}
	info := model.Info{Name: path.String(), Options: maps.Clone(md.Options)}
	for _, c := range md.Input {
		info.Input.Columns = append(info.Input.Columns, types.Column{Name: c.Name, Type: c.Type})
		if c.Metadata {
			info.InputMetadata = append(info.InputMetadata, c.Name)
		}
	}
	for _, c := range md.Output {
		info.Output.Columns = append(info.Output.Columns, types.Column{Name: c.Name, Type: c.Type})
		if c.Metadata {
			info.OutputMetadata = append(info.OutputMetadata, c.Name)
		}
	}
	if len(desc) != info.Input.Len() {
		return nil, b.errAt(errs.DatatypeMismatch, at, "Number of descriptor input columns (%d) does not match model input size (%d)",
			len(desc), info.Input.Len())
	}
	s := input.Schema()
	cols := make([]int, len(desc))
	for i, col := range desc {
		c := s.Index(col)
		if c < 0 {
			return nil, b.errAt(errs.UndefinedColumn, at, "Column '%s' of the DESCRIPTOR is not a column of the input table of ML_PREDICT", col)
		}
		from, to := s.Columns[c].Type.WithTimeAttr(types.NoTimeAttr), info.Input.Columns[i].Type
		if !from.Equal(to) && !types.CanImplicitCast(from, to) {
			return nil, b.errAt(errs.DatatypeMismatch, at, "Descriptor column type %s cannot be assigned to model input type %s at position %d", from, to, i)
		}
		cols[i] = c
	}
	mp := &MLPredict{Input: input, Model: info, InputColumns: cols, ConfigKeys: keys, ConfigValues: vals, Batch: b.batch}
	if _, err := exec.MLPredictOptions(nil, mp.Config()); err != nil {
		return nil, b.positioned(err, configAt)
	}
	prov, opts, err := model.Find(info)
	if err != nil {
		return nil, b.positioned(err, name)
	}
	if err := prov.Validate(info, opts); err != nil {
		return nil, b.positioned(err, name)
	}
	return mp, nil
}

// PlanMLPredict plans ML_PREDICT over input for the Table API (Flink's
// Model.predict): model names the model (partially qualified as in SQL),
// columns are the input columns sent to it, config the runtime config.
func (p *Planner) PlanMLPredict(input Node, modelName, columns []string, config map[string]string) (Node, error) {
	b := p.binder("")
	keys := make([]string, 0, len(config))
	for k := range config {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	vals := make([]string, len(keys))
	for i, k := range keys {
		vals[i] = config[k]
	}
	at := posNode(0)
	mp, err := b.mlPredict(at, input, sql.ObjectName{Parts: modelName}, columns, keys, vals, at)
	return mp, unpositioned(err)
}
