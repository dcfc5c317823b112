package delivery_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/vend-shop/vend/delivery"
	"github.com/vend-shop/vend/internal/servicetest"
)

// Real download tools against the test server: what buyers actually run.

func run(t *testing.T, name string, args ...string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		t.Logf("%s: %v\n%s", filepath.Base(name), err, out)
	}
	return err
}

func fileSHA256(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func TestServeFile_CurlResume(t *testing.T) {
	t.Parallel()
	curl := servicetest.Curl.Need(t)
	e := MustOpenEnv(t, delivery.Config{}, nil)
	// Solo: its one file is the whole product, so the resumed download is completed
	// however little the interrupted transfer sent beyond what curl kept.
	g := e.MustCreateGrant(e.Solo, nil)
	out := filepath.Join(t.TempDir(), "book.pdf")

	// Interrupted: a slow line (the test server throttles this request) that gives
	// up after a second. curl's own --limit-rate lets bursts through on loopback.
	err := run(t, curl, "-sS", "-H", "X-Test-Slow: 1", "--max-time", "1", "-o", out, e.URL(g, e.SoloFile))
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 28 {
		t.Fatalf("first curl: %v, want exit code 28 (timed out)", err)
	}
	st, err := os.Stat(out)
	if err != nil || st.Size() == 0 || st.Size() >= bigSize {
		t.Fatalf("after the interruption: %v, size %d, want part of the file", err, st.Size())
	}
	e.Settle()

	// curl -C - asks for the rest (Range: bytes=<size of out>-) and appends it.
	if err := run(t, curl, "-sS", "--fail", "-C", "-", "-o", out, e.URL(g, e.SoloFile)); err != nil {
		t.Fatalf("curl -C -: %v", err)
	}
	e.Settle()
	if got := fileSHA256(t, out); got != e.SoloFile.SHA256 {
		t.Fatalf("resumed file's sha256 = %s, want %s", got, e.SoloFile.SHA256)
	}
	if used := e.Grant(g).DownloadsUsed; used != 1 {
		t.Errorf("downloads_used = %d, want 1", used)
	}
	if ss := e.Sessions(g); len(ss) != 1 || !ss[0].Completed {
		t.Errorf("sessions = %+v, want one, completed", ss)
	}
	as := e.Attempts(g)
	if len(as) != 2 || as[1].Status != 206 || as[1].Range != "bytes="+strconv.FormatInt(st.Size(), 10)+"-" {
		t.Errorf("attempts = %+v, want a GET and a 206 resume from %d", as, st.Size())
	}
}

func TestServeFile_Aria2c(t *testing.T) {
	t.Parallel()
	aria2c := servicetest.Aria2c.Need(t)
	e := MustOpenEnv(t, delivery.Config{}, nil)
	g := e.MustCreateGrant(e.Solo, nil) // its one file is the whole product: completed once it is all out
	dir := t.TempDir()

	// On a slow line (1 MiB/s a connection) aria2c always opens its other
	// connections: on loopback the first one may get the whole file first.
	err := run(t, aria2c, "--no-conf", "--quiet", "--header=X-Test-Slow: 1", "--max-connection-per-server=4", "--split=4", "--min-split-size=1M",
		"--file-allocation=none", "--allow-overwrite=true", "--auto-file-renaming=false", "--max-tries=1",
		"--dir", dir, "--out", "book.pdf", e.URL(g, e.SoloFile))
	if err != nil {
		t.Fatalf("aria2c: %v", err)
	}
	e.Settle()
	if got := fileSHA256(t, filepath.Join(dir, "book.pdf")); got != e.SoloFile.SHA256 {
		t.Fatalf("downloaded file's sha256 = %s, want %s", got, e.SoloFile.SHA256)
	}
	if used := e.Grant(g).DownloadsUsed; used != 1 {
		t.Errorf("downloads_used = %d, want 1", used)
	}
	if ss := e.Sessions(g); len(ss) != 1 || !ss[0].Completed {
		t.Errorf("sessions = %+v, want one, completed", ss)
	}
	if as := e.Attempts(g); len(as) < 2 {
		t.Errorf("%d attempts, want several connections", len(as))
	}
}
