// Package duckq runs SQL with duckq (tools/duckq: DuckDB behind a command
// that prints each row as a JSON line) for the SQL e2e test and the
// benchmark, and reads the SQL of docs/sql.md, so that the queries tested
// and measured are the ones the page shows.
//
// docs/sql.md marks each block a program runs with an HTML comment on the
// line before its fence:
//
//	<!-- sql: NAME -->
//	```sql
//	SET VARIABLE node = 'worker-1';
//	SELECT ... getvariable('node') ...
//	```
//
// A block's parameters are its `SET VARIABLE name = value;` lines; Bind
// gives them the caller's values and leaves the rest of the block as it is.
package duckq

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// EnvBin names the environment variable that points at the folder holding
// duckq (`bash tools/duckq/build.sh` prints it).
const EnvBin = "ASHIATO_DUCKQ_BIN"

// Bin is the duckq in $ASHIATO_DUCKQ_BIN, or an error that says how to get
// one.
func Bin() (string, error) {
	dir := os.Getenv(EnvBin)
	if dir == "" {
		return "", fmt.Errorf("%s is not set; build duckq with `bash tools/duckq/build.sh` and export %s=<the folder it prints>", EnvBin, EnvBin)
	}
	bin := filepath.Join(dir, "duckq")
	if _, err := os.Stat(bin); err != nil {
		return "", fmt.Errorf("no duckq in %s=%s (bash tools/duckq/build.sh builds it): %w", EnvBin, dir, err)
	}
	return bin, nil
}

// RequireBin is Bin for a test, which fails without it: a test that needs
// DuckDB must not pass by skipping.
func RequireBin(t testing.TB) string {
	t.Helper()
	bin, err := Bin()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// Row is one row of an answer: column name to value, as duckq prints it
// (timestamps RFC 3339 UTC strings, numbers json.Number).
type Row map[string]any

// Result is an answer and how long duckq took, start to exit.
type Result struct {
	Rows []Row
	Wall time.Duration
}

// Run runs sql with the duckq at bin in dir and returns the rows of its last
// statement.
func Run(ctx context.Context, bin, dir, sql string) (Result, error) {
	cmd := exec.CommandContext(ctx, bin)
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(sql)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		return Result{}, fmt.Errorf("duckq: %w: %s\nSQL:\n%s", err, strings.TrimSpace(stderr.String()), sql)
	}
	var rows []Row
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for sc.Scan() {
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.UseNumber()
		var r Row
		if err := dec.Decode(&r); err != nil {
			return Result{}, fmt.Errorf("duckq printed %q: %w", sc.Text(), err)
		}
		rows = append(rows, r)
	}
	return Result{Rows: rows, Wall: wall}, sc.Err()
}

// blockStart is the marker line before a block's fence.
var blockStart = regexp.MustCompile(`^<!-- sql: ([a-z0-9-]+) -->$`)

// Blocks are the marked SQL blocks of a Markdown page, by name.
func Blocks(markdown []byte) (map[string]string, error) {
	lines := strings.Split(string(markdown), "\n")
	blocks := map[string]string{}
	for i := 0; i < len(lines); i++ {
		m := blockStart.FindStringSubmatch(strings.TrimSpace(lines[i]))
		if m == nil {
			continue
		}
		name := m[1]
		if i+1 >= len(lines) || strings.TrimSpace(lines[i+1]) != "```sql" {
			return nil, fmt.Errorf("line %d: <!-- sql: %s --> is not followed by a ```sql fence", i+1, name)
		}
		end := slices.IndexFunc(lines[i+2:], func(l string) bool { return strings.TrimSpace(l) == "```" })
		if end < 0 {
			return nil, fmt.Errorf("line %d: the sql block %s has no closing fence", i+2, name)
		}
		if _, dup := blocks[name]; dup {
			return nil, fmt.Errorf("line %d: a second sql block named %s", i+1, name)
		}
		blocks[name] = strings.Join(lines[i+2:i+2+end], "\n") + "\n"
		i += 2 + end
	}
	return blocks, nil
}

// ReadBlocks is Blocks of the file at path.
func ReadBlocks(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	blocks, err := Blocks(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return blocks, nil
}

// setVariable is a block's parameter line.
var setVariable = regexp.MustCompile(`(?m)^SET VARIABLE ([a-z_]+) = (.*);$`)

// Bind gives a block's SET VARIABLE lines the values in vars (SQL
// expressions: quote strings with Quote, times with Timestamp). Every
// variable of the block must be given, and every one given must be in the
// block, so that a test cannot drift from the page.
func Bind(block string, vars map[string]string) (string, error) {
	seen := map[string]bool{}
	out := setVariable.ReplaceAllStringFunc(block, func(line string) string {
		name := setVariable.FindStringSubmatch(line)[1]
		seen[name] = true
		if v, ok := vars[name]; ok {
			return "SET VARIABLE " + name + " = " + v + ";"
		}
		return line
	})
	var missing, extra []string
	for name := range seen {
		if _, ok := vars[name]; !ok {
			missing = append(missing, name)
		}
	}
	for name := range vars {
		if !seen[name] {
			extra = append(extra, name)
		}
	}
	if len(missing) > 0 || len(extra) > 0 {
		slices.Sort(missing)
		slices.Sort(extra)
		return "", fmt.Errorf("binding the block's variables: not given %v, not in the block %v", missing, extra)
	}
	return out, nil
}

// Quote is s as an SQL string literal.
func Quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// Timestamp is t as a DuckDB TIMESTAMPTZ literal in UTC, to the second.
func Timestamp(t time.Time) string {
	return "TIMESTAMPTZ '" + t.UTC().Format("2006-01-02 15:04:05") + "+00'"
}
