package delivery

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/vend-shop/vend/blob"
)

// canary is the file the self-test stores and reads back the way buyers get
// files. It is always the same bytes, so storage (content-addressed) holds
// one copy however often vend starts.
var canary = []byte("vend self-test canary v1: this file checks that the download path serves the bytes that were stored.\n")

// SelfTestPath is vend's route that, in ModeXAccel, answers with an
// X-Accel-Redirect to the canary: the self-test fetches it through nginx.
const SelfTestPath = "/_vend/self-test"

// ErrNoSelfTestURL says that ModeXAccel cannot be checked: nothing names the
// address nginx answers on (delivery.self_test_url).
var ErrNoSelfTestURL = errors.New("delivery.mode is x-accel, but delivery.self_test_url is not set, so the path through nginx cannot be checked: " +
	"set it to the address nginx answers on (https://shop.example.com, or http://127.0.0.1:<port> of nginx)")

// canaryKey remembers where the canary is stored.
type canaryKey struct {
	once sync.Once
	key  string
	err  error
}

func (s *Service) storeCanary(ctx context.Context) (string, error) {
	s.canary.once.Do(func() {
		var info blob.Info
		info, s.canary.err = s.blobs.Put(ctx, bytes.NewReader(canary))
		s.canary.key = info.Key
	})
	if s.canary.err != nil {
		return "", fmt.Errorf("storage cannot take the test file: %w; check storage (the bucket exists, the credentials may write to it) "+
			"or that data_dir/files is writable", s.canary.err)
	}
	return s.canary.key, nil
}

// SelfTest stores the canary and reads it back the way buyers get files in
// the Service's mode, comparing the bytes: ModeDirect reads storage,
// ModeRedirect fetches a presigned URL, ModeXAccel fetches SelfTestPath
// through nginx at selfTestURL (ErrNoSelfTestURL without one). Serving 0
// bytes or the wrong ones is the classic failure of X-Accel and S3 setups;
// the error says what to fix.
func (s *Service) SelfTest(ctx context.Context, client *http.Client, selfTestURL string) error {
	key, err := s.storeCanary(ctx)
	if err != nil {
		return err
	}
	switch s.cfg.Mode {
	case ModeRedirect:
		u, err := s.presigner.PresignGet(ctx, key, "vend-self-test.txt", time.Minute)
		if err != nil {
			return fmt.Errorf("a presigned URL for the test file cannot be made: %w", err)
		}
		return fetchCanary(ctx, client, u, "the object store's presigned URL",
			"buyers' browsers fetch files there: the endpoint in storage must be reachable and the bucket must allow presigned GETs")
	case ModeXAccel:
		if selfTestURL == "" {
			return ErrNoSelfTestURL
		}
		return fetchCanary(ctx, client, strings.TrimRight(selfTestURL, "/")+SelfTestPath, "nginx",
			"its internal location "+s.cfg.XAccelPrefix+" must alias the storage directory (data_dir/files), "+
				"nginx's user must be able to read it, and delivery.x_accel_prefix must match the location")
	}
	obj, err := s.blobs.Open(ctx, key)
	if err != nil {
		return fmt.Errorf("storage cannot open the test file it stored: %w", err)
	}
	defer obj.Reader.Close()
	got, err := io.ReadAll(io.LimitReader(obj.Reader, int64(len(canary))+1))
	if err != nil {
		return fmt.Errorf("storage cannot read the test file back: %w", err)
	}
	if !bytes.Equal(got, canary) {
		return fmt.Errorf("storage gives back %d other bytes than the %d it stored", len(got), len(canary))
	}
	return nil
}

// fetchCanary GETs url and compares the body with the canary; who and fix
// name what served it and what to check.
func fetchCanary(ctx context.Context, client *http.Client, url, who, fix string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("the test file's URL: %w", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("%s cannot be reached for the test file: %w; %s", who, err, fix)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(io.LimitReader(resp.Body, int64(len(canary))+1))
	switch {
	case err != nil:
		return fmt.Errorf("%s broke off sending the test file: %w", who, err)
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("%s answered %d for the test file, not 200: %s", who, resp.StatusCode, fix)
	case len(got) == 0:
		return fmt.Errorf("%s served the test file with 0 bytes: %s", who, fix)
	case !bytes.Equal(got, canary):
		return fmt.Errorf("%s served %d other bytes than the %d stored: %s", who, len(got), len(canary), fix)
	}
	return nil
}

// ServeCanary answers SelfTestPath: in ModeXAccel an X-Accel-Redirect to the
// canary, which nginx then serves; in other modes 404 (their self-test needs
// no route).
func (s *Service) ServeCanary(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Mode != ModeXAccel {
		http.NotFound(w, r)
		return
	}
	key, err := s.storeCanary(r.Context())
	if err != nil || !safeKey(key) {
		http.Error(w, "the test file cannot be stored", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("X-Accel-Redirect", s.cfg.XAccelPrefix+key)
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
}
