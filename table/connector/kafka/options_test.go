package kafka

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/table/connector/connectortest"
)

func TestFactories(t *testing.T) {
	for _, id := range []string{"kafka", "upsert-kafka"} {
		f, ok := connector.Lookup(id)
		require.True(t, ok)
		connectortest.CheckFactory(t, f)
	}
}

// TestOptions checks every option's validation: each case is a set of
// options over a bids table (topic 'bids', json values) and the error it
// gives, or "" when valid.
func TestOptions(t *testing.T) {
	for _, tc := range []struct {
		opts []string
		err  string
	}{
		{nil, ""},
		{[]string{"topic", "a; b"}, ""},
		{[]string{"topic", " ; "}, "option 'topic' names no topic"},
		{[]string{"topic-pattern", "b.*"}, "options 'topic' and 'topic-pattern' cannot both be set"},
		{[]string{"topic", "", "topic-pattern", "("}, "invalid 'topic-pattern'"},
		{[]string{"properties.bootstrap.servers", " , "}, "'properties.bootstrap.servers' names no broker"},
		{[]string{"format", "xml"}, "invalid value 'xml' for option 'format': expected one of json, csv, raw, avro, avro-confluent"},
		{[]string{"value.format", "json"}, "options 'format' and 'value.format' cannot both be set"},
		{[]string{"scan.startup.mode", "earliest"}, "invalid value 'earliest' for option 'scan.startup.mode'"},
		{[]string{"scan.startup.mode", "earliest-offset"}, ""},
		{[]string{"scan.startup.mode", "latest-offset"}, ""},
		{[]string{"scan.startup.mode", "group-offsets", "properties.group.id", "g"}, ""},
		{[]string{"scan.startup.mode", "timestamp"}, "'scan.startup.timestamp-millis' is required when 'scan.startup.mode' is 'timestamp'"},
		{[]string{"scan.startup.mode", "timestamp", "scan.startup.timestamp-millis", "x"}, "invalid value 'x' for option 'scan.startup.timestamp-millis': expected a value of type Long"},
		{[]string{"scan.startup.mode", "timestamp", "scan.startup.timestamp-millis", "1000"}, ""},
		{[]string{"scan.startup.timestamp-millis", "1000"}, "'scan.startup.timestamp-millis' applies only when 'scan.startup.mode' is 'timestamp'"},
		{[]string{"scan.startup.mode", "specific-offsets"}, "invalid value '' for option 'scan.startup.specific-offsets'"},
		{[]string{"scan.startup.mode", "specific-offsets", "scan.startup.specific-offsets", "partition:0,offset:42;partition:1,offset:300"}, ""},
		{[]string{"scan.startup.mode", "specific-offsets", "scan.startup.specific-offsets", "partition:0;offset:42"}, "expected 'partition:0,offset:42;partition:1,offset:300'"},
		{[]string{"scan.startup.mode", "specific-offsets", "scan.startup.specific-offsets", "partition:0,offset:-1"}, "invalid value 'partition:0,offset:-1'"},
		{[]string{"scan.startup.specific-offsets", "partition:0,offset:1"}, "applies only when 'scan.startup.mode' is 'specific-offsets'"},
		{[]string{"topic", "a;b", "scan.startup.mode", "specific-offsets", "scan.startup.specific-offsets", "partition:0,offset:1"}, "specific offsets need exactly one topic"},
		{[]string{"scan.bounded.mode", "latest-offset"}, ""},
		{[]string{"scan.bounded.mode", "group-offsets"}, ""},
		{[]string{"scan.bounded.mode", "end"}, "invalid value 'end' for option 'scan.bounded.mode'"},
		{[]string{"scan.bounded.mode", "timestamp"}, "'scan.bounded.timestamp-millis' is required when 'scan.bounded.mode' is 'timestamp'"},
		{[]string{"scan.bounded.mode", "timestamp", "scan.bounded.timestamp-millis", "5"}, ""},
		{[]string{"scan.bounded.timestamp-millis", "5"}, "applies only when 'scan.bounded.mode' is 'timestamp'"},
		{[]string{"scan.bounded.mode", "specific-offsets", "scan.bounded.specific-offsets", "partition:0,offset:1"}, ""},
		{[]string{"scan.bounded.specific-offsets", "partition:0,offset:1"}, "applies only when 'scan.bounded.mode' is 'specific-offsets'"},
		{[]string{"scan.topic-partition-discovery.interval", "10 s"}, ""},
		{[]string{"scan.topic-partition-discovery.interval", "often"}, "expected a value of type Duration"},
		{[]string{"key.format", "json"}, "'key.format' needs the key columns in 'key.fields'"},
		{[]string{"key.fields", "auction"}, "'key.fields' needs 'key.format'"},
		{[]string{"key.format", "json", "key.fields", "nope"}, "key column 'nope' is not a physical column of table"},
		{[]string{"key.format", "json", "key.fields", "auction;channel"}, ""},
		{[]string{"key.format", "raw", "key.fields", "channel", "value.fields-include", "EXCEPT_KEY"}, ""},
		{[]string{"key.format", "json", "key.fields", "auction", "key.fields-prefix", "k_"}, "'key.fields-prefix' needs 'value.fields-include' = 'EXCEPT_KEY'"},
		{[]string{"key.format", "json", "key.fields", "auction", "key.fields-prefix", "k_", "value.fields-include", "EXCEPT_KEY"}, "key column 'auction' does not start with 'k_'"},
		{[]string{"value.fields-include", "SOME"}, "invalid value 'SOME' for option 'value.fields-include'"},
		{[]string{"json.ignore-parse-errors", "true"}, ""},
		{[]string{"json.ignore-parse-errors", "maybe"}, "expected a value of type Boolean"},
		{[]string{"json.fail-on-missing-field", "true", "json.ignore-parse-errors", "true"}, "cannot both be true"},
		{[]string{"json.timestamp-format.standard", "ISO-8601"}, ""},
		{[]string{"json.timestamp-format.standard", "RFC"}, "invalid value 'RFC' for option 'json.timestamp-format.standard'"},
		{[]string{"csv.field-delimiter", ";"}, "option 'csv.field-delimiter' does not apply to this table's formats (value format json)"},
		{[]string{"value.json.ignore-parse-errors", "true"}, "option 'value.json.ignore-parse-errors' does not apply"},
		{[]string{"key.format", "csv", "key.fields", "auction", "key.csv.field-delimiter", ";"}, ""},
		{[]string{"key.format", "csv", "key.fields", "auction", "key.csv.field-delimiter", ";;"}, "key format 'csv': option 'csv.field-delimiter' must be a single character"},
		{[]string{"format", "avro-confluent"}, "value format 'avro-confluent': option 'avro-confluent.url' is required"},
		{[]string{"format", "avro-confluent", "avro-confluent.url", "http://x", "avro-confluent.subject", "s"}, ""},
		{[]string{"sink.partitioner", "fixed"}, ""},
		{[]string{"sink.partitioner", "round-robin"}, ""},
		{[]string{"sink.partitioner", "com.example.MyPartitioner"}, "custom partitioner classes are Java-only"},
		{[]string{"sink.delivery-guarantee", "none"}, ""},
		{[]string{"sink.delivery-guarantee", "exactly-once"}, "'sink.transactional-id-prefix' is required when 'sink.delivery-guarantee' is 'exactly-once'"},
		{[]string{"sink.delivery-guarantee", "exactly-once", "sink.transactional-id-prefix", "job"}, ""},
		{[]string{"sink.delivery-guarantee", "exactly-once", "sink.transactional-id-prefix", "job", "properties.enable.idempotence", "false"}, "leave 'properties.acks' and 'properties.enable.idempotence' unset"},
		{[]string{"sink.delivery-guarantee", "twice"}, "invalid value 'twice' for option 'sink.delivery-guarantee'"},
		{[]string{"sink.transactional-id-prefix", "x"}, "'sink.transactional-id-prefix' applies only when 'sink.delivery-guarantee' is 'exactly-once'"},
		{[]string{"properties.transaction.timeout.ms", "900000", "properties.commit.offsets.on.checkpoint", "false"}, ""},
		{[]string{"properties.transaction.timeout.ms", "10"}, "expected at least 1000"},
		{[]string{"properties.commit.offsets.on.checkpoint", "yes"}, "expected true or false"},
		{[]string{"sink.parallelism", "2"}, ""},
		{[]string{"properties.client.id", "eddy"}, ""},
		{[]string{"properties.linger.ms", "5", "properties.batch.size", "16384", "properties.compression.type", "zstd", "properties.acks", "all",
			"properties.enable.idempotence", "true", "properties.fetch.max.wait.ms", "100", "properties.fetch.max.bytes", "1048576",
			"properties.max.partition.fetch.bytes", "65536", "properties.isolation.level", "read_committed", "properties.auto.offset.reset", "latest",
			"properties.default.api.timeout.ms", "5000", "properties.socket.connection.setup.timeout.ms", "1000",
			"properties.retry.backoff.ms", "100"}, ""},
		{[]string{"properties.retry.backoff.ms", "-1"}, "expected milliseconds"},
		{[]string{"format", "debezium-json", "debezium-json.schema-include", "true", "debezium-json.ignore-parse-errors", "true",
			"debezium-json.timestamp-format.standard", "ISO-8601"}, ""},
		{[]string{"format", "debezium-json", "debezium-json.schema-include", "yes"}, "expected a value of type Boolean"},
		{[]string{"debezium-json.schema-include", "true"}, "does not apply to this table's formats (value format json)"},
		{[]string{"format", "canal-json", "canal-json.ignore-parse-errors", "true", "canal-json.timestamp-format.standard", "ISO-8601",
			"canal-json.map-null-key.mode", "LITERAL", "canal-json.map-null-key.literal", "n/a", "canal-json.encode.decimal-as-plain-number", "true",
			"canal-json.database.include", "inv.*", "canal-json.table.include", "products|items"}, ""},
		{[]string{"format", "canal-json", "canal-json.table.include", "("}, "value format 'canal-json': invalid regular expression in 'canal-json.table.include'"},
		{[]string{"format", "canal-json", "canal-json.map-null-key.mode", "KEEP"}, "invalid value 'KEEP' for option 'canal-json.map-null-key.mode'"},
		{[]string{"value.format", "maxwell-json", "value.maxwell-json.ignore-parse-errors", "true", "value.maxwell-json.encode.decimal-as-plain-number", "true"}, ""},
		{[]string{"format", "maxwell-json", "maxwell-json.database.include", "x"}, "unsupported option 'maxwell-json.database.include'"},
		{[]string{"format", "ogg-json", "ogg-json.ignore-parse-errors", "true", "ogg-json.timestamp-format.standard", "SQL"}, ""},
		{[]string{"format", "ogg-json", "canal-json.ignore-parse-errors", "true"}, "does not apply to this table's formats (value format ogg-json)"},
		{[]string{"format", "ogg-json", "key.format", "json", "key.fields", "auction"}, "the 'ogg-json' value format carries whole rows; it cannot be combined with 'key.format'"},
		{[]string{"properties.linger.ms", "soon"}, "invalid value 'soon' for 'properties.linger.ms': expected milliseconds"},
		{[]string{"properties.batch.size", "0"}, "expected a positive number"},
		{[]string{"properties.compression.type", "brotli"}, "expected none, gzip, snappy, lz4 or zstd"},
		{[]string{"properties.acks", "2"}, "expected all, -1, 1 or 0"},
		{[]string{"properties.isolation.level", "x"}, "expected read_committed or read_uncommitted"},
		{[]string{"properties.auto.offset.reset", "smallest"}, "expected earliest, latest or none"},
		{[]string{"properties.enable.idempotence", "yes"}, "expected true or false"},
		{[]string{"properties.max.poll.records", "5"}, "unsupported Kafka property 'properties.max.poll.records'; supported: bootstrap.servers"},
		{[]string{"properties.security.protocol", "KERBEROS"}, "expected PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL"},
		{[]string{"properties.security.protocol", "SASL_PLAINTEXT"}, "SASL needs 'properties.sasl.jaas.config'"},
		{[]string{"properties.security.protocol", "SASL_PLAINTEXT", "properties.sasl.jaas.config", "x"}, "has no username"},
		{[]string{"properties.security.protocol", "SASL_SSL", "properties.sasl.mechanism", "GSSAPI", "properties.sasl.jaas.config", `m required username="u" password="p";`}, "unsupported 'properties.sasl.mechanism' 'GSSAPI'"},
		{[]string{"properties.sasl.mechanism", "PLAIN"}, "'properties.sasl.*' needs 'properties.security.protocol' SASL_PLAINTEXT or SASL_SSL"},
		{[]string{"properties.ssl.endpoint.identification.algorithm", ""}, "'properties.ssl.*' needs 'properties.security.protocol' SSL or SASL_SSL"},
		{[]string{"properties.security.protocol", "SSL", "properties.ssl.truststore.certificates", "x"}, "holds no PEM certificate"},
		{[]string{"properties.security.protocol", "SSL", "properties.ssl.truststore.type", "JKS"}, "must be PEM"},
		{[]string{"properties.security.protocol", "SSL", "properties.ssl.truststore.location", "/nonexistent"}, "no such file"},
		{[]string{"properties.security.protocol", "SSL", "properties.ssl.endpoint.identification.algorithm", ""}, ""},
		{[]string{"fields.x.kind", "random"}, "unsupported option 'fields.x.kind' for connector 'kafka'"},
		{[]string{"key.format", "raw", "key.fields", "channel", "key.raw.charset", "UTF-8"}, ""},
		{[]string{"key.format", "raw", "key.fields", "channel", "key.raw.charset", "ISO-8859-1"}, "invalid value 'ISO-8859-1' for option 'key.raw.charset'"},
		{[]string{"format", "avro-confluent", "avro-confluent.url", "http://h:1", "avro-confluent.basic-auth.user-info", "u:p"}, ""},
		{[]string{"format", "avro-confluent", "avro-confluent.url", "http://h:1", "avro-confluent.basic-auth.user-info", "nocolon"}, "must be 'user:password'"},
	} {
		opts := append([]string{"topic", "bids", "format", "json"}, tc.opts...)
		tbl := table("localhost:9092", bids, opts...)
		if tbl.Options["topic"] == "" {
			delete(tbl.Options, "topic")
		}
		if tbl.Options["value.format"] != "" && tc.err == "" {
			delete(tbl.Options, "format")
		}
		_, err := Factory{}.ValidateSource(tbl)
		if tc.err == "" {
			require.NoError(t, err, "%v", tc.opts)
		} else {
			require.ErrorContains(t, err, tc.err, "%v", tc.opts)
		}
	}
	// sinks write one topic
	_, err := Factory{}.ValidateSink(table("h:1", bids, "topic", "a;b", "format", "json"))
	require.ErrorContains(t, err, "a 'kafka' sink writes to exactly one topic")
	_, err = Factory{}.ValidateSink(table("h:1", bids, "topic-pattern", "a.*", "format", "json"))
	require.ErrorContains(t, err, "writes to exactly one topic")
	// upsert-kafka: no startup options, key and value formats required
	up := upsertTable("h:1", "t")
	_, err = Factory{Upsert: true}.ValidateSource(up)
	require.NoError(t, err)
	up.Options["scan.startup.mode"] = "earliest-offset"
	_, err = Factory{Upsert: true}.ValidateSource(up)
	require.ErrorContains(t, err, "unsupported option 'scan.startup.mode' for connector 'upsert-kafka'")
	up = upsertTable("h:1", "t")
	delete(up.Options, "key.format")
	_, err = Factory{Upsert: true}.ValidateSource(up)
	require.ErrorContains(t, err, "missing required option 'key.format' for connector 'upsert-kafka'")
}

