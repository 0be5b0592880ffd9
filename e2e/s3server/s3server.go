// Package s3server starts a real S3-compatible server for the e2e suite and the
// benchmarks: SeaweedFS's `weed server -s3` (master, volume server, filer and
// S3 gateway in one process), built by tools/seaweedfs/build.sh.
//
// An in-memory fake cannot show what the S3 store relies on: conditional
// writes (If-Match, If-None-Match) decided under the server's per-object lock,
// SigV4, TLS with a private CA, and an outage. So tests run the real server:
//
//   - in a directory of the caller's: data/ (the volumes and the filer's
//     metadata), tls/ (a CA of its own and a serving certificate for
//     127.0.0.1), s3.json (one identity), weed.log (the server's output);
//   - on free 127.0.0.1 ports, the S3 port speaking TLS only;
//   - with a bucket created, and ready once an object can be written, read and
//     deleted (polled; no fixed sleep).
//
// Stop and Restart keep the directory, so the data survives an outage, as on
// a real server.
package s3server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/pod-ashiato/ashiato/e2e/controlplane"
	"github.com/pod-ashiato/ashiato/e2e/proclog"
)

// EnvBin names the environment variable that points at the folder holding
// `weed` (`bash tools/seaweedfs/build.sh` prints it).
const EnvBin = "ASHIATO_SEAWEEDFS_BIN"

// Defaults of Options.
const (
	DefaultBucket = "ashiato-test"
	DefaultRegion = "us-east-1"
)

// startTimeout bounds a start whose context has no deadline. A cold start
// takes a few seconds (weed starts its filer 1 s and its S3 gateway 2 s after
// the master); the margin is for a loaded CI machine.
const startTimeout = 2 * time.Minute

// stopGrace is how long weed gets to exit after SIGTERM before SIGKILL.
// Its volume server and gateway stop within a second or two; the master
// sometimes never exits on SIGTERM. What was acknowledged is in files by then
// (a SIGKILL keeps the page cache), so a longer wait buys nothing.
const stopGrace = 5 * time.Second

// Options says how to start the server.
type Options struct {
	// BinDir holds `weed`. Default: $ASHIATO_SEAWEEDFS_BIN.
	BinDir string
	// Bucket is created at start. Default DefaultBucket.
	Bucket string
	// Region is what clients sign for; SeaweedFS accepts any. Default DefaultRegion.
	Region string
	// AccessKey and SecretKey of the one identity (all actions on every
	// bucket). Default: random.
	AccessKey, SecretKey string
}

// Server is a running SeaweedFS with its S3 gateway.
type Server struct {
	// Endpoint is the S3 gateway, https://127.0.0.1:PORT.
	Endpoint string
	Region   string
	Bucket   string
	// CAFile is the PEM of the CA that signed the gateway's certificate: what
	// AWS_CA_BUNDLE names for a client.
	CAFile               string
	AccessKey, SecretKey string
	// Dir is the server's directory (see the package comment).
	Dir string

	proc  *process
	ports ports
}

// ports are every port `weed server` listens on. All are set, none derived:
// weed's default gRPC port is the HTTP port + 10000, which may be taken or
// beyond 65535.
type ports struct {
	Master, MasterGRPC int
	Volume, VolumeGRPC int
	Filer, FilerGRPC   int
	S3, S3GRPC         int
}

