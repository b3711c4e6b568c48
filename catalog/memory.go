package catalog

import (
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/eddysql/eddy/internal/errs"
)

// Memory is an in-memory Catalog, safe for concurrent use.
type Memory struct {
	name      string
	defaultDB string
	mu        sync.RWMutex
	dbs       map[string]map[string]Object
	// descs describes the databases of dbs.
	descs map[string]*Database
	// parts holds the partitions of partitioned tables by
	// partitionKey, in the order they were added (partition.go).
	parts map[Path][]Partition
	// models holds the models (model.go), a namespace apart from the
	// tables and views as in Flink.
	models map[Path]*Model
}

var _ Catalog = (*Memory)(nil)

// NewMemory returns an in-memory catalog holding one empty database.
func NewMemory(name, defaultDatabase string) *Memory {
	return &Memory{
		name:      name,
		defaultDB: defaultDatabase,
		dbs:       map[string]map[string]Object{defaultDatabase: {}},
		descs:     map[string]*Database{defaultDatabase: {}},
	}
}

func (m *Memory) Name() string { return m.name }

func (m *Memory) DefaultDatabase() string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.defaultDB
}

// setDefaultDatabase makes db the default database (ALTER CATALOG SET
// 'default-database'), creating it empty if it does not exist.
func (m *Memory) setDefaultDatabase(db string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.dbs[db]; !ok {
		m.dbs[db] = map[string]Object{}
		m.descs[db] = &Database{}
	}
	m.defaultDB = db
}

func (m *Memory) ListDatabases() []string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	names := make([]string, 0, len(m.dbs))
	for db := range m.dbs {
		names = append(names, db)
	}
	sort.Strings(names)
	return names
}

func (m *Memory) DatabaseExists(db string) bool {
	m.mu.RLock()
	defer m.mu.RUnlock()
	_, ok := m.dbs[db]
	return ok
}

func (m *Memory) GetDatabase(db string) (*Database, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if _, err := m.database(db); err != nil {
		return nil, err
	}
	return m.descs[db].clone(), nil
}

func (m *Memory) CreateDatabase(name string, db *Database, ignoreIfExists bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.dbs[name]; ok {
		if ignoreIfExists {
			return nil
		}
		return errs.New(errs.DuplicateDatabase, "database %s already exists in catalog %s", quoteIdent(name), quoteIdent(m.name))
	}
	m.dbs[name] = map[string]Object{}
	m.descs[name] = db.clone()
	return nil
}

func (m *Memory) AlterDatabase(name string, db *Database, ignoreIfNotExists bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, err := m.database(name); err != nil {
		if ignoreIfNotExists {
			return nil
		}
		return err
	}
	m.descs[name] = db.clone()
	return nil
}

func (m *Memory) DropDatabase(name string, ignoreIfNotExists, cascade bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	objs, err := m.database(name)
	if err != nil {
		if ignoreIfNotExists {
			return nil
		}
		return err
	}
	if len(objs) > 0 && !cascade {
		return errs.New(errs.DependentObjects, "database %s in catalog %s is not empty; DROP DATABASE ... CASCADE drops it with its tables and views",
			quoteIdent(name), quoteIdent(m.name))
	}
	delete(m.dbs, name)
	delete(m.descs, name)
	for k := range m.parts {
		if k.Database == name {
			delete(m.parts, k)
		}
	}
	for k := range m.models {
		if k.Database == name {
			delete(m.models, k)
		}
	}
	return nil
}

func (m *Memory) database(db string) (map[string]Object, error) {
	objs, ok := m.dbs[db]
	if !ok {
		return nil, errs.New(errs.UndefinedDatabase, "database %s does not exist in catalog %s", quoteIdent(db), quoteIdent(m.name))
	}
	return objs, nil
}

func (m *Memory) ListObjects(db string) ([]string, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	objs, err := m.database(db)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(objs))
	for n := range objs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names, nil
}

func (m *Memory) GetObject(p Path) (Object, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	_, obj, err := m.object(p)
	return obj, err
}

// object returns the objects of p's database and the object p names, or
// an error naming what does not exist. The caller holds m.mu.
func (m *Memory) object(p Path) (map[string]Object, Object, error) {
	objs, err := m.database(p.Database)
	if err != nil {
		return nil, nil, err
	}
	obj, ok := objs[p.Name]
	if !ok {
		return nil, nil, errs.New(errs.UndefinedTable, "table or view %s does not exist", p)
	}
	return objs, obj, nil
}

// existing is object for the statements with IF EXISTS: with
// ignoreIfNotExists a missing object is no error but a nil map.
func (m *Memory) existing(p Path, ignoreIfNotExists bool) (map[string]Object, Object, error) {
	objs, obj, err := m.object(p)
	if err != nil && ignoreIfNotExists {
		return nil, nil, nil
	}
	return objs, obj, err
}

func (m *Memory) CreateObject(p Path, obj Object, ignoreIfExists bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	objs, err := m.database(p.Database)
	if err != nil {
		return err
	}
	if _, ok := objs[p.Name]; ok {
		if ignoreIfExists {
			return nil
		}
		return errs.New(errs.DuplicateTable, "table or view %s already exists", p)
	}
	objs[p.Name] = obj
	return nil
}

func (m *Memory) AlterObject(p Path, obj Object, ignoreIfNotExists bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	objs, old, err := m.existing(p, ignoreIfNotExists)
	if err != nil || objs == nil {
		return err
	}
	if err := sameKind(p, old, obj); err != nil {
		return err
	}
	objs[p.Name] = obj
	// Partitions name values of the partition columns: a table
	// partitioned otherwise now has none of them.
	o, _ := old.(*Table)
	n, _ := obj.(*Table)
	if o != nil && n != nil && !slices.Equal(o.PartitionKeys, n.PartitionKeys) {
		delete(m.parts, partitionKey(p))
	}
	return nil
}

func (m *Memory) RenameObject(p Path, newName string, ignoreIfNotExists bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	objs, obj, err := m.existing(p, ignoreIfNotExists)
	if err != nil || objs == nil {
		return err
	}
	to := Path{p.Catalog, p.Database, newName}
	if _, ok := objs[newName]; ok {
		return errs.New(errs.DuplicateTable, "table or view %s already exists", to)
	}
	delete(objs, p.Name)
	objs[newName] = obj
	if parts, ok := m.parts[partitionKey(p)]; ok {
		delete(m.parts, partitionKey(p))
		m.parts[partitionKey(to)] = parts
	}
	return nil
}

// sameKind checks that an ALTER replaces a table by a table and a view by
// a view.
func sameKind(p Path, old, obj Object) error {
	_, oldView := old.(*View)
	_, newView := obj.(*View)
	if oldView != newView {
		what := "a table"
		if oldView {
			what = "a view"
		}
		return errs.New(errs.WrongObjectType, "%s is %s", p, what)
	}
	return nil
}

func (d *Database) clone() *Database {
	c := &Database{}
	if d != nil {
		c.Comment = d.Comment
		c.Properties = make(map[string]string, len(d.Properties))
		for k, v := range d.Properties {
			c.Properties[k] = v
		}
	}
	return c
}

func (m *Memory) DropObject(p Path, ignoreIfNotExists bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	objs, _, err := m.existing(p, ignoreIfNotExists)
	if err != nil || objs == nil {
		return err
	}
	delete(objs, p.Name)
	delete(m.parts, partitionKey(p))
	return nil
}

// quoteIdent quotes a name with backquotes the way Flink prints paths.
func quoteIdent(s string) string {
	return "`" + strings.ReplaceAll(s, "`", "``") + "`"
}
