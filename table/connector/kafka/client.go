package kafka

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/eddysql/eddy/exec/connector"
)

// clientConfig is what the 'properties.*' options say about the client.
type clientConfig struct {
	brokers []string
	groupID string
	// resetOffset is properties.auto.offset.reset: where group-offsets
	// start a partition the group has no committed offset for.
	resetOffset string
	// apiTimeout bounds the metadata and offset requests a reader makes
	// when it starts (properties.default.api.timeout.ms), so unreachable
	// brokers fail the read instead of hanging it.
	apiTimeout time.Duration
	opts       []kgo.Opt // client options common to consumers and producers
	consumer   []kgo.Opt
	producer   []kgo.Opt
	acksSet    bool
	idemSet    bool
	// txnTimeout is transaction.timeout.ms, the time an exactly-once
	// sink's transaction may stay open: from its first record to the
	// commit after the next checkpoint (and a restart in between).
	txnTimeout time.Duration
	// commitOffsets is Flink's commit.offsets.on.checkpoint: a source
	// commits its offsets to the group when a checkpoint completes. It
	// defaults to true when 'properties.group.id' is set, as in Flink's
	// table source.
	commitOffsets bool
	// readCommitted is properties.isolation.level read_committed: a
	// source reads committed transactions only, and its 'latest-offset'
	// positions are the last stable offsets, as a Kafka consumer's
	// seekToEnd at that level.
	readCommitted bool
}

// defaultTxnTimeout is the Kafka producer's transaction.timeout.ms.
const defaultTxnTimeout = 60 * time.Second

// defaultAPITimeout is Kafka's default.api.timeout.ms.
const defaultAPITimeout = 60 * time.Second

// supportedProperties are the Kafka client properties that map to franz-go
// options; each is handled in parseClientConfig.
var supportedProperties = []string{
	"bootstrap.servers", "group.id", "client.id", "security.protocol", "sasl.mechanism", "sasl.jaas.config",
	"ssl.truststore.type", "ssl.truststore.location", "ssl.truststore.certificates", "ssl.endpoint.identification.algorithm",
	"auto.offset.reset", "default.api.timeout.ms", "socket.connection.setup.timeout.ms", "fetch.max.wait.ms",
	"fetch.max.bytes", "max.partition.fetch.bytes", "isolation.level", "acks", "linger.ms", "batch.size",
	"compression.type", "enable.idempotence", "retry.backoff.ms", "transaction.timeout.ms", "commit.offsets.on.checkpoint",
}

var jaasRe = regexp.MustCompile(`(username|password)\s*=\s*"((?:[^"\\]|\\.)*)"`)

