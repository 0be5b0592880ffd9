// Package usage marks the errors that are the user's to fix: a bad flag,
// selector, namespace or kubeconfig. The command exits 2 on them, and
// nothing has been done yet.
package usage

import (
	"errors"
	"fmt"
	"strings"
)

// Error is a problem with what the user asked for.
type Error struct{ Err error }

func (e Error) Error() string { return e.Err.Error() }
func (e Error) Unwrap() error { return e.Err }

// Errorf is a usage error, formatted as fmt.Errorf (so %w wraps).
func Errorf(format string, args ...any) error { return Error{fmt.Errorf(format, args...)} }

// Wrap marks err as the user's to fix; nil stays nil.
func Wrap(err error) error {
	if err == nil || Is(err) {
		return err
	}
	return Error{err}
}

// Is reports whether err is, or wraps, a usage error.
func Is(err error) bool {
	var u Error
	return errors.As(err, &u)
}

// FirstLine keeps an error to its first line (flag and client-go errors may
// carry more).
func FirstLine(err error) error {
	msg, _, _ := strings.Cut(err.Error(), "\n")
	return errors.New(msg)
}
