package delivery_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/vend-shop/vend"
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

// failingOpen is a storage whose Open fails with err for every large file.
type failingOpen struct {
	blob.Store
	err error
}

func (s failingOpen) Open(ctx context.Context, key string) (*blob.Object, error) {
	return nil, s.err
}

// TestServeFile_OpenFails: a file storage cannot open is answered by why. A
// process out of file descriptors (each download in progress holds two) is
// busy, a 503 with Retry-After that download managers retry, and nothing is
// missing; a file that is not there is missing.
func TestServeFile_OpenFails(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		err    error
		status int
		reason string
	}{
		{"out of file descriptors", &fs.PathError{Op: "open", Path: "x", Err: syscall.EMFILE}, http.StatusServiceUnavailable, "server out of open files"},
		{"the system out of files", fmt.Errorf("s3 storage: open x: %w", &net.OpError{Op: "dial", Err: os.NewSyscallError("socket", syscall.ENFILE)}),
			http.StatusServiceUnavailable, "server out of open files"},
		{"missing", vend.Errorf(vend.ENOTFOUND, "No such file."), http.StatusInternalServerError, "file missing from storage"},
		{"another failure", errors.New("local storage: stat x: input/output error"), http.StatusInternalServerError, "storage could not open the file"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := MustOpenEnvWith(t, delivery.Config{}, nil, EnvOptions{Blobs: func(l *local.Store) blob.Store {
				return failingOpen{Store: l, err: tt.err}
			}})
			e.Service.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
			g := e.MustCreateGrant(e.Book, nil)
			resp, err := e.Client.Get(e.URL(g, e.Big))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			retry := resp.Header.Get("Retry-After")
			if resp.StatusCode != tt.status || (tt.status == http.StatusServiceUnavailable) != (retry == "30") {
				t.Errorf("%d, Retry-After %q: %s\nwant %d, with Retry-After only when busy", resp.StatusCode, retry, body, tt.status)
			}
			e.Settle()
			if as := e.Attempts(g); len(as) != 1 || as[0].Refused != tt.reason || as[0].Status != tt.status {
				t.Errorf("attempts:%s\nwant one, %d %q", describeAttempts(as), tt.status, tt.reason)
			}
		})
	}
}
