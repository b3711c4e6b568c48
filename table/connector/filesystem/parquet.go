package filesystem

import (
	"os"

	"github.com/eddysql/eddy/table/connector/format/parquet"
)

// openParquet starts reading the Parquet file f. A restored file seeks to
// the first row not read before the snapshot (the reader starts at its
// row group) instead of decoding the rows before it, as the line formats
// must.
func (r *reader) openParquet(f *os.File, name string) error {
	proj := r.fileProj
	if proj == nil && !r.cfg.parts.partitioned() {
		// No projection pushed down: every column.
		proj = make([]int, len(r.fileSchema.Columns))
		for i := range proj {
			proj[i] = i
		}
	}
	pr, err := parquet.NewReader(r.cfg.parquet, f, name, r.fileSchema, proj, r.batchSize, r.skip[r.file], r.mem)
	if err != nil {
		f.Close()
		return err
	}
	r.f, r.pq, r.rows = f, pr, r.skip[r.file]
	return nil
}
