// Command ashiato records where every pod runs: it prints one JSON line per pod
// placement on stdout and, with --store-in-cm, keeps the history in hourly
// ConfigMaps. See README.md.
//
// main only turns signals into a context and run's error into an exit code;
// run parses flags, validates, builds the clients and wires the pipeline.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// Exit codes.
const (
	exitOK    = 0
	exitError = 1 // the run failed
	exitUsage = 2 // bad flags, selector, namespace or kubeconfig: nothing was done
)

func main() {
	setGCDefaults(os.Getenv)
	ctx := signalContext()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "ashiato: %v\n", err)
		var usage usageError
		if errors.As(err, &usage) {
			os.Exit(exitUsage)
		}
		os.Exit(exitError)
	}
	os.Exit(exitOK)
}

// signalContext is cancelled by the first SIGINT or SIGTERM, which stops the
// source and lets what was read drain to stdout and the store. A second signal
// exits at once, for an operator who does not want to wait.
func signalContext() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ch
		cancel()
		<-ch
		fmt.Fprintln(os.Stderr, "ashiato: second signal, exiting without draining")
		os.Exit(exitError)
	}()
	return ctx
}
