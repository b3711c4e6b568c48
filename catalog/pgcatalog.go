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

// MaterializedViewConnector is the connector of the tables through which
// the server serves materialized views; pg_class lists them with relkind
// 'm'.
const MaterializedViewConnector = "eddy-materialized-view"

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
	pgInt    = types.IntType
	pgBool   = types.BooleanType
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
			// The relations and, for each primary key, its index (relkind
			// 'i'). Eddy has no tablespaces, TOAST tables, typed tables,
			// rules, triggers, row security, checks or partitions, so
			// those columns hold PostgreSQL's values for their absence.
			cols: []pgColumn{{"oid", pgBigInt}, {"relname", pgString}, {"relnamespace", pgBigInt},
				{"relkind", pgString}, {"relowner", pgBigInt}, {"relam", pgBigInt}, {"relnatts", pgInt},
				{"relhasindex", pgBool}, {"relchecks", pgInt}, {"relhasrules", pgBool}, {"relhastriggers", pgBool},
				{"relrowsecurity", pgBool}, {"relforcerowsecurity", pgBool}, {"relispartition", pgBool},
				{"reltablespace", pgBigInt}, {"reloftype", pgBigInt}, {"reltoastrelid", pgBigInt},
				{"relpersistence", pgString}, {"relreplident", pgString}},
			rows: func(m *Manager) [][]string {
				var rows [][]string
				row := func(oid, ns int64, name, kind, am string, natts int, hasIndex bool) {
					rows = append(rows, []string{itoa(oid), sqlString(name), itoa(ns), sqlString(kind), itoa(pgOwner), am,
						itoa(int64(natts)), sqlBool(hasIndex), "0", "FALSE", "FALSE", "FALSE", "FALSE", "FALSE", "0", "0", "0",
						"'p'", "'d'"})
				}
				for _, r := range m.pgClasses() {
					am := "0"
					if r.kind == "r" || r.kind == "m" {
						am = "2" // heap, PostgreSQL's table access method
					}
					t, _ := r.obj.(*Table)
					natts := 0
					if r.obj != nil {
						natts = len(r.obj.Schema().Columns)
					}
					row(r.oid, r.ns, r.name, r.kind, am, natts, t != nil && len(t.PrimaryKey) > 0)
					if t != nil && len(t.PrimaryKey) > 0 {
						row(r.pkeyOID(), r.ns, r.name+"_pkey", "i", "403", len(t.PrimaryKey), false) // 403: btree
					}
				}
				return rows
			},
		},
		{Database: PGCatalog, Name: "pg_attribute"}: {
			// The columns of tables and views. A computed column is a
			// generated one (attgenerated 's') whose expression pg_attrdef
			// holds; string columns have the default collation (100).
			cols: []pgColumn{{"attrelid", pgBigInt}, {"attname", pgString}, {"atttypid", pgBigInt},
				{"attlen", pgInt}, {"attnum", pgInt}, {"atttypmod", pgInt}, {"attnotnull", pgBool},
				{"atthasdef", pgBool}, {"attisdropped", pgBool}, {"attidentity", pgString},
				{"attgenerated", pgString}, {"attcollation", pgBigInt}, {"attislocal", pgBool}},
			rows: func(m *Manager) [][]string {
				var rows [][]string
				for _, r := range m.pgClasses() {
					if r.obj == nil {
						continue
					}
					for i, c := range r.obj.Schema().Columns {
						oid, size, mod := types.PGTypeOf(c.Type)
						expr := r.computed(c.Name)
						gen, coll := "''", "0"
						if expr != "" {
							gen = "'s'"
						}
						if t, ok := types.PGTypeByOID(int64(oid)); ok && t.Collatable {
							coll = "100"
						}
						rows = append(rows, []string{itoa(r.oid), sqlString(c.Name), itoa(int64(oid)), itoa(int64(size)),
							itoa(int64(i + 1)), itoa(int64(mod)), sqlBool(!c.Type.Nullable()), sqlBool(expr != ""),
							"FALSE", "''", gen, coll, "TRUE"})
					}
				}
				return rows
			},
		},
		{Database: PGCatalog, Name: "pg_attrdef"}: {
			// The expressions of computed columns, as SQL text.
			cols: []pgColumn{{"oid", pgBigInt}, {"adrelid", pgBigInt}, {"adnum", pgInt}, {"adbin", pgString}},
			rows: func(m *Manager) [][]string {
				var rows [][]string
				for _, r := range m.pgClasses() {
					if r.obj == nil {
						continue
					}
					for i, c := range r.obj.Schema().Columns {
						if e := r.computed(c.Name); e != "" {
							rows = append(rows, []string{itoa(OID(r.cat, r.db, r.name, c.Name)), itoa(r.oid), itoa(int64(i + 1)), sqlString(e)})
						}
					}
				}
				return rows
			},
		},
		{Database: PGCatalog, Name: "pg_index"}: {
			// One index per primary key (Flink's keys are NOT ENFORCED,
			// so not unique in the data; PostgreSQL shows a key as both).
			cols: []pgColumn{{"indexrelid", pgBigInt}, {"indrelid", pgBigInt}, {"indnatts", pgInt},
				{"indisunique", pgBool}, {"indisprimary", pgBool}, {"indisclustered", pgBool},
				{"indisvalid", pgBool}, {"indisreplident", pgBool}, {"indkey", pgString}},
			rows: func(m *Manager) [][]string {
				var rows [][]string
				for _, r := range m.pgClasses() {
					if key := r.primaryKeyNums(); key != nil {
						rows = append(rows, []string{itoa(r.pkeyOID()), itoa(r.oid), itoa(int64(len(key))),
							"TRUE", "TRUE", "FALSE", "TRUE", "FALSE", sqlString(joinInts(key))})
					}
				}
				return rows
			},
		},
		{Database: PGCatalog, Name: "pg_constraint"}: {
			// The primary keys, contype 'p', with their index.
			cols: []pgColumn{{"oid", pgBigInt}, {"conname", pgString}, {"connamespace", pgBigInt},
				{"contype", pgString}, {"condeferrable", pgBool}, {"condeferred", pgBool},
				{"conrelid", pgBigInt}, {"conindid", pgBigInt}, {"conkey", pgString}},
			rows: func(m *Manager) [][]string {
				var rows [][]string
				for _, r := range m.pgClasses() {
					if key := r.primaryKeyNums(); key != nil {
						rows = append(rows, []string{itoa(r.pkeyOID()), sqlString(r.name + "_pkey"), itoa(r.ns), "'p'",
							"FALSE", "FALSE", itoa(r.oid), itoa(r.pkeyOID()), sqlString("{" + strings.ReplaceAll(joinInts(key), " ", ",") + "}")})
					}
				}
				return rows
			},
		},
		{Database: PGCatalog, Name: "pg_type"}: {
			// The built-in types Eddy's values travel as (see
			// types.PGTypes); Eddy has no user-defined types.
			cols: []pgColumn{{"oid", pgBigInt}, {"typname", pgString}, {"typnamespace", pgBigInt},
				{"typowner", pgBigInt}, {"typlen", pgInt}, {"typtype", pgString}, {"typrelid", pgBigInt},
				{"typelem", pgBigInt}, {"typarray", pgBigInt}, {"typbasetype", pgBigInt},
				{"typtypmod", pgInt}, {"typnotnull", pgBool}, {"typcollation", pgBigInt}},
			rows: func(m *Manager) [][]string {
				cat, _ := m.Current()
				ns := itoa(OID(cat, PGCatalog))
				var rows [][]string
				for _, t := range types.PGTypes {
					coll := "0"
					if t.Collatable {
						coll = "100"
					}
					rows = append(rows, []string{itoa(int64(t.OID)), sqlString(t.Name), ns, itoa(pgOwner),
						itoa(int64(t.Len)), "'b'", "0", "0", "0", "0", "-1", "FALSE", coll})
				}
				return rows
			},
		},
		{Database: PGCatalog, Name: "pg_collation"}: {
			cols: []pgColumn{{"oid", pgBigInt}, {"collname", pgString}, {"collnamespace", pgBigInt}},
			rows: func(m *Manager) [][]string {
				cat, _ := m.Current()
				return [][]string{{"100", "'default'", itoa(OID(cat, PGCatalog))}}
			},
		},
		{Database: PGCatalog, Name: "pg_description"}: {
			// Table and column comments (objsubid: the column number, 0
			// for the table), which drivers' metadata calls join.
			cols: []pgColumn{{"objoid", pgBigInt}, {"classoid", pgBigInt}, {"objsubid", pgInt}, {"description", pgString}},
			rows: func(m *Manager) [][]string {
				classOID := itoa(OID(m.currentCatalog(), PGCatalog, "pg_class"))
				var rows [][]string
				for _, r := range m.pgClasses() {
					t, _ := r.obj.(*Table)
					if t == nil {
						continue
					}
					if t.Comment != "" {
						rows = append(rows, []string{itoa(r.oid), classOID, "0", sqlString(t.Comment)})
					}
					for i, c := range t.Columns {
						if c.Comment != "" {
							rows = append(rows, []string{itoa(r.oid), classOID, itoa(int64(i + 1)), sqlString(c.Comment)})
						}
					}
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
	oid, ns       int64
	cat, db, name string
	kind          string
	// obj is the table or view; nil for the virtual relations.
	obj Object
}

// pkeyOID is the OID of the index and constraint of the relation's
// primary key.
func (r pgClass) pkeyOID() int64 { return OID(r.cat, r.db, r.name, "pkey") }

// primaryKeyNums returns the column numbers (from 1) of the primary key of
// a table, nil when it has none.
func (r pgClass) primaryKeyNums() []int {
	t, _ := r.obj.(*Table)
	if t == nil || len(t.PrimaryKey) == 0 {
		return nil
	}
	cols := t.Schema().Columns
	var nums []int
	for _, k := range t.PrimaryKey {
		for i, c := range cols {
			if c.Name == k {
				nums = append(nums, i+1)
			}
		}
	}
	return nums
}

// computed returns the expression of a computed column of the relation,
// "" for other columns.
func (r pgClass) computed(name string) string {
	if t, ok := r.obj.(*Table); ok {
		for _, c := range t.Columns {
			if c.Name == name && c.Kind == Computed {
				return c.Expr
			}
		}
	}
	return ""
}

func (m *Manager) currentCatalog() string {
	cat, _ := m.Current()
	return cat
}

func sqlBool(b bool) string {
	if b {
		return "TRUE"
	}
	return "FALSE"
}

func joinInts(ns []int) string {
	parts := make([]string, len(ns))
	for i, n := range ns {
		parts[i] = strconv.Itoa(n)
	}
	return strings.Join(parts, " ")
}

// pgClasses lists the tables and views of the current catalog (the
// virtual relations included, as PostgreSQL lists its own).
func (m *Manager) pgClasses() []pgClass {
	cat, _ := m.Current()
	var out []pgClass
	for p := range pgRelations {
		out = append(out, pgClass{oid: OID(cat, p.Database, p.Name), ns: OID(cat, p.Database), cat: cat, db: p.Database, name: p.Name, kind: "v"})
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
				switch o := obj.(type) {
				case *View:
					kind = "v"
				case *Table:
					if o.Options["connector"] == MaterializedViewConnector {
						kind = "m"
					}
				}
				out = append(out, pgClass{oid: OID(cat, db, n), ns: OID(cat, db), cat: cat, db: db, name: n, kind: kind, obj: obj})
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
