package controlplane

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
)

var (
	portsMu sync.Mutex
	// portsGiven keeps this process from handing the same port to two control planes
	// started in parallel before either has bound it.
	portsGiven = map[int]bool{}
)

// FreePort is freePort for the other servers the e2e suite starts
// (e2e/s3server): one process hands out ports from one set, so a control plane
// and an S3 server started side by side never get the same port.
func FreePort() (int, error) { return freePort() }

// freePort returns a loopback port that nothing listens on right now. It prefers the
// range below the kernel's ephemeral ports: a port from there cannot be taken, while an
// API server is stopped for a fault test, by the local end of some outgoing connection.
// Another process may still take the port between this check and the bind; Start
// retries with new ports when a binary reports "address already in use".
func freePort() (int, error) {
	portsMu.Lock()
	defer portsMu.Unlock()
	low := ephemeralLow()
	const floor = 10000
	if low-floor >= 1000 {
		for range 200 {
			p := floor + rand.IntN(low-floor)
			if portsGiven[p] {
				continue
			}
			l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
			if err != nil {
				continue
			}
			_ = l.Close()
			portsGiven[p] = true
			return p, nil
		}
	}
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("find a free port: %w", err)
		}
		p := l.Addr().(*net.TCPAddr).Port
		_ = l.Close()
		if !portsGiven[p] {
			portsGiven[p] = true
			return p, nil
		}
	}
	return 0, fmt.Errorf("find a free port: none left")
}

// ephemeralLow is the first port of the kernel's ephemeral range (32768 if unknown).
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 32768
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 32768
	}
	n, err := strconv.Atoi(f[0])
	if err != nil {
		return 32768
	}
	return n
}
