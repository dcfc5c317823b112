// Package webhooktest checks outgoing webhooks as a seller's receiver would:
// a Standard Webhooks signature check written from the spec, and the body
// against docs/outgoing-webhook.schema.json.
package webhooktest

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// VerifyWebhook checks a request the way a seller's receiver would, written from
// the Standard Webhooks spec alone (not with vend's signing code): the
// secret is base64 after "whsec_"; the signature is base64 HMAC-SHA256 of
// "id.timestamp.body"; webhook-signature holds space-separated "v1,…"
// entries, any of which may match; the timestamp is within five minutes.
func VerifyWebhook(secret string, h http.Header, body []byte) error {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return fmt.Errorf("secret: %w", err)
	}
	id, ts := h.Get("webhook-id"), h.Get("webhook-timestamp")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || id == "" {
		return errors.New("missing webhook-id or webhook-timestamp")
	}
	if d := time.Since(time.Unix(sec, 0)); d > 5*time.Minute || d < -5*time.Minute {
		return errors.New("timestamp too far from now")
	}
	mac := hmac.New(sha256.New, key)
	fmt.Fprintf(mac, "%s.%s.%s", id, ts, body)
	want := mac.Sum(nil)
	for _, entry := range strings.Fields(h.Get("webhook-signature")) {
		version, sig, ok := strings.Cut(entry, ",")
		if !ok || version != "v1" {
			continue
		}
		if got, err := base64.StdEncoding.DecodeString(sig); err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return errors.New("no signature matches")
}

var webhookSchema struct {
	once sync.Once
	sch  *jsonschema.Schema
	err  error
}

// CheckWebhookPayload validates an outgoing webhook's body against
// docs/outgoing-webhook.schema.json, the contract sellers code against, with
// a full JSON Schema validator (formats asserted).
func CheckWebhookPayload(tb testing.TB, payload []byte) {
	tb.Helper()
	webhookSchema.once.Do(func() {
		_, file, _, _ := runtime.Caller(0)
		path := filepath.Join(filepath.Dir(file), "..", "..", "docs", "outgoing-webhook.schema.json")
		c := jsonschema.NewCompiler()
		c.AssertFormat()
		webhookSchema.sch, webhookSchema.err = c.Compile(path)
	})
	if webhookSchema.err != nil {
		tb.Fatalf("the webhook schema: %v", webhookSchema.err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(payload))
	if err != nil {
		tb.Fatalf("a webhook body that is not JSON: %v\n%s", err, payload)
	}
	if err := webhookSchema.sch.Validate(v); err != nil {
		tb.Errorf("a webhook body the schema refuses: %#v\n%s", err, payload)
	}
}
