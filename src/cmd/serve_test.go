package main

import (
	"bytes"
	"errors"
	"testing"
)

func TestParseServeFlags(t *testing.T) {
	ok := []struct {
		args []string
		addr string
		ns   string
	}{
		{[]string{"--addr", ":8080"}, ":8080", "default"},
		{[]string{"--addr=127.0.0.1:0", "--cm-namespace", "hist", "--context", "prod"}, "127.0.0.1:0", "hist"},
		{[]string{"-addr", "[::1]:8080"}, "[::1]:8080", "default"},
		{[]string{"--addr", "localhost:8080"}, "localhost:8080", "default"},
	}
	for _, tt := range ok {
		c, err := parseServeFlags(tt.args, &bytes.Buffer{})
		if err != nil {
			t.Errorf("%q: %v", tt.args, err)
			continue
		}
		if c.addr != tt.addr || c.kube.cmNamespace != tt.ns {
			t.Errorf("%q: addr %q ns %q", tt.args, c.addr, c.kube.cmNamespace)
		}
	}
	bad := []struct {
		args []string
		want string
	}{
		{nil, "ashiato serve needs --addr, e.g. --addr 127.0.0.1:8080 (this machine only) or --addr :8080 (every interface)"},
		{[]string{"--addr", "8080"}, `invalid --addr "8080": want HOST:PORT or :PORT`},
		{[]string{"--addr", ":http-alt"}, `invalid --addr ":http-alt": port "http-alt" is not a number from 0 to 65535`},
		{[]string{"--addr", ":70000"}, `invalid --addr ":70000": port "70000" is not a number from 0 to 65535`},
		{[]string{"--addr", "bad_host!:80"}, `invalid --addr "bad_host!:80": "bad_host!" is neither an IP address nor a host name`},
		{[]string{"--addr", ":8080", "--cm-namespace", "Hist"}, `invalid --cm-namespace "Hist": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`},
		{[]string{"--addr", ":8080", "extra"}, `unexpected argument "extra" (see ashiato serve --help)`},
		{[]string{"--addr", ":8080", "--oneshot"}, "flag provided but not defined: -oneshot"},
		{[]string{"--addr", ":8080", "--log-level", "loud"}, `invalid --log-level "loud": want debug, info, warn or error`},
	}
	for _, tt := range bad {
		_, err := parseServeFlags(tt.args, &bytes.Buffer{})
		var usage usageError
		if !errors.As(err, &usage) {
			t.Errorf("%q: %v, want a usage error (exit 2)", tt.args, err)
			continue
		}
		if err.Error() != tt.want {
			t.Errorf("%q:\n got %s\nwant %s", tt.args, err, tt.want)
		}
	}
}

func TestServeHelp(t *testing.T) {
	var out bytes.Buffer
	if err := run(t.Context(), []string{"serve", "--help"}, &bytes.Buffer{}, &out); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(out.Bytes(), []byte("--addr is required")) {
		t.Errorf("help:\n%s", out.String())
	}
}
