package filesystem

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
)

// Partitioning options: partition.default-name names the directories of
// NULL and blank values; the partition-commit options are in
// partition_commit.go.
const (
	PartitionDefaultName = "partition.default-name"
)

// ignoredOptions are Flink filesystem options Eddy accepts and ignores.
var ignoredOptions = []connector.Option{
	{Key: "sink.shuffle-by-partition.enable", Type: connector.Bool, Default: "false", Doc: "Accepted for compatibility and ignored."},
}

// partitioning splits a table's columns into the partition columns, which
// name directories, and the data columns, which the files hold.
type partitioning struct {
	keys        []int // partition columns, in PARTITIONED BY order
	data        []int // the other columns, in table order
	dataSchema  types.Schema
	defaultName string
}

func newPartitioning(t connector.TableInfo, defaultName string) (partitioning, error) {
	p := partitioning{defaultName: defaultName}
	isKey := make([]bool, t.Schema.Len())
	for _, k := range t.PartitionKeys {
		i := t.Schema.Index(k)
		if i < 0 {
			return p, fmt.Errorf("partition column '%s' is not a column of table '%s'", k, t.Name)
		}
		switch t.Schema.Columns[i].Type.Kind {
		case types.Char, types.Varchar, types.TinyInt, types.SmallInt, types.Int, types.BigInt, types.Boolean, types.Date:
		default:
			return p, fmt.Errorf("partition column '%s' has type %s; the filesystem connector partitions by CHAR, VARCHAR, integer, BOOLEAN and DATE columns",
				k, t.Schema.Columns[i].Type)
		}
		isKey[i] = true
		p.keys = append(p.keys, i)
	}
	for i, c := range t.Schema.Columns {
		if !isKey[i] {
			p.data = append(p.data, i)
			p.dataSchema.Columns = append(p.dataSchema.Columns, c)
		}
	}
	if len(p.keys) > 0 && len(p.data) == 0 {
		return p, fmt.Errorf("table '%s' has only partition columns; the files need at least one other", t.Name)
	}
	return p, nil
}

func (p partitioning) partitioned() bool { return len(p.keys) > 0 }

// sameKeys reports whether rows i and j have equal values in keys, the
// partition columns of a batch.
func sameKeys(keys []arrow.Array, i, j int) bool {
	for _, c := range keys {
		if c.IsNull(i) || c.IsNull(j) {
			if c.IsNull(i) != c.IsNull(j) {
				return false
			}
			continue
		}
		if s, ok := c.(*array.String); ok {
			if s.Value(i) != s.Value(j) {
				return false
			}
		} else if c.ValueStr(i) != c.ValueStr(j) {
			return false
		}
	}
	return true
}

// dir is the partition directory of row i of b, relative to the table's
// path: key=value segments, escaped as Flink's PartitionPathUtils does,
// with partition.default-name for NULL and blank values.
func (p partitioning) dir(b arrow.RecordBatch, schema types.Schema, i int) string {
	parts := make([]string, len(p.keys))
	for n, k := range p.keys {
		c := b.Column(k)
		v := p.defaultName
		if !c.IsNull(i) {
			if s := c.ValueStr(i); strings.TrimSpace(s) != "" {
				v = s
			}
		}
		parts[n] = escapePathName(schema.Columns[k].Name) + "=" + escapePathName(v)
	}
	return filepath.Join(parts...)
}

// staticDir is the directory of the partition static gives a value for
// every partition column of (a string of INSERT ... PARTITION, as
// connector.SinkSpec.StaticPartition), named as dir names a row's.
func (p partitioning) staticDir(schema types.Schema, static map[string]string) (string, bool) {
	parts := make([]string, len(p.keys))
	for n, k := range p.keys {
		name := schema.Columns[k].Name
		v, ok := static[name]
		if !ok {
			return "", false
		}
		if strings.TrimSpace(v) == "" {
			v = p.defaultName
		}
		parts[n] = escapePathName(name) + "=" + escapePathName(v)
	}
	return filepath.Join(parts...), len(parts) > 0
}

// values parses the partition values of a file from the key=value
// directories of its path relative to the table's root. A key the path
// lacks, or whose value is the default name, is NULL.
func (p partitioning) values(schema types.Schema, rel string) map[int]*string {
	found := map[string]string{}
	for _, seg := range strings.Split(filepath.ToSlash(filepath.Dir(rel)), "/") {
		k, v, ok := strings.Cut(seg, "=")
		if !ok {
			continue
		}
		found[unescapePathName(k)] = unescapePathName(v)
	}
	out := map[int]*string{}
	for _, k := range p.keys {
		if v, ok := found[schema.Columns[k].Name]; ok && v != p.defaultName {
			out[k] = &v
		}
	}
	return out
}

// escapePathName escapes the characters Hive and Flink escape in partition
// directory names as %XX.
func escapePathName(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < ' ' || c == 0x7f || strings.IndexByte("\"#%'*/:=?\\{[]^", c) >= 0 {
			fmt.Fprintf(&b, "%%%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// unescapePathName undoes escapePathName; a '%' not followed by two hex
// digits stays as it is, as in Hive.
func unescapePathName(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
				b.WriteByte(byte(v))
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
