// Package s3test starts a real S3-compatible server for tests: versitygw, from
// VEND_TEST_VERSITYGW or PATH, with a posix backend in a temporary directory.
// Without it, tests skip with a message; under CI (CI=true) they fail.
package s3test

import (
	"bytes"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/vend-shop/vend/internal/servicetest"
)

// Env names the versitygw binary.
const Env = "VEND_TEST_VERSITYGW"

// Start runs versitygw with the given credentials until tb ends and returns its
// host:port once it answers.
func Start(tb testing.TB, accessKey, secretKey string) string {
	tb.Helper()
	bin := servicetest.Versitygw.Need(tb)
	data := filepath.Join(tb.TempDir(), "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		tb.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	var out bytes.Buffer
	cmd := exec.Command(bin, "--port", addr, "--access", accessKey, "--secret", secretKey, "--quiet", "posix", data)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start %s: %v", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	tb.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	for deadline := time.Now().Add(15 * time.Second); ; {
		if resp, err := http.Get("http://" + addr + "/"); err == nil {
			resp.Body.Close()
			return addr
		}
		select {
		case err := <-exited:
			tb.Fatalf("versitygw exited: %v\n%s", err, out.Bytes())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			tb.Fatalf("versitygw did not answer on %s within 15s\n%s", addr, out.Bytes())
		}
	}
}

// SetCredentials points the AWS SDK's default chain at the given keys, and at
// nothing else of the machine's (profiles, config files, instance metadata), until
// tb ends.
func SetCredentials(tb testing.TB, accessKey, secretKey string) {
	dir := tb.TempDir()
	tb.Setenv("AWS_ACCESS_KEY_ID", accessKey)
	tb.Setenv("AWS_SECRET_ACCESS_KEY", secretKey)
	tb.Setenv("AWS_SESSION_TOKEN", "")
	tb.Setenv("AWS_PROFILE", "")
	tb.Setenv("AWS_REGION", "")
	tb.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "no-aws-config"))
	tb.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "no-aws-credentials"))
	tb.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}
