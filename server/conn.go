package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/eddysql/eddy/catalog"
	"github.com/eddysql/eddy/table"
)

// startupTimeout bounds the time a client has to finish startup and
// authentication (PostgreSQL's authentication_timeout is 60 s).
const startupTimeout = 60 * time.Second

// session is one client connection: its protocol state and its SQL session.
type session struct {
	srv     *Server
	nc      net.Conn
	be      *pgproto3.Backend
	env     *table.Environment
	user    string
	db      string
	appName string

	pid    uint32
	secret uint32

	// txStatus is the ReadyForQuery status: 'I' idle, 'T' in a
	// transaction block, 'E' in a failed one.
	txStatus byte

	// Extended protocol state.
	stmts   map[string]*prepared
	portals map[string]*portal
	// cursors are the SQL cursors opened by DECLARE, by name.
	cursors map[string]*sqlCursor
	// openSet is the text of a statement set begun by an earlier Query
	// whose END has not arrived yet (see stmtset.go).
	openSet string
	// skipToSync is set by an error in the extended protocol: messages are
	// discarded until the next Sync.
	skipToSync bool

	// replaying is set for the session that replays the data directory's
	// statements at start, which are not recorded again.
	replaying bool

	// cancelMu guards cancel, the cancel function of the running statement.
	cancelMu sync.Mutex
	cancel   context.CancelFunc
	canceled bool
}

// fatalError ends a connection after telling the client why.
type fatalError struct {
	code, msg string
}

func (e *fatalError) Error() string { return e.msg }

// handleConn serves one connection. A panic in it is a bug in Eddy; it is
// logged and closes only this connection.
func (s *Server) handleConn(nc net.Conn) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("pgwire: panic serving connection", "remote", nc.RemoteAddr(), "panic", r, "stack", string(debug.Stack()))
		}
		nc.Close()
	}()
	if err := s.serveConn(nc); err != nil && !isDisconnect(err) {
		s.log.Info("pgwire: connection closed", "remote", nc.RemoteAddr(), "err", err)
	}
}

func isDisconnect(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed)
}

// serveConn runs the protocol on nc until the client terminates, the
// connection fails or the server closes. It returns why it ended.
func (s *Server) serveConn(nc net.Conn) error {
	ss := &session{srv: s, nc: nc, txStatus: 'I', stmts: map[string]*prepared{}, portals: map[string]*portal{}, cursors: map[string]*sqlCursor{}}
	ss.be = pgproto3.NewBackend(nc, nc)
	ss.be.SetMaxBodyLen(s.cfg.MaxMessageSize)
	_ = nc.SetDeadline(time.Now().Add(startupTimeout))
	if done, err := ss.startup(); done || err != nil {
		var fe *fatalError
		if errors.As(err, &fe) {
			ss.be.Send(&pgproto3.ErrorResponse{Severity: "FATAL", SeverityUnlocalized: "FATAL", Code: fe.code, Message: fe.msg})
			_ = ss.be.Flush()
		}
		return err
	}
	_ = nc.SetDeadline(time.Time{})
	defer s.unregister(ss)
	defer ss.closeAll()
	return ss.loop()
}

// startup handles SSL and GSS negotiation, cancel requests, the startup
// message and authentication, then creates the SQL session and greets the
// client. done is true when the connection served its purpose (a cancel
// request).
func (ss *session) startup() (done bool, err error) {
	s := ss.srv
	for {
		msg, err := ss.be.ReceiveStartupMessage()
		if err != nil {
			return false, err
		}
		switch m := msg.(type) {
		case *pgproto3.SSLRequest:
			if s.cfg.TLS == nil {
				if _, err := ss.nc.Write([]byte{'N'}); err != nil {
					return false, err
				}
				continue
			}
			if _, err := ss.nc.Write([]byte{'S'}); err != nil {
				return false, err
			}
			tc := tls.Server(ss.nc, s.cfg.TLS)
			if err := tc.Handshake(); err != nil {
				return false, err
			}
			ss.nc = tc
			ss.be = pgproto3.NewBackend(tc, tc)
			ss.be.SetMaxBodyLen(s.cfg.MaxMessageSize)
		case *pgproto3.GSSEncRequest:
			if _, err := ss.nc.Write([]byte{'N'}); err != nil {
				return false, err
			}
		case *pgproto3.CancelRequest:
			s.cancelRequest(m.ProcessID, m.SecretKey)
			return true, nil
		case *pgproto3.StartupMessage:
			if m.ProtocolVersion != pgproto3.ProtocolVersion30 {
				return false, &fatalError{"0A000", fmt.Sprintf("unsupported frontend protocol %d.%d: server supports 3.0 to 3.0", m.ProtocolVersion>>16, m.ProtocolVersion&0xffff)}
			}
			return false, ss.login(m.Parameters)
		default:
			return false, &fatalError{"08P01", "unexpected startup message"}
		}
	}
}

