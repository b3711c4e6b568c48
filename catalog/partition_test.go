package catalog

import (
	"slices"
	"testing"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/internal/errs"
)

func spec(kv ...string) PartitionSpec {
	var s PartitionSpec
	for i := 0; i+1 < len(kv); i += 2 {
		s = append(s, PartitionValue{Key: kv[i], Value: kv[i+1]})
	}
	return s
}

func partitionNames(t *testing.T, m *Memory, p Path, filter PartitionSpec) []string {
	t.Helper()
	parts, err := m.ListPartitions(p, filter)
	must(t, err)
	var out []string
	for _, part := range parts {
		out = append(out, part.Spec.Name())
	}
	return out
}

func partitioned(keys ...string) *Table {
	t := &Table{Options: map[string]string{"connector": "print"}, PartitionKeys: keys}
	for _, c := range append([]string{"a"}, keys...) {
		t.Columns = append(t.Columns, Column{Name: c, Type: types.StringType})
	}
	return t
}

// TestCatalogPartitions covers the partition calls of the in-memory
// catalog as Flink's GenericInMemoryCatalog behaves: full specs in any
// key order name one partition, listing keeps the order they were added
// in, and a table's partitions go with it (DROP TABLE, DROP DATABASE
// CASCADE, a change of its partition keys) or move with it (RENAME).
func TestCatalogPartitions(t *testing.T) {
	m := NewMemory("c", "db")
	p := Path{"c", "db", "t"}
	must(t, m.CreateObject(p, partitioned("dt", "h"), false))

	must(t, m.CreatePartition(p, Partition{Spec: spec("dt", "d2", "h", "1"), Properties: map[string]string{"k": "v"}}, false))
	must(t, m.CreatePartition(p, Partition{Spec: spec("h", "0", "dt", "d1")}, false))
	wantCode(t, m.CreatePartition(p, Partition{Spec: spec("h", "1", "dt", "d2")}, false), errs.DuplicateObject)
	must(t, m.CreatePartition(p, Partition{Spec: spec("h", "1", "dt", "d2")}, true))
	if got := partitionNames(t, m, p, nil); !slices.Equal(got, []string{"dt=d2/h=1", "h=0/dt=d1"}) {
		t.Fatalf("partitions %v", got)
	}
	if got := partitionNames(t, m, p, spec("dt", "d1")); !slices.Equal(got, []string{"h=0/dt=d1"}) {
		t.Fatalf("partitions of dt=d1: %v", got)
	}
	if got := partitionNames(t, m, p, spec("x", "1")); got != nil {
		t.Fatalf("partitions of an unknown key: %v", got)
	}
	// The catalog keeps its own copy of the properties.
	parts, _ := m.ListPartitions(p, spec("h", "1"))
	parts[0].Properties["k"] = "changed"
	if parts, _ := m.ListPartitions(p, spec("h", "1")); parts[0].Properties["k"] != "v" {
		t.Fatalf("properties %v", parts[0].Properties)
	}

	err := m.CreatePartition(p, Partition{Spec: spec("dt", "d3")}, false)
	wantCode(t, err, errs.InvalidOption)
	if want := "PartitionSpec CatalogPartitionSpec{{dt=d3}} does not match partition keys [dt, h] of table db.t in catalog c."; err.Error() != want {
		t.Fatalf("got %q, want %q", err, want)
	}
	wantCode(t, m.CreatePartition(p, Partition{Spec: spec("dt", "d3", "x", "1")}, false), errs.UndefinedColumn)
	wantCode(t, m.DropPartition(p, spec("dt", "d9", "h", "9"), false), errs.UndefinedObject)
	must(t, m.DropPartition(p, spec("dt", "d9", "h", "9"), true))
	must(t, m.DropPartition(p, spec("h", "1", "dt", "d2"), false))
	if got := partitionNames(t, m, p, nil); !slices.Equal(got, []string{"h=0/dt=d1"}) {
		t.Fatalf("after DROP PARTITION: %v", got)
	}

	plain := Path{"c", "db", "plain"}
	must(t, m.CreateObject(plain, &Table{Options: map[string]string{}}, false))
	err = m.CreatePartition(plain, Partition{Spec: spec("a", "1")}, false)
	wantCode(t, err, errs.WrongObjectType)
	if want := "Table db.plain in catalog c is not partitioned."; err.Error() != want {
		t.Fatalf("got %q, want %q", err, want)
	}
	_, err = m.ListPartitions(plain, nil)
	wantCode(t, err, errs.WrongObjectType)
	_, err = m.ListPartitions(Path{"c", "db", "missing"}, nil)
	wantCode(t, err, errs.UndefinedTable)

	// RENAME moves the partitions; a table created with the old name has
	// none.
	must(t, m.RenameObject(p, "t2", false))
	p2 := Path{"c", "db", "t2"}
	if got := partitionNames(t, m, p2, nil); !slices.Equal(got, []string{"h=0/dt=d1"}) {
		t.Fatalf("after RENAME: %v", got)
	}
	must(t, m.CreateObject(p, partitioned("dt", "h"), false))
	if got := partitionNames(t, m, p, nil); got != nil {
		t.Fatalf("a new table has partitions %v", got)
	}
	// ALTER keeping the partition keys keeps the partitions; changing
	// them drops them.
	altered := partitioned("dt", "h")
	altered.Comment = "x"
	must(t, m.AlterObject(p2, altered, false))
	if got := partitionNames(t, m, p2, nil); len(got) != 1 {
		t.Fatalf("after ALTER: %v", got)
	}
	must(t, m.AlterObject(p2, partitioned("h"), false))
	if got := partitionNames(t, m, p2, nil); got != nil {
		t.Fatalf("after a change of partition keys: %v", got)
	}
	// DROP TABLE drops them.
	must(t, m.CreatePartition(p, Partition{Spec: spec("dt", "x", "h", "1")}, false))
	must(t, m.DropObject(p, false))
	must(t, m.CreateObject(p, partitioned("dt", "h"), false))
	if got := partitionNames(t, m, p, nil); got != nil {
		t.Fatalf("after DROP TABLE and CREATE: %v", got)
	}
	// So does DROP DATABASE ... CASCADE.
	must(t, m.CreateDatabase("db2", nil, false))
	q := Path{"c", "db2", "t"}
	must(t, m.CreateObject(q, partitioned("dt"), false))
	must(t, m.CreatePartition(q, Partition{Spec: spec("dt", "x")}, false))
	must(t, m.DropDatabase("db2", false, true))
	must(t, m.CreateDatabase("db2", nil, false))
	must(t, m.CreateObject(q, partitioned("dt"), false))
	if got := partitionNames(t, m, q, nil); got != nil {
		t.Fatalf("after DROP DATABASE CASCADE: %v", got)
	}
}

