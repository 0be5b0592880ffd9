package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		stdin string
		want  string
	}{
		{
			name: "stable types in column order",
			args: []string{`SELECT TIMESTAMP '2026-12-06 01:02:03' AS t, TIMESTAMP_MS '2026-12-06 01:02:03.5' AS ms,
				TIMESTAMPTZ '2026-12-06 02:02:03+01' AS tz, DATE '2026-12-06' AS d, 42 AS i, 2.5::DOUBLE AS f,
				1.50::DECIMAL(4,2) AS dec, NULL AS n, 'x' AS s, MAP {'b': '2', 'a': '1'} AS m, [3, 1] AS l,
				'00000000-0000-0000-0000-00000000002a'::UUID AS u`},
			want: `{"t":"2026-12-06T01:02:03Z","ms":"2026-12-06T01:02:03.5Z","tz":"2026-12-06T01:02:03Z","d":"2026-12-06","i":42,"f":2.5,"dec":1.5,"n":null,"s":"x","m":{"a":"1","b":"2"},"l":[3,1],"u":"00000000-0000-0000-0000-00000000002a"}` + "\n",
		},
		{
			name:  "stdin, several statements: the last one's rows",
			stdin: "SET VARIABLE k = 7;\nSELECT getvariable('k') + i AS v FROM range(2) t(i) ORDER BY v;\n",
			want:  "{\"v\":7}\n{\"v\":8}\n",
		},
		{
			name: "no rows, no output",
			args: []string{"SELECT 1 AS a WHERE false"},
			want: "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			if err := run(t.Context(), tt.args, strings.NewReader(tt.stdin), &out, &errOut); err != nil {
				t.Fatalf("run: %v (stderr %q)", err, errOut.String())
			}
			if out.String() != tt.want {
				t.Errorf("got\n%s\nwant\n%s", out.String(), tt.want)
			}
		})
	}
}

func TestRunErrors(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		stdin     string
		wantUsage bool
	}{
		{name: "no SQL", stdin: " \n", wantUsage: true},
		{name: "unknown flag", args: []string{"-x"}, wantUsage: true},
		{name: "bad SQL", args: []string{"SELEC 1"}},
		{name: "no such file", args: []string{"SELECT * FROM read_parquet('/nonexistent/*.parquet')"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := run(t.Context(), tt.args, strings.NewReader(tt.stdin), &out, &errOut)
			if err == nil {
				t.Fatalf("run succeeded, printed %q", out.String())
			}
			if _, usage := err.(usageError); usage != tt.wantUsage {
				t.Errorf("error %v: usage error %v, want %v", err, usage, tt.wantUsage)
			}
		})
	}
}
