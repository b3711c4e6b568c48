package expr

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute/exec"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/arrow/scalar"

	"github.com/eddysql/eddy/catalog/types"
)

// CurrentWatermark is the watermark an operator has received so far, as
// CURRENT_WATERMARK(rowtime) reads it: the operator owning the evaluators
// sets it as watermarks arrive. The zero value has seen no watermark.
type CurrentWatermark struct {
	ms  int64
	set bool
}

// Set records the operator's latest watermark (epoch milliseconds).
func (w *CurrentWatermark) Set(ms int64) { w.ms, w.set = ms, true }

// CompileWithWatermark is Compile for an operator that tracks its
// watermark in wm: CURRENT_WATERMARK calls read it when they are
// evaluated.
func CompileWithWatermark(e Expr, mem memory.Allocator, wm *CurrentWatermark) (Evaluator, error) {
	c := &compiler{mem: mem, ctx: exec.WithAllocator(context.Background(), mem), watermark: wm}
	return c.compile(e)
}

func init() {
	register(&funcDef{name: "CURRENT_WATERMARK", nondeterministic: true,
		resolve: resolveCurrentWatermark, compile: compileCurrentWatermark})
}

// resolveCurrentWatermark types CURRENT_WATERMARK(rowtime) as Flink does:
// the argument must be a rowtime attribute; the result has its type with
// precision 3, nullable (NULL until a watermark has arrived), and is no
// longer a time attribute.
func resolveCurrentWatermark(name string, args []Expr) (Expr, error) {
	if err := arity(name, args, 1, 1); err != nil {
		return nil, err
	}
	t := args[0].Type()
	if !t.IsTimestamp() || t.TimeAttr != types.RowtimeAttr {
		return nil, fmt.Errorf("%s expects a rowtime attribute, got %s", name, t)
	}
	rt := types.TimestampType(3)
	if t.Kind == types.TimestampLTZ {
		rt = types.TimestampLTZType(3)
	}
	return &Call{Func: name, Args: args, T: rt}, nil
}

func compileCurrentWatermark(c *compiler, call *Call) (Evaluator, error) {
	wm, t := c.watermark, call.T
	return &currentWatermarkEval{mem: c.mem, read: func() *Literal {
		if wm == nil || !wm.set {
			return &Literal{T: t}
		}
		return &Literal{Value: wm.ms, T: t}
	}, arrowType: t.Arrow()}, nil
}

// currentWatermarkEval fills a column with the watermark at evaluation
// time; it does not read its argument, which only names the rowtime.
type currentWatermarkEval struct {
	mem       memory.Allocator
	read      func() *Literal
	arrowType arrow.DataType
}

func (e *currentWatermarkEval) Eval(b arrow.RecordBatch) (arrow.Array, error) {
	lit := e.read()
	if lit.Value == nil {
		return array.MakeArrayOfNull(e.mem, e.arrowType, int(b.NumRows())), nil
	}
	sc, err := literalScalar(lit)
	if err != nil {
		return nil, err
	}
	return scalar.MakeArrayFromScalar(sc, int(b.NumRows()), e.mem)
}
