package intake

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/vend-shop/vend"
)

// Post sends a message to url the way its provider would: a POST of n's body
// with n's headers. It is how vend's simulators reach a running vend (vend
// simulate, the demo's PayPal). It returns the status and up to 64 KiB of the
// answer.
func Post(ctx context.Context, client *http.Client, url string, n *vend.Notification) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(n.Body))
	if err != nil {
		return 0, nil, err
	}
	for k, v := range n.Headers {
		req.Header[http.CanonicalHeaderKey(k)] = v
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("post to %s: %w", url, err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return resp.StatusCode, answer, fmt.Errorf("post to %s: read the answer: %w", url, err)
	}
	return resp.StatusCode, answer, nil
}
