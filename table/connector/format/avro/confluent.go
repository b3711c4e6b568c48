package avro

import (
	"context"
	"encoding/binary"
	"fmt"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/twmb/avro"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/table/connector/format"
)

// Confluent is the name of the 'avro-confluent' format.
const Confluent = "avro-confluent"

// Option keys of avro-confluent.
const (
	URL           = Confluent + RegistryURL
	Subject       = Confluent + RegistrySubject
	BasicAuthInfo = Confluent + RegistryBasicAuthInfo
)

// The suffixes, after a format's name, of the schema registry options of
// the formats that register their schemas (avro-confluent,
// debezium-avro-confluent), as Flink names them.
const (
	RegistryURL           = ".url"
	RegistrySubject       = ".subject"
	RegistryBasicAuthInfo = ".basic-auth.user-info"
)

// registryOptions declares the schema registry options of format;
// subjectDoc says what its subject names.
func registryOptions(format, subjectDoc string) []connector.Option {
	return []connector.Option{
		{Key: format + RegistryURL, Type: connector.String,
			Doc: "URL of the Confluent Schema Registry (required by " + format + ")."},
		{Key: format + RegistrySubject, Type: connector.String, Doc: subjectDoc},
		{Key: format + RegistryBasicAuthInfo, Type: connector.String,
			Doc: "'user:password' for HTTP basic authentication to the registry."},
	}
}

// ConfluentOptions are avro-confluent's option declarations. A connector
// with both a key and a value format declares them with "key." and
// "value." prefixes too.
var ConfluentOptions = registryOptions(Confluent,
	"Subject to register the schema under when writing; by default '<topic>-value' or '<topic>-key'.")

// registryTimeout bounds each call to the schema registry.
const registryTimeout = 30 * time.Second

// Registry is a schema registry client for one table.
type Registry struct {
	cl *sr.Client
}

// NewRegistry connects (lazily) to the registry at url.
func NewRegistry(url, userInfo string) (*Registry, error) {
	opts := []sr.ClientOpt{sr.URLs(url)}
	if userInfo != "" {
		user, pass, ok := strings.Cut(userInfo, ":")
		if !ok {
			return nil, fmt.Errorf("option '%s' must be 'user:password'", BasicAuthInfo)
		}
		opts = append(opts, sr.BasicAuth(user, pass))
	}
	cl, err := sr.NewClient(opts...)
	if err != nil {
		return nil, err
	}
	return &Registry{cl: cl}, nil
}

// ConfluentDecoder decodes Confluent-framed Avro records, fetching each
// writer schema from the registry by id once.
type ConfluentDecoder struct {
	reg    *Registry
	schema types.Schema
	proj   []int
	b      *array.RecordBuilder
	byID   map[uint32]*Decoder
	cur    *Decoder
}

var _ format.RecordDecoder = (*ConfluentDecoder)(nil)

// NewConfluentDecoder decodes into b, whose fields are the columns of s
// listed in proj (all of them when proj is nil).
func NewConfluentDecoder(reg *Registry, s types.Schema, proj []int, b *array.RecordBuilder) (*ConfluentDecoder, error) {
	if err := CheckSchema(s); err != nil {
		return nil, err
	}
	d := &ConfluentDecoder{reg: reg, schema: s, proj: proj, b: b, byID: map[uint32]*Decoder{}}
	// The NULL row of a tombstone needs a decoder before any schema is known.
	var err error
	d.cur, err = NewDecoder(s, proj, nil, b)
	return d, err
}

// Stage decodes one framed record.
func (d *ConfluentDecoder) Stage(data []byte) error {
	id, payload, err := unframe(data)
	if err != nil {
		return err
	}
	dec, ok := d.byID[id]
	if !ok {
		w, err := d.reg.schemaByID(id)
		if err != nil {
			return err
		}
		if dec, err = NewDecoder(d.schema, d.proj, w, d.b); err != nil {
			return err
		}
		d.byID[id] = dec
	}
	d.cur = dec
	return dec.Stage(payload)
}

// unframe splits a Confluent-framed record into its schema id and Avro
// payload.
func unframe(data []byte) (uint32, []byte, error) {
	if len(data) < 5 || data[0] != 0 {
		return 0, nil, fmt.Errorf("not a Confluent Avro record: expected magic byte 0 and a schema id")
	}
	return binary.BigEndian.Uint32(data[1:5]), data[5:], nil
}

// schemaByID fetches and parses the writer schema registered as id.
func (r *Registry) schemaByID(id uint32) (*avro.Schema, error) {
	ctx, cancel := context.WithTimeout(context.Background(), registryTimeout)
	defer cancel()
	s, err := r.cl.SchemaByID(ctx, int(id))
	if err != nil {
		return nil, fmt.Errorf("schema id %d: %w", id, err)
	}
	w, err := avro.Parse(s.Schema)
	if err != nil {
		return nil, fmt.Errorf("schema id %d: %w", id, err)
	}
	return w, nil
}

// StageNull stages NULL for every column.
func (d *ConfluentDecoder) StageNull() { d.cur.StageNull() }

// Commit appends the staged row.
func (d *ConfluentDecoder) Commit() { d.cur.Commit() }

// NewConfluentEncoder registers the schema derived from s under subject and
// returns an encoder framing records with its id.
func NewConfluentEncoder(reg *Registry, subject string, s types.Schema) (*Encoder, error) {
	text, err := SchemaFor(s)
	if err != nil {
		return nil, err
	}
	prefix, err := reg.register(subject, text)
	if err != nil {
		return nil, err
	}
	return NewEncoder(s, prefix)
}

// register registers the schema text under subject and returns the
// Confluent header of records written with it.
func (r *Registry) register(subject, text string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), registryTimeout)
	defer cancel()
	ss, err := r.cl.CreateSchema(ctx, subject, sr.Schema{Schema: text, Type: sr.TypeAvro})
	if err != nil {
		return nil, fmt.Errorf("registering the schema under subject '%s': %w", subject, err)
	}
	prefix := make([]byte, 5)
	binary.BigEndian.PutUint32(prefix[1:], uint32(ss.ID))
	return prefix, nil
}