func parseClientConfig(o connector.Options) (clientConfig, error) {
	props := o.WithPrefix("properties.")
	c := clientConfig{groupID: props["group.id"], resetOffset: "none", apiTimeout: defaultAPITimeout,
		txnTimeout: defaultTxnTimeout, commitOffsets: strings.TrimSpace(props["group.id"]) != ""}
	for _, b := range strings.Split(props["bootstrap.servers"], ",") {
		if b = strings.TrimSpace(b); b != "" {
			c.brokers = append(c.brokers, b)
		}
	}
	if len(c.brokers) == 0 {
		return c, fmt.Errorf("'%s' names no broker", BootstrapServers)
	}
	c.opts = append(c.opts, kgo.SeedBrokers(c.brokers...))
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	ms := func(k string) (time.Duration, error) {
		n, err := strconv.ParseInt(strings.TrimSpace(props[k]), 10, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("invalid value '%s' for 'properties.%s': expected milliseconds", props[k], k)
		}
		return time.Duration(n) * time.Millisecond, nil
	}
	num := func(k string) (int32, error) {
		n, err := strconv.ParseInt(strings.TrimSpace(props[k]), 10, 32)
		if err != nil || n <= 0 {
			return 0, fmt.Errorf("invalid value '%s' for 'properties.%s': expected a positive number", props[k], k)
		}
		return int32(n), nil
	}
	protocol := "PLAINTEXT"
	var tlsCfg *tls.Config
	var mech, jaas string
	for _, k := range keys {
		v := strings.TrimSpace(props[k])
		switch k {
		case "bootstrap.servers", "group.id":
		case "client.id":
			c.opts = append(c.opts, kgo.ClientID(v))
		case "security.protocol":
			protocol = strings.ToUpper(v)
			switch protocol {
			case "PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL":
			default:
				return c, fmt.Errorf("invalid value '%s' for 'properties.security.protocol': expected PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL", v)
			}
		case "sasl.mechanism":
			mech = strings.ToUpper(v)
		case "sasl.jaas.config":
			jaas = v
		case "ssl.truststore.type":
			if !strings.EqualFold(v, "PEM") {
				return c, fmt.Errorf("'properties.ssl.truststore.type' must be PEM; Java key stores are not supported")
			}
		case "ssl.truststore.location", "ssl.truststore.certificates", "ssl.endpoint.identification.algorithm":
			if tlsCfg == nil {
				tlsCfg = &tls.Config{MinVersion: tls.VersionTLS12}
			}
			switch k {
			case "ssl.endpoint.identification.algorithm":
				if v == "" {
					// Kafka's empty algorithm skips the hostname check only:
					// the chain is still verified, here by hand because Go
					// ties the two together.
					cfg := tlsCfg
					cfg.InsecureSkipVerify = true
					cfg.VerifyConnection = func(cs tls.ConnectionState) error {
						if len(cs.PeerCertificates) == 0 {
							return fmt.Errorf("kafka: broker sent no certificate")
						}
						inter := x509.NewCertPool()
						for _, c := range cs.PeerCertificates[1:] {
							inter.AddCert(c)
						}
						_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: cfg.RootCAs, Intermediates: inter})
						return err
					}
				} else if !strings.EqualFold(v, "https") {
					return c, fmt.Errorf("invalid value '%s' for 'properties.%s': expected https or empty", v, k)
				}
			default:
				pem := []byte(v)
				if k == "ssl.truststore.location" {
					var err error
					if pem, err = os.ReadFile(v); err != nil {
						return c, fmt.Errorf("'properties.%s': %v", k, err)
					}
				}
				if tlsCfg.RootCAs == nil {
					tlsCfg.RootCAs = x509.NewCertPool()
				}
				if !tlsCfg.RootCAs.AppendCertsFromPEM(pem) {
					return c, fmt.Errorf("'properties.%s' holds no PEM certificate", k)
				}
			}
		case "auto.offset.reset":
			c.resetOffset = strings.ToLower(v)
			if c.resetOffset != "earliest" && c.resetOffset != "latest" && c.resetOffset != "none" {
				return c, fmt.Errorf("invalid value '%s' for 'properties.auto.offset.reset': expected earliest, latest or none", v)
			}
		case "default.api.timeout.ms":
			d, err := ms(k)
			if err != nil {
				return c, err
			}
			c.apiTimeout = d
		case "socket.connection.setup.timeout.ms":
			d, err := ms(k)
			if err != nil {
				return c, err
			}
			c.opts = append(c.opts, kgo.DialTimeout(d))
		case "fetch.max.wait.ms":
			d, err := ms(k)
			if err != nil {
				return c, err
			}
			c.consumer = append(c.consumer, kgo.FetchMaxWait(d))
		case "fetch.max.bytes", "max.partition.fetch.bytes", "batch.size":
			n, err := num(k)
			if err != nil {
				return c, err
			}
			switch k {
			case "fetch.max.bytes":
				c.consumer = append(c.consumer, kgo.FetchMaxBytes(n))
			case "max.partition.fetch.bytes":
				c.consumer = append(c.consumer, kgo.FetchMaxPartitionBytes(n))
			default:
				c.producer = append(c.producer, kgo.ProducerBatchMaxBytes(n))
			}
		case "isolation.level":
			switch strings.ToLower(v) {
			case "read_committed":
				c.consumer = append(c.consumer, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
				c.readCommitted = true
			case "read_uncommitted":
				c.consumer = append(c.consumer, kgo.FetchIsolationLevel(kgo.ReadUncommitted()))
				c.readCommitted = false
			default:
				return c, fmt.Errorf("invalid value '%s' for 'properties.isolation.level': expected read_committed or read_uncommitted", v)
			}
		case "acks":
			c.acksSet = true
			switch strings.ToLower(v) {
			case "all", "-1":
				c.producer = append(c.producer, kgo.RequiredAcks(kgo.AllISRAcks()))
			case "1":
				c.producer = append(c.producer, kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
			case "0":
				c.producer = append(c.producer, kgo.RequiredAcks(kgo.NoAck()), kgo.DisableIdempotentWrite())
			default:
				return c, fmt.Errorf("invalid value '%s' for 'properties.acks': expected all, -1, 1 or 0", v)
			}
		case "retry.backoff.ms":
			// Kafka's clients wait this long between retries and before
			// refreshing metadata after an error; kgo's metadata floor
			// (5s) is the second.
			d, err := ms(k)
			if err != nil {
				return c, err
			}
			c.opts = append(c.opts, kgo.RetryBackoffFn(func(int) time.Duration { return d }), kgo.MetadataMinAge(d))
		case "transaction.timeout.ms":
			d, err := ms(k)
			if err != nil {
				return c, err
			}
			if d < time.Second {
				return c, fmt.Errorf("invalid value '%s' for 'properties.transaction.timeout.ms': expected at least 1000", v)
			}
			c.txnTimeout = d
		case "commit.offsets.on.checkpoint":
			switch strings.ToLower(v) {
			case "true", "false":
				c.commitOffsets = strings.EqualFold(v, "true")
			default:
				return c, fmt.Errorf("invalid value '%s' for 'properties.commit.offsets.on.checkpoint': expected true or false", v)
			}
		case "linger.ms":
			d, err := ms(k)
			if err != nil {
				return c, err
			}
			c.producer = append(c.producer, kgo.ProducerLinger(d))
		case "compression.type":
			codec, ok := map[string]kgo.CompressionCodec{"none": kgo.NoCompression(), "gzip": kgo.GzipCompression(),
				"snappy": kgo.SnappyCompression(), "lz4": kgo.Lz4Compression(), "zstd": kgo.ZstdCompression()}[strings.ToLower(v)]
			if !ok {
				return c, fmt.Errorf("invalid value '%s' for 'properties.compression.type': expected none, gzip, snappy, lz4 or zstd", v)
			}
			c.producer = append(c.producer, kgo.ProducerBatchCompression(codec))
		case "enable.idempotence":
			c.idemSet = true
			switch strings.ToLower(v) {
			case "true":
			case "false":
				c.producer = append(c.producer, kgo.DisableIdempotentWrite())
			default:
				return c, fmt.Errorf("invalid value '%s' for 'properties.enable.idempotence': expected true or false", v)
			}
		default:
			return c, fmt.Errorf("unsupported Kafka property 'properties.%s'; supported: %s", k, strings.Join(supportedProperties, ", "))
		}
	}
	if _, set := props["socket.connection.setup.timeout.ms"]; !set && c.apiTimeout < 10*time.Second {
		// kgo's dial timeout (10s) covers the connection handshake; keep it
		// within the API timeout so a silent broker fails in time.
		c.opts = append(c.opts, kgo.DialTimeout(c.apiTimeout))
	}
	useTLS := protocol == "SSL" || protocol == "SASL_SSL"
	useSASL := protocol == "SASL_PLAINTEXT" || protocol == "SASL_SSL"
	if tlsCfg != nil && !useTLS {
		return c, fmt.Errorf("'properties.ssl.*' needs 'properties.security.protocol' SSL or SASL_SSL")
	}
	if useTLS {
		if tlsCfg == nil {
			tlsCfg = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		c.opts = append(c.opts, kgo.DialTLSConfig(tlsCfg))
	}
	if (mech != "" || jaas != "") && !useSASL {
		return c, fmt.Errorf("'properties.sasl.*' needs 'properties.security.protocol' SASL_PLAINTEXT or SASL_SSL")
	}
	if useSASL {
		user, pass, err := parseJAAS(jaas)
		if err != nil {
			return c, err
		}
		switch mech {
		case "PLAIN", "":
			c.opts = append(c.opts, kgo.SASL(plain.Auth{User: user, Pass: pass}.AsMechanism()))
		case "SCRAM-SHA-256":
			c.opts = append(c.opts, kgo.SASL(scram.Auth{User: user, Pass: pass}.AsSha256Mechanism()))
		case "SCRAM-SHA-512":
			c.opts = append(c.opts, kgo.SASL(scram.Auth{User: user, Pass: pass}.AsSha512Mechanism()))
		default:
			return c, fmt.Errorf("unsupported 'properties.sasl.mechanism' '%s': expected PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", mech)
		}
	}
	return c, nil
}

// parseJAAS takes the username and password out of a sasl.jaas.config such
// as 'org.apache.kafka.common.security.plain.PlainLoginModule required
// username="u" password="p";'.
func parseJAAS(jaas string) (user, pass string, err error) {
	if jaas == "" {
		return "", "", fmt.Errorf("SASL needs 'properties.sasl.jaas.config' with a username and password")
	}
	for _, m := range jaasRe.FindAllStringSubmatch(jaas, -1) {
		v := strings.NewReplacer(`\"`, `"`, `\\`, `\`).Replace(m[2])
		if m[1] == "username" {
			user = v
		} else {
			pass = v
		}
	}
	if user == "" {
		return "", "", fmt.Errorf("'properties.sasl.jaas.config' has no username=\"...\"")
	}
	return user, pass, nil
}
