package values

import "github.com/eddysql/eddy/exec/connector"

var _ connector.SupportsTruncate = Factory{}

// Truncate forgets the rows the table's sink received, as Flink's values
// sink does for TRUNCATE TABLE; the rows its source emits are the
// registered data set's and stay.
func (Factory) Truncate(t connector.TableInfo) error {
	d, err := Lookup(t.Options["data-id"])
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.sink = nil
	return nil
}
