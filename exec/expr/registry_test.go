package expr

import (
	"errors"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/catalog/types"
)

func TestRegistry(t *testing.T) {
	if _, err := Resolve("no_such_fn", nil); !errors.Is(err, ErrUnknownFunction) {
		t.Fatalf("want ErrUnknownFunction, got %v", err)
	}
	if !Lookup("upper") || !Lookup("CHARACTER_LENGTH") || Lookup("nope") {
		t.Fatal("Lookup is wrong")
	}
	names := Names()
	if !slices.IsSorted(names) || !slices.Contains(names, "REGEXP_EXTRACT") {
		t.Fatalf("Names: %v", names)
	}
	// Every registered function has a kernel, except those that resolve into
	// other calls (BETWEEN, NULLIF, OVERLAPS) and constants.
	for _, n := range names {
		if registry[n].compile == nil && n != "BETWEEN" && n != "NOT BETWEEN" && n != "NULLIF" && n != "OVERLAPS" && !isConstantFunction(n) {
			t.Errorf("%s has no kernel", n)
		}
	}
	for _, fn := range []string{"RAND", "NOW", "PROCTIME", "CURRENT_TIMESTAMP"} {
		e, err := Resolve(fn, nil)
		if err != nil {
			t.Fatal(err)
		}
		if IsDeterministic(e) {
			t.Errorf("%s should be non-deterministic", fn)
		}
	}
}

func TestFilterAllTrueRetains(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	b, schema, err := parseBatch("a INT\n1\n2", mem)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Release()
	e, err := parseExpr("(> $0 0)", schema)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := Compile(e, mem)
	if err != nil {
		t.Fatal(err)
	}
	pred, err := ev.Eval(b)
	if err != nil {
		t.Fatal(err)
	}
	defer pred.Release()
	out, err := FilterBatch(b, pred, mem)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Release()
	if out != b {
		t.Fatal("an all-true predicate should return the batch itself")
	}
	if e, _ := Resolve("=", []Expr{&ColumnRef{T: types.IntType}, NewLiteral(1, types.BigIntType)}); e.(*Call).Args[0].Type().Kind != types.BigInt {
		t.Fatalf("INT = BIGINT should widen to BIGINT: %s", e)
	}
}
