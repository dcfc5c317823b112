package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/vend-shop/vend/internal/servicetest"
)

// TestMain removes the vend binary the tests built (buildVend) and says, even
// without -v, which suites were skipped for want of a service.
func TestMain(m *testing.M) {
	code := servicetest.Main(m, servicetest.Postgres)
	if vendBinary.dir != "" {
		os.RemoveAll(vendBinary.dir)
	}
	if seeds.root != "" {
		os.RemoveAll(seeds.root)
	}
	os.Exit(code)
}

// vendBinary is the vend binary, built once for all the tests that run it.
var vendBinary struct {
	once      sync.Once
	dir, path string
	err       error
}

// buildVend returns the vend binary, building it the first time.
func buildVend(t *testing.T) string {
	t.Helper()
	vendBinary.once.Do(func() { vendBinary.dir, vendBinary.path, vendBinary.err = build() })
	if vendBinary.err != nil {
		t.Fatal(vendBinary.err)
	}
	return vendBinary.path
}

func build() (dir, path string, err error) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	}
	dir, err = os.MkdirTemp("", "vend-bin-")
	if err != nil {
		return "", "", err
	}
	path = filepath.Join(dir, "vend")
	if out, err := exec.Command(goTool, "build", "-o", path, ".").CombinedOutput(); err != nil {
		return dir, "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return dir, path, nil
}

// seeds are data directories seeded once by `vend bench seed` with given
// arguments, copied for each test that uses one: seeding is the costly part of
// the tests that read a big shop, and the same shop serves them all.
var seeds struct {
	rootOnce sync.Once
	root     string
	rootErr  error

	mu   sync.Mutex
	dirs map[string]*seeded
}

type seeded struct {
	once     sync.Once
	dir, out string
	err      error
}

// seedCopy returns the environment of a fresh copy of the data directory that
// `vend bench seed args…` makes, and what the seed printed.
func seedCopy(t *testing.T, args ...string) (env []string, out string) {
	t.Helper()
	seeds.rootOnce.Do(func() { seeds.root, seeds.rootErr = os.MkdirTemp("", "vend-seeds-") })
	if seeds.rootErr != nil {
		t.Fatal(seeds.rootErr)
	}
	key := strings.Join(args, " ")
	seeds.mu.Lock()
	if seeds.dirs == nil {
		seeds.dirs = map[string]*seeded{}
	}
	s := seeds.dirs[key]
	if s == nil {
		s = &seeded{}
		seeds.dirs[key] = s
	}
	seeds.mu.Unlock()
	s.once.Do(func() {
		if s.dir, s.err = os.MkdirTemp(seeds.root, "seed-"); s.err != nil {
			return
		}
		var errOut string
		var code int
		s.out, errOut, code = runMain(t, []string{"VEND_DATA_DIR=" + s.dir, "VEND_LOG_LEVEL=warn"}, append([]string{"bench", "seed"}, args...)...)
		if code != 0 {
			s.err = fmt.Errorf("vend bench seed %s: exit %d\n%s%s", key, code, s.out, errOut)
		}
	})
	if s.err != nil {
		t.Fatal(s.err)
	}
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(s.dir)); err != nil {
		t.Fatal(err)
	}
	return []string{"VEND_DATA_DIR=" + dir, "VEND_LOG_LEVEL=warn"}, s.out
}
