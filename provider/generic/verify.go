package generic

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vend-shop/vend"
)

// The Standard Webhooks headers.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// DefaultTolerance is how far a message's timestamp may lie from now, in
// either direction.
const DefaultTolerance = 5 * time.Minute

const secretPrefix = "whsec_"

// Errors of Verify. None of them carries the secret or the expected
// signature. ErrNoSecret and ErrBadSecret are vend's configuration, not the
// request; the others say the request is malformed, not authentic or not
// fresh. vend's web layer answers all of them 401, which senders resend: once
// the cause is fixed, the resend applies.
var (
	ErrNoSecret      = errors.New("generic: no webhook secret configured")
	ErrBadSecret     = errors.New("generic: webhook secret is not whsec_ followed by base64")
	ErrMissingHeader = errors.New("generic: missing header")
	ErrBadTimestamp  = errors.New("generic: webhook-timestamp is not an integer")
	ErrNoSignature   = errors.New("generic: no v1 entry in webhook-signature")
	ErrNoMatch       = errors.New("generic: no v1 signature matches the message")
)

// Verify checks a Standard Webhooks message: the webhook-id,
// webhook-timestamp and webhook-signature headers against the raw body and
// the secret (see the package documentation). It is VerifyMessage with the
// values taken from h.
func Verify(h http.Header, body []byte, secret string, now time.Time) error {
	return VerifyMessage(h.Get(HeaderID), h.Get(HeaderTimestamp), h.Get(HeaderSignature), body, secret, now)
}

// VerifyMessage checks one message. It is authentic when any v1 entry of
// signatures equals base64(HMAC-SHA256(key, "<id>.<timestamp>.<body>")); other
// versions (v1a, …) are ignored. The signature is checked before the time, so
// vend.ErrTooOld and vend.ErrTooNew mean the sender did sign the message, at a time
// further than DefaultTolerance from now: a replay, or a clock that is off.
func VerifyMessage(id, timestamp, signatures string, body []byte, secret string, now time.Time) error {
	key, err := ParseSecret(secret)
	if err != nil {
		return err
	}
	for _, h := range [...]struct{ name, value string }{{HeaderID, id}, {HeaderTimestamp, timestamp}, {HeaderSignature, signatures}} {
		if strings.TrimSpace(h.value) == "" {
			return fmt.Errorf("%w %s", ErrMissingHeader, h.name)
		}
	}
	ts, err := strconv.ParseInt(strings.TrimSpace(timestamp), 10, 64)
	if err != nil {
		return ErrBadTimestamp
	}
	if err := checkSignatures(signatures, sign(key, id, ts, body)); err != nil {
		return err
	}
	if err := vend.CheckSignedAt(time.Unix(ts, 0), now, DefaultTolerance); err != nil {
		return fmt.Errorf("generic: message %w", err)
	}
	return nil
}

// ParseSecret returns the HMAC key of a secret: the base64-decoded part after
// the optional "whsec_" prefix.
func ParseSecret(secret string) ([]byte, error) {
	s := strings.TrimSpace(secret)
	if s == "" {
		return nil, ErrNoSecret
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, secretPrefix))
	if err != nil || len(key) == 0 {
		return nil, ErrBadSecret
	}
	return key, nil
}

// NewSecret returns a new random secret: "whsec_" and the base64 of 24 bytes.
func NewSecret() string {
	key := make([]byte, 24)
	_, _ = rand.Read(key) // never fails: crypto/rand aborts the program instead
	return secretPrefix + base64.StdEncoding.EncodeToString(key)
}

// Sign returns the webhook-signature value ("v1,<base64>") for a message.
func Sign(secret, id string, t time.Time, body []byte) (string, error) {
	key, err := ParseSecret(secret)
	if err != nil {
		return "", err
	}
	return "v1," + sign(key, id, t.Unix(), body), nil
}

func sign(key []byte, id string, ts int64, body []byte) string {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(id + "." + strconv.FormatInt(ts, 10) + "."))
	h.Write(body)
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// checkSignatures compares every v1 entry in constant time, without stopping
// at the first match.
func checkSignatures(signatures, want string) error {
	found, ok := false, false
	for _, entry := range strings.Fields(signatures) {
		version, sig, cut := strings.Cut(entry, ",")
		if !cut || version != "v1" {
			continue
		}
		found = true
		if hmac.Equal([]byte(sig), []byte(want)) {
			ok = true
		}
	}
	switch {
	case !found:
		return ErrNoSignature
	case !ok:
		return ErrNoMatch
	}
	return nil
}
