package catalog

import (
	"slices"
	"strings"

	"github.com/eddysql/eddy/internal/errs"
)

// This file holds the partitions a catalog keeps of its partitioned
// tables, as Flink's GenericInMemoryCatalog keeps them: metadata only.
// ALTER TABLE ... ADD PARTITION records a partition in the catalog and
// creates no directory; SHOW PARTITIONS lists the partitions the catalog
// holds, not those a connector's files have (the filesystem sink's
// key=value directories are not registered here, as with Flink's
// in-memory catalog). A table's partitions go with it when it is dropped
// (or its database dropped with CASCADE) and move with it when it is
// renamed; nothing copies them (CREATE TABLE ... LIKE does not).

// PartitionValue is one partition column's value in a PartitionSpec.
type PartitionValue struct {
	Key, Value string
}

// PartitionSpec names a partition: values of the table's partition
// columns, as strings, in the order the statement gave them (Flink's
// CatalogPartitionSpec over a LinkedHashMap). Two specs name the same
// partition when they hold the same keys and values, in any order.
type PartitionSpec []PartitionValue

// Get returns the value of key.
func (s PartitionSpec) Get(key string) (string, bool) {
	for _, v := range s {
		if v.Key == key {
			return v.Value, true
		}
	}
	return "", false
}

// Equal reports whether s and o name the same partition.
func (s PartitionSpec) Equal(o PartitionSpec) bool {
	return len(s) == len(o) && s.Contains(o)
}

// Contains reports whether s has every key and value of o (Flink's
// listPartitions(table, spec) filter).
func (s PartitionSpec) Contains(o PartitionSpec) bool {
	for _, v := range o {
		if w, ok := s.Get(v.Key); !ok || w != v.Value {
			return false
		}
	}
	return true
}

// Name is the partition's name as SHOW PARTITIONS prints it:
// k1=v1/k2=v2, in the spec's order.
func (s PartitionSpec) Name() string {
	parts := make([]string, len(s))
	for i, v := range s {
		parts[i] = v.Key + "=" + v.Value
	}
	return strings.Join(parts, "/")
}

// String is Flink's CatalogPartitionSpec.toString, which its catalog
// errors print: CatalogPartitionSpec{{k1=v1, k2=v2}}.
func (s PartitionSpec) String() string {
	parts := make([]string, len(s))
	for i, v := range s {
		parts[i] = v.Key + "=" + v.Value
	}
	return "CatalogPartitionSpec{{" + strings.Join(parts, ", ") + "}}"
}

// Partition is a partition of a partitioned table: its spec and the
// properties ADD PARTITION ... WITH (...) gave it (Flink's
// CatalogPartition).
type Partition struct {
	Spec       PartitionSpec
	Properties map[string]string
}

func (p Partition) clone() Partition {
	c := Partition{Spec: slices.Clone(p.Spec), Properties: make(map[string]string, len(p.Properties))}
	for k, v := range p.Properties {
		c.Properties[k] = v
	}
	return c
}

// partitionKey is the key of a table's partitions in Memory.parts: its
// database and name (the catalog is the Memory's own).
func partitionKey(p Path) Path { return Path{Database: p.Database, Name: p.Name} }

// fullName is Flink's ObjectPath.getFullName, db.table, which its
// partition errors print.
func fullName(p Path) string { return p.Database + "." + p.Name }

// partitionedTable returns the partitioned table at p, or Flink's
// TableNotPartitionedException for a view or a table without PARTITIONED
// BY. The caller holds m.mu.
func (m *Memory) partitionedTable(p Path) (*Table, error) {
	_, obj, err := m.object(p)
	if err != nil {
		return nil, err
	}
	t, ok := obj.(*Table)
	if !ok || len(t.PartitionKeys) == 0 {
		return nil, errs.New(errs.WrongObjectType, "Table %s in catalog %s is not partitioned.", fullName(p), m.name)
	}
	return t, nil
}

// checkFullSpec checks that spec gives a value to every partition column
// of t and to nothing else (Flink's PartitionSpecInvalidException).
func (m *Memory) checkFullSpec(p Path, t *Table, spec PartitionSpec) error {
	unknown := false
	for _, v := range spec {
		if !slices.Contains(t.PartitionKeys, v.Key) {
			unknown = true
		}
	}
	full := len(spec) == len(t.PartitionKeys)
	for _, k := range t.PartitionKeys {
		if _, ok := spec.Get(k); !ok {
			full = false
		}
	}
	if full && !unknown {
		return nil
	}
	code := errs.InvalidOption
	if unknown {
		code = errs.UndefinedColumn
	}
	return errs.New(code, "PartitionSpec %s does not match partition keys [%s] of table %s in catalog %s.",
		spec, strings.Join(t.PartitionKeys, ", "), fullName(p), m.name)
}

// CreatePartition implements Catalog.
func (m *Memory) CreatePartition(p Path, part Partition, ignoreIfExists bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, err := m.partitionedTable(p)
	if err != nil {
		return err
	}
	if err := m.checkFullSpec(p, t, part.Spec); err != nil {
		return err
	}
	key := partitionKey(p)
	if i := m.findPartition(key, part.Spec); i >= 0 {
		if ignoreIfExists {
			return nil
		}
		return errs.New(errs.DuplicateObject, "Partition %s of table %s in catalog %s already exists.", part.Spec, fullName(p), m.name)
	}
	if m.parts == nil {
		m.parts = map[Path][]Partition{}
	}
	m.parts[key] = append(m.parts[key], part.clone())
	return nil
}

// DropPartition implements Catalog.
func (m *Memory) DropPartition(p Path, spec PartitionSpec, ignoreIfNotExists bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, err := m.partitionedTable(p)
	if err != nil {
		return err
	}
	if err := m.checkFullSpec(p, t, spec); err != nil {
		return err
	}
	key := partitionKey(p)
	i := m.findPartition(key, spec)
	if i < 0 {
		if ignoreIfNotExists {
			return nil
		}
		return errs.New(errs.UndefinedObject, "Partition %s of table %s in catalog %s does not exist.", spec, fullName(p), m.name)
	}
	m.parts[key] = slices.Delete(m.parts[key], i, i+1)
	return nil
}

// ListPartitions implements Catalog.
func (m *Memory) ListPartitions(p Path, spec PartitionSpec) ([]Partition, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	t, err := m.partitionedTable(p)
	if err != nil {
		return nil, err
	}
	var out []Partition
	for _, v := range spec {
		if !slices.Contains(t.PartitionKeys, v.Key) {
			// As Flink's GenericInMemoryCatalog: a spec of other
			// columns matches no partition.
			return nil, nil
		}
	}
	for _, part := range m.parts[partitionKey(p)] {
		if part.Spec.Contains(spec) {
			out = append(out, part.clone())
		}
	}
	return out, nil
}

// findPartition is the index of the partition spec names among the
// table's, -1 if none. The caller holds m.mu.
func (m *Memory) findPartition(key Path, spec PartitionSpec) int {
	return slices.IndexFunc(m.parts[key], func(part Partition) bool { return part.Spec.Equal(spec) })
}
