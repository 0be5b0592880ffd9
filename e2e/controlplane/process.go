package controlplane

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// process is one control-plane binary. The exported fields are what the state file keeps
// so that another process (the local cluster's `down`) can find, check and stop it.
type process struct {
	Name string   `json:"name"`
	Path string   `json:"path"`
	Args []string `json:"args"`
	// Env is added to this process's environment (kwok reads its work dir from it).
	Env []string `json:"env,omitempty"`
	Log string   `json:"log"`
	PID int      `json:"pid"`
	// StartTicks is field 22 of /proc/<pid>/stat. A pid alone can be reused after the
	// process died; pid and start time together identify it, so Stop never signals a
	// stranger.
	StartTicks uint64 `json:"startTicks"`

	// cmd and done exist only in the process that started it; a loaded process has
	// only its pid.
	cmd  *exec.Cmd
	done chan struct{}
	// waitErr is set before done is closed.
	waitErr error
}

// start launches the binary with its output appended to its log file. A detached
// process gets its own session so that it survives the terminal and the starting
// process; an attached one is killed by the kernel (Pdeathsig) if the starting process
// dies (a go test timeout, a panic), so a test run never leaves an API server behind.
// Strictly, Pdeathsig fires when the starting OS thread exits; the Go runtime only ends
// threads whose goroutine exits while locked with runtime.LockOSThread, which does not
// happen on the goroutines that call Start or StartAPIServer in our tests.
func (p *process) start(dir string, detach bool) error {
	logf, err := os.OpenFile(p.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("open log of %s: %w", p.Name, err)
	}
	defer logf.Close() // the child has its own descriptor
	fmt.Fprintf(logf, "\n=== %s: %s %s\n", time.Now().Format(time.RFC3339), p.Path, strings.Join(p.Args, " "))

	cmd := exec.Command(p.Path, p.Args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), p.Env...)
	cmd.Stdout = logf
	cmd.Stderr = logf
	if detach {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	} else {
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", p.Name, err)
	}
	p.cmd = cmd
	p.PID = cmd.Process.Pid
	p.StartTicks, _ = startTicks(p.PID) // 0 if /proc is unreadable: identity then rests on the pid
	p.done = make(chan struct{})
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	return nil
}

// alive reports whether the process still runs. A zombie counts as dead.
func (p *process) alive() bool {
	if p.PID == 0 {
		return false
	}
	if p.done != nil {
		select {
		case <-p.done:
			return false
		default:
			return true
		}
	}
	state, ticks, err := procStat(p.PID)
	if err != nil || state == 'Z' || state == 'X' {
		return false
	}
	return p.StartTicks == 0 || ticks == p.StartTicks
}

// exitErr describes how the process ended, for error messages.
func (p *process) exitErr() error {
	if p.done != nil {
		select {
		case <-p.done:
			if p.waitErr == nil {
				return errors.New("exit status 0")
			}
			return p.waitErr
		default:
		}
	}
	return errors.New("not a child of this process")
}

// stop sends SIGTERM, waits up to grace, then sends SIGKILL and waits again. It is a
// no-op for a process that is already gone.
func (p *process) stop(grace time.Duration) error {
	if !p.alive() {
		return nil
	}
	_ = syscall.Kill(p.PID, syscall.SIGTERM)
	if p.waitGone(grace) {
		return nil
	}
	_ = syscall.Kill(p.PID, syscall.SIGKILL)
	if p.waitGone(10 * time.Second) {
		return nil
	}
	return fmt.Errorf("%s (pid %d) still runs after SIGKILL", p.Name, p.PID)
}

func (p *process) waitGone(d time.Duration) bool {
	deadline := time.Now().Add(d)
	for p.alive() {
		if time.Now().After(deadline) {
			return false
		}
		if p.done != nil {
			select {
			case <-p.done:
			case <-time.After(time.Until(deadline)):
			}
			continue
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

// procStat returns the state letter and the start time of a pid from /proc.
func procStat(pid int) (byte, uint64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, err
	}
	// The command name (field 2) may contain spaces and parentheses: the fields we
	// want come after its last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("unexpected /proc/%d/stat", pid)
	}
	fields := strings.Fields(string(b[i+1:]))
	// fields[0] is field 3 (state); field 22 (starttime) is fields[19].
	if len(fields) < 20 || len(fields[0]) != 1 {
		return 0, 0, fmt.Errorf("unexpected /proc/%d/stat", pid)
	}
	ticks, err := strconv.ParseUint(fields[19], 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("parse /proc/%d/stat: %w", pid, err)
	}
	return fields[0][0], ticks, nil
}

func startTicks(pid int) (uint64, error) {
	_, ticks, err := procStat(pid)
	return ticks, err
}
