package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// sample is one timed run of a program: from exec to exit, and its peak
// resident set.
type sample struct {
	Wall   time.Duration
	CPU    time.Duration // user + system
	MaxRSS int64         // bytes
}

// gnuTime is GNU time, which reports a child's peak RSS exactly (%M). The
// benchmark cannot read it from its own wait4: Go starts children with
// vfork semantics (the child runs on the parent's memory until exec), and at
// exec Linux records the old memory's high-water mark in the child's
// ru_maxrss, so every child would report at least the benchmark's own peak
// (77 MiB at 10,000 pods, seeding included). GNU time fork()s from a 1 MiB
// process instead. When it is missing (apt-get install time), the wait4
// figure is used and flagged.
const gnuTime = "/usr/bin/time"

// rssExact reports whether peak RSS comes from GNU time.
func rssExact() bool {
	out, err := exec.Command(gnuTime, "--version").CombinedOutput()
	return err == nil && strings.Contains(string(out), "GNU")
}

// timed runs argv with stdout to /dev/null (or to stdout when not nil) and
// returns its wall time and peak RSS. A non-zero exit is an error carrying the
// tail of its stderr. viaTime runs it under GNU time, in a file of dir.
func timed(ctx context.Context, argv []string, stdout io.Writer, viaTime bool, dir string) (sample, error) {
	run := argv
	var report string
	if viaTime {
		f, err := os.CreateTemp(dir, "time-")
		if err != nil {
			return sample{}, err
		}
		f.Close()
		report = f.Name()
		defer os.Remove(report)
		run = append([]string{gnuTime, "-f", "%M", "-o", report}, argv...)
	}
	cmd := exec.CommandContext(ctx, run[0], run[1:]...)
	if stdout == nil {
		devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
		if err != nil {
			return sample{}, err
		}
		defer devnull.Close()
		cmd.Stdout = devnull
	} else {
		cmd.Stdout = stdout
	}
	stderr := &tailBuffer{max: 16 << 10}
	cmd.Stderr = stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		return sample{}, fmt.Errorf("%s: %w; stderr: %s", strings.Join(argv, " "), err, stderr.String())
	}
	// A child's rusage includes the children it waited for, so under GNU time
	// this is the program's CPU time (plus GNU time's own, a millisecond).
	x := sample{Wall: wall, CPU: cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), MaxRSS: maxRSS(cmd.ProcessState)}
	if viaTime {
		data, err := os.ReadFile(report)
		if err != nil {
			return x, err
		}
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		kb, err := strconv.ParseInt(strings.TrimSpace(lines[len(lines)-1]), 10, 64)
		if err != nil {
			return x, fmt.Errorf("GNU time's report %q: %w", data, err)
		}
		x.MaxRSS = kb * 1024
	}
	return x, nil
}

// maxRSS is ru_maxrss, which Linux reports in KiB.
func maxRSS(ps *os.ProcessState) int64 {
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		return ru.Maxrss * 1024
	}
	return 0
}

// tailBuffer keeps the last max bytes written to it (a child's stderr).
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if over := len(t.b) - t.max; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimSpace(string(t.b))
}

// lineCounter counts newline-terminated lines and bytes, and keeps the first
// line.
type lineCounter struct {
	mu    sync.Mutex
	n     int
	bytes int64
	first []byte
	cur   []byte // the first line while it is incomplete
}

func (c *lineCounter) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.first == nil {
		if i := bytes.IndexByte(p, '\n'); i >= 0 {
			c.first = append(c.cur, p[:i]...)
		} else {
			c.cur = append(c.cur, p...)
		}
	}
	c.n += bytes.Count(p, []byte{'\n'})
	c.bytes += int64(len(p))
	return len(p), nil
}

func (c *lineCounter) Bytes() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bytes
}

func (c *lineCounter) Lines() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

func (c *lineCounter) First() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return string(c.first)
}

// cpuBusy is the fraction of the machine's CPU time that was not idle over
// d, from /proc/stat: every process counts, the control plane's included.
func cpuBusy(ctx context.Context, d time.Duration) (float64, error) {
	read := func() (busy, total float64, err error) {
		data, err := os.ReadFile("/proc/stat")
		if err != nil {
			return 0, 0, err
		}
		line, _, _ := strings.Cut(string(data), "\n")
		f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal ...
		if len(f) < 6 || f[0] != "cpu" {
			return 0, 0, fmt.Errorf("/proc/stat: unexpected %q", line)
		}
		for i, v := range f[1:] {
			x, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return 0, 0, fmt.Errorf("/proc/stat: %w", err)
			}
			if i < 8 { // guest times are already in user and nice
				total += x
				if i != 3 && i != 4 {
					busy += x
				}
			}
		}
		return busy, total, nil
	}
	b0, t0, err := read()
	if err != nil {
		return 0, err
	}
	if err := sleep(ctx, d); err != nil {
		return 0, err
	}
	b1, t1, err := read()
	if err != nil {
		return 0, err
	}
	if t1 == t0 {
		return 0, nil
	}
	return (b1 - b0) / (t1 - t0), nil
}

// controlPlaneRSS reads the resident set of the control plane's processes,
// by name, from the pids in its state file.
func controlPlaneRSS(dir string) map[string]float64 {
	data, err := os.ReadFile(dir + "/state.json")
	if err != nil {
		return nil
	}
	var st struct {
		Processes []struct {
			Name string `json:"name"`
			PID  int    `json:"pid"`
		} `json:"processes"`
	}
	if json.Unmarshal(data, &st) != nil {
		return nil
	}
	out := map[string]float64{}
	for _, p := range st.Processes {
		if rss, _, err := procStatus(p.PID); err == nil {
			out[p.Name] = float64(rss) / mib
		}
	}
	return out
}

// procStatus reads the memory fields of /proc/<pid>/status, in bytes: VmRSS
// (now) and VmHWM (the peak so far).
func procStatus(pid int) (rss, hwm int64, err error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok || (key != "VmRSS" && key != "VmHWM") {
			continue
		}
		fields := strings.Fields(val) // "12345 kB"
		if len(fields) != 2 || fields[1] != "kB" {
			return 0, 0, fmt.Errorf("/proc/%d/status: unexpected %s line %q", pid, key, sc.Text())
		}
		kb, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("/proc/%d/status: %w", pid, err)
		}
		if key == "VmRSS" {
			rss = kb * 1024
		} else {
			hwm = kb * 1024
		}
	}
	if err := sc.Err(); err != nil {
		return 0, 0, err
	}
	if rss == 0 {
		return 0, 0, errors.New("/proc/" + strconv.Itoa(pid) + "/status has no VmRSS")
	}
	return rss, hwm, nil
}
