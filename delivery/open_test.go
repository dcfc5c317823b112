package delivery_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/vend-shop/vend/blob"
	"github.com/vend-shop/vend/blob/local"
	"github.com/vend-shop/vend/delivery"
)

// waitingOpen is a blob store whose Open takes until the request's context ends,
// as an object store's HEAD does for a client that hangs up meanwhile. aria2c
// does that to connections it no longer needs (TestS3_Downloads saw it).
type waitingOpen struct {
	blob.Store
	opening chan struct{}
}

func (s waitingOpen) Open(ctx context.Context, key string) (*blob.Object, error) {
	s.opening <- struct{}{}
	<-ctx.Done()
	return nil, fmt.Errorf("open %s: %w", key, ctx.Err())
}

// TestServeFile_ClientGoneWhileOpening: a client that hangs up while vend opens
// the file is not a file missing from storage.
func TestServeFile_ClientGoneWhileOpening(t *testing.T) {
	t.Parallel()
	opening := make(chan struct{}, 1)
	e := MustOpenEnvWith(t, delivery.Config{}, nil, EnvOptions{Blobs: func(l *local.Store) blob.Store {
		return waitingOpen{Store: l, opening: opening}
	}})
	var log bytes.Buffer
	e.Service.Logger = slog.New(slog.NewTextHandler(&log, nil))
	g := e.MustCreateGrant(e.Book, nil)

	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.URL(g, e.Big), nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		resp, err := e.Client.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	<-opening
	cancel()
	if err := <-done; err == nil {
		t.Fatal("the request was answered; want it cancelled")
	}
	e.Settle()

	as := e.Attempts(g)
	if len(as) != 1 || as[0].Status == http.StatusInternalServerError || strings.Contains(as[0].Refused, "missing") {
		t.Errorf("attempts:%s\nwant one, not a 500 for a missing file", describeAttempts(as))
	}
	if strings.Contains(log.String(), "level=ERROR") {
		t.Errorf("log:\n%s\nwant no error: nothing went wrong on vend's side", log.String())
	}
}
