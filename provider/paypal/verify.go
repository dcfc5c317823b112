package paypal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/vend-shop/vend/provider/form"
)

// PayPal's verification endpoints. The ipnpb hosts are the ones PayPal's current
// samples use; a sandbox message posted to the live host is answered INVALID.
const (
	LiveURL    = "https://ipnpb.paypal.com/cgi-bin/webscr"
	SandboxURL = "https://ipnpb.sandbox.paypal.com/cgi-bin/webscr"
)

const (
	// DefaultTimeout bounds a postback when neither the context nor the client
	// sets a limit: PayPal gives a listener about 30 s before it counts a failure.
	DefaultTimeout = 20 * time.Second
	// DefaultUserAgent is sent when Verifier.UserAgent is empty; PayPal's samples
	// all send a non-empty one.
	DefaultUserAgent = "vend-ipn-listener/1.0"

	validatePrefix = "cmd=_notify-validate&"
	// maxAnswer caps how much of the answer is read: the only useful answers are
	// one word, anything longer is an error page.
	maxAnswer = 1 << 10
)

var (
	// ErrInvalid means PayPal says it did not send the message: answer 200 (a
	// resend would be INVALID again) and change nothing.
	ErrInvalid = errors.New("paypal: PayPal answered INVALID")
	// ErrUnavailable means the message could not be verified now (network, PayPal
	// down, unexpected answer): answer 500 so PayPal resends it later.
	ErrUnavailable = errors.New("paypal: verification unavailable")
)

// Doer sends an HTTP request; *http.Client is one.
type Doer interface {
	Do(*http.Request) (*http.Response, error)
}

// Verifier asks PayPal whether it sent a notification (the IPN "postback").
// Zero fields fall back to defaults: URL to LiveURL, Client to a new http.Client
// on the default transport, UserAgent to DefaultUserAgent.
type Verifier struct {
	URL       string
	Client    Doer
	UserAgent string
}

// Verify posts "cmd=_notify-validate&" followed by raw, the notification body
// exactly as received, and reads PayPal's one-word answer. It returns nil for
// VERIFIED, ErrInvalid for INVALID and an error wrapping ErrUnavailable for
// anything else.
func (v *Verifier) Verify(ctx context.Context, raw []byte) error {
	ctx, cancel := v.withTimeout(ctx)
	defer cancel()
	req, err := v.newRequest(ctx, raw)
	if err != nil {
		return fmt.Errorf("paypal: verify: %w: %w", ErrUnavailable, err)
	}
	resp, err := v.client().Do(req)
	if err != nil {
		return fmt.Errorf("paypal: verify: %w: %w", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	return readAnswer(resp)
}

// withTimeout applies DefaultTimeout unless the client has its own limit. A
// deadline already on ctx still wins when it is earlier.
func (v *Verifier) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if c, ok := v.Client.(*http.Client); ok && c.Timeout > 0 {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, DefaultTimeout)
}

func (v *Verifier) client() Doer {
	if v.Client != nil {
		return v.Client
	}
	return &http.Client{}
}

// newRequest builds the postback. The raw bytes are copied, never re-encoded:
// PayPal compares them byte for byte, so any normalisation makes it INVALID.
func (v *Verifier) newRequest(ctx context.Context, raw []byte) (*http.Request, error) {
	body := make([]byte, 0, len(validatePrefix)+len(raw))
	body = append(append(body, validatePrefix...), raw...)
	url := v.URL
	if url == "" {
		url = LiveURL
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	ua := v.UserAgent
	if ua == "" {
		ua = DefaultUserAgent
	}
	req.Header.Set("Content-Type", form.MediaType)
	req.Header.Set("User-Agent", ua)
	return req, nil
}

// readAnswer maps PayPal's answer to a result. Only an exact VERIFIED or INVALID
// counts; an empty body or an HTML error page is PayPal being unwell, not a verdict.
func readAnswer(resp *http.Response) error {
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("paypal: verify: %w: status %q", ErrUnavailable, resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return fmt.Errorf("paypal: verify: %w: read answer: %w", ErrUnavailable, err)
	}
	switch answer := strings.TrimSpace(string(b)); answer {
	case "VERIFIED":
		return nil
	case "INVALID":
		return ErrInvalid
	default:
		return fmt.Errorf("paypal: verify: %w: unexpected answer %q", ErrUnavailable, clip(answer, 64))
	}
}

// clip shortens s for an error message.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
