package main

import (
	"context"
	"errors"
	"io"
	"time"
)

// errParsed stops a command once its config is validated (app.parsed).
var errParsed = errors.New("parsed")

// parseCommand runs args through the command tree up to the validated
// config of the command they name, without running it. Help goes to
// stderr and returns a nil config.
func parseCommand[T any](args []string, now time.Time, stderr io.Writer) (T, error) {
	var got T
	a := &app{stdout: io.Discard, stderr: stderr, now: func() time.Time { return now }}
	a.parsed = func(cfg any) error {
		got = cfg.(T)
		return errParsed
	}
	err := a.execute(context.Background(), args)
	if errors.Is(err, errParsed) {
		err = nil
	}
	return got, err
}

func parseHistoryFlags(args []string, now time.Time, stderr io.Writer) (*historyConfig, error) {
	return parseCommand[*historyConfig](append([]string{"history"}, args...), now, stderr)
}

func parseIncidentFlags(args []string, now time.Time, stderr io.Writer) (*incidentConfig, error) {
	return parseCommand[*incidentConfig](append([]string{"history"}, args...), now, stderr)
}

func parseServeFlags(args []string, stderr io.Writer) (*serveConfig, error) {
	return parseCommand[*serveConfig](append([]string{"serve"}, args...), time.Now(), stderr)
}

func parseStoreCopyFlags(args []string, stderr io.Writer) (*storeCopyConfig, error) {
	return parseCommand[*storeCopyConfig](append([]string{"store"}, args...), time.Now(), stderr)
}
