package exec

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
)

// OperatorFactory instantiates an operator from its serialized spec for one
// subtask. It runs on the TaskManager, so it must only read spec and ctx.
type OperatorFactory func(spec OperatorSpec, ctx *OperatorContext) (Operator, error)

// SourceFactory instantiates the head of a source vertex.
type SourceFactory func(spec OperatorSpec, ctx *OperatorContext) (SourceOperator, error)

// SourceOperator is the head of a vertex without input edges. Sources do
// not push: the task loop pulls them, so cancellation, backpressure and
// end-of-input are handled in one place (the task), not in every source.
//
// Contract:
//   - The runtime calls Open once, then Next until it returns an error, then
//     Close (also when Open or Next failed).
//   - Next returns a non-empty batch owned by the caller, or (nil, io.EOF)
//     when a bounded source is exhausted; the task then emits MaxWatermark
//     and ends the input of the chain. Next blocks while no data is ready and
//     returns ctx.Err() once ctx is cancelled.
//   - Snapshot and Restore capture the source position between calls of
//     Next (nil when the source has no position).
//   - Close releases everything and is idempotent.
type SourceOperator interface {
	Open(ctx *OperatorContext) error
	Next(ctx context.Context) (arrow.RecordBatch, error)
	Snapshot() ([]byte, error)
	Restore(state []byte) error
	Close() error
}

type kindEntry struct {
	op  OperatorFactory
	src SourceFactory
}

var (
	kindsMu sync.RWMutex
	kinds   = map[string]kindEntry{}
)

// RegisterOperator registers the factory of an operator kind. Duplicates
// panic: registration happens in init functions and a clash is a
// programming error.
func RegisterOperator(kind string, f OperatorFactory) {
	register(kind, kindEntry{op: f})
}

// RegisterSource registers the factory of a source kind, an operator that
// can only head a vertex without inputs.
func RegisterSource(kind string, f SourceFactory) {
	register(kind, kindEntry{src: f})
}

func register(kind string, e kindEntry) {
	kindsMu.Lock()
	defer kindsMu.Unlock()
	if _, dup := kinds[kind]; dup {
		panic(fmt.Sprintf("exec: operator kind %q registered twice", kind))
	}
	kinds[kind] = e
}

func lookupKind(kind string) (kindEntry, bool) {
	kindsMu.RLock()
	defer kindsMu.RUnlock()
	e, ok := kinds[kind]
	return e, ok
}

// OperatorKinds lists the registered operator and source kinds, sorted.
func OperatorKinds() []string {
	kindsMu.RLock()
	defer kindsMu.RUnlock()
	out := make([]string, 0, len(kinds))
	for k := range kinds {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// IsSourceKind reports whether kind is a registered source kind.
func IsSourceKind(kind string) bool {
	e, ok := lookupKind(kind)
	return ok && e.src != nil
}
