package catalog

import (
	"maps"
	"sort"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/internal/errs"
)

// Model is a machine learning model, Flink's CatalogModel (FLIP-437): the
// columns it reads and produces and the options its provider ('provider'
// names it) connects with. Models are a namespace of their own beside
// tables and views, as in Flink: a model and a table may share a name.
type Model struct {
	Input, Output []ModelColumn
	Options       map[string]string
	Comment       string
}

// ModelColumn is a column of a model's input or output; a Metadata one
// is filled by the provider itself.
type ModelColumn struct {
	Name     string
	Type     types.DataType
	Metadata bool
	Comment  string
}

// Provider is the value of the model's 'provider' option.
func (m *Model) Provider() string { return m.Options["provider"] }

// clone copies m's options, so an ALTER builds a new model.
func (m *Model) clone() *Model {
	cp := *m
	cp.Options = maps.Clone(m.Options)
	return &cp
}

// ModelCatalog is implemented by catalogs that store models (Flink's
// Catalog model methods). The in-memory catalog does; the Manager keeps
// temporary models itself.
type ModelCatalog interface {
	// ListModels lists the names of db's models, sorted.
	ListModels(db string) ([]string, error)
	// GetModel returns the model at p or an UndefinedObject error.
	GetModel(p Path) (*Model, error)
	CreateModel(p Path, m *Model, ignoreIfExists bool) error
	// AlterModel replaces the model at p.
	AlterModel(p Path, m *Model, ignoreIfNotExists bool) error
	RenameModel(p Path, newName string, ignoreIfNotExists bool) error
	DropModel(p Path, ignoreIfNotExists bool) error
}

var _ ModelCatalog = (*Memory)(nil)

func modelNotExist(p Path) error {
	return errs.New(errs.UndefinedObject, "Model '%s' does not exist in Catalog %s.", p, p.Catalog)
}

func (m *Memory) ListModels(db string) ([]string, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if _, err := m.database(db); err != nil {
		return nil, err
	}
	var names []string
	for p := range m.models {
		if p.Database == db {
			names = append(names, p.Name)
		}
	}
	sort.Strings(names)
	return names, nil
}

func (m *Memory) GetModel(p Path) (*Model, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if _, err := m.database(p.Database); err != nil {
		return nil, err
	}
	md, ok := m.models[p]
	if !ok {
		return nil, modelNotExist(p)
	}
	return md, nil
}

func (m *Memory) CreateModel(p Path, md *Model, ignoreIfExists bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, err := m.database(p.Database); err != nil {
		return err
	}
	if _, ok := m.models[p]; ok {
		if ignoreIfExists {
			return nil
		}
		return errs.New(errs.DuplicateObject, "Model %s already exists in Catalog %s.", p, p.Catalog)
	}
	if m.models == nil {
		m.models = map[Path]*Model{}
	}
	m.models[p] = md.clone()
	return nil
}

func (m *Memory) AlterModel(p Path, md *Model, ignoreIfNotExists bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.models[p]; !ok {
		if ignoreIfNotExists {
			return nil
		}
		return modelNotExist(p)
	}
	m.models[p] = md.clone()
	return nil
}

func (m *Memory) RenameModel(p Path, newName string, ignoreIfNotExists bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	md, ok := m.models[p]
	if !ok {
		if ignoreIfNotExists {
			return nil
		}
		return modelNotExist(p)
	}
	to := Path{p.Catalog, p.Database, newName}
	if _, ok := m.models[to]; ok {
		return errs.New(errs.DuplicateObject, "Model %s already exists in Catalog %s.", to, to.Catalog)
	}
	delete(m.models, p)
	m.models[to] = md
	return nil
}

func (m *Memory) DropModel(p Path, ignoreIfNotExists bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.models[p]; !ok {
		if ignoreIfNotExists {
			return nil
		}
		return modelNotExist(p)
	}
	delete(m.models, p)
	return nil
}

// modelCatalog returns the catalog named cat as a ModelCatalog.
func (m *Manager) modelCatalog(cat string) (ModelCatalog, error) {
	c, err := m.Catalog(cat)
	if err != nil {
		return nil, err
	}
	mc, ok := c.(ModelCatalog)
	if !ok {
		return nil, errs.New(errs.NotSupported, "catalog %s does not store models", quoteIdent(cat))
	}
	return mc, nil
}