// selfSigned makes a certificate for 127.0.0.1 and returns the server's TLS
// config and the certificate in PEM.
func selfSigned(t *testing.T) (*tls.Config, []byte) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "kfake"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	kb, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	require.NoError(t, err)
	return &tls.Config{Certificates: []tls.Certificate{pair}}, certPEM
}

// TestSASLAndTLS writes and reads through a kfake cluster that requires
// SASL over TLS, with each SASL mechanism.
func TestSASLAndTLS(t *testing.T) {
	srvTLS, certPEM := selfSigned(t)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(ca, certPEM, 0o600))
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "t"), kfake.EnableSASL(), kfake.TLS(srvTLS),
		kfake.Superuser("PLAIN", "alice", "pw"), kfake.Superuser("SCRAM-SHA-256", "bob", "pw2"), kfake.Superuser("SCRAM-SHA-512", "carol", "pw3"))
	require.NoError(t, err)
	defer c.Close()
	addr := strings.Join(c.ListenAddrs(), ",")
	s := schema(col("v", types.StringType))
	n := 0
	for _, m := range []struct{ mech, user, pass string }{{"PLAIN", "alice", "pw"}, {"SCRAM-SHA-256", "bob", "pw2"}, {"SCRAM-SHA-512", "carol", "pw3"}} {
		tbl := table(addr, s, "topic", "t", "format", "raw", "scan.startup.mode", "earliest-offset", "scan.bounded.mode", "latest-offset",
			"properties.security.protocol", "SASL_SSL", "properties.sasl.mechanism", m.mech,
			"properties.sasl.jaas.config", `org.apache.kafka.common.security.scram.ScramLoginModule required username="`+m.user+`" password="`+m.pass+`";`,
			"properties.ssl.truststore.type", "PEM", "properties.ssl.truststore.location", ca, "properties.client.id", "eddy-test")
		mem := memoryChecked(t)
		b := batch(t, mem, s.Arrow(), `[{"v": "`+m.mech+`"}]`)
		write(t, tbl, 0, b)
		b.Release()
		n++
		require.Len(t, readAll(t, tbl, 0, 1, 0), n, m.mech)
	}
	// without the hostname check, the chain is still verified
	tbl := table(addr, s, "topic", "t", "format", "raw", "scan.startup.mode", "earliest-offset", "scan.bounded.mode", "latest-offset",
		"properties.security.protocol", "SASL_SSL", "properties.sasl.jaas.config", `x required username="alice" password="pw";`,
		"properties.ssl.truststore.certificates", string(certPEM), "properties.ssl.endpoint.identification.algorithm", "")
	require.Len(t, readAll(t, tbl, 0, 1, 0), n)
	_, otherPEM := selfSigned(t)
	tbl.Options["properties.ssl.truststore.certificates"] = string(otherPEM)
	tbl.Options["properties.default.api.timeout.ms"] = "1000"
	_, err = readErr(t, tbl)
	require.ErrorContains(t, err, "certificate signed by unknown authority")

	// a wrong password fails the read in time; kfake closes the connection
	// on a failed authentication, so the cause shows as EOF
	tbl = table(addr, s, "topic", "t", "format", "raw", "scan.startup.mode", "earliest-offset", "scan.bounded.mode", "latest-offset",
		"properties.security.protocol", "SASL_SSL", "properties.sasl.mechanism", "PLAIN",
		"properties.sasl.jaas.config", `x required username="alice" password="wrong";`,
		"properties.ssl.truststore.certificates", string(certPEM), "properties.default.api.timeout.ms", "1000")
	_, err = readErr(t, tbl)
	require.ErrorContains(t, err, "did not answer within 1s (properties.default.api.timeout.ms) (last connection error: EOF)")
}
