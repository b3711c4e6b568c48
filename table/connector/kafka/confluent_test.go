package kafka

import (
	"encoding/binary"
	"os/exec"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/twmb/avro"
	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/eddysql/eddy/catalog/types"
)

// TestAvroConfluentWriterSchemas reads records written by another producer
// with two schema versions: each is fetched by its id, fields are taken by
// name, and a column the writer lacks is NULL. Keys are avro-confluent too,
// registered under '<topic>-key' on write.
func TestAvroConfluentWriterSchemas(t *testing.T) {
	reg := srfake.New()
	defer reg.Close()
	_, addr := cluster(t, 1, "users", "keyed")
	v1 := `{"type":"record","name":"User","fields":[{"name":"id","type":"long"},{"name":"name","type":"string"}]}`
	v2 := `{"type":"record","name":"User","fields":[{"name":"id","type":"long"},{"name":"name","type":"string"},{"name":"age","type":["null","int"]},{"name":"extra","type":"string"}]}`
	id1, _, err := reg.RegisterSchema("users-value", sr.Schema{Schema: v1, Type: sr.TypeAvro})
	require.NoError(t, err)
	id2, _, err := reg.RegisterSchema("users-value", sr.Schema{Schema: v2, Type: sr.TypeAvro})
	require.NoError(t, err)
	frame := func(id int, schema string, v any) string {
		b := []byte{0, 0, 0, 0, 0}
		binary.BigEndian.PutUint32(b[1:], uint32(id))
		b, err := avro.MustParse(schema).AppendEncode(b, v)
		require.NoError(t, err)
		return string(b)
	}
	produce(t, addr, "users",
		rec{val: frame(id1, v1, map[string]any{"id": int64(1), "name": "ann"})},
		rec{val: frame(id2, v2, map[string]any{"id": int64(2), "name": "bob", "age": int32(42), "extra": "x"})},
		rec{val: "\x01garbage"},
	)
	s := schema(col("id", types.BigIntType), col("name", types.StringType), col("age", types.IntType))
	tbl := table(addr, s, "topic", "users", "format", "avro-confluent", "avro-confluent.url", reg.URL(),
		"scan.startup.mode", "earliest-offset", "scan.bounded.mode", "latest-offset")
	_, err = readErr(t, tbl)
	require.ErrorContains(t, err, "offset 2 with format 'avro-confluent': not a Confluent Avro record")
	tbl.Options["scan.bounded.mode"] = "specific-offsets"
	tbl.Options["scan.bounded.specific-offsets"] = "partition:0,offset:2"
	require.Equal(t, []string{"1,ann,NULL", "2,bob,42"}, readAll(t, tbl, 0, 1, 0))

	// keys and values both avro-confluent
	tbl = table(addr, s, "topic", "keyed", "key.format", "avro-confluent", "key.avro-confluent.url", reg.URL(), "key.fields", "id",
		"value.format", "avro-confluent", "value.avro-confluent.url", reg.URL(), "value.avro-confluent.subject", "custom",
		"value.fields-include", "EXCEPT_KEY", "scan.startup.mode", "earliest-offset", "scan.bounded.mode", "latest-offset")
	mem := memoryChecked(t)
	b := batch(t, mem, s.Arrow(), `[{"id": 7, "name": "x", "age": null}]`)
	write(t, tbl, 0, b)
	b.Release()
	require.Equal(t, []string{"7,x,NULL"}, readAll(t, tbl, 0, 1, 0))
	cl, err := sr.NewClient(sr.URLs(reg.URL()))
	require.NoError(t, err)
	subjects, err := cl.Subjects(t.Context())
	require.NoError(t, err)
	sort.Strings(subjects)
	require.Equal(t, []string{"custom", "keyed-key", "users-value"}, subjects)
}

// TestKcatInterop checks the bytes on the wire with kcat, a client nobody
// here wrote: records our sink writes are read by kcat, records kcat
// writes are read by our source. It runs only where kcat is installed.
func TestKcatInterop(t *testing.T) {
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		t.Skip("kcat is not installed")
	}
	_, addr := cluster(t, 1, "from-eddy", "from-kcat")
	mem := memoryChecked(t)
	s := schema(col("k", types.StringType), col("v", types.BigIntType))
	b := batch(t, mem, s.Arrow(), `[{"k": "a", "v": 1}, {"k": "b", "v": 2}]`)
	write(t, table(addr, s, "topic", "from-eddy", "key.format", "raw", "key.fields", "k", "value.format", "json"), 0, b)
	b.Release()
	out, err := exec.Command(kcat, "-C", "-b", addr, "-t", "from-eddy", "-e", "-q", "-f", `%k=%s\n`).Output()
	require.NoError(t, err)
	require.Equal(t, "a={\"k\":\"a\",\"v\":1}\nb={\"k\":\"b\",\"v\":2}\n", string(out))

	cmd := exec.Command(kcat, "-P", "-b", addr, "-t", "from-kcat", "-K", ":")
	cmd.Stdin = strings.NewReader("x:{\"k\": \"x\", \"v\": 10}\ny:{\"k\": \"y\", \"v\": 20}\n")
	require.NoError(t, cmd.Run())
	tbl := table(addr, s, "topic", "from-kcat", "key.format", "raw", "key.fields", "k", "value.format", "json",
		"value.fields-include", "EXCEPT_KEY", "scan.startup.mode", "earliest-offset", "scan.bounded.mode", "latest-offset")
	require.Equal(t, []string{"x,10", "y,20"}, readAll(t, tbl, 0, 1, 0))
}
