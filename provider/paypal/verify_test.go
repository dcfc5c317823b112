package paypal

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// doerFunc lets a test stand in for the HTTP client to inject failures.
type doerFunc func(*http.Request) (*http.Response, error)

func (f doerFunc) Do(r *http.Request) (*http.Response, error) { return f(r) }

// postback is what the fake PayPal saw.
type postback struct {
	method, contentType, userAgent string
	body                           []byte
}

// fakePayPal answers every postback with status and answer, recording the request.
func fakePayPal(t *testing.T, status int, answer string) (*httptest.Server, *postback) {
	t.Helper()
	seen := &postback{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("read postback: %v", err)
		}
		*seen = postback{r.Method, r.Header.Get("Content-Type"), r.Header.Get("User-Agent"), body}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, answer)
	}))
	t.Cleanup(srv.Close)
	return srv, seen
}

func TestVerifier_Verify(t *testing.T) {
	tests := []struct {
		name   string
		status int
		answer string
		want   error // nil, ErrInvalid or ErrUnavailable
	}{
		{"VERIFIED", 200, "VERIFIED", nil},
		{"VERIFIED with a trailing newline", 200, "VERIFIED\r\n", nil},
		{"INVALID", 200, "INVALID", ErrInvalid},
		{"INVALID with whitespace", 200, " INVALID\n", ErrInvalid},
		{"server error", 500, "VERIFIED", ErrUnavailable},
		{"redirect-like status", 302, "", ErrUnavailable},
		{"HTML error page", 200, "<html><body>Sorry</body></html>", ErrUnavailable},
		{"empty answer", 200, "", ErrUnavailable},
		{"lower-case verified is not a verdict", 200, "verified", ErrUnavailable},
		{"verdict followed by more text", 200, "VERIFIED INVALID", ErrUnavailable},
		{"huge answer is cut, not trusted", 200, "VERIFIED" + strings.Repeat("x", 1<<20), ErrUnavailable},
	}
	raw := readSample(t, "p0.ipn")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := fakePayPal(t, tt.status, tt.answer)
			v := &Verifier{URL: srv.URL, Client: srv.Client()}
			err := v.Verify(context.Background(), raw)
			checkVerdict(t, err, tt.want)
		})
	}
}

func checkVerdict(t *testing.T, err, want error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Fatalf("Verify = %v, want nil", err)
	case want != nil && !errors.Is(err, want):
		t.Fatalf("Verify = %v, want %v", err, want)
	case want == ErrUnavailable && errors.Is(err, ErrInvalid):
		t.Fatalf("Verify = %v: unavailable must not look INVALID", err)
	}
}

func TestVerifier_Verify_Postback(t *testing.T) {
	raw := readSample(t, "p0.ipn")
	want := "cmd=_notify-validate&" + string(raw)

	t.Run("OK", func(t *testing.T) {
		srv, seen := fakePayPal(t, 200, "VERIFIED")
		v := &Verifier{URL: srv.URL, Client: srv.Client()}
		if err := v.Verify(context.Background(), raw); err != nil {
			t.Fatal(err)
		}
		if string(seen.body) != want {
			t.Errorf("posted body\n got %s\nwant %s", seen.body, want)
		}
		if seen.method != http.MethodPost || seen.contentType != "application/x-www-form-urlencoded" {
			t.Errorf("method %q, content type %q", seen.method, seen.contentType)
		}
		if seen.userAgent != DefaultUserAgent {
			t.Errorf("User-Agent = %q, want %q", seen.userAgent, DefaultUserAgent)
		}
	})

	t.Run("custom user agent", func(t *testing.T) {
		srv, seen := fakePayPal(t, 200, "VERIFIED")
		v := &Verifier{URL: srv.URL, Client: srv.Client(), UserAgent: "shop/2"}
		if err := v.Verify(context.Background(), raw); err != nil {
			t.Fatal(err)
		}
		if seen.userAgent != "shop/2" {
			t.Errorf("User-Agent = %q", seen.userAgent)
		}
	})

	t.Run("raw bytes are not touched", func(t *testing.T) {
		// CRLF, a bare '%', non-UTF-8 and ';' must reach PayPal exactly.
		odd := []byte("address_street=1+Main%0D%0ASt\r\n&bad=%zz&n=J\xf6rg&custom=m:a;t:b")
		srv, seen := fakePayPal(t, 200, "VERIFIED")
		v := &Verifier{URL: srv.URL, Client: srv.Client()}
		if err := v.Verify(context.Background(), odd); err != nil {
			t.Fatal(err)
		}
		if string(seen.body) != "cmd=_notify-validate&"+string(odd) {
			t.Errorf("posted body %q", seen.body)
		}
	})
}

func TestVerifier_Verify_ErrUnavailable(t *testing.T) {
	raw := readSample(t, "p0.ipn")

	t.Run("transport failure", func(t *testing.T) {
		boom := errors.New("connection refused")
		v := &Verifier{URL: "https://paypal.invalid/", Client: doerFunc(func(*http.Request) (*http.Response, error) {
			return nil, boom
		})}
		err := v.Verify(context.Background(), raw)
		if !errors.Is(err, ErrUnavailable) || !errors.Is(err, boom) {
			t.Fatalf("Verify = %v, want ErrUnavailable wrapping the cause", err)
		}
	})

	t.Run("server gone", func(t *testing.T) {
		srv, _ := fakePayPal(t, 200, "VERIFIED")
		srv.Close()
		v := &Verifier{URL: srv.URL, Client: srv.Client()}
		checkVerdict(t, v.Verify(context.Background(), raw), ErrUnavailable)
	})

	t.Run("deadline", func(t *testing.T) {
		v := &Verifier{URL: "https://paypal.invalid/", Client: doerFunc(func(r *http.Request) (*http.Response, error) {
			<-r.Context().Done()
			return nil, r.Context().Err()
		})}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		defer cancel()
		err := v.Verify(ctx, raw)
		if !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Verify = %v", err)
		}
	})

	t.Run("bad URL", func(t *testing.T) {
		v := &Verifier{URL: "://nope"}
		checkVerdict(t, v.Verify(context.Background(), raw), ErrUnavailable)
	})
}

func TestVerifier_Defaults(t *testing.T) {
	t.Run("live URL when none is set", func(t *testing.T) {
		var got string
		v := &Verifier{Client: doerFunc(func(r *http.Request) (*http.Response, error) {
			got = r.URL.String()
			return nil, errors.New("stop")
		})}
		_ = v.Verify(context.Background(), nil)
		if got != LiveURL {
			t.Errorf("URL = %q, want %q", got, LiveURL)
		}
	})

	tests := []struct {
		name         string
		client       Doer
		wantDeadline bool
	}{
		{"no client gets the default timeout", nil, true},
		{"client without timeout gets the default timeout", &http.Client{}, true},
		{"other Doer gets the default timeout", doerFunc(nil), true},
		{"client with its own timeout keeps it", &http.Client{Timeout: time.Minute}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := &Verifier{Client: tt.client}
			ctx, cancel := v.withTimeout(context.Background())
			defer cancel()
			deadline, ok := ctx.Deadline()
			if ok != tt.wantDeadline {
				t.Fatalf("deadline set = %v, want %v", ok, tt.wantDeadline)
			}
			if ok && time.Until(deadline) > DefaultTimeout {
				t.Errorf("deadline %v is beyond DefaultTimeout", time.Until(deadline))
			}
		})
	}
}
