package controlplane

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pod-ashiato/ashiato/e2e/proclog"
)

// These tests need no binaries: they cover what Start relies on before any process runs.

func TestPKI(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pki")
	p, err := loadOrCreatePKI(dir)
	if err != nil {
		t.Fatal(err)
	}
	pool := func(file string) *x509.CertPool {
		b, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		cp := x509.NewCertPool()
		if !cp.AppendCertsFromPEM(b) {
			t.Fatalf("%s holds no certificate", file)
		}
		return cp
	}
	leaf := func(certFile, keyFile string) *x509.Certificate {
		pair, err := tls.LoadX509KeyPair(filepath.Join(dir, certFile), filepath.Join(dir, keyFile))
		if err != nil {
			t.Fatal(err)
		}
		c, err := x509.ParseCertificate(pair.Certificate[0])
		if err != nil {
			t.Fatal(err)
		}
		return c
	}

	serving := leaf(servingCertFile, servingKeyFile)
	for _, host := range []string{"127.0.0.1", "localhost", "kubernetes.default.svc"} {
		if _, err := serving.Verify(x509.VerifyOptions{DNSName: host, Roots: pool(servingCAFile)}); err != nil {
			t.Errorf("serving cert for %s: %v", host, err)
		}
	}
	admin := leaf(adminCertFile, adminKeyFile)
	if _, err := admin.Verify(x509.VerifyOptions{Roots: pool(clientCAFile), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("admin cert: %v", err)
	}
	if got := admin.Subject.Organization; len(got) != 1 || got[0] != "system:masters" {
		t.Errorf("admin organization = %v, want system:masters", got)
	}
	if _, err := admin.Verify(x509.VerifyOptions{Roots: pool(servingCAFile), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err == nil {
		t.Error("admin cert verifies against the serving CA; the two CAs should be distinct")
	}
	b, err := os.ReadFile(filepath.Join(dir, saKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		t.Fatal("sa.key is not PEM")
	}
	if _, err := x509.ParsePKCS1PrivateKey(block.Bytes); err != nil {
		t.Errorf("sa.key: %v", err)
	}

	// A second call reuses the PKI, so kubeconfigs handed out earlier stay valid.
	again, err := loadOrCreatePKI(dir)
	if err != nil {
		t.Fatal(err)
	}
	if string(again.servingCA) != string(p.servingCA) || string(again.adminCert) != string(p.adminCert) {
		t.Error("PKI was regenerated instead of reused")
	}
}

func TestProcStat(t *testing.T) {
	state, ticks, err := procStat(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if state == 'Z' || ticks == 0 {
		t.Fatalf("procStat(self) = %c %d", state, ticks)
	}
	self := &process{Name: "self", PID: os.Getpid(), StartTicks: ticks}
	if !self.alive() {
		t.Error("this process is not alive")
	}
	self.StartTicks++
	if self.alive() {
		t.Error("a pid with another start time counts as alive")
	}
}

func TestProcessStopAndTail(t *testing.T) {
	dir := t.TempDir()
	// A process that ignores SIGTERM must still be stopped, by SIGKILL.
	p := &process{Name: "sleeper", Path: "/bin/sh", Args: []string{"-c", `trap "" TERM; echo started; while :; do sleep 0.1; done`}, Log: filepath.Join(dir, "sleeper.log")}
	if err := p.start(dir, false); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for proclog.Size(p.Log) == 0 || !strings.Contains(proclog.Tail(p.Log, 0), "\nstarted") {
		if time.Now().After(deadline) {
			t.Fatalf("no output: %s", proclog.Tail(p.Log, 0))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !p.alive() {
		t.Fatalf("died early: %v\n%s", p.exitErr(), proclog.Tail(p.Log, 0))
	}
	start := time.Now()
	if err := p.stop(300 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if p.alive() {
		t.Fatal("still alive after stop")
	}
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("stopped after %v, before the SIGTERM grace ran out: %v\n%s", d, p.exitErr(), proclog.Tail(p.Log, 0))
	}
}

func TestFreePort(t *testing.T) {
	seen := map[int]bool{}
	for range 20 {
		p, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		if seen[p] {
			t.Fatalf("port %d handed out twice", p)
		}
		seen[p] = true
	}
}
