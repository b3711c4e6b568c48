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

// MaterializedViewQueryOption holds a materialized view's query as
// written, which pg_get_viewdef returns (psql's \d+ prints it).
const MaterializedViewQueryOption = "query"

// pgOwner is the OID PostgreSQL gives its bootstrap superuser, which
// owns every object; PGOwnerName is its name (pg_get_userbyid's answer).
const (
	pgOwner     = 10
	PGOwnerName = "eddy"
)

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
			// nspacl is PostgreSQL's aclitem[], always NULL (see
			// pg_database.datacl).
			cols: []pgColumn{{"oid", pgBigInt}, {"nspname", pgString}, {"nspowner", pgBigInt}, {"nspacl", pgString}},
			rows: func(m *Manager) [][]string {
				var rows [][]string
				for _, ns := range m.pgNamespaces() {
					rows = append(rows, []string{itoa(ns.oid), sqlString(ns.name), itoa(pgOwner), "NULL"})
				}
				return rows
			},
		},
		{Database: PGCatalog, Name: "pg_class"}: {
			// The relations and, for each primary key, its index (relkind
			// 'i'). Eddy has no tablespaces, TOAST tables, typed tables,
			// rules, triggers, row security, checks, partitions, storage
			// options or privileges, so those columns hold PostgreSQL's
			// values for their absence (relacl, PostgreSQL's aclitem[], is
			// NULL as for an object with default privileges; \dp reads it).
			cols: []pgColumn{{"oid", pgBigInt}, {"relname", pgString}, {"relnamespace", pgBigInt},
				{"relkind", pgString}, {"relowner", pgBigInt}, {"relam", pgBigInt}, {"relnatts", pgInt},
				{"relhasindex", pgBool}, {"relchecks", pgInt}, {"relhasrules", pgBool}, {"relhastriggers", pgBool},
				{"relrowsecurity", pgBool}, {"relforcerowsecurity", pgBool}, {"relispartition", pgBool},
				{"reltablespace", pgBigInt}, {"reloftype", pgBigInt}, {"reltoastrelid", pgBigInt},
				{"relpersistence", pgString}, {"relreplident", pgString}, {"relpartbound", pgString},
				{"reloptions", types.ArrayType(pgString)}, {"relacl", types.ArrayType(pgString)}},
			rows: func(m *Manager) [][]string {
				var rows [][]string
				row := func(oid, ns int64, name, kind, am string, natts int, hasIndex bool) {
					rows = append(rows, []string{itoa(oid), sqlString(name), itoa(ns), sqlString(kind), itoa(pgOwner), am,
						itoa(int64(natts)), sqlBool(hasIndex), "0", "FALSE", "FALSE", "FALSE", "FALSE", "FALSE", "0", "0", "0",
						"'p'", "'d'", "CAST(NULL AS STRING)"})
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
			// attacl is NULL: Eddy has no column privileges (see relacl).
			cols: []pgColumn{{"attrelid", pgBigInt}, {"attname", pgString}, {"atttypid", pgBigInt},
				{"attlen", pgInt}, {"attnum", pgInt}, {"atttypmod", pgInt}, {"attnotnull", pgBool},
				{"atthasdef", pgBool}, {"attisdropped", pgBool}, {"attidentity", pgString},
				{"attgenerated", pgString}, {"attcollation", pgBigInt}, {"attislocal", pgBool},
				{"attstorage", pgString}, {"attcompression", pgString}, {"attstattarget", pgInt},
				{"attacl", types.ArrayType(pgString)}},
			rows: func(m *Manager) [][]string {
				var rows [][]string
				for _, r := range m.pgClasses() {
					if r.obj == nil {
						continue
					}
					cols := r.obj.Schema().Columns
					for i, c := range cols {
						expr := r.computed(c.Name)
						// PostgreSQL keeps no NOT NULL constraint on the
						// columns of a view or materialized view, whatever
						// its query gives, nor on a generated column unless
						// declared, which a computed column cannot be (\d
						// shows them nullable).
						notNull := !c.Type.Nullable() && r.kind != "v" && r.kind != "m" && expr == ""
						rows = append(rows, pgAttributeRow(r.oid, i+1, c, notNull, expr))
					}
					// The primary key's index has the key's columns, without
					// constraints (\d of the index lists them).
					for i, num := range r.primaryKeyNums() {
						rows = append(rows, pgAttributeRow(r.pkeyOID(), i+1, cols[num-1], false, ""))
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
			// Its constraint is immediate, with no predicate or INCLUDE
			// columns (indnkeyatts = indnatts).
			cols: []pgColumn{{"indexrelid", pgBigInt}, {"indrelid", pgBigInt}, {"indnatts", pgInt},
				{"indisunique", pgBool}, {"indisprimary", pgBool}, {"indisclustered", pgBool},
				{"indisvalid", pgBool}, {"indisreplident", pgBool}, {"indkey", pgString},
				{"indnkeyatts", pgInt}, {"indimmediate", pgBool}, {"indnullsnotdistinct", pgBool}, {"indpred", pgString}},
			rows: func(m *Manager) [][]string {
				var rows [][]string
				for _, r := range m.pgClasses() {
					if key := r.primaryKeyNums(); key != nil {
						rows = append(rows, []string{itoa(r.pkeyOID()), itoa(r.oid), itoa(int64(len(key))),
							"TRUE", "TRUE", "FALSE", "TRUE", "FALSE", sqlString(joinInts(key)),
							itoa(int64(len(key))), "TRUE", "FALSE", "NULL"})
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
			// heap for tables, btree for the indexes of primary keys.
			rows: func(*Manager) [][]string { return [][]string{{"2", "'heap'", "'t'"}, {"403", "'btree'", "'i'"}} },
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
		// Eddy has no inheritance, row security policies, extended
		// statistics, publications or rewrite rules, and one role (the
		// owner of every object, pgOwner): psql's \d and \du read these
		// relations, which are empty but for that role.
		{Database: PGCatalog, Name: "pg_inherits"}: {
			cols: []pgColumn{{"inhrelid", pgBigInt}, {"inhparent", pgBigInt}, {"inhseqno", pgInt}, {"inhdetachpending", pgBool}},
			rows: func(*Manager) [][]string { return nil },
		},
		{Database: PGCatalog, Name: "pg_policy"}: {
			cols: []pgColumn{{"oid", pgBigInt}, {"polname", pgString}, {"polrelid", pgBigInt}, {"polcmd", pgString},
				{"polpermissive", pgBool}, {"polroles", types.ArrayType(pgBigInt)}, {"polqual", pgString}, {"polwithcheck", pgString}},
			rows: func(*Manager) [][]string { return nil },
		},
		{Database: PGCatalog, Name: "pg_statistic_ext"}: {
			cols: []pgColumn{{"oid", pgBigInt}, {"stxrelid", pgBigInt}, {"stxname", pgString}, {"stxnamespace", pgBigInt},
				{"stxowner", pgBigInt}, {"stxstattarget", pgInt}, {"stxkind", types.ArrayType(pgString)}},
			rows: func(*Manager) [][]string { return nil },
		},
		{Database: PGCatalog, Name: "pg_publication"}: {
			cols: []pgColumn{{"oid", pgBigInt}, {"pubname", pgString}, {"pubowner", pgBigInt}, {"puballtables", pgBool},
				{"pubinsert", pgBool}, {"pubupdate", pgBool}, {"pubdelete", pgBool}, {"pubtruncate", pgBool}, {"pubviaroot", pgBool}},
			rows: func(*Manager) [][]string { return nil },
		},
		{Database: PGCatalog, Name: "pg_publication_rel"}: {
			cols: []pgColumn{{"oid", pgBigInt}, {"prpubid", pgBigInt}, {"prrelid", pgBigInt}, {"prqual", pgString},
				{"prattrs", types.ArrayType(types.SmallIntType)}},
			rows: func(*Manager) [][]string { return nil },
		},
		{Database: PGCatalog, Name: "pg_publication_namespace"}: {
			cols: []pgColumn{{"oid", pgBigInt}, {"pnpubid", pgBigInt}, {"pnnspid", pgBigInt}},
			rows: func(*Manager) [][]string { return nil },
		},
		{Database: PGCatalog, Name: "pg_rewrite"}: {
			cols: []pgColumn{{"oid", pgBigInt}, {"rulename", pgString}, {"ev_class", pgBigInt}, {"ev_type", pgString}, {"is_instead", pgBool}},
			rows: func(*Manager) [][]string { return nil },
		},
		// Eddy's functions, types and connectors are built in, none of them
		// packaged as a PostgreSQL extension (nor is PL/pgSQL, which
		// PostgreSQL installs by default, there), so \dx lists none.
		{Database: PGCatalog, Name: "pg_extension"}: {
			cols: []pgColumn{{"oid", pgBigInt}, {"extname", pgString}, {"extowner", pgBigInt}, {"extnamespace", pgBigInt},
				{"extrelocatable", pgBool}, {"extversion", pgString}, {"extconfig", types.ArrayType(pgBigInt)},
				{"extcondition", types.ArrayType(pgString)}},
			rows: func(*Manager) [][]string { return nil },
		},
		{Database: PGCatalog, Name: "pg_auth_members"}: {
			cols: []pgColumn{{"roleid", pgBigInt}, {"member", pgBigInt}, {"grantor", pgBigInt}, {"admin_option", pgBool}},
			rows: func(*Manager) [][]string { return nil },
		},
		{Database: PGCatalog, Name: "pg_roles"}: {
			// The role is named as pg_get_userbyid names it; it may log in
			// and, Eddy having no privileges, do anything.
			cols: []pgColumn{{"oid", pgBigInt}, {"rolname", pgString}, {"rolsuper", pgBool}, {"rolinherit", pgBool},
				{"rolcreaterole", pgBool}, {"rolcreatedb", pgBool}, {"rolcanlogin", pgBool}, {"rolreplication", pgBool},
				{"rolconnlimit", pgInt}, {"rolvaliduntil", pgString}, {"rolbypassrls", pgBool}},
			rows: func(*Manager) [][]string {
				return [][]string{{itoa(pgOwner), sqlString(PGOwnerName), "TRUE", "TRUE", "TRUE", "TRUE", "TRUE", "FALSE", "-1", "NULL", "TRUE"}}
			},
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
	// has its columns' types. Array columns (pg_policy.polroles ...) are
	// always NULL in Eddy's catalog and VALUES takes no array constants, so
	// they are added by the outer SELECT and the rows leave them out.
	var values []pgColumn
	var b strings.Builder
	b.WriteString("SELECT ")
	for i, c := range rel.cols {
		if i > 0 {
			b.WriteString(", ")
		}
		if c.t.Kind == types.Array {
			b.WriteString("CAST(NULL AS " + c.t.String() + ") AS " + c.name)
		} else {
			b.WriteString(c.name)
			values = append(values, c)
		}
	}
	b.WriteString(" FROM (VALUES (")
	for i, c := range values {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("CAST(NULL AS " + c.t.String() + ")")
	}
	b.WriteString(")")
	for _, row := range rel.rows(m) {
		b.WriteString(", (" + strings.Join(row, ", ") + ")")
	}
	b.WriteString(") AS t(")
	for i, c := range values {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(c.name)
	}
	b.WriteString(") WHERE " + values[0].name + " IS NOT NULL")
	schema := types.Schema{Columns: make([]types.Column, len(rel.cols))}
	for i, c := range rel.cols {
		schema.Columns[i] = types.Column{Name: c.name, Type: c.t}
	}
	return &View{Query: b.String(), Columns: schema}, true, nil
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// PGIndexDefs returns, by index OID, what PostgreSQL's pg_get_indexdef
// prints for the index of each primary key (see pg_index), e.g.
// CREATE UNIQUE INDEX t_pkey ON default_database.t USING btree (id).
func (m *Manager) PGIndexDefs() map[int64]string {
	defs := map[int64]string{}
	for _, r := range m.pgClasses() {
		if cols := r.primaryKeyNames(); cols != "" {
			defs[r.pkeyOID()] = "CREATE UNIQUE INDEX " + pgQuoteIdent(r.name+"_pkey") + " ON " +
				pgQuoteIdent(r.db) + "." + pgQuoteIdent(r.name) + " USING btree (" + cols + ")"
		}
	}
	return defs
}

// PGConstraintDefs returns, by constraint OID, what PostgreSQL's
// pg_get_constraintdef prints for each primary key (see pg_constraint),
// e.g. PRIMARY KEY (id).
func (m *Manager) PGConstraintDefs() map[int64]string {
	defs := map[int64]string{}
	for _, r := range m.pgClasses() {
		if cols := r.primaryKeyNames(); cols != "" {
			defs[r.pkeyOID()] = "PRIMARY KEY (" + cols + ")"
		}
	}
	return defs
}

// primaryKeyNames lists the primary key's columns as PostgreSQL prints
// them in definitions, "" when the relation has none.
func (r pgClass) primaryKeyNames() string {
	t, _ := r.obj.(*Table)
	if t == nil || len(t.PrimaryKey) == 0 {
		return ""
	}
	names := make([]string, len(t.PrimaryKey))
	for i, k := range t.PrimaryKey {
		names[i] = pgQuoteIdent(k)
	}
	return strings.Join(names, ", ")
}

// pgQuoteIdent quotes an identifier as PostgreSQL's quote_ident does when
// it is not a plain lower-case one.
func pgQuoteIdent(s string) string {
	plain := s != ""
	for i, c := range s {
		if !(c == '_' || c >= 'a' && c <= 'z' || i > 0 && (c >= '0' && c <= '9' || c == '$')) {
			plain = false
			break
		}
	}
	if plain {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// PGViewDefs returns, by relation OID, the query of each view and
// materialized view as PostgreSQL's pg_get_viewdef gives it (psql's \d+
// prints it). Eddy keeps their SQL text, which is returned as written,
// ended by ';' as PostgreSQL ends its own.
func (m *Manager) PGViewDefs() map[int64]string {
	defs := map[int64]string{}
	for _, r := range m.pgClasses() {
		query := ""
		switch o := r.obj.(type) {
		case *View:
			query = o.Query
		case *Table:
			if r.kind == "m" {
				query = o.Options[MaterializedViewQueryOption]
			}
		}
		if query != "" {
			defs[r.oid] = strings.TrimSuffix(strings.TrimSpace(query), ";") + ";"
		}
	}
	return defs
}

// PGColumnComments returns the comments of the columns of the current
// catalog's tables, by relation OID and column number (from 1), which
// PostgreSQL's col_description gives.
func (m *Manager) PGColumnComments() map[[2]int64]string {
	out := map[[2]int64]string{}
	for _, r := range m.pgClasses() {
		if t, ok := r.obj.(*Table); ok {
			for i, c := range t.Columns {
				if c.Comment != "" {
					out[[2]int64{r.oid, int64(i + 1)}] = c.Comment
				}
			}
		}
	}
	return out
}

// PGRelationComments returns the comments of the current catalog's
// tables by relation OID, which PostgreSQL's obj_description(oid,
// 'pg_class') gives.
func (m *Manager) PGRelationComments() map[int64]string {
	out := map[int64]string{}
	for _, r := range m.pgClasses() {
		if t, ok := r.obj.(*Table); ok && t.Comment != "" {
			out[r.oid] = t.Comment
		}
	}
	return out
}

// PGTableOIDs returns, sorted, the OIDs of the current catalog's tables
// that PostgreSQL would publish (relkind 'r': not the views, materialized
// views or virtual relations), which pg_relation_is_publishable accepts.
func (m *Manager) PGTableOIDs() []int64 {
	var oids []int64
	for _, r := range m.pgClasses() {
		if r.kind == "r" && r.obj != nil {
			oids = append(oids, r.oid)
		}
	}
	sort.Slice(oids, func(i, j int) bool { return oids[i] < oids[j] })
	return oids
}

// PGRelationVisibility returns, by OID, whether each relation of pg_class
// (indexes included) is visible, which pg_table_is_visible answers. As on
// PostgreSQL's search path, which for Eddy is pg_catalog, then the current
// database (see PGRelationOID): pg_catalog's relations are, the current
// database's are unless a pg_catalog relation has their name, and the
// others (information_schema's, other databases') are not.
func (m *Manager) PGRelationVisibility() map[int64]bool {
	_, db := m.Current()
	classes := m.pgClasses()
	system := map[string]bool{}
	for _, r := range classes {
		if r.db == PGCatalog {
			system[r.name] = true
		}
	}
	out := make(map[int64]bool, len(classes))
	for _, r := range classes {
		out[r.oid] = r.db == PGCatalog || r.db == db && !system[r.name]
		if t, ok := r.obj.(*Table); ok && len(t.PrimaryKey) > 0 {
			out[r.pkeyOID()] = r.db == db && !system[r.name+"_pkey"]
		}
	}
	return out
}

// PGRelationOID returns the OID of the relation a regclass literal names
// ('pg_catalog.pg_extension', 'seq'): a qualified name in its schema, an
// unqualified one in pg_catalog, then in the current database, as
// PostgreSQL's search path finds it. A double-quoted part is taken as
// written. ok is false when no relation has that name.
func (m *Manager) PGRelationOID(name string) (oid int64, ok bool) {
	parts := strings.Split(name, ".")
	for i, p := range parts {
		if len(p) >= 2 && p[0] == '"' && p[len(p)-1] == '"' {
			parts[i] = strings.ReplaceAll(p[1:len(p)-1], `""`, `"`)
		}
	}
	_, db := m.Current()
	var schemas []string
	switch len(parts) {
	case 1:
		schemas = []string{PGCatalog, db}
	case 2:
		schemas = parts[:1]
	default:
		return 0, false
	}
	rel := parts[len(parts)-1]
	classes := m.pgClasses()
	for _, s := range schemas {
		for _, r := range classes {
			if r.db == s && r.name == rel {
				return r.oid, true
			}
		}
	}
	return 0, false
}

// pgAttributeRow is the pg_attribute row of column c, number num of
// relation rel; expr is the expression of a computed column, else "".
func pgAttributeRow(rel int64, num int, c types.Column, notNull bool, expr string) []string {
	oid, size, mod := types.PGTypeOf(c.Type)
	gen, coll := "''", "0"
	if expr != "" {
		gen = "'s'"
	}
	if t, ok := types.PGTypeByOID(int64(oid)); ok && t.Collatable {
		coll = "100"
	}
	// PostgreSQL stores variable-length values (typlen -1) 'x' (extended)
	// by default but numeric 'm' (main), fixed-length ones 'p' (plain);
	// Eddy has no per-column compression or statistics target (-1: the
	// default).
	storage := "'p'"
	switch {
	case oid == types.PGNumeric:
		storage = "'m'"
	case size < 0:
		storage = "'x'"
	}
	return []string{itoa(rel), sqlString(c.Name), itoa(int64(oid)), itoa(int64(size)),
		itoa(int64(num)), itoa(int64(mod)), sqlBool(notNull), sqlBool(expr != ""),
		"FALSE", "''", gen, coll, "TRUE", storage, "''", "-1"}
}

// PGIndexColumns returns the key column of each primary key's index by
// index OID and position (from 1), which PostgreSQL's pg_get_indexdef(oid,
// column, pretty) prints.
func (m *Manager) PGIndexColumns() map[[2]int64]string {
	out := map[[2]int64]string{}
	for _, r := range m.pgClasses() {
		if t, ok := r.obj.(*Table); ok {
			for i, k := range t.PrimaryKey {
				out[[2]int64{r.pkeyOID(), int64(i + 1)}] = pgQuoteIdent(k)
			}
		}
	}
	return out
}
