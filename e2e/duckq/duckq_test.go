package duckq

import (
	"strings"
	"testing"
	"time"
)

func TestBlocks(t *testing.T) {
	page := "# Title\n\n```sql\nSELECT 0;\n```\n\n<!-- sql: first -->\n```sql\nSET VARIABLE x = 1;\nSELECT getvariable('x');\n```\ntext\n<!-- sql: second-one -->\n```sql\nSELECT 2;\n```\n"
	blocks, err := Blocks([]byte(page))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"first":      "SET VARIABLE x = 1;\nSELECT getvariable('x');\n",
		"second-one": "SELECT 2;\n",
	}
	if len(blocks) != len(want) {
		t.Fatalf("blocks %v, want %v", blocks, want)
	}
	for name, sql := range want {
		if blocks[name] != sql {
			t.Errorf("block %s = %q, want %q", name, blocks[name], sql)
		}
	}
	for _, bad := range []string{
		"<!-- sql: a -->\ntext\n```sql\nSELECT 1;\n```\n",
		"<!-- sql: a -->\n```sql\nSELECT 1;\n",
		"<!-- sql: a -->\n```sql\nSELECT 1;\n```\n<!-- sql: a -->\n```sql\nSELECT 1;\n```\n",
	} {
		if _, err := Blocks([]byte(bad)); err == nil {
			t.Errorf("Blocks(%q) succeeded", bad)
		}
	}
}

func TestBind(t *testing.T) {
	block := "SET VARIABLE node = 'worker-1';\nSET VARIABLE instant = now();\nSELECT getvariable('node'), getvariable('instant');\n"
	at := time.Date(2026, 12, 6, 14, 2, 3, 0, time.FixedZone("x", 3600))
	got, err := Bind(block, map[string]string{"node": Quote("it's"), "instant": Timestamp(at)})
	if err != nil {
		t.Fatal(err)
	}
	want := "SET VARIABLE node = 'it''s';\nSET VARIABLE instant = TIMESTAMPTZ '2026-12-06 13:02:03+00';\nSELECT getvariable('node'), getvariable('instant');\n"
	if got != want {
		t.Errorf("Bind = %q, want %q", got, want)
	}
	for _, vars := range []map[string]string{
		{"node": "'a'"},
		{"node": "'a'", "instant": "now()", "other": "1"},
	} {
		if _, err := Bind(block, vars); err == nil || !strings.Contains(err.Error(), "binding") {
			t.Errorf("Bind with %v: %v, want an error", vars, err)
		}
	}
}
