package stripe

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/vend-shop/vend"
)

// DefaultTolerance is how far a signature's timestamp may lie from now, in
// either direction: Stripe's libraries reject events signed more than 300 s
// ago.
const DefaultTolerance = 300 * time.Second

// Errors of VerifySignature. None of them carries the secret or the expected
// signature. ErrNoSecret is vend's configuration, not the request; the others
// say the request is malformed, not authentic or not fresh. vend's web layer
// answers all of them 401, which Stripe resends: once the cause is fixed, the
// resend applies.
var (
	ErrNoSecret    = errors.New("stripe: no webhook signing secret configured")
	ErrNoHeader    = errors.New("stripe: no Stripe-Signature header")
	ErrMalformed   = errors.New("stripe: malformed Stripe-Signature header")
	ErrNoSignature = errors.New("stripe: no v1 signature in Stripe-Signature header")
	ErrNoMatch     = errors.New("stripe: no v1 signature matches the body")
)

// VerifySignature checks a Stripe-Signature header ("t=<unix>,v1=<hex>[,…]")
// against the raw body and the endpoint's signing secret ("whsec_…", used
// whole, prefix included, as the HMAC-SHA256 key). The body is authentic when
// any v1 entry equals HMAC(secret, "<t>.<body>"); other schemes (v0, the
// test-mode scheme) are ignored so they cannot downgrade the check.
//
// The signature is checked first and the time second, so vend.ErrTooOld and
// vend.ErrTooNew mean Stripe did sign the body, at a time further than
// DefaultTolerance from now: a replay, or a clock that is off. Stripe's own
// libraries reject only old timestamps; vend also rejects timestamps more
// than DefaultTolerance in the future, since Stripe never signs ahead and a
// far-future timestamp would make a captured request replayable for longer.
func VerifySignature(header string, body []byte, secret string, now time.Time) error {
	if secret == "" {
		return ErrNoSecret
	}
	t, sigs, err := parseHeader(header)
	if err != nil {
		return err
	}
	want := mac(secret, t, body)
	if !anyEqual(sigs, want) {
		return ErrNoMatch
	}
	if err := vend.CheckSignedAt(time.Unix(t, 0), now, DefaultTolerance); err != nil {
		return fmt.Errorf("stripe: signature %w", err)
	}
	return nil
}

// Sign returns the Stripe-Signature header Stripe would send for body signed at
// t with secret.
func Sign(secret string, t time.Time, body []byte) string {
	ts := t.Unix()
	return "t=" + strconv.FormatInt(ts, 10) + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret string, t int64, body []byte) []byte {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write([]byte(strconv.FormatInt(t, 10)))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}

// parseHeader returns the timestamp and the decoded v1 signatures. Entries of
// other schemes are skipped, and so are v1 entries that are not hex (as
// stripe-go does); a header with no usable v1 entry is ErrNoSignature.
func parseHeader(header string) (int64, [][]byte, error) {
	if strings.TrimSpace(header) == "" {
		return 0, nil, ErrNoHeader
	}
	var (
		t     int64
		haveT bool
		sigs  [][]byte
	)
	for i, item := range strings.Split(header, ",") {
		parts := strings.Split(item, "=")
		if len(parts) != 2 {
			return 0, nil, fmt.Errorf("%w: element %d is not key=value", ErrMalformed, i+1)
		}
		switch key, value := strings.TrimSpace(parts[0]), strings.TrimSpace(parts[1]); key {
		case "t":
			n, err := strconv.ParseInt(value, 10, 64)
			if err != nil || haveT {
				return 0, nil, fmt.Errorf("%w: t must be one integer", ErrMalformed)
			}
			t, haveT = n, true
		case "v1":
			if sig, err := hex.DecodeString(value); err == nil {
				sigs = append(sigs, sig)
			}
		}
	}
	if !haveT {
		return 0, nil, fmt.Errorf("%w: no t", ErrMalformed)
	}
	if len(sigs) == 0 {
		return 0, nil, ErrNoSignature
	}
	return t, sigs, nil
}

// anyEqual compares every candidate in constant time, without stopping at the
// first match.
func anyEqual(sigs [][]byte, want []byte) bool {
	ok := false
	for _, s := range sigs {
		if hmac.Equal(s, want) {
			ok = true
		}
	}
	return ok
}
