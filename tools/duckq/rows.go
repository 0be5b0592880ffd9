package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"time"

	"github.com/duckdb/duckdb-go/v2"
	"github.com/google/uuid"
)

// printRows runs query and writes its rows to w as JSON lines.
func printRows(ctx context.Context, db *sql.DB, query string, w io.Writer) error {
	rows, err := db.QueryContext(ctx, query)
	if err != nil {
		return fmt.Errorf("query: %w", err)
	}
	defer rows.Close()
	types, err := rows.ColumnTypes()
	if err != nil {
		return fmt.Errorf("columns: %w", err)
	}
	keys := make([][]byte, len(types))
	for i, t := range types {
		if keys[i], err = json.Marshal(t.Name()); err != nil {
			return fmt.Errorf("column %d: %w", i, err)
		}
	}
	vals := make([]any, len(types))
	ptrs := make([]any, len(types))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	out := bufio.NewWriter(w)
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return fmt.Errorf("scan: %w", err)
		}
		out.WriteByte('{')
		for i, v := range vals {
			if i > 0 {
				out.WriteByte(',')
			}
			out.Write(keys[i])
			out.WriteByte(':')
			b, err := json.Marshal(jsonValue(v, types[i].DatabaseTypeName()))
			if err != nil {
				return fmt.Errorf("column %s: %w", types[i].Name(), err)
			}
			out.Write(b)
		}
		out.WriteString("}\n")
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("rows: %w", err)
	}
	return out.Flush()
}

// jsonValue turns a value scanned from DuckDB into one encoding/json prints
// in the stable form the package comment promises. dbType is the column's
// type name; it tells a DATE from a TIMESTAMP, which both scan as time.Time.
func jsonValue(v any, dbType string) any {
	switch v := v.(type) {
	case time.Time:
		switch dbType {
		case "DATE":
			return v.UTC().Format(time.DateOnly)
		case "TIME", "TIMETZ":
			return v.UTC().Format("15:04:05.999999")
		}
		return v.UTC().Format(time.RFC3339Nano)
	case duckdb.OrderedMap:
		// Printed with its keys sorted, so that equal maps print equal
		// lines whatever order they were written in; JSON keys are
		// strings, so other keys print formatted.
		keys, xs := v.Keys(), v.Values()
		m := make(map[string]any, len(keys))
		for i, k := range keys {
			m[fmt.Sprint(jsonValue(k, ""))] = jsonValue(xs[i], "")
		}
		return m
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, x := range v {
			m[k] = jsonValue(x, "")
		}
		return m
	case []any:
		l := make([]any, len(v))
		for i, x := range v {
			l[i] = jsonValue(x, "")
		}
		return l
	case *big.Int:
		return json.Number(v.String())
	case duckdb.Decimal:
		return json.Number(v.String())
	case duckdb.UUID:
		return v.String()
	case duckdb.Interval:
		return map[string]any{"months": v.Months, "days": v.Days, "micros": v.Micros}
	case []byte:
		if dbType == "UUID" {
			if u, err := uuid.FromBytes(v); err == nil {
				return u.String()
			}
		}
		return v // a BLOB: base64, as encoding/json prints bytes
	}
	return v
}
