package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pod-ashiato/ashiato/src/usage"
)

func TestStoreExportFlags(t *testing.T) {
	now := time.Date(2026, 12, 6, 4, 30, 0, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		args    []string
		wantErr string // "" parses
		check   func(*testing.T, *storeExportConfig)
	}{
		{name: "folder, window", args: []string{"--since", "2026-12-01T00:00:00Z", "--until", "2h", "out"}, check: func(t *testing.T, c *storeExportConfig) {
			if c.dest.Dir != "out" || !c.since.Equal(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)) || !c.until.Equal(now.Add(-2*time.Hour)) {
				t.Errorf("got dest %+v since %s until %s", c.dest, c.since, c.until)
			}
		}},
		{name: "bucket, single dash", args: []string{"-format", "parquet", "s3://analytics/pod-ashiato"}, check: func(t *testing.T, c *storeExportConfig) {
			if c.dest.Bucket != "analytics" || c.dest.Prefix != "pod-ashiato" {
				t.Errorf("got dest %+v", c.dest)
			}
		}},
		{name: "no DEST", args: nil, wantErr: "store export takes one DEST"},
		{name: "two DESTs", args: []string{"a", "b"}, wantErr: "got 2 arguments"},
		{name: "format", args: []string{"--format", "csv", "out"}, wantErr: `invalid --format "csv": want parquet`},
		{name: "scheme", args: []string{"gs://bucket/x"}, wantErr: `scheme "gs"`},
		{name: "bucket name", args: []string{"s3://No_Such"}, wantErr: "invalid destination"},
		{name: "since", args: []string{"--since", "yesterday", "out"}, wantErr: `"--since" flag`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			c, err := parseCommand[*storeExportConfig](append([]string{"store", "export"}, tc.args...), now, &stderr)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.As(err, new(usage.Error)) {
					t.Fatalf("err = %v, want a usage error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
		})
	}
}
