package delivery_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vend-shop/vend/delivery"
	"github.com/vend-shop/vend/internal/servicetest"
)

// TestSelfTest: the canary comes back through the path of each mode (storage
// itself, a presigned URL of versitygw, nginx), and a broken path is named
// with what to fix.
func TestSelfTest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	client := &http.Client{Timeout: 10 * time.Second}
	t.Run("direct", func(t *testing.T) {
		t.Parallel()
		e := MustOpenEnv(t, delivery.Config{}, nil)
		if err := e.Service.SelfTest(ctx, client, ""); err != nil {
			t.Errorf("direct: %v", err)
		}
		// Twice: the canary is stored once (content-addressed).
		if err := e.Service.SelfTest(ctx, client, ""); err != nil {
			t.Errorf("direct, again: %v", err)
		}
	})
	t.Run("x-accel, through nginx", func(t *testing.T) {
		t.Parallel()
		e := MustOpenEnv(t, delivery.Config{Mode: delivery.ModeXAccel}, nil)
		if err := e.Service.SelfTest(ctx, client, ""); !errors.Is(err, delivery.ErrNoSelfTestURL) {
			t.Errorf("x-accel without a URL: %v, want ErrNoSelfTestURL", err)
		}
		good := servicetest.MustStartNginx(t, e.Server.URL, delivery.DefaultXAccelPrefix, e.Blobs.Dir(), "")
		if err := e.Service.SelfTest(ctx, client, good.URL); err != nil {
			t.Errorf("x-accel through nginx: %v", err)
		}
		// An alias to the wrong directory: nginx finds no file.
		wrong := servicetest.MustStartNginx(t, e.Server.URL, delivery.DefaultXAccelPrefix, t.TempDir(), "")
		err := e.Service.SelfTest(ctx, client, wrong.URL)
		if err == nil || !strings.Contains(err.Error(), "nginx answered 404") || !strings.Contains(err.Error(), "must alias the storage directory") {
			t.Errorf("x-accel with a wrong alias: %v", err)
		}
		if os.Geteuid() == 0 { // a worker user that cannot read the storage
			closed := servicetest.MustStartNginx(t, e.Server.URL, delivery.DefaultXAccelPrefix, e.Blobs.Dir(), "nobody nogroup")
			if err := e.Service.SelfTest(ctx, client, closed.URL); err == nil || !strings.Contains(err.Error(), "nginx answered 403") {
				t.Errorf("x-accel, nginx cannot read the storage: %v", err)
			}
		}
	})
	t.Run("the route answers 404 outside x-accel", func(t *testing.T) {
		t.Parallel()
		e := MustOpenEnv(t, delivery.Config{}, nil)
		resp, err := http.Get(e.Server.URL + delivery.SelfTestPath)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s in direct mode: %d", delivery.SelfTestPath, resp.StatusCode)
		}
	})
}

// TestSelfTest_Redirect: the canary comes back through a presigned URL of a
// real S3-compatible server. (Not parallel: versitygw's credentials are set
// in the environment.)
func TestSelfTest_Redirect(t *testing.T) {
	e := MustOpenS3Env(t, MustStartVersitygw(t), delivery.Config{Mode: delivery.ModeRedirect})
	if err := e.Service.SelfTest(context.Background(), &http.Client{Timeout: 10 * time.Second}, ""); err != nil {
		t.Errorf("redirect: %v", err)
	}
}
