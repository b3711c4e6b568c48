package raw

import (
	"encoding/binary"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/catalog/types"
)

// TestNumericPayloads: numeric columns are read from and written to their
// fixed-size payloads in the configured byte order, as Flink's raw format
// (Kafka's LongSerializer writes a big-endian BIGINT); a payload of the
// wrong size is an error that appends nothing.
func TestNumericPayloads(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	for _, tc := range []struct {
		t       types.DataType
		order   byteOrder
		payload []byte
		want    string
	}{
		{types.BigIntType, binary.BigEndian, []byte{0, 0, 0, 0, 0, 0, 1, 2}, "258"},
		{types.BigIntType, binary.LittleEndian, []byte{2, 1, 0, 0, 0, 0, 0, 0}, "258"},
		{types.IntType, binary.BigEndian, []byte{0xff, 0xff, 0xff, 0xfe}, "-2"},
		{types.SmallIntType, binary.LittleEndian, []byte{1, 0}, "1"},
		{types.TinyIntType, binary.BigEndian, []byte{0x80}, "-128"},
		{types.BooleanType, binary.BigEndian, []byte{1}, "true"},
		{types.DoubleType, binary.BigEndian, binary.BigEndian.AppendUint64(nil, 0x3ff8000000000000), "1.5"},
		{types.FloatType, binary.LittleEndian, binary.LittleEndian.AppendUint32(nil, 0x3fc00000), "1.5"},
		{types.StringType, binary.BigEndian, []byte("héllo"), "héllo"},
	} {
		s := types.Schema{Columns: []types.Column{{Name: "v", Type: tc.t}}}
		b := array.NewRecordBuilder(mem, s.Arrow())
		d, err := NewDecoder(Config{Order: tc.order}, s, b)
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Stage(tc.payload); err != nil {
			t.Fatalf("%s: %v", tc.t, err)
		}
		d.Commit()
		d.StageNull()
		d.Commit()
		if err := d.Stage(append(tc.payload, 0)); tc.t.Kind != types.Varchar && (err == nil || !strings.Contains(err.Error(), "bytes, got")) {
			t.Errorf("%s: a payload one byte too long: %v", tc.t, err)
		}
		rec := b.NewRecordBatch()
		b.Release()
		if got := rec.Column(0).ValueStr(0); got != tc.want || !rec.Column(0).IsNull(1) || rec.NumRows() != 2 {
			t.Errorf("%s: read %s (%d rows), want %s and a NULL", tc.t, got, rec.NumRows(), tc.want)
		}
		e := NewEncoder(Config{Order: tc.order})
		if err := e.Bind(rec); err != nil {
			t.Fatal(err)
		}
		out, _ := e.AppendRow(nil, 0)
		if string(out) != string(tc.payload) || !e.IsNull(1) {
			t.Errorf("%s: wrote %x, want %x", tc.t, out, tc.payload)
		}
		rec.Release()
	}
	if err := CheckSchema(types.Schema{Columns: []types.Column{{Name: "d", Type: types.DateType}}}); err == nil {
		t.Error("a DATE column: no error")
	}
}