// Start starts a server in dir (created if missing) and returns once the
// bucket exists and an object can be written, read and deleted. ctx bounds
// the start only.
func Start(ctx context.Context, dir string, opts Options) (*Server, error) {
	if opts.BinDir == "" {
		opts.BinDir = os.Getenv(EnvBin)
	}
	if opts.BinDir == "" {
		return nil, fmt.Errorf("no SeaweedFS binary: set %s to the folder `bash tools/seaweedfs/build.sh` prints", EnvBin)
	}
	bin := filepath.Join(opts.BinDir, "weed")
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("no SeaweedFS binary in %s=%s (bash tools/seaweedfs/build.sh builds it): %w", EnvBin, opts.BinDir, err)
	}
	if opts.Bucket == "" {
		opts.Bucket = DefaultBucket
	}
	if opts.Region == "" {
		opts.Region = DefaultRegion
	}
	if opts.AccessKey == "" {
		opts.AccessKey = "ASHIATO" + strings.ToUpper(randomHex(7))
	}
	if opts.SecretKey == "" {
		opts.SecretKey = randomHex(20)
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("s3server dir: %w", err)
	}
	for _, d := range []string{dir, filepath.Join(dir, "data"), filepath.Join(dir, "config")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("s3server dir: %w", err)
		}
	}
	if err := writeTLS(filepath.Join(dir, "tls")); err != nil {
		return nil, fmt.Errorf("s3server tls: %w", err)
	}
	if err := writeIdentity(filepath.Join(dir, "s3.json"), opts.AccessKey, opts.SecretKey); err != nil {
		return nil, err
	}
	s := &Server{
		Region: opts.Region, Bucket: opts.Bucket,
		CAFile:    filepath.Join(dir, "tls", caFile),
		AccessKey: opts.AccessKey, SecretKey: opts.SecretKey,
		Dir:  dir,
		proc: &process{path: bin, dir: dir, log: filepath.Join(dir, "weed.log")},
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, startTimeout)
		defer cancel()
	}
	// Another process may bind a port between freePorts and weed's listen:
	// then weed exits with "address already in use" and new ports are tried.
	for attempt := 1; ; attempt++ {
		if s.ports, err = freePorts(); err != nil {
			return nil, err
		}
		s.Endpoint = "https://127.0.0.1:" + strconv.Itoa(s.ports.S3)
		err = s.launch(ctx)
		if err == nil {
			return s, nil
		}
		_ = s.proc.stop(stopGrace)
		if attempt == 3 || !strings.Contains(err.Error(), "address already in use") {
			return nil, err
		}
	}
}

// Env is the environment that points an AWS SDK at the server through the
// standard credential chain: static keys, region and the private CA.
func (s *Server) Env() []string {
	return []string{
		"AWS_ACCESS_KEY_ID=" + s.AccessKey,
		"AWS_SECRET_ACCESS_KEY=" + s.SecretKey,
		"AWS_REGION=" + s.Region,
		"AWS_CA_BUNDLE=" + s.CAFile,
	}
}

// Running reports whether the server process runs.
func (s *Server) Running() bool { return s.proc.alive() }

// Stop stops the server (SIGTERM, SIGKILL after a grace period) and keeps its
// directory: Restart brings it back with its data, on the same ports.
func (s *Server) Stop() error {
	if err := s.proc.stop(stopGrace); err != nil {
		return fmt.Errorf("stop seaweedfs: %w", err)
	}
	return nil
}

// Restart stops the server if it runs and starts it again on the same ports
// with the same data, returning once it is ready as Start does. A restarted
// master that held volumes refuses to assign new writes while its volume
// servers report in (SeaweedFS's warm-up, three 5 s pulses), so a restart
// takes longer than a first start.
func (s *Server) Restart(ctx context.Context) error {
	if err := s.Stop(); err != nil {
		return err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, startTimeout)
		defer cancel()
	}
	return s.launch(ctx)
}

// Close stops the server. The directory is the caller's to remove.
func (s *Server) Close() error { return s.Stop() }

// Log is the server's output so far.
func (s *Server) Log() string { return proclog.Since(s.proc.log, 0, 1<<20) }

// launch starts weed with the server's ports and waits until it is ready.
func (s *Server) launch(ctx context.Context) error {
	s.proc.args = s.args()
	offset := proclog.Size(s.proc.log)
	if err := s.proc.start(); err != nil {
		return err
	}
	if err := s.waitReady(ctx, offset); err != nil {
		_ = s.proc.stop(stopGrace)
		return err
	}
	return nil
}

