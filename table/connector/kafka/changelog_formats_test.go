package kafka

import (
	"context"
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
)

// changelogEvents are, per changelog JSON format, events over accounts:
// an insert of two rows (canal: in one message), an update of id 1's
// balance (canal and maxwell: "old" holds only the balance), a delete of
// id 2, an event to skip (canal: DDL, filtered out by the table filter in
// some cases) and a malformed one. The rows they make are changelogRows.
var changelogEvents = map[string][]string{
	"debezium-json": {
		`{"before":null,"after":{"id":1,"name":"a","balance":10},"op":"r","source":{"table":"accounts"}}`,
		`{"before":null,"after":{"id":2,"name":"b","balance":20},"op":"c","source":{"table":"accounts"}}`,
		`{"before":{"id":1,"name":"a","balance":10},"after":{"id":1,"name":"a","balance":15},"op":"u","source":{"table":"accounts"}}`,
		`{"before":{"id":2,"name":"b","balance":20},"after":null,"op":"d","source":{"table":"accounts"}}`,
		`{"before":null,"after":{"id":"x"},"op":"c"}`,
	},
	"canal-json": {
		`{"data":[{"id":"1","name":"a","balance":"10"},{"id":"2","name":"b","balance":"20"}],"database":"bank","table":"accounts","type":"INSERT","ts":1000}`,
		`{"data":[{"id":"1","name":"a","balance":"15"}],"old":[{"balance":"10"}],"database":"bank","table":"accounts","type":"UPDATE","ts":2000}`,
		`{"data":[{"id":"2","name":"b","balance":"20"}],"database":"bank","table":"accounts","type":"DELETE","ts":3000}`,
		`{"data":null,"database":"bank","table":"accounts","type":"CREATE","isDdl":true,"sql":"CREATE TABLE accounts (...)"}`,
		`{"data":[{"id":"x"}],"database":"bank","table":"accounts","type":"INSERT"}`,
	},
	"maxwell-json": {
		`{"database":"bank","table":"accounts","type":"insert","ts":1,"data":{"id":1,"name":"a","balance":10}}`,
		`{"database":"bank","table":"accounts","type":"insert","ts":1,"data":{"id":2,"name":"b","balance":20}}`,
		`{"database":"bank","table":"accounts","type":"update","ts":2,"data":{"id":1,"name":"a","balance":15},"old":{"balance":10}}`,
		`{"database":"bank","table":"accounts","type":"delete","ts":3,"data":{"id":2,"name":"b","balance":20}}`,
		`{"database":"bank","table":"accounts","type":"insert","data":{"id":"x"}}`,
	},
	"ogg-json": {
		`{"table":"BANK.ACCOUNTS","op_type":"I","before":null,"after":{"id":1,"name":"a","balance":10}}`,
		`{"table":"BANK.ACCOUNTS","op_type":"I","before":null,"after":{"id":2,"name":"b","balance":20}}`,
		`{"table":"BANK.ACCOUNTS","op_type":"U","before":{"id":1,"name":"a","balance":10},"after":{"id":1,"name":"a","balance":15}}`,
		`{"table":"BANK.ACCOUNTS","op_type":"D","before":{"id":2,"name":"b","balance":20},"after":null}`,
		`{"table":"BANK.ACCOUNTS","op_type":"U","after":{"id":1}}`,
	},
}

// changelogRows are the rows of changelogEvents, the row kind last.
var changelogRows = []string{"1,a,10,0", "2,b,20,0", "1,a,10,1", "1,a,15,2", "2,b,20,3"}

// tableMetadata is the metadata key of the events' table, per format.
var tableMetadata = map[string]string{"debezium-json": "value.source.table", "canal-json": "value.table", "maxwell-json": "value.table", "ogg-json": "value.table"}

