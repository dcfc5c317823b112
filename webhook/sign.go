package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/vend-shop/vend"
)

// secretPrefix starts every Standard Webhooks secret.
const secretPrefix = "whsec_"

// NewSecret returns a new endpoint secret: "whsec_" and the base64 of 24
// random bytes.
func NewSecret() string {
	key := make([]byte, 24)
	_, _ = rand.Read(key) // never fails: crypto/rand aborts the program instead
	return secretPrefix + base64.StdEncoding.EncodeToString(key)
}

var errBadSecret = errors.New("the endpoint's secret is not whsec_ followed by base64")

// sign is one webhook-signature entry: "v1," and the base64 of
// HMAC-SHA256(key, "<id>.<unix time>.<body>"), where key is the base64
// after "whsec_".
func sign(secret, id string, t time.Time, body []byte) (string, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, secretPrefix))
	if err != nil || len(key) == 0 {
		return "", errBadSecret
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + strconv.FormatInt(t.Unix(), 10) + "."))
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)), nil
}

// Signatures is the webhook-signature header of a message: "v1,…" with the
// endpoint's secret, and a second one with the previous secret while a
// rotation runs (until PreviousUntil, at now).
func Signatures(e *vend.WebhookEndpoint, id string, t time.Time, body []byte, now time.Time) (string, error) {
	sig, err := sign(e.Secret, id, t, body)
	if err != nil {
		return "", err
	}
	if e.PreviousSecret != "" && now.Before(e.PreviousUntil) {
		old, err := sign(e.PreviousSecret, id, t, body)
		if err != nil {
			return "", err
		}
		sig += " " + old
	}
	return sig, nil
}