// TestManagerAlterCatalog: ALTER CATALOG changes the descriptor of a
// catalog CREATE CATALOG made, validated as CREATE CATALOG's, and applies
// 'default-database' to the catalog, whose contents stay.
func TestManagerAlterCatalog(t *testing.T) {
	m := NewManager()
	c, err := NewCatalog("c", map[string]string{"type": CatalogTypeInMemory})
	must(t, err)
	must(t, m.CreateCatalog(c, CatalogDescriptor{Options: map[string]string{"type": CatalogTypeInMemory}, Comment: "one"}, false))
	must(t, c.CreateObject(Path{"c", "default", "t"}, partitioned(), false))
	set := func(k, v string) func(CatalogDescriptor) CatalogDescriptor {
		return func(d CatalogDescriptor) CatalogDescriptor { d.Options[k] = v; return d }
	}
	must(t, m.AlterCatalog("c", set("default-database", "db2")))
	d, _ := m.CatalogDescriptor("c")
	if d.Options["default-database"] != "db2" || d.Comment != "one" || c.DefaultDatabase() != "db2" || !c.DatabaseExists("db2") {
		t.Fatalf("descriptor %+v, default database %s", d, c.DefaultDatabase())
	}
	if _, err := c.GetObject(Path{"c", "default", "t"}); err != nil {
		t.Fatalf("the catalog lost its table: %v", err)
	}
	wantCode(t, m.AlterCatalog("c", set("type", "hive")), errs.InvalidOption)
	wantCode(t, m.AlterCatalog("c", set("k", "v")), errs.InvalidOption)
	if d, _ := m.CatalogDescriptor("c"); len(d.Options) != 2 {
		t.Fatalf("a refused change changed the descriptor: %+v", d)
	}
	wantCode(t, m.AlterCatalog("nope", set("k", "v")), errs.UndefinedDatabase)
	wantCode(t, m.AlterCatalog(DefaultCatalog, set("k", "v")), errs.NotSupported)
}
