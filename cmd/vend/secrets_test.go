package main

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vend-shop/vend/config"
	"github.com/vend-shop/vend/store/sqlite/sqlitetest"
)

// secretParts are the pieces of the password the values below carry: a message
// that shows any of them shows (most of) the password.
var secretParts = []string{"S3cr3t", "Pa55", "w0rd"}

// secretValues are the ways a credential can sit in a value: the password of
// a URL of every scheme vend reads, well-formed, percent-encoded, and
// malformed with an unencoded "@", "#" or "/" in it (which url.Parse reads as
// host, fragment or path), inside a URL parameter, and (for a secret key) the
// plain value. Hosts are 127.0.0.1:1, so nothing waits on a connection.
func secretValues(k config.Key) []string {
	var vs []string
	for _, scheme := range []string{"https", "smtp", "smtps", "postgres", "s3"} {
		vs = append(vs,
			scheme+"://vend:S3cr3tPa55w0rd@127.0.0.1:1/",
			scheme+"://vend:S3cr3t%40Pa55%23w0rd@127.0.0.1:1",
			scheme+"://vend:S3cr3t@Pa55#w0rd@127.0.0.1:1",
			scheme+"://vend:S3cr3t@Pa55/w0rd@127.0.0.1:1/",
			scheme+"://S3cr3tPa55w0rd@127.0.0.1:1/",
		)
	}
	vs = append(vs, "s3://bucket?endpoint=http://vend:S3cr3t@Pa55w0rd@127.0.0.1:1")
	if k.Secret {
		vs = append(vs, "S3cr3t-Pa55-w0rd", "whsec_S3cr3tPa55w0rd")
	}
	return vs
}

// TestSecrets_NeverShown sets every configuration key, in turn, to every way a
// credential can sit in it, runs vend config check and (where check accepts the
// value) vend serve's start short of listening, and checks that no error, log
// line or output shows any part of the password. It also checks that serve
// refuses nothing check accepted.
func TestSecrets_NeverShown(t *testing.T) {
	t.Parallel()
	for _, k := range config.Keys() {
		if k.Name == "data_dir" {
			continue // a directory vend creates, not a place for a credential
		}
		for i, v := range secretValues(k) {
			t.Run(fmt.Sprintf("%s/%d", k.Name, i), func(t *testing.T) {
				t.Parallel()
				// A data directory with a ledger migrated once for the test
				// binary: serve's start then costs no migration.
				dataDir := filepath.Dir(sqlitetest.Path(t))
				env := []string{
					"VEND_DATA_DIR=" + dataDir, "VEND_LOG_LEVEL=debug",
					// What other keys need so that the value under test gets as
					// far into serve's start as it can.
					"VEND_SMTP_FROM=shop@example.com", "VEND_WEBSALE_SHOP_ID=shop", "VEND_WEBSALE_SUBSHOP_ID=1",
					"VEND_WEBSALE_KEY_DERIVATION=hexkey", "VEND_WEBSALE_MODE=cbc-ivprefix", "VEND_WEBSALE_PADDING=pkcs7",
					k.Env + "=" + v,
				}
				out, errOut, code := runMain(t, env, "config", "check")
				shown := out + errOut
				if code == 0 {
					var logs bytes.Buffer
					err := startServer(&logs, env)
					if err != nil {
						shown += err.Error()
					}
					// Connecting is not validating: nothing listens at 127.0.0.1:1.
					if err != nil && !strings.HasPrefix(err.Error(), "postgres: connect:") {
						t.Errorf("vend config check accepted %s=%s, vend serve refused it: %v", k.Env, v, err)
					}
					shown += logs.String()
				}
				for _, part := range secretParts {
					if strings.Contains(shown, part) {
						t.Errorf("%s=%s: %q is shown:\n%s", k.Env, v, part, shown)
						break
					}
				}
			})
		}
	}
}

// startServer runs vend serve's start up to listening (App.create and
// newServer), writing the output and the logs to w.
func startServer(w *bytes.Buffer, env []string) error {
	a := &App{Stdout: w, Stderr: w, Environ: env}
	if err := a.create(context.Background()); err != nil {
		return err
	}
	defer a.close()
	srv, _, err := a.newServer(nil)
	if err != nil {
		return err
	}
	srv.Delivery.Close()
	return nil
}
