package server

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgproto3"
)

// scramIterations is the PBKDF2 iteration count PostgreSQL uses.
const scramIterations = 4096

// authenticate runs the configured authentication exchange. With no users
// configured it trusts loopback clients only.
func (ss *session) authenticate() error {
	s := ss.srv
	if len(s.cfg.Users) == 0 {
		if !isLoopback(ss.nc.RemoteAddr()) {
			return &fatalError{"28000", "no users are configured: only loopback connections are trusted (configure users to accept others)"}
		}
		return nil
	}
	password, known := s.cfg.Users[ss.user]
	failed := &fatalError{"28P01", fmt.Sprintf("password authentication failed for user \"%s\"", ss.user)}
	var ok bool
	var err error
	switch s.cfg.Auth {
	case AuthCleartext:
		ok, err = ss.authCleartext(password)
	case AuthMD5:
		ok, err = ss.authMD5(password)
	default:
		ok, err = ss.authSCRAM(password)
	}
	if err != nil {
		return err
	}
	if !ok || !known {
		return failed
	}
	return nil
}

func isLoopback(a net.Addr) bool {
	switch v := a.(type) {
	case *net.TCPAddr:
		return v.IP.IsLoopback()
	case *net.UnixAddr:
		return true
	}
	return false
}

// password reads a PasswordMessage.
func (ss *session) password() (string, error) {
	if err := ss.be.Flush(); err != nil {
		return "", err
	}
	msg, err := ss.be.Receive()
	if err != nil {
		return "", err
	}
	pm, ok := msg.(*pgproto3.PasswordMessage)
	if !ok {
		return "", &fatalError{"08P01", fmt.Sprintf("expected a password response, got %T", msg)}
	}
	return pm.Password, nil
}

func (ss *session) authCleartext(password string) (bool, error) {
	ss.be.Send(&pgproto3.AuthenticationCleartextPassword{})
	_ = ss.be.SetAuthType(pgproto3.AuthTypeCleartextPassword)
	got, err := ss.password()
	if err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(password)) == 1, nil
}

func (ss *session) authMD5(password string) (bool, error) {
	var salt [4]byte
	_, _ = rand.Read(salt[:])
	ss.be.Send(&pgproto3.AuthenticationMD5Password{Salt: salt})
	_ = ss.be.SetAuthType(pgproto3.AuthTypeMD5Password)
	got, err := ss.password()
	if err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(md5Password(ss.user, password, salt))) == 1, nil
}

// md5Password is what a client answers to an MD5 challenge:
// "md5" + md5hex(md5hex(password + user) + salt).
func md5Password(user, password string, salt [4]byte) string {
	inner := md5.Sum([]byte(password + user))
	outer := md5.Sum(append([]byte(hex.EncodeToString(inner[:])), salt[:]...))
	return "md5" + hex.EncodeToString(outer[:])
}

// authSCRAM runs SCRAM-SHA-256 (RFC 5802, RFC 7677) without channel
// binding. The user name inside the exchange is ignored, as PostgreSQL
// does: the startup message names the user.
func (ss *session) authSCRAM(password string) (bool, error) {
	bad := func(what string) error { return &fatalError{"08P01", "malformed SCRAM message: " + what} }
	ss.be.Send(&pgproto3.AuthenticationSASL{AuthMechanisms: []string{"SCRAM-SHA-256"}})
	_ = ss.be.SetAuthType(pgproto3.AuthTypeSASL)
	if err := ss.be.Flush(); err != nil {
		return false, err
	}
	msg, err := ss.be.Receive()
	if err != nil {
		return false, err
	}
	first, ok := msg.(*pgproto3.SASLInitialResponse)
	if !ok || first.AuthMechanism != "SCRAM-SHA-256" {
		return false, &fatalError{"28000", "client selected an invalid SASL authentication mechanism"}
	}
	// client-first-message = gs2-header client-first-message-bare, with
	// gs2-header "n,," or "y,," (no channel binding) and the bare part
	// "n=user,r=nonce[,extensions]".
	cf := string(first.Data)
	var gs2 string
	switch {
	case strings.HasPrefix(cf, "n,,"), strings.HasPrefix(cf, "y,,"):
		gs2 = cf[:3]
	case strings.HasPrefix(cf, "p="):
		return false, &fatalError{"28000", "channel binding is not supported"}
	default:
		return false, bad("client-first-message")
	}
	bare := cf[3:]
	var clientNonce string
	for _, attr := range strings.Split(bare, ",") {
		if v, ok := strings.CutPrefix(attr, "r="); ok {
			clientNonce = v
		}
	}
	if clientNonce == "" {
		return false, bad("client nonce")
	}
	var salt, snonce [18]byte
	_, _ = rand.Read(salt[:])
	_, _ = rand.Read(snonce[:])
	nonce := clientNonce + base64.StdEncoding.EncodeToString(snonce[:])
	serverFirst := fmt.Sprintf("r=%s,s=%s,i=%d", nonce, base64.StdEncoding.EncodeToString(salt[:]), scramIterations)
	ss.be.Send(&pgproto3.AuthenticationSASLContinue{Data: []byte(serverFirst)})
	_ = ss.be.SetAuthType(pgproto3.AuthTypeSASLContinue)
	if err := ss.be.Flush(); err != nil {
		return false, err
	}
	msg, err = ss.be.Receive()
	if err != nil {
		return false, err
	}
	final, ok := msg.(*pgproto3.SASLResponse)
	if !ok {
		return false, bad("expected SASLResponse")
	}
	// client-final-message = "c=" base64(gs2-header) ",r=" nonce ",p=" proof
	cfinal := string(final.Data)
	i := strings.LastIndex(cfinal, ",p=")
	if i < 0 {
		return false, bad("client proof")
	}
	withoutProof, proofB64 := cfinal[:i], cfinal[i+3:]
	var gotNonce, binding string
	for _, attr := range strings.Split(withoutProof, ",") {
		if v, ok := strings.CutPrefix(attr, "r="); ok {
			gotNonce = v
		} else if v, ok := strings.CutPrefix(attr, "c="); ok {
			binding = v
		}
	}
	if gotNonce != nonce || binding != base64.StdEncoding.EncodeToString([]byte(gs2)) {
		return false, bad("nonce or channel binding mismatch")
	}
	proof, err := base64.StdEncoding.DecodeString(proofB64)
	if err != nil || len(proof) != sha256.Size {
		return false, bad("client proof")
	}
	salted, err := pbkdf2.Key(sha256.New, password, salt[:], scramIterations, sha256.Size)
	if err != nil {
		return false, err
	}
	clientKey := hmacSHA256(salted, "Client Key")
	storedKey := sha256.Sum256(clientKey)
	authMessage := bare + "," + serverFirst + "," + withoutProof
	clientSig := hmacSHA256(storedKey[:], authMessage)
	recovered := make([]byte, sha256.Size)
	for i := range recovered {
		recovered[i] = proof[i] ^ clientSig[i]
	}
	check := sha256.Sum256(recovered)
	if subtle.ConstantTimeCompare(check[:], storedKey[:]) != 1 {
		return false, nil
	}
	serverSig := hmacSHA256(hmacSHA256(salted, "Server Key"), authMessage)
	ss.be.Send(&pgproto3.AuthenticationSASLFinal{Data: []byte("v=" + base64.StdEncoding.EncodeToString(serverSig))})
	_ = ss.be.SetAuthType(pgproto3.AuthTypeOk)
	return true, nil
}

func hmacSHA256(key []byte, msg string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(msg))
	return h.Sum(nil)
}
