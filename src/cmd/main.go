// Command ashiato records where every pod runs: it prints one JSON line per pod
// placement on stdout and, with --store-in-cm, keeps the history in hourly
// ConfigMaps. See README.md.
//
// main only turns signals into a context and run's error into an exit code;
// run parses flags, validates, builds the clients and wires the packages
// that do the work. Nothing below this package knows about flags.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/pod-ashiato/ashiato/src/heap"
	"github.com/pod-ashiato/ashiato/src/usage"
)

// Exit codes.
const (
	exitOK    = 0
	exitError = 1 // the run failed
	exitUsage = 2 // bad flags, selector, namespace or kubeconfig: nothing was done
)

// usageError and usagef are package usage's, under the names the tests use.
type usageError = usage.Error

var usagef = usage.Errorf

func main() {
	heap.SetGCDefaults(os.Getenv)
	ctx := signalContext()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "ashiato: %v\n", err)
		if usage.Is(err) {
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