func (ss *session) login(params map[string]string) error {
	s := ss.srv
	ss.user = params["user"]
	if ss.user == "" {
		ss.user = DefaultUser
	}
	ss.db = params["database"]
	if ss.db == "" {
		ss.db = ss.user
	}
	ss.appName = params["application_name"]
	if err := ss.authenticate(); err != nil {
		return err
	}
	config := map[string]string{}
	for k, v := range s.cfg.SessionConfig {
		config[k] = v
	}
	env, err := table.NewEnvironment(table.Settings{
		Cluster: s.cluster, Mem: s.cfg.Mem, Config: config, Catalogs: []catalog.Catalog{s.catalog},
		PostgresLiterals: true,
	})
	if err != nil {
		return &fatalError{"XX000", err.Error()}
	}
	ss.env = env
	// The startup database selects an Eddy database of the default
	// catalog when one has that name; the default name (and postgres,
	// which tools assume) select the default database.
	if ss.db != DefaultDatabase && ss.db != "postgres" && ss.db != ss.user {
		if err := env.Catalog().UseDatabase([]string{ss.db}); err != nil {
			return &fatalError{"3D000", fmt.Sprintf("database \"%s\" does not exist", ss.db)}
		}
	}
	if !s.register(ss) {
		return &fatalError{"57P01", "terminating connection due to administrator command"}
	}
	ss.be.Send(&pgproto3.AuthenticationOk{})
	for _, p := range ss.parameterStatus() {
		ss.be.Send(&pgproto3.ParameterStatus{Name: p[0], Value: p[1]})
	}
	ss.be.Send(&pgproto3.BackendKeyData{ProcessID: ss.pid, SecretKey: beUint32(ss.secret)})
	ss.be.Send(&pgproto3.ReadyForQuery{TxStatus: 'I'})
	return ss.be.Flush()
}

func beUint32(v uint32) []byte { return []byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)} }

// parameterStatus lists what PostgreSQL 15 reports at login, in its order.
func (ss *session) parameterStatus() [][2]string {
	return [][2]string{
		{"application_name", ss.appName},
		{"client_encoding", "UTF8"},
		{"DateStyle", "ISO, MDY"},
		{"default_transaction_read_only", "off"},
		{"in_hot_standby", "off"},
		{"integer_datetimes", "on"},
		{"IntervalStyle", "postgres"},
		{"is_superuser", "on"},
		{"server_encoding", "UTF8"},
		{"server_version", ServerVersion},
		{"session_authorization", ss.user},
		{"standard_conforming_strings", "on"},
		{"TimeZone", "UTC"},
	}
}

// loop reads and dispatches messages until the client leaves.
func (ss *session) loop() error {
	for {
		msg, err := ss.be.Receive()
		if err != nil {
			var tooBig *pgproto3.ExceededMaxBodyLenErr
			if errors.As(err, &tooBig) {
				ss.sendFatal("54000", fmt.Sprintf("message of %d bytes exceeds the maximum of %d", tooBig.ActualBodyLen, tooBig.MaxExpectedBodyLen))
				return err
			}
			if !isDisconnect(err) {
				ss.sendFatal("08P01", "invalid message: "+err.Error())
			}
			return err
		}
		if ss.skipToSync {
			switch msg.(type) {
			case *pgproto3.Sync:
				ss.skipToSync = false
			case *pgproto3.Terminate:
				return nil
			default:
				continue
			}
		}
		switch m := msg.(type) {
		case *pgproto3.Query:
			ss.simpleQuery(m.String)
		case *pgproto3.Parse:
			ss.extended(ss.parse(m), m.Query)
		case *pgproto3.Bind:
			ss.extended(ss.bind(m), ss.stmtSource(m.PreparedStatement))
		case *pgproto3.Describe:
			src := ss.stmtSource(m.Name)
			if m.ObjectType == 'P' {
				src = ss.portalSource(m.Name)
			}
			ss.extended(ss.describe(m), src)
		case *pgproto3.Execute:
			ss.extended(ss.execute(m), ss.portalSource(m.Portal))
		case *pgproto3.Close:
			ss.extended(ss.close(m), "")
		case *pgproto3.Sync:
			ss.sync()
		case *pgproto3.Flush:
		case *pgproto3.Terminate:
			return nil
		default:
			ss.sendFatal("08P01", fmt.Sprintf("unexpected message %T", msg))
			return fmt.Errorf("unexpected message %T", msg)
		}
		if err := ss.be.Flush(); err != nil {
			return err
		}
	}
}

