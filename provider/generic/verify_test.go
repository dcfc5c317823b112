package generic

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vend-shop/vend"
)

// The vector of protocols.md 4.2, from the Standard Webhooks libraries' tests.
const (
	vectorSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vectorID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vectorTS     = "1614265330"
	vectorBody   = `{"test": 2432232314}`
	vectorSig    = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
	bogusSig     = "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc="
)

var vectorTime = time.Unix(1614265330, 0)

func TestSign_Vector(t *testing.T) {
	// The reference libraries take the secret with or without its prefix.
	for _, secret := range []string{vectorSecret, strings.TrimPrefix(vectorSecret, "whsec_")} {
		got, err := Sign(secret, vectorID, vectorTime, []byte(vectorBody))
		if err != nil || got != vectorSig {
			t.Errorf("Sign with %q = %q, %v; want %q", secret, got, err, vectorSig)
		}
	}
}

func TestVerifyMessage(t *testing.T) {
	body := []byte(vectorBody)
	type msg struct{ id, ts, sig, secret string }
	vector := msg{vectorID, vectorTS, vectorSig, vectorSecret}
	with := func(f func(*msg)) msg {
		m := vector
		f(&m)
		return m
	}
	tests := []struct {
		name string
		msg  msg
		now  time.Time
		body []byte
		want error
	}{
		{"OK", vector, vectorTime, body, nil},
		{"OK 5 min later", vector, vectorTime.Add(DefaultTolerance), body, nil},
		{"OK 5 min earlier", vector, vectorTime.Add(-DefaultTolerance), body, nil},
		{"OK bogus entry before the match", with(func(m *msg) { m.sig = bogusSig + " " + vectorSig }), vectorTime, body, nil},
		{"OK bogus entry after the match", with(func(m *msg) { m.sig = vectorSig + " " + bogusSig }), vectorTime, body, nil},
		{"OK other versions ignored", with(func(m *msg) { m.sig = "v1a,abc= v2," + vectorSig[3:] + " " + vectorSig }), vectorTime, body, nil},
		{"OK secret without whsec_", with(func(m *msg) { m.secret = strings.TrimPrefix(vectorSecret, "whsec_") }), vectorTime, body, nil},
		{"ErrNoSecret", with(func(m *msg) { m.secret = "" }), vectorTime, body, ErrNoSecret},
		{"ErrBadSecret not base64", with(func(m *msg) { m.secret = "whsec_my-secret" }), vectorTime, body, ErrBadSecret},
		{"ErrBadSecret prefix only", with(func(m *msg) { m.secret = "whsec_" }), vectorTime, body, ErrBadSecret},
		{"ErrBadSecret asymmetric key", with(func(m *msg) { m.secret = "whsk_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" }), vectorTime, body, ErrBadSecret},
		{"ErrMissingHeader webhook-id", with(func(m *msg) { m.id = "" }), vectorTime, body, ErrMissingHeader},
		{"ErrMissingHeader webhook-timestamp", with(func(m *msg) { m.ts = "" }), vectorTime, body, ErrMissingHeader},
		{"ErrMissingHeader webhook-signature", with(func(m *msg) { m.sig = " " }), vectorTime, body, ErrMissingHeader},
		{"ErrBadTimestamp letters", with(func(m *msg) { m.ts = "yesterday" }), vectorTime, body, ErrBadTimestamp},
		{"ErrBadTimestamp fraction", with(func(m *msg) { m.ts = vectorTS + ".5" }), vectorTime, body, ErrBadTimestamp},
		{"ErrBadTimestamp milliseconds overflow", with(func(m *msg) { m.ts = "99999999999999999999" }), vectorTime, body, ErrBadTimestamp},
		{"ErrTooOld", vector, vectorTime.Add(DefaultTolerance + time.Second), body, vend.ErrTooOld},
		{"ErrTooNew", vector, vectorTime.Add(-DefaultTolerance - time.Second), body, vend.ErrTooNew},
		{"ErrNoSignature wrong version prefix", with(func(m *msg) { m.sig = "v2," + vectorSig[3:] }), vectorTime, body, ErrNoSignature},
		{"ErrNoSignature v1a only", with(func(m *msg) { m.sig = "v1a," + vectorSig[3:] }), vectorTime, body, ErrNoSignature},
		{"ErrNoSignature no comma", with(func(m *msg) { m.sig = vectorSig[3:] }), vectorTime, body, ErrNoSignature},
		{"ErrNoMatch bogus only", with(func(m *msg) { m.sig = bogusSig }), vectorTime, body, ErrNoMatch},
		{"ErrNoMatch wrong secret", with(func(m *msg) {
			m.secret = "whsec_" + base64.StdEncoding.EncodeToString([]byte("another key of 24 bytes!"))
		}), vectorTime, body, ErrNoMatch},
		{"ErrNoMatch secret used as text", with(func(m *msg) {
			m.secret = "whsec_" + base64.StdEncoding.EncodeToString([]byte(vectorSecret))
		}), vectorTime, body, ErrNoMatch},
		{"ErrNoMatch other id", with(func(m *msg) { m.id = "msg_p5jXN8AQM9LWM0D4loKWxJeK" }), vectorTime, body, ErrNoMatch},
		{"ErrNoMatch other timestamp", with(func(m *msg) { m.ts = "1614265331" }), vectorTime, body, ErrNoMatch},
		{"ErrNoMatch signature without padding", with(func(m *msg) { m.sig = strings.TrimSuffix(vectorSig, "=") }), vectorTime, body, ErrNoMatch},
		{"ErrNoMatch body changed", vector, vectorTime, []byte(`{"test": 2432232315}`), ErrNoMatch},
		{"ErrNoMatch before ErrTooOld", with(func(m *msg) { m.sig = bogusSig }), vectorTime.Add(time.Hour), body, ErrNoMatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := VerifyMessage(tt.msg.id, tt.msg.ts, tt.msg.sig, tt.body, tt.msg.secret, tt.now)
			checkErr(t, err, tt.want)
		})
	}
}

