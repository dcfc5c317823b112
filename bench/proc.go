package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// What the harness reads of the servers' processes, from Linux's /proc.

// clockTicks is the unit of the CPU times in /proc/PID/stat: getconf CLK_TCK,
// which is 100 on every Linux the harness has met.
var clockTicks = sync.OnceValue(func() int64 {
	out, err := exec.Command("getconf", "CLK_TCK").Output()
	if err != nil {
		return 100
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	if err != nil || n <= 0 {
		return 100
	}
	return n
})

// cost is CPU time spent serving bytes.
type cost struct {
	cpu   time.Duration
	bytes int64
}

func (c cost) plus(d cost) cost { return cost{cpu: c.cpu + d.cpu, bytes: c.bytes + d.bytes} }

// perGiB is the CPU seconds per GiB served.
func (c cost) perGiB() float64 {
	if c.bytes == 0 {
		return 0
	}
	return c.cpu.Seconds() / (float64(c.bytes) / (1 << 30))
}

// cpuMeter reads the CPU time of server processes, each with its children (the
// workers of an nginx master).
type cpuMeter []int

// read returns the CPU time (user and system, all threads) the processes have
// used since they started.
func (m cpuMeter) read() (time.Duration, error) {
	var total time.Duration
	for _, pid := range m {
		t, err := processCPU(pid)
		if err != nil {
			return 0, err
		}
		total += t
		kids, err := children(pid)
		if err != nil {
			return 0, err
		}
		for _, kid := range kids {
			if t, err := processCPU(kid); err == nil { // a child that just ended has nothing to add
				total += t
			}
		}
	}
	return total, nil
}

// during runs f and returns the CPU time the processes used while it ran.
func (m cpuMeter) during(f func() error) (time.Duration, error) {
	before, err := m.read()
	if err != nil {
		return 0, err
	}
	if err := f(); err != nil {
		return 0, err
	}
	after, err := m.read()
	if err != nil {
		return 0, err
	}
	return after - before, nil
}

// processCPU returns utime + stime of process pid (fields 14 and 15 of
// /proc/PID/stat, in clock ticks).
func processCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("cpu time: %w", err)
	}
	// The command name (field 2) is in parentheses and may hold spaces: count the
	// fields after its closing one, which starts with field 3.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("cpu time: /proc/%d/stat has %d fields", pid, len(f)+2)
	}
	utime, err1 := strconv.ParseInt(f[14-3], 10, 64)
	stime, err2 := strconv.ParseInt(f[15-3], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("cpu time: /proc/%d/stat: %q %q", pid, f[14-3], f[15-3])
	}
	return time.Duration(utime+stime) * time.Second / time.Duration(clockTicks()), nil
}

// children returns the processes whose parent is pid, from the children file
// of each of its threads.
func children(pid int) ([]int, error) {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return nil, fmt.Errorf("children of %d: %w", pid, err)
	}
	var kids []int
	for _, t := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/children", pid, t.Name()))
		if err != nil {
			continue // the thread ended
		}
		for _, s := range strings.Fields(string(b)) {
			if kid, err := strconv.Atoi(s); err == nil {
				kids = append(kids, kid)
			}
		}
	}
	return kids, nil
}

// memory is what /proc/PID/status says of a process's memory and threads.
type memory struct {
	rss, hwm int64 // VmRSS and VmHWM, bytes
	threads  int
}

func processMemory(pid int) (memory, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return memory{}, fmt.Errorf("memory: %w", err)
	}
	var m memory
	for line := range strings.Lines(string(b)) {
		key, value, _ := strings.Cut(line, ":")
		f := strings.Fields(value)
		if len(f) == 0 {
			continue
		}
		n, _ := strconv.ParseInt(f[0], 10, 64)
		switch key {
		case "VmRSS":
			m.rss = n << 10 // kB
		case "VmHWM":
			m.hwm = n << 10
		case "Threads":
			m.threads = int(n)
		}
	}
	return m, nil
}

// openFiles counts the file descriptors process pid holds.
func openFiles(pid int) (int, error) {
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return 0, fmt.Errorf("open files: %w", err)
	}
	return len(fds), nil
}

// maxOpenFiles returns the soft limit on open files of process pid, as
// /proc/PID/limits words it ("20000", "unlimited").
func maxOpenFiles(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", pid))
	if err != nil {
		return "?"
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "Max open files"); ok {
			if f := strings.Fields(rest); len(f) > 0 {
				return f[0]
			}
		}
	}
	return "?"
}

// tcpMemory returns the memory the kernel holds for TCP sockets in this network
// namespace, from the mem field of /proc/net/sockstat (pages): where the bytes
// of a blocked transfer wait.
func tcpMemory() int64 {
	b, err := os.ReadFile("/proc/net/sockstat")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if !strings.HasPrefix(line, "TCP:") {
			continue
		}
		f := strings.Fields(line)
		for i := 1; i+1 < len(f); i += 2 {
			if f[i] == "mem" {
				n, _ := strconv.ParseInt(f[i+1], 10, 64)
				return n * int64(os.Getpagesize())
			}
		}
	}
	return 0
}
