package kafka

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/eddysql/eddy/table/connector/format"
	"github.com/eddysql/eddy/table/connector/format/avro"
	"github.com/eddysql/eddy/table/connector/format/cdcjson"
	"github.com/eddysql/eddy/table/connector/format/csv"
	"github.com/eddysql/eddy/table/connector/format/json"
	"github.com/eddysql/eddy/table/connector/format/raw"
)

// newDecoder creates the decoder of one part into b, whose fields are the
// part's columns at positions proj (all of them when proj is nil): a query
// that reads some columns only builds those. JSON matches fields by name,
// so its decoder just gets the projected columns; CSV and Avro records are
// positional, so their decoders get the whole schema and the projection.
func newDecoder(p *part, proj []int, b *array.RecordBuilder) (format.RecordDecoder, error) {
	switch p.format {
	case "json":
		c, err := json.ParseConfig(p.opts)
		if err != nil {
			return nil, err
		}
		return json.NewRecordDecoder(c, p.projected(proj), b)
	case "csv":
		c, err := csv.ParseConfig(p.opts)
		if err != nil {
			return nil, err
		}
		return csv.NewRecordDecoder(c, p.schema, proj, b)
	case "raw":
		// A raw part is one column: projected or not, it is built.
		return raw.NewDecoder(raw.ParseConfig(p.opts), p.schema, b)
	case "avro":
		return avro.NewDecoder(p.schema, proj, nil, b)
	case "avro-confluent":
		reg, err := avro.NewRegistry(p.opts.String(avro.URL), p.opts.String(avro.BasicAuthInfo))
		if err != nil {
			return nil, err
		}
		return avro.NewConfluentDecoder(reg, p.schema, proj, b)
	}
	return nil, fmt.Errorf("kafka: unknown format '%s'", p.format)
}

// newEncoder creates the encoder of one part; suffix is "key" or "value",
// naming the default schema registry subject '<topic>-<suffix>'.
func newEncoder(cfg *config, p *part, suffix string) (format.RecordEncoder, error) {
	switch p.format {
	case "json":
		c, err := json.ParseConfig(p.opts)
		if err != nil {
			return nil, err
		}
		return json.NewEncoder(c, p.schema), nil
	case "csv":
		c, err := csv.ParseConfig(p.opts)
		if err != nil {
			return nil, err
		}
		return csv.NewEncoder(c, p.schema), nil
	case "raw":
		return raw.NewEncoder(raw.ParseConfig(p.opts)), nil
	case "avro":
		return avro.NewEncoder(p.schema, nil)
	case "avro-confluent":
		reg, err := avro.NewRegistry(p.opts.String(avro.URL), p.opts.String(avro.BasicAuthInfo))
		if err != nil {
			return nil, err
		}
		subject := p.opts.String(avro.Subject)
		if subject == "" {
			subject = cfg.topics[0] + "-" + suffix
		}
		return avro.NewConfluentEncoder(reg, subject, p.schema)
	}
	if f := cdcjson.Lookup(p.format); f != nil {
		c, err := f.ParseConfig(p.opts)
		if err == nil {
			err = f.CheckEncoding(c)
		}
		if err != nil {
			return nil, err
		}
		return f.NewEncoder(c, p.schema), nil
	}
	return nil, fmt.Errorf("kafka: unknown format '%s'", p.format)
}
