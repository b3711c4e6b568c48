// Package server will serve Eddy over the PostgreSQL wire protocol and an
// HTTP API (`eddy server`), with one table.Environment per connection. It
// holds no code yet: the foundation ships the embedded, script-driven path
// (`eddy run`) first.
package server
