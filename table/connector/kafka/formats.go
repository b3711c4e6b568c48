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
		reg, err := registry(p)
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
		reg, err := registry(p)
		if err != nil {
			return nil, err
		}
		return avro.NewConfluentEncoder(reg, subject(cfg, p, suffix), p.schema)
	}
	if p.format == avro.Debezium {
		reg, err := registry(p)
		if err != nil {
			return nil, err
		}
		return avro.NewDebeziumEncoder(reg, subject(cfg, p, suffix), p.schema, p.opts.String(avro.DebeziumSchema))
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

// changelogDecoder decodes the events of a changelog value format
// (cdcjson.Decoder, avro.DebeziumDecoder) into rows, appending their kinds
// to kinds, and returns how many rows it appended.
type changelogDecoder interface {
	Decode(data []byte, kinds *array.Int8Builder) (int, error)
}

// changelogEncoder encodes rows as the events of a changelog value
// format, each of its kind (cdcjson.Encoder, avro.DebeziumEncoder).
type changelogEncoder interface {
	format.RecordEncoder
	// BindKinds sets the kinds of the rows of the batch bound next; nil
	// makes every row an insert.
	BindKinds(kinds *array.Int8)
}

// registry is the schema registry client of a part in a format that
// registers its schemas (avro-confluent, debezium-avro-confluent), whose
// options differ only in the format's name.
func registry(p *part) (*avro.Registry, error) {
	url := p.format + avro.RegistryURL
	if p.opts.String(url) == "" {
		return nil, fmt.Errorf("option '%s' is required", url)
	}
	return avro.NewRegistry(p.opts.String(url), p.opts.String(p.format+avro.RegistryBasicAuthInfo))
}

// subject is the registry subject a part's writer registers its schema
// under: its format's subject option, by default '<topic>-<suffix>'.
func subject(cfg *config, p *part, suffix string) string {
	if s := p.opts.String(p.format + avro.RegistrySubject); s != "" {
		return s
	}
	return cfg.topics[0] + "-" + suffix
}

// newDebeziumDecoder creates the decoder of a debezium-avro-confluent value
// part into b, whose fields are the part's columns at positions proj (all
// of them when proj is nil).
func newDebeziumDecoder(p *part, proj []int, b *array.RecordBuilder) (changelogDecoder, error) {
	reg, err := registry(p)
	if err != nil {
		return nil, err
	}
	return avro.NewDebeziumDecoder(reg, p.schema, proj, b, p.opts.String(avro.DebeziumSchema))
}
