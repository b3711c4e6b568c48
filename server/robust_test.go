package server

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/stretchr/testify/require"
)

// startup returns the bytes of a StartupMessage for user eddy.
func startupBytes(t testing.TB) []byte {
	b, err := (&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion30,
		Parameters: map[string]string{"user": "eddy", "database": "eddy"}}).Encode(nil)
	require.NoError(t, err)
	return b
}

func encode(t testing.TB, msgs ...pgproto3.FrontendMessage) []byte {
	var out []byte
	for _, m := range msgs {
		var err error
		out, err = m.Encode(out)
		require.NoError(t, err)
	}
	return out
}

// TestMalformedInput sends broken, truncated, oversized and hostile
// messages on many connections while another connection keeps running
// queries; the server must close only the offending connections.
func TestMalformedInput(t *testing.T) {
	srv, addr, _ := testServer(t, Config{MaxMessageSize: 1 << 16})
	ctx := context.Background()
	good := connect(t, addr)

	hdr := func(typ byte, n int) []byte {
		b := []byte{typ, 0, 0, 0, 0}
		binary.BigEndian.PutUint32(b[1:], uint32(n))
		return b
	}
	su := startupBytes(t)
	cases := map[string][]byte{
		"garbage startup":      []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
		"huge startup length":  {0x7f, 0xff, 0xff, 0xff, 0, 3, 0, 0},
		"short startup":        {0, 0, 0, 2},
		"truncated startup":    su[:len(su)-3],
		"unknown protocol":     {0, 0, 0, 8, 0, 9, 0, 0},
		"unknown message type": append(append([]byte{}, su...), hdr('Z', 4)...),
		"negative length":      append(append([]byte{}, su...), 'Q', 0xff, 0xff, 0xff, 0xff),
		"length below 4":       append(append([]byte{}, su...), hdr('Q', 2)...),
		"oversized message":    append(append([]byte{}, su...), hdr('Q', 1<<20)...),
		"truncated query":      append(append([]byte{}, su...), append(hdr('Q', 100), "SELECT"...)...),
		"query without nul":    append(append([]byte{}, su...), append(hdr('Q', 10), "SELECT"...)...),
		"bind with bad counts": append(append([]byte{}, su...), append(hdr('B', 12), 0, 0, 0xff, 0xff, 0, 0, 0, 0)...),
		"bind unknown stmt": append(append([]byte{}, su...), encode(t,
			&pgproto3.Bind{PreparedStatement: "nope"}, &pgproto3.Execute{}, &pgproto3.Sync{})...),
		"describe bad kind": append(append([]byte{}, su...), encode(t,
			&pgproto3.Describe{ObjectType: 'X'}, &pgproto3.Sync{})...),
		"wrong param count": append(append([]byte{}, su...), encode(t,
			&pgproto3.Parse{Query: "SELECT $1"}, &pgproto3.Bind{Parameters: [][]byte{[]byte("1"), []byte("2")}},
			&pgproto3.Sync{})...),
		"bad binary param": append(append([]byte{}, su...), encode(t,
			&pgproto3.Parse{Query: "SELECT $1", ParameterOIDs: []uint32{oidInt4}},
			&pgproto3.Bind{ParameterFormatCodes: []int16{1}, Parameters: [][]byte{{1, 2}}}, &pgproto3.Execute{},
			&pgproto3.Sync{})...),
		"password out of turn": append(append([]byte{}, su...), encode(t, &pgproto3.PasswordMessage{Password: "x"})...),
		"copy data":            append(append([]byte{}, su...), encode(t, &pgproto3.CopyData{Data: []byte("1\n")})...),
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var queries atomic.Int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			var n int32
			if err := good.QueryRow(ctx, "SELECT 1 + 1").Scan(&n); err != nil || n != 2 {
				t.Errorf("the well-behaved connection failed: %v", err)
				return
			}
			queries.Add(1)
		}
	}()
	for name, input := range cases {
		t.Run(name, func(t *testing.T) {
			c, err := net.Dial("tcp", addr)
			require.NoError(t, err)
			defer c.Close()
			_, _ = c.Write(input)
			// The server answers and closes, or waits for more input; either
			// way the connection must end by itself once we stop writing.
			_ = c.(*net.TCPConn).CloseWrite()
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, err = io.Copy(io.Discard, c)
			require.NoError(t, err, "the server must close the connection")
		})
	}
	// The malformed inputs may all be handled before the well-behaved
	// connection's first query: it must still get answers after them.
	require.Eventually(t, func() bool { return queries.Load() > 0 }, 10*time.Second, time.Millisecond)
	close(stop)
	wg.Wait()
	require.Eventually(t, func() bool { return srv.Sessions() == 1 }, 5*time.Second, 10*time.Millisecond)
}

