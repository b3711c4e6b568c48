package table

import (
	"maps"

	"github.com/eddysql/eddy/catalog"
	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/sql"
)

// This file executes the statements on a catalog's partitions, ALTER
// TABLE ... ADD|DROP PARTITION and SHOW PARTITIONS, and ALTER CATALOG.
// Partitions are the catalog's metadata, as in Flink's
// GenericInMemoryCatalog: adding one creates no directory, and SHOW
// PARTITIONS lists the partitions the catalog holds, not the directories
// a filesystem table's files are in (see package catalog's partition.go).

func partitionSpec(s sql.PartitionSpec) catalog.PartitionSpec {
	spec := make(catalog.PartitionSpec, len(s.Values))
	for i, v := range s.Values {
		spec[i] = catalog.PartitionValue{Key: v.Key, Value: v.Value}
	}
	return spec
}

// addPartitions runs ALTER TABLE path ADD [IF NOT EXISTS] PARTITION ...,
// adding the partitions in order as Flink's AddPartitionsOperation: those
// before a failing one stay added.
func (e *Environment) addPartitions(src string, path catalog.Path, a *sql.AlterTableAddPartitions) error {
	c, err := e.catalog.Catalog(path.Catalog)
	if err != nil {
		return positioned(src, a, err)
	}
	for _, p := range a.Partitions {
		part := catalog.Partition{Spec: partitionSpec(p.Spec), Properties: optionMap(p.Options)}
		if err := c.CreatePartition(path, part, a.IfNotExists); err != nil {
			return positioned(src, p.Spec, err)
		}
	}
	return nil
}

// dropPartitions runs ALTER TABLE path DROP [IF EXISTS] PARTITION ....
func (e *Environment) dropPartitions(src string, path catalog.Path, a *sql.AlterTableDropPartitions) error {
	c, err := e.catalog.Catalog(path.Catalog)
	if err != nil {
		return positioned(src, a, err)
	}
	for _, spec := range a.Partitions {
		if err := c.DropPartition(path, partitionSpec(spec), a.IfExists); err != nil {
			return positioned(src, spec, err)
		}
	}
	return nil
}

// showPartitions runs SHOW PARTITIONS t [PARTITION (...)] as Flink's
// ShowPartitionsOperation: one column, "partition name", a row k1=v1/k2=v2
// per partition of the catalog in the order they were added (Flink's
// in-memory catalog keeps them in a LinkedHashMap), each named in the
// order its ADD PARTITION gave the keys.
func (e *Environment) showPartitions(src string, s *sql.Show) (*TableResult, error) {
	path, err := e.catalog.Qualify(s.Name.Parts)
	if err != nil {
		return nil, positioned(src, s.Name, err)
	}
	if e.catalog.IsTemporary(path) {
		// A temporary table is not in the catalog, which has the
		// partitions.
		return nil, positioned(src, s.Name, errs.New(errs.UndefinedTable, "table %s doesn't exist or is a temporary table", path))
	}
	c, err := e.catalog.Catalog(path.Catalog)
	if err != nil {
		return nil, positioned(src, s.Name, err)
	}
	var spec catalog.PartitionSpec
	if s.Partition != nil {
		spec = partitionSpec(*s.Partition)
	}
	parts, err := c.ListPartitions(path, spec)
	if err != nil {
		return nil, positioned(src, s.Name, err)
	}
	rows := make([][]*string, len(parts))
	for i, p := range parts {
		rows[i] = strs(p.Spec.Name())
	}
	return stringRows(e.mem, []string{"partition name"}, rows), nil
}

// alterCatalog runs ALTER CATALOG name SET|RESET|COMMENT as Flink's
// AlterCatalogOptionsOperation, AlterCatalogResetOperation and
// AlterCatalogCommentOperation; DESCRIBE CATALOG and SHOW CREATE CATALOG
// show the result.
func (e *Environment) alterCatalog(src string, s *sql.AlterCatalog) error {
	for _, k := range s.Reset {
		if k.Key == "type" {
			return positionedAt(src, k.Pos, errs.New(errs.InvalidOption, "ALTER CATALOG RESET does not support changing 'type'"))
		}
	}
	err := e.catalog.AlterCatalog(s.Name.Parts[0], func(d catalog.CatalogDescriptor) catalog.CatalogDescriptor {
		switch {
		case s.IsComment:
			d.Comment = s.Comment
		case s.Reset != nil:
			for _, k := range s.Reset {
				delete(d.Options, k.Key)
			}
		default:
			maps.Copy(d.Options, optionMap(s.Options))
		}
		return d
	})
	return positioned(src, s.Name, err)
}
