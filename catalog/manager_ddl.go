package catalog

import (
	"maps"
	"sort"
	"strings"

	"github.com/eddysql/eddy/internal/errs"
)

// This file holds the Manager's side of ALTER TABLE|VIEW, RENAME and of
// CREATE|ALTER|DROP CATALOG.

// CatalogTypeInMemory is the 'type' of CREATE CATALOG that Eddy creates:
// Flink's GenericInMemoryCatalog.
const CatalogTypeInMemory = "generic_in_memory"

// inMemoryDefaultDatabase is the default database of a generic_in_memory
// catalog without a 'default-database' option, as in Flink.
const inMemoryDefaultDatabase = "default"

// CatalogDescriptor is what CREATE CATALOG said: Flink's CatalogDescriptor,
// the catalog's options and comment, for SHOW CREATE CATALOG.
type CatalogDescriptor struct {
	Options map[string]string
	Comment string
}

// NewCatalog creates the catalog that CREATE CATALOG name WITH (options)
// describes. Only Flink's generic_in_memory type exists in Eddy.
func NewCatalog(name string, options map[string]string) (Catalog, error) {
	typ, ok := options["type"]
	if !ok {
		return nil, errs.New(errs.InvalidOption, "catalog %s needs a 'type' option; available types: %s", quoteIdent(name), CatalogTypeInMemory)
	}
	if typ != CatalogTypeInMemory {
		return nil, errs.New(errs.InvalidOption, "unknown catalog type '%s'; available types: %s", typ, CatalogTypeInMemory)
	}
	db := inMemoryDefaultDatabase
	for k, v := range options {
		switch k {
		case "type":
		case "default-database":
			if strings.TrimSpace(v) == "" {
				return nil, errs.New(errs.InvalidOption, "option 'default-database' of catalog %s must not be empty", quoteIdent(name))
			}
			db = v
		default:
			return nil, errs.New(errs.InvalidOption, "unsupported option '%s' for catalog type '%s'; supported options: default-database, type", k, typ)
		}
	}
	return NewMemory(name, db), nil
}

// CreateCatalog registers c, created by CREATE CATALOG as desc says.
func (m *Manager) CreateCatalog(c Catalog, desc CatalogDescriptor, ignoreIfExists bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.catalogs[c.Name()]; ok {
		if ignoreIfExists {
			return nil
		}
		return errs.New(errs.DuplicateObject, "catalog %s already exists", quoteIdent(c.Name()))
	}
	m.catalogs[c.Name()] = c
	if m.descriptors == nil {
		m.descriptors = map[string]CatalogDescriptor{}
	}
	m.descriptors[c.Name()] = desc
	return nil
}

// CatalogDescriptor returns what CREATE CATALOG said of catalog name; ok
// is false for catalogs registered otherwise (the default catalog).
func (m *Manager) CatalogDescriptor(name string) (CatalogDescriptor, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	d, ok := m.descriptors[name]
	return d, ok
}

// AlterCatalog applies ALTER CATALOG name SET|RESET|COMMENT, which
// change computes from the catalog's descriptor, as Flink's
// CatalogManager.alterCatalog: only catalogs created by CREATE CATALOG
// have one. The new options are validated as CREATE CATALOG's. Flink
// builds a new catalog from them, which for an in-memory catalog drops
// its contents; Eddy keeps them and applies the one option the catalog
// has, 'default-database' (created if missing, as a new catalog's).
func (m *Manager) AlterCatalog(name string, change func(CatalogDescriptor) CatalogDescriptor) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.catalogs[name]
	if !ok {
		return errs.New(errs.UndefinedDatabase, "catalog %s does not exist", quoteIdent(name))
	}
	old, ok := m.descriptors[name]
	if !ok {
		return errs.New(errs.NotSupported, "catalog %s was not created by CREATE CATALOG; ALTER CATALOG alters only those", quoteIdent(name))
	}
	desc := change(CatalogDescriptor{Options: maps.Clone(old.Options), Comment: old.Comment})
	validated, err := NewCatalog(name, desc.Options)
	if err != nil {
		return err
	}
	if mem, ok := c.(*Memory); ok {
		mem.setDefaultDatabase(validated.DefaultDatabase())
	}
	m.descriptors[name] = desc
	return nil
}

// DropCatalog unregisters catalog name and the temporary objects in it.
// The current catalog cannot be dropped, as in Flink.
func (m *Manager) DropCatalog(name string, ignoreIfNotExists bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.catalogs[name]; !ok {
		if ignoreIfNotExists {
			return nil
		}
		return errs.New(errs.UndefinedDatabase, "catalog %s does not exist", quoteIdent(name))
	}
	if name == m.current {
		return errs.New(errs.InvalidOption, "cannot drop catalog %s, which is the current catalog", quoteIdent(name))
	}
	delete(m.catalogs, name)
	delete(m.descriptors, name)
	for p := range m.temporary {
		if p.Catalog == name {
			delete(m.temporary, p)
		}
	}
	return nil
}

// IsTemporary reports whether p names a temporary object.
func (m *Manager) IsTemporary(p Path) bool {
	m.mu.RLock()
	defer m.mu.RUnlock()
	_, ok := m.temporary[p]
	return ok
}

// Alter replaces the catalog object at p with obj of the same kind.
// Temporary objects are not altered: Flink's ALTER TABLE and ALTER VIEW
// refuse them, and so do the statements that call Alter.
func (m *Manager) Alter(p Path, obj Object) error {
	c, err := m.Catalog(p.Catalog)
	if err != nil {
		return err
	}
	return c.AlterObject(p, obj, false)
}

// Rename renames the catalog object at p to to, which must be in the same
// catalog and database.
func (m *Manager) Rename(p, to Path) error {
	if p.Catalog != to.Catalog || p.Database != to.Database {
		return errs.New(errs.NotSupported, "cannot rename %s to %s: an object can only be renamed within its database", p, to)
	}
	c, err := m.Catalog(p.Catalog)
	if err != nil {
		return err
	}
	return c.RenameObject(p, to.Name, false)
}

// ListIn returns the names of the objects in catalog cat, database db that
// satisfy keep, temporary ones included, sorted.
func (m *Manager) ListIn(cat, db string, keep func(Object) bool) ([]string, error) {
	c, err := m.Catalog(cat)
	if err != nil {
		return nil, err
	}
	names, err := c.ListObjects(db)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []string
	for _, n := range names {
		obj, err := c.GetObject(Path{cat, db, n})
		if err == nil && keep(obj) {
			out = append(out, n)
			seen[n] = true
		}
	}
	m.mu.RLock()
	for p, obj := range m.temporary {
		if p.Catalog == cat && p.Database == db && !seen[p.Name] && keep(obj) {
			out = append(out, p.Name)
		}
	}
	m.mu.RUnlock()
	sort.Strings(out)
	return out, nil
}