// fakeConn feeds a fixed input to a session and discards its output.
type fakeConn struct {
	io.Reader
}

func (fakeConn) Write(b []byte) (int, error)      { return len(b), nil }
func (fakeConn) Close() error                     { return nil }
func (fakeConn) LocalAddr() net.Addr              { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5433} }
func (fakeConn) RemoteAddr() net.Addr             { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000} }
func (fakeConn) SetDeadline(time.Time) error      { return nil }
func (fakeConn) SetReadDeadline(time.Time) error  { return nil }
func (fakeConn) SetWriteDeadline(time.Time) error { return nil }

var (
	fuzzOnce sync.Once
	fuzzSrv  *Server
)

// FuzzSession runs a whole session over arbitrary bytes following a valid
// startup message: the message decoder, the extended-protocol state
// machine, parameter decoding and statement execution must never panic
// or hang. serveConn is called directly, without handleConn's recover.
func FuzzSession(f *testing.F) {
	su := startupBytes(f)
	seeds := [][]pgproto3.FrontendMessage{
		{&pgproto3.Query{String: "SELECT 1, 'a', TRUE"}},
		{&pgproto3.Query{String: "SELECT $1"}},
		{&pgproto3.Parse{Name: "s", Query: "SELECT 1 + $1"}, &pgproto3.Describe{ObjectType: 'S', Name: "s"},
			&pgproto3.Bind{PreparedStatement: "s", Parameters: [][]byte{[]byte("3")}}, &pgproto3.Execute{MaxRows: 1},
			&pgproto3.Execute{}, &pgproto3.Sync{}},
		{&pgproto3.Parse{Query: "SELECT $1", ParameterOIDs: []uint32{oidInt8}},
			&pgproto3.Bind{ParameterFormatCodes: []int16{1}, Parameters: [][]byte{{0, 0, 0, 0, 0, 0, 0, 7}}, ResultFormatCodes: []int16{1}},
			&pgproto3.Describe{ObjectType: 'P'}, &pgproto3.Execute{}, &pgproto3.Close{ObjectType: 'P'}, &pgproto3.Sync{}},
		{&pgproto3.Parse{Query: "SELECT CAST($1 AS DECIMAL(10, 2))", ParameterOIDs: []uint32{oidNumeric}},
			&pgproto3.Bind{ParameterFormatCodes: []int16{1}, Parameters: [][]byte{{0, 1, 0, 0, 0, 0, 0, 0, 0, 5}}},
			&pgproto3.Execute{}, &pgproto3.Sync{}},
		{&pgproto3.Query{String: "SHOW TABLES; SET 'a' = 'b'; BEGIN"}, &pgproto3.Terminate{}},
		{&pgproto3.Parse{Query: "SHOW server_version_num"}, &pgproto3.Describe{ObjectType: 'S'},
			&pgproto3.Bind{}, &pgproto3.Execute{}, &pgproto3.Execute{}, &pgproto3.Sync{}},
	}
	for _, s := range seeds {
		f.Add(encode(f, s...))
	}
	f.Fuzz(func(t *testing.T, input []byte) {
		fuzzOnce.Do(func() {
			var err error
			fuzzSrv, err = New(Config{MaxMessageSize: 1 << 16})
			if err != nil {
				t.Fatal(err)
			}
		})
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = fuzzSrv.serveConn(fakeConn{bytes.NewReader(append(append([]byte{}, su...), input...))})
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("session hangs on input %q", input)
		}
	})
}
