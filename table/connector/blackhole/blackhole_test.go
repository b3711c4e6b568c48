package blackhole

import (
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/table/connector/connectortest"
)

func TestBlackhole(t *testing.T) {
	s := types.Schema{Columns: []types.Column{{Name: "x", Type: types.IntType}}}
	tbl := connector.TableInfo{Name: "t", Schema: s, Options: map[string]string{"connector": "blackhole"}}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	b, _, err := array.RecordFromJSON(mem, s.Arrow(), strings.NewReader(`[{"x": 1}, {"x": null}]`))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Release()
	connectortest.CheckSink(t, Factory{}, connector.SinkSpec{Table: tbl}, connector.ReaderContext{Mem: mem}, b, b)
	p, err := Factory{}.ValidateSink(tbl)
	if err != nil || !p.AcceptsUpdates {
		t.Errorf("ValidateSink: %v %v", p, err)
	}
	tbl.Options["foo"] = "1"
	if _, err := (Factory{}).ValidateSink(tbl); err == nil || !strings.Contains(err.Error(), "unsupported option 'foo' for connector 'blackhole'; supported options: connector") {
		t.Errorf("unknown option: %v", err)
	}
}
