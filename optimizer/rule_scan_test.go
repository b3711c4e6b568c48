package optimizer_test

import (
	"errors"
	"strings"

	"github.com/eddysql/eddy/exec/connector"
)

// filterTestSource is a source, for the optimizer tests, that accepts
// equality filters on its column k and says its column ts is in
// event-time order when its option 'ordered' is true.
type filterTestSource struct{}

func init() { connector.Register(filterTestSource{}) }

func (filterTestSource) Identifier() string { return "filter-pushdown-test" }

func (filterTestSource) Options() []connector.Option {
	return []connector.Option{{Key: "ordered", Type: connector.Bool, Default: "false", Doc: "Rows come in event-time order."}}
}

func (filterTestSource) ValidateSource(connector.TableInfo) (connector.ScanProperties, error) {
	return connector.ScanProperties{Bounded: true}, nil
}

func (filterTestSource) CreateReader(connector.ScanSpec, connector.ReaderContext) (connector.SourceReader, error) {
	return nil, errors.New("filter-pushdown-test only plans")
}

func (filterTestSource) ApplyFilters(t connector.TableInfo, preds []connector.Predicate) connector.FilterPushDownResult {
	res := connector.FilterPushDownResult{Accepted: make([]bool, len(preds))}
	if i := t.Schema.Index("ts"); i >= 0 && strings.EqualFold(t.Options["ordered"], "true") {
		res.EventTimeFields = []connector.FieldPath{{i}}
	}
	for i, p := range preds {
		res.Accepted[i] = t.Schema.Columns[p.Column].Name == "k" && p.Op == connector.OpEqual
	}
	return res
}
