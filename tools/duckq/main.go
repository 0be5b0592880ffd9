// Command duckq runs SQL on DuckDB and prints each row of the last
// statement's result as one JSON object per line, its keys in column order.
// It is a test tool: the e2e suite and the benchmark run the queries of
// docs/sql.md with it. It lives in its own Go module because DuckDB is C++
// (CGO), and the product's module stays pure Go.
//
//	duckq [-db FILE] [SQL ...]    the arguments, joined by spaces, are the SQL
//	duckq [-db FILE] < query.sql  with no argument, stdin is
//
// The SQL may hold several statements separated by ";"; only the last one's
// rows are printed. Values print as JSON of stable types: timestamps as
// RFC 3339 in UTC (seconds, and fractions only when not zero), dates as
// YYYY-MM-DD, integers and floats as numbers, maps as objects and lists as
// arrays. -db names a database file; the default is an in-memory database.
package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	_ "github.com/duckdb/duckdb-go/v2"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	var usage usageError
	switch {
	case errors.As(err, &usage):
		fmt.Fprintln(os.Stderr, "duckq:", err)
		os.Exit(2)
	case err != nil:
		fmt.Fprintln(os.Stderr, "duckq:", err)
		os.Exit(1)
	}
}

// version and duckdbGo are stamped in by build.sh: a hash of this module's
// source and the github.com/duckdb/duckdb-go/v2 version it was built with.
var version, duckdbGo = "dev", "unknown"

// printVersion prints "duckq <hash> duckdb-go <version> duckdb <version>", the
// last asked of the linked library itself.
func printVersion(ctx context.Context, w io.Writer) error {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return fmt.Errorf("open: %w", err)
	}
	defer db.Close()
	var lib string
	if err := db.QueryRowContext(ctx, "SELECT version()").Scan(&lib); err != nil {
		return fmt.Errorf("version(): %w", err)
	}
	_, err = fmt.Fprintf(w, "duckq %s duckdb-go %s duckdb %s\n", version, duckdbGo, lib)
	return err
}

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("duckq", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dbPath := fs.String("db", "", "database file (default: in memory)")
	showVersion := fs.Bool("version", false, "print duckq's source hash, the binding's and DuckDB's versions, and exit")
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	if *showVersion {
		return printVersion(ctx, stdout)
	}
	query := strings.Join(fs.Args(), " ")
	if fs.NArg() == 0 {
		b, err := io.ReadAll(stdin)
		if err != nil {
			return fmt.Errorf("read stdin: %w", err)
		}
		query = string(b)
	}
	if strings.TrimSpace(query) == "" {
		return usageError{"no SQL: give it as arguments or on stdin"}
	}
	db, err := sql.Open("duckdb", *dbPath)
	if err != nil {
		return fmt.Errorf("open %q: %w", *dbPath, err)
	}
	defer db.Close()
	return printRows(ctx, db, query, stdout)
}
