package server

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/stretchr/testify/require"
)

// selfSignedTLS is a server TLS configuration with a fresh self-signed
// certificate for 127.0.0.1.
func selfSignedTLS(t *testing.T) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "eddy-test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS12}
}

// negotiate sends a startup-phase request on a fresh connection and
// returns the connection and the server's one-byte answer.
func negotiate(t *testing.T, addr string, req pgproto3.FrontendMessage) (net.Conn, byte) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	_, err = c.Write(encode(t, req))
	require.NoError(t, err)
	var b [1]byte
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = c.Read(b[:])
	require.NoError(t, err)
	return c, b[0]
}

// TestSSLAndGSSNegotiation: SSLRequest is answered 'N' without a
// certificate and 'S' then TLS with one (pgx and psql with
// sslmode=require); GSSENCRequest is always refused with 'N', after which
// the client carries on in the clear on the same connection.
func TestSSLAndGSSNegotiation(t *testing.T) {
	ctx := context.Background()
	_, plain, _ := testServer(t, Config{})
	_, answer := negotiate(t, plain, &pgproto3.SSLRequest{})
	require.Equal(t, byte('N'), answer)

	c, answer := negotiate(t, plain, &pgproto3.GSSEncRequest{})
	require.Equal(t, byte('N'), answer)
	_, err := c.Write(startupBytes(t))
	require.NoError(t, err)
	fe := pgproto3.NewFrontend(c, c)
	msg, err := fe.Receive()
	require.NoError(t, err)
	require.IsType(t, &pgproto3.AuthenticationOk{}, msg)

	_, secure, _ := testServer(t, Config{TLS: selfSignedTLS(t)})
	_, answer = negotiate(t, secure, &pgproto3.SSLRequest{})
	require.Equal(t, byte('S'), answer)
	conn, err := pgx.Connect(ctx, fmt.Sprintf("postgres://eddy@%s/eddy?sslmode=require", secure))
	require.NoError(t, err)
	defer conn.Close(ctx)
	require.NotNil(t, conn.PgConn().Conn().(*tls.Conn).ConnectionState().PeerCertificates)
	var one int32
	require.NoError(t, conn.QueryRow(ctx, "SELECT 1").Scan(&one))

	psql, err := exec.LookPath("psql")
	if err != nil {
		t.Skip("psql is not installed")
	}
	host, port, _ := net.SplitHostPort(secure)
	cmd := exec.Command(psql, "-X", "-A", "-t", "-d", fmt.Sprintf("host=%s port=%s user=eddy dbname=eddy sslmode=require", host, port),
		"-c", "SELECT 'over tls'", "-c", `\conninfo`)
	cmd.Env = append(os.Environ(), "PGCONNECT_TIMEOUT=5")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	require.Contains(t, string(out), "over tls\n")
	require.Contains(t, string(out), "SSL connection (protocol: TLSv1.3")
}

// TestParameterStatus: the ParameterStatus values at login are the ones
// PostgreSQL 15 sends, with the session's user and application name.
func TestParameterStatus(t *testing.T) {
	_, addr, _ := testServer(t, Config{})
	conn := connect(t, addr, "application_name=probe")
	pc := conn.PgConn()
	for k, v := range map[string]string{
		"application_name": "probe", "client_encoding": "UTF8", "DateStyle": "ISO, MDY",
		"default_transaction_read_only": "off", "in_hot_standby": "off", "integer_datetimes": "on",
		"IntervalStyle": "postgres", "is_superuser": "on", "server_encoding": "UTF8",
		"server_version": "15.0", "session_authorization": "eddy", "standard_conforming_strings": "on",
		"TimeZone": "UTC",
	} {
		require.Equal(t, v, pc.ParameterStatus(k), k)
	}
}

// TestBinaryParamsAndResults round-trips the common types through pgx's
// extended protocol, which sends parameters and asks for results in
// binary format wherever it can.
func TestBinaryParamsAndResults(t *testing.T) {
	_, addr, _ := testServer(t, Config{})
	ctx := context.Background()
	conn := connect(t, addr)
	date := time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)
	ts := time.Date(2024, 2, 29, 13, 14, 15, 123000000, time.UTC)
	var (
		b   bool
		i2  int16
		i4  int32
		i8  int64
		f4  float32
		f8  float64
		s   string
		by  []byte
		d   time.Time
		tsv time.Time
	)
	err := conn.QueryRow(ctx, `SELECT CAST($1 AS BOOLEAN), CAST($2 AS SMALLINT), CAST($3 AS INT), CAST($4 AS BIGINT),
  CAST($5 AS FLOAT), CAST($6 AS DOUBLE), CAST($7 AS STRING), CAST($8 AS BYTES), CAST($9 AS DATE), CAST($10 AS TIMESTAMP(3))`,
		true, int16(-7), int32(1<<30), int64(-1)<<40, float32(1.5), 2.25, "héllo", []byte{0, 1, 255}, date, ts).
		Scan(&b, &i2, &i4, &i8, &f4, &f8, &s, &by, &d, &tsv)
	require.NoError(t, err)
	require.Equal(t, []any{true, int16(-7), int32(1 << 30), int64(-1) << 40, float32(1.5), 2.25, "héllo", []byte{0, 1, 255}},
		[]any{b, i2, i4, i8, f4, f8, s, by})
	require.True(t, date.Equal(d), "%v", d)
	require.True(t, ts.Equal(tsv), "%v", tsv)
}