func (ss *session) sendFatal(code, msg string) {
	ss.be.Send(&pgproto3.ErrorResponse{Severity: "FATAL", SeverityUnlocalized: "FATAL", Code: code, Message: msg})
	_ = ss.be.Flush()
}

// extended handles the outcome of an extended-protocol message: after an
// error the session discards messages until Sync.
func (ss *session) extended(err error, src string) {
	if err != nil {
		ss.sendError(err, src)
		ss.skipToSync = true
	}
}

// stmtSource and portalSource return the text error positions refer to.
func (ss *session) stmtSource(name string) string {
	if st := ss.stmts[name]; st != nil {
		return st.src
	}
	return ""
}

func (ss *session) portalSource(name string) string {
	if p := ss.portals[name]; p != nil {
		return p.stmt.src
	}
	return ""
}

func (ss *session) sync() {
	if ss.txStatus == 'I' {
		// Sync ends the implicit transaction, and with it the portals.
		ss.closePortals()
	}
	ss.be.Send(&pgproto3.ReadyForQuery{TxStatus: ss.txStatus})
}

// beginStatement returns the context a statement runs under: cancelled by
// a CancelRequest, by the server's Close, or by the statement's end.
func (ss *session) beginStatement() context.Context {
	ctx, cancel := context.WithCancel(ss.srv.ctx)
	ss.cancelMu.Lock()
	ss.cancel, ss.canceled = cancel, false
	ss.cancelMu.Unlock()
	return ctx
}

func (ss *session) endStatement() {
	ss.cancelMu.Lock()
	if ss.cancel != nil {
		ss.cancel()
	}
	ss.cancel = nil
	ss.cancelMu.Unlock()
}

// cancelStatement is what a CancelRequest does.
func (ss *session) cancelStatement() {
	ss.cancelMu.Lock()
	defer ss.cancelMu.Unlock()
	if ss.cancel != nil {
		ss.canceled = true
		ss.cancel()
	}
}

func (ss *session) wasCanceled() bool {
	ss.cancelMu.Lock()
	defer ss.cancelMu.Unlock()
	return ss.canceled
}

func (ss *session) closePortals() {
	for name, p := range ss.portals {
		p.close()
		delete(ss.portals, name)
	}
}

// closeAll releases everything the session holds when it ends.
func (ss *session) closeAll() {
	ss.endStatement()
	ss.closePortals()
	ss.closeCursors()
}

// transactionControl recognizes the transaction statements clients send
// around their work (BEGIN, COMMIT, ROLLBACK, SAVEPOINT…). Eddy has no
// transactions, so they only move the ReadyForQuery status, as PostgreSQL
// reports it; the tag is what PostgreSQL answers, "" if text is not one.
func transactionControl(text string) (tag string, status byte) {
	if strings.Contains(strings.TrimRight(text, "; \t\r\n"), ";") {
		return "", 0
	}
	words := strings.Fields(strings.ToUpper(strings.TrimRight(strings.TrimSpace(text), "; \t\r\n")))
	if len(words) == 0 {
		return "", 0
	}
	switch words[0] {
	case "BEGIN", "START":
		if words[0] == "START" && (len(words) < 2 || words[1] != "TRANSACTION") ||
			len(words) > 1 && words[1] == "STATEMENT" {
			return "", 0
		}
		return "BEGIN", 'T'
	case "COMMIT", "END":
		return "COMMIT", 'I'
	case "ROLLBACK", "ABORT":
		if len(words) > 1 && words[1] == "TO" || len(words) > 2 && words[2] == "TO" {
			return "ROLLBACK", 0
		}
		return "ROLLBACK", 'I'
	case "SAVEPOINT":
		return "SAVEPOINT", 0
	case "RELEASE":
		return "RELEASE", 0
	}
	return "", 0
}
