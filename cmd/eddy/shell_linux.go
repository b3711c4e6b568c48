//go:build linux

package main

import (
	"context"
	"io"
	"os"
	"syscall"
	"unsafe"
)

// keyboard reads a terminal in raw mode (no line buffering, echo or
// signal keys: the line editor draws the line and Ctrl-C is a key) from
// one goroutine, so keys typed while a statement runs are seen: Ctrl-C
// cancels the statement and the others are kept for the next line.
type keyboard struct {
	f       *os.File
	saved   syscall.Termios
	keys    chan byte
	pending []byte
}

func termios(fd uintptr, req uintptr, t *syscall.Termios) error {
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, fd, req, uintptr(unsafe.Pointer(t))); errno != 0 {
		return errno
	}
	return nil
}

// openKeyboard puts the terminal f in raw mode; it returns nil when f is
// not a terminal.
func openKeyboard(f *os.File) (*keyboard, error) {
	kb := &keyboard{f: f, keys: make(chan byte, 4096)}
	if termios(f.Fd(), syscall.TCGETS, &kb.saved) != nil {
		return nil, nil
	}
	raw := kb.saved
	raw.Lflag &^= syscall.ICANON | syscall.ECHO | syscall.ISIG | syscall.IEXTEN
	raw.Iflag &^= syscall.IXON | syscall.ICRNL
	raw.Cc[syscall.VMIN], raw.Cc[syscall.VTIME] = 1, 0
	if err := termios(f.Fd(), syscall.TCSETS, &raw); err != nil {
		return nil, err
	}
	go func() {
		defer close(kb.keys)
		var buf [256]byte
		for {
			n, err := f.Read(buf[:])
			for _, b := range buf[:n] {
				kb.keys <- b
			}
			if err != nil {
				return
			}
		}
	}()
	return kb, nil
}

// close restores the terminal's mode.
func (kb *keyboard) close() { _ = termios(kb.f.Fd(), syscall.TCSETS, &kb.saved) }

// next returns the next key byte, io.EOF once the terminal is gone.
func (kb *keyboard) next() (byte, error) {
	if len(kb.pending) > 0 {
		b := kb.pending[0]
		kb.pending = kb.pending[1:]
		return b, nil
	}
	b, ok := <-kb.keys
	if !ok {
		return 0, io.EOF
	}
	return b, nil
}

// interruptible runs fn, cancelling its context when Ctrl-C is typed.
func (kb *keyboard) interruptible(ctx context.Context, fn func(context.Context) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- fn(ctx) }()
	keys := kb.keys
	for {
		select {
		case err := <-done:
			return err
		case b, ok := <-keys:
			switch {
			case !ok:
				keys = nil
			case b == 3:
				cancel()
			default:
				kb.pending = append(kb.pending, b)
			}
		}
	}
}
