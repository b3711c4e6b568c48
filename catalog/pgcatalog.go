package catalog

import (
	"hash/fnv"
	"sort"
	"strconv"
	"strings"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/internal/errs"
)

// PostgreSQL clients (psql's \d commands, drivers' metadata calls) read
// the catalog through pg_catalog and information_schema relations. The
// Manager serves them as views in every catalog: each lookup builds the
// view's query from the live catalog, a VALUES list the engine runs like
// any other query, so they always show the objects as they are now.
//
// The mapping: a PostgreSQL schema (namespace) is an Eddy database of the
// current catalog; tables are relkind 'r' and views 'v'. OIDs are stable
// hashes of the qualified names (see OID), so they survive restarts.

// Names of the virtual databases.
const (
	PGCatalog         = "pg_catalog"
	InformationSchema = "information_schema"
)

// pgOwner is the OID PostgreSQL gives its bootstrap superuser.
const pgOwner = 10

// OID returns the stable object identifier of a qualified name: a hash
// above PostgreSQL's first user OID (16384), below 2^31 so it fits int4.
func OID(parts ...string) int64 {
	h := fnv.New32a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return 16384 + int64(h.Sum32()%(1<<31-16384))
}

// pgColumn is one column of a virtual relation.
type pgColumn struct {
	name string
	t    types.DataType
}

// pgRelation is a virtual relation: its columns and how its rows are
// produced from the catalog (each row's values as SQL literals).
type pgRelation struct {
	cols []pgColumn
	rows func(m *Manager) [][]string
}

var (
	pgBigInt = types.BigIntType
	pgString = types.StringType
)

// pgRelations is filled by init: its row functions list the relations
// themselves, which a variable initializer cannot refer to.
var pgRelations map[Path]pgRelation

func init() {
	pgRelations = map[Path]pgRelation{
		{Database: PGCatalog, Name: "pg_namespace"}: {
			cols: []pgColumn{{"oid", pgBigInt}, {"nspname", pgString}, {"nspowner", pgBigInt}},
			rows: func(m *Manager) [][]string {
				var rows [][]string
				for _, ns := range m.pgNamespaces() {
					rows = append(rows, []string{itoa(ns.oid), sqlString(ns.name), itoa(pgOwner)})
				}
				return rows
			},
		},
		{Database: PGCatalog, Name: "pg_class"}: {
			cols: []pgColumn{{"oid", pgBigInt}, {"relname", pgString}, {"relnamespace", pgBigInt},
				{"relkind", pgString}, {"relowner", pgBigInt}, {"relam", pgBigInt}},
			rows: func(m *Manager) [][]string {
				var rows [][]string
				for _, r := range m.pgClasses() {
					am := "0"
					if r.kind == "r" {
						am = "2" // heap, PostgreSQL's table access method
					}
					rows = append(rows, []string{itoa(r.oid), sqlString(r.name), itoa(r.ns), sqlString(r.kind), itoa(pgOwner), am})
				}
				return rows
			},
		},
		{Database: PGCatalog, Name: "pg_am"}: {
			cols: []pgColumn{{"oid", pgBigInt}, {"amname", pgString}, {"amtype", pgString}},
			rows: func(*Manager) [][]string { return [][]string{{"2", "'heap'", "'t'"}} },
		},
		{Database: PGCatalog, Name: "pg_database"}: {
			// datacl is PostgreSQL's aclitem[]; Eddy has no privileges, so
			// it is always NULL, typed STRING.
			cols: []pgColumn{{"oid", pgBigInt}, {"datname", pgString}, {"datdba", pgBigInt}, {"encoding", pgBigInt},
				{"datcollate", pgString}, {"datctype", pgString}, {"daticulocale", pgString},
				{"datlocprovider", pgString}, {"datacl", pgString}},
			rows: func(m *Manager) [][]string {
				cat, _ := m.Current()
				var rows [][]string
				for _, ns := range m.pgNamespaces() {
					if ns.name == PGCatalog || ns.name == InformationSchema {
						continue
					}
					// 6 is PostgreSQL's number for UTF8.
					rows = append(rows, []string{itoa(OID(cat, ns.name)), sqlString(ns.name), itoa(pgOwner), "6",
						"'C'", "'C'", "NULL", "'c'", "NULL"})
				}
				return rows
			},
		},
		{Database: PGCatalog, Name: "pg_proc"}: {
			// Eddy's functions are built in (PostgreSQL lists those under
			// pg_catalog, which \df leaves out) or registered per session
			// through the Go API, so there are no rows to list yet.
			cols: []pgColumn{{"oid", pgBigInt}, {"proname", pgString}, {"pronamespace", pgBigInt}, {"prokind", pgString}},
			rows: func(*Manager) [][]string { return nil },
		},
		{Database: InformationSchema, Name: "columns"}: {
			cols: []pgColumn{{"table_catalog", pgString}, {"table_schema", pgString}, {"table_name", pgString},
				{"column_name", pgString}, {"ordinal_position", pgBigInt}, {"is_nullable", pgString}, {"data_type", pgString}},
			rows: func(m *Manager) [][]string {
				cat, _ := m.Current()
				var rows [][]string
				for _, r := range m.pgClasses() {
					if r.db == PGCatalog || r.db == InformationSchema {
						// Virtual relations are left out: their views are built
						// from this very listing.
						continue
					}
					obj, err := m.Get(Path{cat, r.db, r.name})
					if err != nil {
						continue // dropped meanwhile
					}
					for i, c := range obj.Schema().Columns {
						nullable := "'YES'"
						if !c.Type.Nullable() {
							nullable = "'NO'"
						}
						rows = append(rows, []string{sqlString(cat), sqlString(r.db), sqlString(r.name), sqlString(c.Name),
							itoa(int64(i + 1)), nullable, sqlString(c.Type.WithNullable(true).String())})
					}
				}
				return rows
			},
		},
		{Database: InformationSchema, Name: "schemata"}: {
			cols: []pgColumn{{"catalog_name", pgString}, {"schema_name", pgString}, {"schema_owner", pgString}},
			rows: func(m *Manager) [][]string {
				cat, _ := m.Current()
				var rows [][]string
				for _, ns := range m.pgNamespaces() {
					rows = append(rows, []string{sqlString(cat), sqlString(ns.name), sqlString("eddy")})
				}
				return rows
			},
		},
		{Database: InformationSchema, Name: "tables"}: {
			cols: []pgColumn{{"table_catalog", pgString}, {"table_schema", pgString}, {"table_name", pgString}, {"table_type", pgString}},
			rows: func(m *Manager) [][]string {
				cat, _ := m.Current()
				var rows [][]string
				for _, r := range m.pgClasses() {
					typ := "BASE TABLE"
					if r.kind == "v" {
						typ = "VIEW"
					}
					rows = append(rows, []string{sqlString(cat), sqlString(r.db), sqlString(r.name), sqlString(typ)})
				}
				return rows
			},
		},
	}
}