// args is the weed command line. Everything listens on 127.0.0.1 only; the
// optional services (Iceberg and Lance catalogs, IAM API, metrics,
// telemetry) are off.
func (s *Server) args() []string {
	p := s.ports
	itoa := strconv.Itoa
	tls := filepath.Join(s.Dir, "tls")
	return []string{
		"-logtostderr=true", // not log files in $TMPDIR
		"-v=0",
		"-config_dir=" + filepath.Join(s.Dir, "config"), // no master.toml or security.toml from elsewhere
		"server",
		"-ip=127.0.0.1", "-ip.bind=127.0.0.1",
		"-dir=" + filepath.Join(s.Dir, "data"),
		"-master.port=" + itoa(p.Master), "-master.port.grpc=" + itoa(p.MasterGRPC),
		"-master.telemetry=false",
		"-master.volumeSizeLimitMB=64",
		// A restarted master resumes its raft state as a follower and waits an
		// election timeout (default 10 s, and longer under load) before it
		// leads; one master needs no more than a second.
		"-master.electionTimeout=1s",
		"-volume.max=0", // as many volumes as the disk holds at that size
		"-volume.port=" + itoa(p.Volume), "-volume.port.grpc=" + itoa(p.VolumeGRPC),
		// weed waits this long between its last heartbeat and stopping: a stop
		// in a test should not take 10 s.
		"-volume.preStopSeconds=0",
		"-filer",
		"-filer.port=" + itoa(p.Filer), "-filer.port.grpc=" + itoa(p.FilerGRPC),
		"-s3",
		"-s3.port=" + itoa(p.S3), "-s3.port.grpc=" + itoa(p.S3GRPC),
		"-s3.port.iceberg=0", "-s3.port.lance=0", "-s3.iam=false",
		"-s3.config=" + filepath.Join(s.Dir, "s3.json"),
		"-s3.cert.file=" + filepath.Join(tls, serverCertFile),
		"-s3.key.file=" + filepath.Join(tls, serverKeyFile),
	}
}

func freePorts() (ports, error) {
	var p ports
	for _, port := range []*int{&p.Master, &p.MasterGRPC, &p.Volume, &p.VolumeGRPC, &p.Filer, &p.FilerGRPC, &p.S3, &p.S3GRPC} {
		n, err := controlplane.FreePort()
		if err != nil {
			return p, err
		}
		*port = n
	}
	return p, nil
}

// writeIdentity writes weed's -s3.config: one identity allowed everything.
func writeIdentity(path, accessKey, secretKey string) error {
	type credential struct {
		AccessKey string `json:"accessKey"`
		SecretKey string `json:"secretKey"`
	}
	type identity struct {
		Name        string       `json:"name"`
		Credentials []credential `json:"credentials"`
		Actions     []string     `json:"actions"`
	}
	cfg := struct {
		Identities []identity `json:"identities"`
	}{[]identity{{
		Name:        "ashiato",
		Credentials: []credential{{accessKey, secretKey}},
		Actions:     []string{"Admin", "Read", "List", "Tagging", "Write"},
	}}}
	data, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return fmt.Errorf("s3server identity: %w", err)
	}
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(errors.New("crypto/rand failed")) // it does not on Linux
	}
	return hex.EncodeToString(b)
}

// Version is the first line of `weed version`.
func (s *Server) Version() (string, error) {
	out, err := exec.Command(s.proc.path, "version").Output()
	if err != nil {
		return "", fmt.Errorf("weed version: %w", err)
	}
	line, _, _ := strings.Cut(string(out), "\n")
	return strings.TrimSpace(line), nil
}

// PeakRSSMiB is the server's peak resident set so far (VmHWM), 0 when it
// does not run.
func (s *Server) PeakRSSMiB() float64 {
	if !s.proc.alive() {
		return 0
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(s.proc.cmd.Process.Pid) + "/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			if err == nil {
				return kb / 1024
			}
		}
	}
	return 0
}
