package filesystem

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/scalar"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/table/connector/format"
)

// metadataKeys are the metadata of the files a source reads, Flink's keys
// and types (FileSystemTableSource.ReadableFileInfo). They are read only:
// the sink writes no metadata, so a column of them must be VIRTUAL.
var metadataKeys = map[string]string{
	"file.path":              "STRING NOT NULL: the full path of the file the row was read from",
	"file.name":              "STRING NOT NULL: the name of that file, the last element of its path",
	"file.size":              "BIGINT NOT NULL: the size of that file in bytes",
	"file.modification-time": "TIMESTAMP_LTZ(3) NOT NULL: the modification time of that file",
}

// ReadableMetadata lists the metadata keys (connector.SupportsReadingMetadata).
func (Factory) ReadableMetadata() map[string]string { return metadataKeys }

var _ connector.SupportsReadingMetadata = Factory{}

// checkMetadata checks the declared type of each metadata column.
func checkMetadata(cols []connector.MetadataColumn) error {
	for _, m := range cols {
		t := m.Type
		var ok bool
		switch m.Key {
		case "file.path", "file.name":
			ok = t.IsString()
		case "file.size":
			ok = t.Kind == types.BigInt
		case "file.modification-time":
			ok = t.IsTimestamp()
		default:
			return fmt.Errorf("unknown metadata key '%s' of column '%s'", m.Key, m.Name)
		}
		if !ok {
			return fmt.Errorf("metadata column '%s' cannot have type %s; '%s' is %s", m.Name, t, m.Key, strings.SplitN(metadataKeys[m.Key], ":", 2)[0])
		}
	}
	return nil
}

// fileMetadata makes the values of cols for the file f opened as name:
// one scalar per column, which every batch of the file repeats.
func fileMetadata(cols []connector.MetadataColumn, f *os.File, name string) ([]scalar.Scalar, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("filesystem: %w", err)
	}
	out := make([]scalar.Scalar, len(cols))
	for i, m := range cols {
		dt := m.Type.Arrow()
		switch m.Key {
		case "file.path", "file.name":
			// Flink gives the file's full path, without a scheme.
			v, err := filepath.Abs(name)
			if err != nil {
				return nil, fmt.Errorf("filesystem: %w", err)
			}
			if m.Key == "file.name" {
				v = filepath.Base(v)
			}
			if out[i], err = scalar.ParseScalar(dt, v); err != nil {
				return nil, fmt.Errorf("filesystem: metadata column '%s': %w", m.Name, err)
			}
		case "file.size":
			out[i] = scalar.NewInt64Scalar(st.Size())
		case "file.modification-time":
			ts, ok := dt.(*arrow.TimestampType)
			if !ok {
				return nil, fmt.Errorf("filesystem: metadata column '%s' of type %s is not a timestamp", m.Name, m.Type)
			}
			// Milliseconds, as Flink's TIMESTAMP_LTZ(3), in the column's unit.
			ms := st.ModTime().UnixMilli()
			out[i] = scalar.NewTimestampScalar(arrow.Timestamp(ms*1e6/format.UnitNanos(ts.Unit)), ts)
		}
	}
	return out, nil
}