// GetModel resolves a model; temporary models shadow permanent ones.
func (m *Manager) GetModel(p Path) (*Model, error) {
	m.mu.RLock()
	md, ok := m.tempModels[p]
	m.mu.RUnlock()
	if ok {
		return md, nil
	}
	mc, err := m.modelCatalog(p.Catalog)
	if err != nil {
		return nil, err
	}
	return mc.GetModel(p)
}

// CreateModel stores md at p, as a temporary model (session-scoped) or in
// p's catalog.
func (m *Manager) CreateModel(p Path, md *Model, temporary, ignoreIfExists bool) error {
	if !temporary {
		mc, err := m.modelCatalog(p.Catalog)
		if err != nil {
			return err
		}
		return mc.CreateModel(p, md, ignoreIfExists)
	}
	c, err := m.Catalog(p.Catalog)
	if err != nil {
		return err
	}
	if !c.DatabaseExists(p.Database) {
		return errs.New(errs.UndefinedDatabase, "database %s does not exist in catalog %s", quoteIdent(p.Database), quoteIdent(p.Catalog))
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.tempModels[p]; ok {
		if ignoreIfExists {
			return nil
		}
		return errs.New(errs.DuplicateObject, "Temporary model '%s' already exists", p)
	}
	if m.tempModels == nil {
		m.tempModels = map[Path]*Model{}
	}
	m.tempModels[p] = md.clone()
	return nil
}

// DropModel removes the model at p: as DROP TABLE, a temporary model if
// one exists at p, else the permanent one; temporaryOnly considers only
// temporary models.
func (m *Manager) DropModel(p Path, temporaryOnly, ignoreIfNotExists bool) error {
	m.mu.Lock()
	if _, ok := m.tempModels[p]; ok {
		delete(m.tempModels, p)
		m.mu.Unlock()
		return nil
	}
	m.mu.Unlock()
	if temporaryOnly {
		if ignoreIfNotExists {
			return nil
		}
		return errs.New(errs.UndefinedObject, "Temporary model with identifier '%s' does not exist", p)
	}
	mc, err := m.modelCatalog(p.Catalog)
	if err != nil {
		return err
	}
	return mc.DropModel(p, ignoreIfNotExists)
}

// IsTemporaryModel reports whether p names a temporary model.
func (m *Manager) IsTemporaryModel(p Path) bool {
	m.mu.RLock()
	defer m.mu.RUnlock()
	_, ok := m.tempModels[p]
	return ok
}

// AlterModel replaces the permanent model at p. Temporary models are not
// altered, as in Flink.
func (m *Manager) AlterModel(p Path, md *Model) error {
	if m.IsTemporaryModel(p) {
		return errs.New(errs.NotSupported, "ALTER MODEL is not supported for temporary model %s", p)
	}
	mc, err := m.modelCatalog(p.Catalog)
	if err != nil {
		return err
	}
	return mc.AlterModel(p, md, false)
}

// RenameModel renames the permanent model at p to to, in the same catalog
// and database.
func (m *Manager) RenameModel(p, to Path) error {
	if m.IsTemporaryModel(p) {
		return errs.New(errs.NotSupported, "ALTER MODEL is not supported for temporary model %s", p)
	}
	if p.Catalog != to.Catalog || p.Database != to.Database {
		return errs.New(errs.NotSupported, "The catalog and database of the new model name must be the same as the old one: %s, %s", p, to)
	}
	mc, err := m.modelCatalog(p.Catalog)
	if err != nil {
		return err
	}
	return mc.RenameModel(p, to.Name, false)
}

// ListModels lists the models of catalog cat, database db, temporary ones
// included, sorted.
func (m *Manager) ListModels(cat, db string) ([]string, error) {
	mc, err := m.modelCatalog(cat)
	if err != nil {
		return nil, err
	}
	names, err := mc.ListModels(db)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, n := range names {
		seen[n] = true
	}
	m.mu.RLock()
	for p := range m.tempModels {
		if p.Catalog == cat && p.Database == db && !seen[p.Name] {
			names = append(names, p.Name)
		}
	}
	m.mu.RUnlock()
	sort.Strings(names)
	return names, nil
}
