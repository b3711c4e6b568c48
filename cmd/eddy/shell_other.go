//go:build !linux

package main

import (
	"context"
	"io"
	"os"
)

// keyboard is the raw-mode terminal reader of shell_linux.go; elsewhere
// the shell reads lines as they come, without editing or history keys.
type keyboard struct{}

func openKeyboard(*os.File) (*keyboard, error) { return nil, nil }

func (*keyboard) close() {}

func (*keyboard) next() (byte, error) { return 0, io.EOF }

func (*keyboard) interruptible(ctx context.Context, fn func(context.Context) error) error {
	return fn(ctx)
}