func TestVerify_Header(t *testing.T) {
	h := http.Header{}
	h.Set("Webhook-Id", vectorID)
	h.Set("WEBHOOK-TIMESTAMP", vectorTS)
	h.Set(HeaderSignature, vectorSig)
	if err := Verify(h, []byte(vectorBody), vectorSecret, vectorTime); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	for _, name := range []string{HeaderID, HeaderTimestamp, HeaderSignature} {
		t.Run("ErrMissingHeader "+name, func(t *testing.T) {
			h := h.Clone()
			h.Del(name)
			err := Verify(h, []byte(vectorBody), vectorSecret, vectorTime)
			checkErr(t, err, ErrMissingHeader)
			if !strings.Contains(err.Error(), name) {
				t.Errorf("error %q does not name %s", err, name)
			}
		})
	}
}

func TestVerifyMessage_FlippedBits(t *testing.T) {
	body := []byte(vectorBody)
	for i := range body {
		for bit := range 8 {
			flipped := append([]byte(nil), body...)
			flipped[i] ^= 1 << bit
			if err := VerifyMessage(vectorID, vectorTS, vectorSig, flipped, vectorSecret, vectorTime); !errors.Is(err, ErrNoMatch) {
				t.Fatalf("body byte %d bit %d: err = %v, want ErrNoMatch", i, bit, err)
			}
		}
	}
	mac, _ := base64.StdEncoding.DecodeString(vectorSig[3:])
	for i := range mac {
		for bit := range 8 {
			flipped := append([]byte(nil), mac...)
			flipped[i] ^= 1 << bit
			sig := "v1," + base64.StdEncoding.EncodeToString(flipped)
			if err := VerifyMessage(vectorID, vectorTS, sig, body, vectorSecret, vectorTime); !errors.Is(err, ErrNoMatch) {
				t.Fatalf("signature byte %d bit %d: err = %v, want ErrNoMatch", i, bit, err)
			}
		}
	}
}

func TestParseSecret(t *testing.T) {
	key, err := ParseSecret(vectorSecret)
	if err != nil || len(key) != 24 {
		t.Fatalf("ParseSecret = %d bytes, %v; want 24", len(key), err)
	}
	s := NewSecret()
	if !strings.HasPrefix(s, "whsec_") {
		t.Fatalf("NewSecret = %q", s)
	}
	if key, err := ParseSecret(s); err != nil || len(key) != 24 {
		t.Fatalf("ParseSecret(NewSecret()) = %d bytes, %v", len(key), err)
	}
	if NewSecret() == s {
		t.Fatal("NewSecret repeats itself")
	}
}

// checkErr asserts err is want (nil for success) and never reveals the secret,
// the key or the expected signature.
func checkErr(t *testing.T, err, want error) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("err = %v, want nil", err)
		}
		return
	}
	if !errors.Is(err, want) {
		t.Fatalf("err = %v, want %v", err, want)
	}
	for _, secret := range []string{strings.TrimPrefix(vectorSecret, "whsec_"), vectorSig[3:], "my-secret"} {
		if strings.Contains(err.Error(), secret) {
			t.Fatalf("error %q reveals %q", err, secret)
		}
	}
}

func FuzzVerifyMessage(f *testing.F) {
	f.Add(vectorID, vectorTS, vectorSig, []byte(vectorBody), vectorSecret, int64(0))
	f.Add(vectorID, vectorTS, bogusSig+" "+vectorSig, []byte(vectorBody), vectorSecret, int64(301))
	f.Add(vectorID, vectorTS, "v1a,"+vectorSig[3:], []byte(vectorBody), vectorSecret, int64(-301))
	f.Add("", "-9223372036854775808", ",", []byte{}, "whsec_", int64(9223372036854775807))
	f.Add("a.b", "+1", "v1, v1,,", []byte("{}"), "AAAA", int64(-1))
	f.Fuzz(func(t *testing.T, id, ts, sig string, body []byte, secret string, offset int64) {
		now := vectorTime.Add(time.Duration(offset) * time.Second)
		err := VerifyMessage(id, ts, sig, body, secret, now)
		if err != nil {
			return
		}
		// Accepted: the message must carry the signature Sign makes.
		unix, perr := strconv.ParseInt(strings.TrimSpace(ts), 10, 64)
		want, serr := Sign(secret, id, time.Unix(unix, 0), body)
		if perr != nil || serr != nil || !containsField(sig, want) {
			t.Fatalf("accepted %q for a message it does not sign (want %q)", sig, want)
		}
		// A flipped body byte fails.
		if len(body) > 0 {
			flipped := append([]byte(nil), body...)
			flipped[len(flipped)/2] ^= 0x01
			if err := VerifyMessage(id, ts, sig, flipped, secret, now); !errors.Is(err, ErrNoMatch) {
				t.Fatalf("flipped body: err = %v, want ErrNoMatch", err)
			}
		}
	})
}

// containsField reports whether want is one of the whitespace-separated
// entries of sig.
func containsField(sig, want string) bool {
	for _, f := range strings.Fields(sig) {
		if f == want {
			return true
		}
	}
	return false
}