type pgNamespace struct {
	oid  int64
	name string
}

// pgNamespaces lists the databases of the current catalog and the two
// virtual ones, sorted by name.
func (m *Manager) pgNamespaces() []pgNamespace {
	cat, _ := m.Current()
	dbs := []string{PGCatalog, InformationSchema}
	if c, err := m.Catalog(cat); err == nil {
		dbs = append(dbs, c.ListDatabases()...)
	}
	sort.Strings(dbs)
	out := make([]pgNamespace, len(dbs))
	for i, db := range dbs {
		out[i] = pgNamespace{OID(cat, db), db}
	}
	return out
}

type pgClass struct {
	oid, ns  int64
	db, name string
	kind     string
}

// pgClasses lists the tables and views of the current catalog (the
// virtual relations included, as PostgreSQL lists its own).
func (m *Manager) pgClasses() []pgClass {
	cat, _ := m.Current()
	var out []pgClass
	for p := range pgRelations {
		out = append(out, pgClass{OID(cat, p.Database, p.Name), OID(cat, p.Database), p.Database, p.Name, "v"})
	}
	if c, err := m.Catalog(cat); err == nil {
		for _, db := range c.ListDatabases() {
			names, _ := c.ListObjects(db)
			for _, n := range names {
				obj, err := c.GetObject(Path{cat, db, n})
				if err != nil {
					continue // dropped meanwhile
				}
				kind := "r"
				if _, ok := obj.(*View); ok {
					kind = "v"
				}
				out = append(out, pgClass{OID(cat, db, n), OID(cat, db), db, n, kind})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].db != out[j].db {
			return out[i].db < out[j].db
		}
		return out[i].name < out[j].name
	})
	return out
}

// pgView returns the virtual relation at p as a view over the catalog's
// current contents; ok is false when p names none.
func (m *Manager) pgView(p Path) (obj Object, ok bool, err error) {
	rel, found := pgRelations[Path{Database: p.Database, Name: strings.ToLower(p.Name)}]
	if !found {
		if p.Database == PGCatalog || p.Database == InformationSchema {
			return nil, true, errs.New(errs.UndefinedTable, "relation %s.%s is not provided by Eddy", p.Database, p.Name)
		}
		return nil, false, nil
	}
	// The first VALUES row types the columns and is filtered out (its
	// first column is NULL, no real row's is), so an empty relation still
	// has its columns' types.
	var b strings.Builder
	b.WriteString("SELECT * FROM (VALUES (")
	for i, c := range rel.cols {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("CAST(NULL AS " + c.t.String() + ")")
	}
	b.WriteString(")")
	first := rel.cols[0].name
	for _, row := range rel.rows(m) {
		b.WriteString(", (" + strings.Join(row, ", ") + ")")
	}
	b.WriteString(") AS t(")
	schema := types.Schema{Columns: make([]types.Column, len(rel.cols))}
	for i, c := range rel.cols {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(c.name)
		schema.Columns[i] = types.Column{Name: c.name, Type: c.t}
	}
	b.WriteString(") WHERE " + first + " IS NOT NULL")
	return &View{Query: b.String(), Columns: schema}, true, nil
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
