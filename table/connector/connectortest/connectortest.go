// Package connectortest is the conformance suite every connector's tests
// run: it checks the parts of the connector contract that do not depend on
// what the connector does (declared, documented options; readers that end
// with io.EOF and stay there; batches of the declared schema; idempotent
// Close; no leaked Arrow memory) and offers helpers to read a scan and to
// write a sink under those checks.
package connectortest

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/exec/connector"
)

// CheckFactory checks the factory's identity and option declarations and
// that it is registered under its identifier.
func CheckFactory(t testing.TB, f connector.Factory) {
	t.Helper()
	id := f.Identifier()
	if id == "" {
		t.Fatal("Identifier is empty")
	}
	if got, ok := connector.Lookup(id); !ok || got.Identifier() != id {
		t.Errorf("connector %q is not registered", id)
	}
	seen := map[string]bool{}
	for _, o := range f.Options() {
		switch {
		case o.Key == "" || o.Key == connector.ConnectorOption:
			t.Errorf("%s: invalid option key %q", id, o.Key)
		case seen[o.Key]:
			t.Errorf("%s: option %q declared twice", id, o.Key)
		case strings.TrimSpace(o.Doc) == "":
			t.Errorf("%s: option %q has no doc", id, o.Key)
		case o.Type == connector.Enum && len(o.Enum) == 0:
			t.Errorf("%s: enum option %q lists no values", id, o.Key)
		case strings.Count(o.Key, "#") > 1:
			t.Errorf("%s: option %q has more than one '#'", id, o.Key)
		case o.Required && o.Default != "":
			t.Errorf("%s: required option %q has a default", id, o.Key)
		}
		seen[o.Key] = true
	}
}

// ReadAll reads one subtask of a bounded scan to the end and returns its
// batches, allocated from rc.Mem (the caller releases them). It checks the
// reader contract on the way: every batch is non-empty and has the scan's
// output schema, io.EOF repeats, Close is idempotent, and every other
// Next is first called with a cancelled context, as a checkpoint
// interrupts a waiting Next: it returns context.Canceled having read
// nothing (or a batch it had ready, or io.EOF), so the rows read are
// still all rows, once.
func ReadAll(t testing.TB, f connector.SourceFactory, spec connector.ScanSpec, rc connector.ReaderContext) []arrow.RecordBatch {
	t.Helper()
	r, err := f.CreateReader(spec, rc)
	if err != nil {
		t.Fatalf("CreateReader: %v", err)
	}
	want := spec.OutputSchema().Arrow()
	var out []arrow.RecordBatch
	ctx := context.Background()
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	for i := 0; ; i++ {
		next := ctx
		if i%2 == 0 {
			next = cancelled
		}
		b, err := r.Next(next)
		if next == cancelled && err != nil && !errors.Is(err, io.EOF) {
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("Next with a cancelled context: %v, want context.Canceled", err)
			}
			if b != nil {
				t.Errorf("Next returned a batch with context.Canceled")
			}
			continue
		}
		if errors.Is(err, io.EOF) {
			if b != nil {
				t.Errorf("Next returned a batch with io.EOF")
			}
			break
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		if b.NumRows() == 0 {
			t.Errorf("Next returned an empty batch")
		}
		if !b.Schema().Equal(want) {
			t.Fatalf("batch schema %s, want %s", b.Schema(), want)
		}
		out = append(out, b)
	}
	for range 2 {
		if b, err := r.Next(ctx); !errors.Is(err, io.EOF) || b != nil {
			t.Errorf("Next after EOF = %v, %v; want nil, io.EOF", b, err)
		}
	}
	if err := r.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := r.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	return out
}

// CheckSource reads every subtask of a bounded scan under a checked
// allocator, releases the batches, checks nothing leaked, and returns the
// number of rows read.
func CheckSource(t testing.TB, f connector.SourceFactory, spec connector.ScanSpec, parallelism, batchSize int) int64 {
	t.Helper()
	CheckFactory(t, f)
	props, err := f.ValidateSource(spec.Table)
	if err != nil {
		t.Fatalf("ValidateSource: %v", err)
	}
	if !props.Bounded {
		t.Fatalf("CheckSource needs a bounded scan")
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	var rows int64
	for sub := range parallelism {
		for _, b := range ReadAll(t, f, spec, connector.ReaderContext{Subtask: sub, Parallelism: parallelism, Mem: mem, BatchSize: batchSize}) {
			if batchSize > 0 && b.NumRows() > int64(batchSize) {
				t.Errorf("batch of %d rows exceeds the batch size %d", b.NumRows(), batchSize)
			}
			rows += b.NumRows()
			b.Release()
		}
	}
	mem.AssertSize(t, 0)
	return rows
}

// CheckSink writes batches through one writer, finishes and closes it
// twice; the batches stay owned by the caller.
func CheckSink(t testing.TB, f connector.SinkFactory, spec connector.SinkSpec, rc connector.ReaderContext, batches ...arrow.RecordBatch) {
	t.Helper()
	CheckFactory(t, f)
	if _, err := f.ValidateSink(spec.Table); err != nil {
		t.Fatalf("ValidateSink: %v", err)
	}
	if rc.Mem == nil {
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		defer mem.AssertSize(t, 0)
		rc.Mem = mem
	}
	w, err := f.CreateWriter(spec, rc)
	if err != nil {
		t.Fatalf("CreateWriter: %v", err)
	}
	for _, b := range batches {
		if err := w.Write(b); err != nil {
			t.Fatalf("Write: %v", err)
		}
	}
	if err := w.Finish(); err != nil {
		t.Fatalf("Finish: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}
