// Package servicetest finds the outside programs and servers that some test
// suites need (PostgreSQL, versitygw, nginx, Chromium, curl, aria2c). A test that
// needs one calls Need: it gets the binary or URL, or is skipped with a message
// saying how to enable it; under CI=true it fails instead, because a suite that
// did not run must not look green.
//
// go test prints nothing of a passing package but its "ok" line unless -v is
// given, so a skip is easy to miss. Main, called from a package's TestMain, says
// on one line per missing service what was skipped and how to enable it: on the
// terminal (/dev/tty) when there is one, and in the test output (-v, -json).
//
// This is a leaf: it imports nothing of vend's.
package servicetest

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Service is something outside the module that tests need.
type Service struct {
	Name   string // what it is, e.g. "PostgreSQL"
	Suites string // what runs with it, e.g. "the PostgreSQL suites"
	Env    string // the variable that names it
	Enable string // how to enable it, e.g. "set VEND_TEST_POSTGRES=postgres://…"
	// Find returns the binary or URL, or "" when there is none.
	Find func() string
}

// Services vend's tests use.
var (
	Postgres = Service{
		Name: "PostgreSQL", Suites: "the PostgreSQL suites", Env: "VEND_TEST_POSTGRES",
		Enable: "set VEND_TEST_POSTGRES=postgres://user@host:port/db (.ci/run starts a throwaway server)",
		Find:   func() string { return os.Getenv("VEND_TEST_POSTGRES") },
	}
	Versitygw = Service{
		Name: "versitygw", Suites: "the S3 suites", Env: "VEND_TEST_VERSITYGW",
		Enable: "set VEND_TEST_VERSITYGW to its binary or put it on PATH (GOBIN=DIR go install github.com/versity/versitygw/cmd/versitygw@v1.8.0)",
		Find:   func() string { return binary("VEND_TEST_VERSITYGW", "versitygw") },
	}
	Nginx    = program("nginx", "the X-Accel tests through nginx", "VEND_TEST_NGINX", "nginx", "nginx", "/usr/sbin/nginx")
	Chromium = program("Chromium", "the browser tests", "VEND_TEST_CHROMIUM", "chromium", "chromium", "chromium-browser", "google-chrome")
	Curl     = program("curl", "the resume tests with curl", "VEND_TEST_CURL", "curl", "curl")
	Aria2c   = program("aria2c", "the multi-connection tests with aria2c", "VEND_TEST_ARIA2C", "aria2", "aria2c")
	Node     = program("Node.js", "the JavaScript licence check and webhook receiver", "VEND_TEST_NODE", "nodejs", "node", "nodejs")
)

// program is a service that is a program: the one env names, else the first of
// names found, installed by the Debian package pkg.
func program(name, suites, env, pkg string, names ...string) Service {
	return Service{
		Name: name, Suites: suites, Env: env,
		Enable: "apt-get install " + pkg + ", or set " + env + " to its binary",
		Find:   func() string { return binary(env, names...) },
	}
}

// binary is the program env names, else the first name found on PATH (or an
// absolute path that exists: /usr/sbin is not on every PATH).
func binary(env string, names ...string) string {
	if p := os.Getenv(env); p != "" {
		return p
	}
	for _, name := range names {
		if strings.HasPrefix(name, "/") {
			if st, err := os.Stat(name); err == nil && st.Mode()&0o111 != 0 {
				return name
			}
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// CI reports whether the tests run under CI (CI=true), where a missing service
// is a failure.
func CI() bool { return os.Getenv("CI") == "true" }

// Need returns where s is, or ends tb: skipped by hand, failed under CI=true.
func (s Service) Need(tb testing.TB) string {
	tb.Helper()
	if where := s.Find(); where != "" {
		return where
	}
	if CI() {
		tb.Fatalf("%s is missing: CI=true requires %s; %s", s.Name, s.Suites, s.Enable)
	}
	tb.Skipf("%s skipped, %s is missing: %s", s.Suites, s.Name, s.Enable)
	return ""
}

// Main runs the package's tests and then says, on one line per service of
// services that is missing, which suites were skipped and how to enable them.
// Use it from TestMain: os.Exit(servicetest.Main(m, servicetest.Postgres)).
func Main(m *testing.M, services ...Service) int {
	code := m.Run()
	if f := flag.Lookup("test.list"); f == nil || f.Value.String() == "" { // -list runs nothing
		Report(os.Stdout, services...)
	}
	return code
}

// Report writes the skip lines for the missing services to w and, when the
// tests run on a terminal, to the terminal, which go test does not hide.
func Report(w io.Writer, services ...Service) {
	var lines []string
	for _, s := range services {
		if s.Find() == "" && !CI() {
			lines = append(lines, fmt.Sprintf("%s: %s skipped (no %s): %s\n", pkgName(), s.Suites, s.Name, s.Enable))
		}
	}
	if len(lines) == 0 {
		return
	}
	tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0)
	if err == nil {
		defer tty.Close()
	}
	for _, l := range lines {
		io.WriteString(w, l)
		if tty != nil {
			io.WriteString(tty, l)
		}
	}
}

// pkgName is the package under test, as a path in the module: go test runs the
// test binary in the package's directory.
func pkgName() string {
	dir, err := os.Getwd()
	if err != nil {
		return "?"
	}
	for root := dir; ; {
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
			if rel, err := filepath.Rel(root, dir); err == nil && rel != "." {
				return filepath.ToSlash(rel)
			}
			return filepath.Base(root)
		}
		parent := filepath.Dir(root)
		if parent == root {
			return filepath.Base(dir)
		}
		root = parent
	}
}
