package catalog

import (
	"sort"
	"strings"
	"sync"

	"github.com/eddysql/eddy/internal/errs"
)

// Default names, as in Flink.
const (
	DefaultCatalog  = "default_catalog"
	DefaultDatabase = "default_database"
)

// Manager is Flink's CatalogManager: the registered catalogs, the current
// catalog and database that unqualified names resolve against, and the
// temporary objects that shadow permanent ones. It is safe for concurrent use;
// each SQL session holds its own Manager over shared catalogs (see Session).
type Manager struct {
	mu        sync.RWMutex
	catalogs  map[string]Catalog
	current   string
	currentDB string
	temporary map[Path]Object
	// descriptors holds what CREATE CATALOG said of the catalogs it
	// created.
	descriptors map[string]CatalogDescriptor
	// tempModels holds the temporary models (model.go).
	tempModels map[Path]*Model
}

// NewManager returns a manager with the in-memory default catalog.
func NewManager() *Manager {
	m := &Manager{catalogs: map[string]Catalog{}, temporary: map[Path]Object{}}
	m.RegisterCatalog(NewMemory(DefaultCatalog, DefaultDatabase))
	m.current, m.currentDB = DefaultCatalog, DefaultDatabase
	return m
}

// RegisterCatalog adds or replaces a catalog.
func (m *Manager) RegisterCatalog(c Catalog) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.catalogs[c.Name()] = c
}

// Catalogs lists the catalog names, sorted.
func (m *Manager) Catalogs() []string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	names := make([]string, 0, len(m.catalogs))
	for n := range m.catalogs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Current returns the current catalog and database.
func (m *Manager) Current() (catalog, database string) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.current, m.currentDB
}

// Catalog returns a registered catalog.
func (m *Manager) Catalog(name string) (Catalog, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	c, ok := m.catalogs[name]
	if !ok {
		return nil, errs.New(errs.UndefinedDatabase, "catalog %s does not exist", quoteIdent(name))
	}
	return c, nil
}

// UseCatalog makes name the current catalog and its default database the
// current database.
func (m *Manager) UseCatalog(name string) error {
	c, err := m.Catalog(name)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.current, m.currentDB = name, c.DefaultDatabase()
	return nil
}

// UseDatabase makes db (optionally qualified by catalog) current.
func (m *Manager) UseDatabase(parts []string) error {
	cat, _ := m.Current()
	db := parts[len(parts)-1]
	if len(parts) == 2 {
		cat = parts[0]
	} else if len(parts) != 1 {
		return errs.New(errs.UndefinedDatabase, "invalid database name %s", strings.Join(parts, "."))
	}
	c, err := m.Catalog(cat)
	if err != nil {
		return err
	}
	if !c.DatabaseExists(db) {
		return errs.New(errs.UndefinedDatabase, "database %s does not exist in catalog %s", quoteIdent(db), quoteIdent(cat))
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.current, m.currentDB = cat, db
	return nil
}

// Qualify completes a one-, two- or three-part name against the current
// catalog and database.
func (m *Manager) Qualify(parts []string) (Path, error) {
	cat, db := m.Current()
	switch len(parts) {
	case 1:
		// PostgreSQL's search path puts pg_catalog first: its relations
		// resolve unqualified unless the current database has the name.
		if _, ok := pgRelations[Path{Database: PGCatalog, Name: strings.ToLower(parts[0])}]; ok {
			if _, err := m.Get(Path{cat, db, parts[0]}); err != nil {
				return Path{cat, PGCatalog, parts[0]}, nil
			}
		}
		return Path{cat, db, parts[0]}, nil
	case 2:
		return Path{cat, parts[0], parts[1]}, nil
	case 3:
		return Path{parts[0], parts[1], parts[2]}, nil
	}
	return Path{}, errs.New(errs.UndefinedTable, "invalid object name %s", strings.Join(parts, "."))
}

// Get resolves a table or view; temporary objects shadow permanent ones.
func (m *Manager) Get(p Path) (Object, error) {
	m.mu.RLock()
	obj, ok := m.temporary[p]
	m.mu.RUnlock()
	if ok {
		return obj, nil
	}
	if obj, ok, err := m.pgView(p); ok {
		return obj, err
	}
	c, err := m.Catalog(p.Catalog)
	if err != nil {
		return nil, err
	}
	return c.GetObject(p)
}

// Create stores obj at p, as a temporary object (session-scoped, in memory)
// or in p's catalog.
func (m *Manager) Create(p Path, obj Object, temporary, ignoreIfExists bool) error {
	if temporary {
		c, err := m.Catalog(p.Catalog)
		if err != nil {
			return err
		}
		if !c.DatabaseExists(p.Database) {
			return errs.New(errs.UndefinedDatabase, "database %s does not exist in catalog %s", quoteIdent(p.Database), quoteIdent(p.Catalog))
		}
		m.mu.Lock()
		defer m.mu.Unlock()
		if _, ok := m.temporary[p]; ok {
			if ignoreIfExists {
				return nil
			}
			return errs.New(errs.DuplicateTable, "temporary table or view %s already exists", p)
		}
		m.temporary[p] = obj
		return nil
	}
	c, err := m.Catalog(p.Catalog)
	if err != nil {
		return err
	}
	return c.CreateObject(p, obj, ignoreIfExists)
}

// Drop removes the object at p. Like Flink, DROP TABLE removes a temporary
// object if one exists at p, else the permanent one; DROP TEMPORARY only
// considers temporary objects.
func (m *Manager) Drop(p Path, temporaryOnly, ignoreIfNotExists bool) error {
	m.mu.Lock()
	if _, ok := m.temporary[p]; ok {
		delete(m.temporary, p)
		m.mu.Unlock()
		return nil
	}
	m.mu.Unlock()
	if temporaryOnly {
		if ignoreIfNotExists {
			return nil
		}
		return errs.New(errs.UndefinedTable, "temporary table or view %s does not exist", p)
	}
	c, err := m.Catalog(p.Catalog)
	if err != nil {
		return err
	}
	return c.DropObject(p, ignoreIfNotExists)
}

// List returns the names of the objects in the current database that
// satisfy keep, temporary ones included, sorted.
func (m *Manager) List(keep func(Object) bool) ([]string, error) {
	cat, db := m.Current()
	return m.ListIn(cat, db, keep)
}
