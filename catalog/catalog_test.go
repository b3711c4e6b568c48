package catalog

import (
	"testing"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/internal/errs"
)

func wantCode(t *testing.T, err error, code errs.Code) {
	t.Helper()
	if !errs.Is(err, code) {
		t.Fatalf("got error %v, want code %s", err, code.Name)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestCatalogDatabases(t *testing.T) {
	m := NewMemory("c", "d0")
	must(t, m.CreateDatabase("db", &Database{Comment: "orders", Properties: map[string]string{"k": "v"}}, false))
	wantCode(t, m.CreateDatabase("db", nil, false), errs.DuplicateDatabase)
	must(t, m.CreateDatabase("db", nil, true))
	d, err := m.GetDatabase("db")
	must(t, err)
	if d.Comment != "orders" || d.Properties["k"] != "v" {
		t.Fatalf("database is %+v", d)
	}
	// The catalog keeps its own copy: changing the result changes nothing.
	d.Properties["k"] = "changed"
	must(t, m.AlterDatabase("db", &Database{Properties: map[string]string{"k": "v2"}}, false))
	if d, _ := m.GetDatabase("db"); d.Properties["k"] != "v2" {
		t.Fatalf("after ALTER DATABASE: %+v", d)
	}
	wantCode(t, m.AlterDatabase("nope", &Database{}, false), errs.UndefinedDatabase)
	must(t, m.AlterDatabase("nope", &Database{}, true))

	p := Path{"c", "db", "t"}
	must(t, m.CreateObject(p, &Table{}, false))
	wantCode(t, m.DropDatabase("db", false, false), errs.DependentObjects)
	must(t, m.DropDatabase("db", false, true))
	if m.DatabaseExists("db") {
		t.Fatal("DROP DATABASE ... CASCADE left the database")
	}
	wantCode(t, m.DropDatabase("db", false, false), errs.UndefinedDatabase)
	must(t, m.DropDatabase("db", true, false))
}

func TestCatalogAlterAndRenameObjects(t *testing.T) {
	m := NewMemory("c", "db")
	tp, vp := Path{"c", "db", "t"}, Path{"c", "db", "v"}
	must(t, m.CreateObject(tp, &Table{Columns: []Column{{Name: "a", Type: types.IntType}}}, false))
	must(t, m.CreateObject(vp, &View{Query: "SELECT 1"}, false))

	must(t, m.AlterObject(tp, &Table{Columns: []Column{{Name: "b", Type: types.IntType}}}, false))
	obj, _ := m.GetObject(tp)
	if got := obj.(*Table).Columns[0].Name; got != "b" {
		t.Fatalf("altered table has column %s", got)
	}
	wantCode(t, m.AlterObject(tp, &View{}, false), errs.WrongObjectType)
	wantCode(t, m.AlterObject(Path{"c", "db", "nope"}, &Table{}, false), errs.UndefinedTable)
	must(t, m.AlterObject(Path{"c", "db", "nope"}, &Table{}, true))

	wantCode(t, m.RenameObject(tp, "v", false), errs.DuplicateTable)
	must(t, m.RenameObject(tp, "t2", false))
	if _, err := m.GetObject(tp); !errs.Is(err, errs.UndefinedTable) {
		t.Fatalf("old name still resolves: %v", err)
	}
	if _, err := m.GetObject(Path{"c", "db", "t2"}); err != nil {
		t.Fatal(err)
	}
	wantCode(t, m.RenameObject(tp, "t3", false), errs.UndefinedTable)
}

func TestManagerCatalogsAndTemporaryObjects(t *testing.T) {
	m := NewManager()
	c, err := NewCatalog("c1", map[string]string{"type": CatalogTypeInMemory, "default-database": "mydb"})
	must(t, err)
	desc := CatalogDescriptor{Options: map[string]string{"type": CatalogTypeInMemory}}
	must(t, m.CreateCatalog(c, desc, false))
	wantCode(t, m.CreateCatalog(c, desc, false), errs.DuplicateObject)
	must(t, m.CreateCatalog(c, desc, true))
	if d, ok := m.CatalogDescriptor("c1"); !ok || d.Options["type"] != CatalogTypeInMemory {
		t.Fatalf("descriptor %+v %v", d, ok)
	}
	if _, ok := m.CatalogDescriptor(DefaultCatalog); ok {
		t.Fatal("the default catalog has no CREATE CATALOG descriptor")
	}
	_, err = NewCatalog("c2", map[string]string{"type": "hive"})
	wantCode(t, err, errs.InvalidOption)
	_, err = NewCatalog("c2", map[string]string{"type": CatalogTypeInMemory, "nope": "1"})
	wantCode(t, err, errs.InvalidOption)

	must(t, m.UseCatalog("c1"))
	if cat, db := m.Current(); cat != "c1" || db != "mydb" {
		t.Fatalf("current is %s.%s", cat, db)
	}
	wantCode(t, m.DropCatalog("c1", false), errs.InvalidOption)
	must(t, m.UseCatalog(DefaultCatalog))

	tmp := Path{"c1", "mydb", "tmp"}
	must(t, m.Create(tmp, &Table{}, true, false))
	if !m.IsTemporary(tmp) {
		t.Fatal("temporary table not found")
	}
	// Alter and Rename change catalog objects; a temporary one is not
	// in the catalog.
	wantCode(t, m.Alter(tmp, &Table{Comment: "altered"}), errs.UndefinedTable)
	perm := Path{"c1", "mydb", "perm"}
	must(t, m.Create(perm, &Table{}, false, false))
	must(t, m.Alter(perm, &Table{Comment: "altered"}))
	obj, _ := m.Get(perm)
	if obj.(*Table).Comment != "altered" {
		t.Fatal("Alter did not replace the table")
	}
	moved := Path{"c1", "mydb", "perm2"}
	must(t, m.Rename(perm, moved))
	if _, err := m.Get(moved); err != nil {
		t.Fatal(err)
	}
	wantCode(t, m.Rename(moved, Path{"c1", "other", "x"}), errs.NotSupported)

	names, err := m.ListIn("c1", "mydb", func(Object) bool { return true })
	must(t, err)
	if len(names) != 2 || names[0] != "perm2" || names[1] != "tmp" {
		t.Fatalf("ListIn = %v", names)
	}
	must(t, m.DropCatalog("c1", false))
	if m.IsTemporary(tmp) {
		t.Fatal("DROP CATALOG kept the catalog's temporary objects")
	}
	wantCode(t, m.DropCatalog("c1", false), errs.UndefinedDatabase)
	must(t, m.DropCatalog("c1", true))
}
