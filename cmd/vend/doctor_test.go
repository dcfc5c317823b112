package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vend-shop/vend/blob/s3/s3test"
	"github.com/vend-shop/vend/internal/servicetest"
)

// serveMustFail runs vend serve, which must refuse to start: it exits with
// an error within 30 seconds, and never says it listens. It returns what it
// printed.
func serveMustFail(t *testing.T, bin string, env []string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "serve")
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if err == nil || ctx.Err() != nil || strings.Contains(out.String(), "vend listening on") {
		t.Fatalf("vend serve started (or hung) where it must refuse: %v\n%s", err, out.String())
	}
	return out.String()
}

// TestServe_SelfTestRefuses: vend serve does not start on a broken path it
// would use, and says what to fix: a data directory it cannot write, a
// bucket that does not exist (versitygw), a storage directory that nginx
// cannot read in x-accel mode (real nginx). With nginx able to read it,
// the same setup starts.
func TestServe_SelfTestRefuses(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds and runs the vend binary")
	}
	bin := buildVend(t)

	t.Run("a data directory vend cannot write", func(t *testing.T) {
		t.Parallel()
		// A file where the directory should be: even root cannot make it one.
		file := filepath.Join(t.TempDir(), "vend-data")
		if err := os.WriteFile(file, []byte("not a directory"), 0o600); err != nil {
			t.Fatal(err)
		}
		out := serveMustFail(t, bin, vendEnv(file, anyPort, "http://127.0.0.1:1/verify"))
		if !strings.Contains(out, "data_dir "+file+" cannot be made") {
			t.Errorf("the refusal does not say what to fix:\n%s", out)
		}
		if os.Geteuid() != 0 { // a mode that stops anyone but root
			dir := t.TempDir()
			if err := os.Chmod(dir, 0o500); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.Chmod(dir, 0o700) })
			if out := serveMustFail(t, bin, vendEnv(dir, anyPort, "http://127.0.0.1:1/verify")); !strings.Contains(out, "is not writable") {
				t.Errorf("a read-only data directory:\n%s", out)
			}
		}
	})

	t.Run("a bucket that does not exist", func(t *testing.T) {
		t.Parallel()
		addr := s3test.Start(t, "vendkey", "vendsecret123")
		env := append(vendEnv(t.TempDir(), anyPort, "http://127.0.0.1:1/verify"),
			"VEND_STORAGE=s3://no-such-bucket/files?region=us-east-1&endpoint="+url.QueryEscape("http://"+addr),
			"AWS_ACCESS_KEY_ID=vendkey", "AWS_SECRET_ACCESS_KEY=vendsecret123", "AWS_EC2_METADATA_DISABLED=true")
		if out := serveMustFail(t, bin, env); !strings.Contains(out, `bucket "no-such-bucket" does not exist`) {
			t.Errorf("the refusal does not name the bucket:\n%s", out)
		}
	})

	t.Run("a storage directory nginx cannot read (x-accel)", func(t *testing.T) {
		t.Parallel()
		port := servicetest.FreePort(t)
		dataDir := t.TempDir()
		storage := filepath.Join(dataDir, "files")
		if err := os.MkdirAll(storage, 0o700); err != nil {
			t.Fatal(err)
		}
		upstream := fmt.Sprintf("http://127.0.0.1:%d", port)
		// nginx's workers run as nobody: vend's 0700 storage is closed to them,
		// the classic X-Accel mistake. As another user, the alias points at a
		// directory that is not vend's storage instead.
		user, alias := "nobody nogroup", storage
		if os.Geteuid() != 0 {
			user, alias = "", t.TempDir()
		}
		broken := servicetest.MustStartNginx(t, upstream, "/_vend_files/", alias, user)
		env := append(vendEnv(dataDir, net.JoinHostPort("127.0.0.1", fmt.Sprint(port)), "http://127.0.0.1:1/verify"),
			"VEND_DELIVERY_MODE=x-accel", "VEND_DELIVERY_SELF_TEST_URL="+broken.URL)
		out := serveMustFail(t, bin, env)
		if !strings.Contains(out, "nginx answered 403 for the test file") && !strings.Contains(out, "nginx answered 404 for the test file") {
			t.Errorf("the refusal does not say nginx cannot serve the file:\n%s", out)
		}
		if !strings.Contains(out, "must alias the storage directory") {
			t.Errorf("the refusal does not say what to fix:\n%s", out)
		}

		// The same vend behind an nginx that reads its storage starts.
		working := servicetest.MustStartNginx(t, upstream, "/_vend_files/", storage, "")
		env[len(env)-1] = "VEND_DELIVERY_SELF_TEST_URL=" + working.URL
		srv := startServe(t, bin, env)
		srv.kill(t)
	})
}

// TestDoctor: vend doctor says what is fine, what does not apply and what
// fails, and exits 1 when anything fails.
func TestDoctor(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := []string{"VEND_DATA_DIR=" + dir, "VEND_SMTP_URL=mailbox:", "VEND_SMTP_FROM=shop@example.com"}
	mustVend(t, env, "migrate")
	out := mustVend(t, env, "doctor")
	for _, want := range []string{"ok    data directory", "ok    database", "ok    storage and the serving path (direct)", "ok    mail",
		"-     base_url: no payment provider is configured", "ok    clock"} {
		if !strings.Contains(out, want) {
			t.Errorf("doctor lacks %q:\n%s", want, out)
		}
	}
	closed := fmt.Sprintf("smtp://127.0.0.1:%d", servicetest.FreePort(t))
	bad := []string{"VEND_DATA_DIR=" + dir, "VEND_SMTP_URL=" + closed, "VEND_SMTP_FROM=shop@example.com",
		"VEND_STRIPE_SECRET=whsec_test_secret", "VEND_BASE_URL=http://127.0.0.1:8080"}
	out, errOut, code := runMain(t, bad, "doctor")
	if code == 0 || !strings.Contains(out, "FAIL  mail") || !strings.Contains(out, "FAIL  base_url: 127.0.0.1 is this computer (loopback)") ||
		!strings.Contains(errOut, "2 check(s) failed") {
		t.Errorf("a closed SMTP port and a loopback base_url: exit %d\n%s%s", code, out, errOut)
	}
}
