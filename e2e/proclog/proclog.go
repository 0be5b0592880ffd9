// Package proclog reads the log file a test fixture's child process writes,
// and waits for such a process to become ready: an error then carries the
// log's last lines, where the reason a binary refused to start nearly always
// is.
package proclog

import (
	"fmt"
	"io"
	"os"
	"strings"
)

// Size is where the next start's output begins in the log at path.
func Size(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// Since returns the log at path written since offset, at most its last max
// bytes; "" if it cannot be read.
func Since(path string, offset, max int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return ""
	}
	if fi.Size()-offset > max {
		offset = fi.Size() - max
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return ""
	}
	b, _ := io.ReadAll(f)
	return string(b)
}

// Tail is the last lines of the log at path since offset, headed by the
// path, for start errors.
func Tail(path string, offset int64) string {
	lines := strings.Split(strings.TrimRight(Since(path, offset, 16<<10), "\n"), "\n")
	if len(lines) > 25 {
		lines = lines[len(lines)-25:]
	}
	return fmt.Sprintf("last lines of %s:\n%s", path, strings.Join(lines, "\n"))
}