// TestChangelogFormatsRead reads each format's events as a retract
// changelog at several batch sizes, with record and format metadata, and
// skips and counts the malformed event under ignore-parse-errors.
func TestChangelogFormatsRead(t *testing.T) {
	var topics []string
	for f := range changelogEvents {
		topics = append(topics, f)
	}
	_, addr := cluster(t, 1, topics...)
	for f, events := range changelogEvents {
		t.Run(f, func(t *testing.T) {
			var recs []rec
			for _, e := range events {
				recs = append(recs, rec{val: e})
			}
			produce(t, addr, f, append(recs, rec{nilVal: true})...)
			tbl := table(addr, accounts, "topic", f, "format", f, "scan.startup.mode", "earliest-offset", "scan.bounded.mode", "latest-offset")
			p, err := Factory{}.ValidateSource(tbl)
			require.NoError(t, err)
			require.Equal(t, connector.RetractChangelog, p.Changelog)
			_, err = readErr(t, tbl)
			require.ErrorContains(t, err, fmt.Sprintf("offset %d with format '%s'", len(events)-1, f))

			tbl.Options[f+".ignore-parse-errors"] = "true"
			for _, size := range []int{0, 2, 8} {
				require.Equal(t, changelogRows, readAll(t, tbl, 0, 1, size), "batch size %d", size)
			}
			r, err := Factory{}.CreateReader(connector.ScanSpec{Table: tbl}, connector.ReaderContext{Parallelism: 1, Mem: memory.DefaultAllocator})
			require.NoError(t, err)
			defer r.Close()
			for {
				b, err := r.Next(context.Background())
				if err != nil {
					break
				}
				b.Release()
			}
			require.EqualValues(t, 1, r.(*reader).RecordsInErrors())

			// the record's offset and the event's table, both per row
			tbl.Metadata = []connector.MetadataColumn{
				{Name: "off", Key: "offset", Type: types.BigIntType, Virtual: true},
				{Name: "tbl", Key: tableMetadata[f], Type: types.StringType, Virtual: true},
			}
			keys, err := Factory{}.ReadableMetadataOf(tbl)
			require.NoError(t, err)
			require.Contains(t, keys, tableMetadata[f])
			require.Contains(t, keys, "offset")
			_, err = Factory{}.ValidateSource(tbl)
			require.NoError(t, err)
			got := readAll(t, tbl, 0, 1, 0)
			require.Len(t, got, len(changelogRows))
			name := map[string]string{"debezium-json": "accounts", "canal-json": "accounts", "maxwell-json": "accounts", "ogg-json": "BANK.ACCOUNTS"}[f]
			require.Regexp(t, `^2,b,20,\d,`+name+`,3$`, got[4])

			tbl.Metadata[1].Type = types.IntType
			_, err = Factory{}.ValidateSource(tbl)
			require.ErrorContains(t, err, "metadata column 'tbl': cannot have type INT")
		})
	}
	// format metadata of a format that has none
	tbl := table(addr, accounts, "topic", "x", "format", "json")
	tbl.Metadata = []connector.MetadataColumn{{Name: "db", Key: "value.database", Type: types.StringType, Virtual: true}}
	_, err := Factory{}.ValidateSource(tbl)
	require.ErrorContains(t, err, "the value format 'json' has no metadata key 'database'")
}

// TestCanalFilters reads only the events of the included databases and
// tables.
func TestCanalFilters(t *testing.T) {
	_, addr := cluster(t, 1, "canal")
	ev := func(db, tbl string, id int) rec {
		return rec{val: fmt.Sprintf(`{"data":[{"id":%d}],"database":"%s","table":"%s","type":"INSERT"}`, id, db, tbl)}
	}
	produce(t, addr, "canal", ev("bank", "accounts", 1), ev("bank2", "accounts", 2), ev("bank", "accounts_old", 3), ev("bank", "ledger", 4))
	tbl := table(addr, accounts, "topic", "canal", "format", "canal-json", "scan.startup.mode", "earliest-offset", "scan.bounded.mode", "latest-offset",
		"canal-json.database.include", "bank", "canal-json.table.include", "accounts|ledger")
	require.Equal(t, []string{"1,NULL,NULL,0", "4,NULL,NULL,0"}, readAll(t, tbl, 0, 1, 0))
}

// TestChangelogFormatsRoundTrip writes a changelog with each format and
// reads it back: the sink writes +I/+U rows as inserts and -U/-D rows as
// deletes, as Flink does, so the rows come back as +I and -D.
func TestChangelogFormatsRoundTrip(t *testing.T) {
	formats := []string{"debezium-json", "canal-json", "maxwell-json", "ogg-json"}
	_, addr := cluster(t, 1, formats...)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	b := accountChanges(t, mem)
	defer b.Release()
	want := map[string]string{
		"debezium-json": `{"before":null,"after":{"id":1,"name":"a","balance":10},"op":"c"}`,
		"canal-json":    `{"data":[{"id":1,"name":"a","balance":10}],"type":"INSERT"}`,
		"maxwell-json":  `{"data":{"id":1,"name":"a","balance":10},"type":"insert"}`,
		"ogg-json":      `{"before":null,"after":{"id":1,"name":"a","balance":10},"op_type":"I"}`,
	}
	for _, f := range formats {
		tbl := table(addr, accounts, "topic", f, "format", f, "scan.startup.mode", "earliest-offset", "scan.bounded.mode", "latest-offset")
		props, err := Factory{}.ValidateSink(tbl)
		require.NoError(t, err)
		require.Equal(t, connector.SinkProperties{AcceptsUpdates: true, RequiresUpdateBefore: true}, props)
		write(t, tbl, 0, b)
		got := consumeAll(t, addr, f)
		require.Len(t, got, 5)
		require.Equal(t, want[f], string(got[0].val))
		require.Equal(t, []string{"1,a,10,0", "2,b,20,0", "1,a,10,3", "1,a,15,0", "2,b,20,3"}, readAll(t, tbl, 0, 1, 0), f)
	}
}
