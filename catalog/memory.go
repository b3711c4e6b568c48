package catalog

import (
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
}

var _ Catalog = (*Memory)(nil)

// NewMemory returns an in-memory catalog holding one empty database.
func NewMemory(name, defaultDatabase string) *Memory {
	return &Memory{
		name:      name,
		defaultDB: defaultDatabase,
		dbs:       map[string]map[string]Object{defaultDatabase: {}},
	}
}

func (m *Memory) Name() string            { return m.name }
func (m *Memory) DefaultDatabase() string { return m.defaultDB }

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

func (m *Memory) CreateDatabase(db string, ignoreIfExists bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.dbs[db]; ok {
		if ignoreIfExists {
			return nil
		}
		return errs.New(errs.DuplicateTable, "database %s already exists in catalog %s", quoteIdent(db), quoteIdent(m.name))
	}
	m.dbs[db] = map[string]Object{}
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
	objs, err := m.database(p.Database)
	if err != nil {
		return nil, err
	}
	obj, ok := objs[p.Name]
	if !ok {
		return nil, errs.New(errs.UndefinedTable, "table or view %s does not exist", p)
	}
	return obj, nil
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

func (m *Memory) DropObject(p Path, ignoreIfNotExists bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	objs, err := m.database(p.Database)
	if err != nil {
		if ignoreIfNotExists {
			return nil
		}
		return err
	}
	if _, ok := objs[p.Name]; !ok {
		if ignoreIfNotExists {
			return nil
		}
		return errs.New(errs.UndefinedTable, "table or view %s does not exist", p)
	}
	delete(objs, p.Name)
	return nil
}

// quoteIdent quotes a name with backquotes the way Flink prints paths.
func quoteIdent(s string) string {
	return "`" + strings.ReplaceAll(s, "`", "``") + "`"
}
