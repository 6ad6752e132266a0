// Package loadgen holds what the repository's load generators share (internal/web/bench,
// internal/document/bench, internal/sharing/bench, internal/oidc/bench, elicense bench): serving
// a handler on a loopback port, driving concurrent workers for a span of time and tallying their
// successes, failures, latency percentiles and CPU time (Measure, Loop), comparing a baseline
// with the subject over alternating rounds (Comparison), the process's CPU time and peak memory,
// medians, and the temporary directory, output file and CPU profile a run may ask for. What a
// worker sends is each generator's own.
package loadgen

import (
	"net"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Serve serves h on 127.0.0.1 at a free port and returns the address (host:port) and a function
// that stops the server.
func Serve(h http.Handler) (addr string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	return ln.Addr().String(), func() { srv.Close() }, nil
}

// CPUTime returns the user and system CPU time this process has used: server and load generator
// together, which does not depend on what other processes take of the machine.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Median returns the median of xs (the upper one for an even count); xs is not modified.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// LiveHeap returns the bytes of live heap objects after a collection.
func LiveHeap() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// PeakRSS returns the peak resident set size of this process in bytes, from /proc (Linux; 0
// elsewhere).
func PeakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err == nil {
				return kb << 10
			}
		}
	}
	return 0
}
