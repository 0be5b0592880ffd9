package s3server

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// process is the one `weed server` process. Its output goes to a log file in
// the server's directory, never to the test's stdout.
type process struct {
	path string
	args []string
	dir  string
	log  string

	cmd     *exec.Cmd
	done    chan struct{}
	waitErr error // set before done is closed
}

// start launches the binary, its output appended to the log. The kernel kills
// it (Pdeathsig) if the starting process dies, so a test that panics or times
// out leaves no server behind.
func (p *process) start() error {
	logf, err := os.OpenFile(p.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("open log: %w", err)
	}
	defer logf.Close() // the child has its own descriptor
	fmt.Fprintf(logf, "\n=== %s: %s %s\n", time.Now().Format(time.RFC3339), p.path, strings.Join(p.args, " "))
	cmd := exec.Command(p.path, p.args...)
	cmd.Dir = p.dir
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", p.path, err)
	}
	p.cmd = cmd
	p.done = make(chan struct{})
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	return nil
}

// alive reports whether the process runs.
func (p *process) alive() bool {
	if p.done == nil {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// exitErr says how the process ended, for error messages.
func (p *process) exitErr() error {
	if p.alive() || p.done == nil {
		return errors.New("still running")
	}
	if p.waitErr == nil {
		return errors.New("exit status 0")
	}
	return p.waitErr
}

// stop sends SIGTERM, waits up to grace, then SIGKILL. A process that is gone
// already is fine.
func (p *process) stop(grace time.Duration) error {
	if !p.alive() {
		return nil
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return nil
	case <-time.After(grace):
	}
	_ = p.cmd.Process.Kill()
	select {
	case <-p.done:
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("weed (pid %d) still runs after SIGKILL", p.cmd.Process.Pid)
	}
}
