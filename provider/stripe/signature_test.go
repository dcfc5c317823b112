package stripe

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vend-shop/vend"
)

// The vector of protocols.md 4.1, computed with stripe-go v82.5.1.
const (
	vectorSecret = "whsec_test_secret_0123456789abcdef"
	vectorBody   = `{"id":"evt_test_webhook","object":"event","type":"checkout.session.completed"}`
	vectorMAC    = "e48cb2d8ce9538873bec985b3d39f3e42f3c2dfe4b5a186ff945c99fe790a6a0"
	vectorHeader = "t=1700000000,v1=" + vectorMAC
)

var vectorTime = time.Unix(1700000000, 0)

func TestSign_Vector(t *testing.T) {
	if got := Sign(vectorSecret, vectorTime, []byte(vectorBody)); got != vectorHeader {
		t.Fatalf("Sign = %s, want %s", got, vectorHeader)
	}
}

func TestVerifySignature_Vector(t *testing.T) {
	tests := []struct {
		name string
		now  time.Time
		want error
	}{
		{"OK at t", vectorTime, nil},
		{"OK 300 s later", vectorTime.Add(300 * time.Second), nil},
		{"OK 300 s earlier", vectorTime.Add(-300 * time.Second), nil},
		{"ErrTooOld 301 s later", vectorTime.Add(301 * time.Second), vend.ErrTooOld},
		{"ErrTooOld today", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), vend.ErrTooOld},
		{"ErrTooNew 301 s earlier", vectorTime.Add(-301 * time.Second), vend.ErrTooNew},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := VerifySignature(vectorHeader, []byte(vectorBody), vectorSecret, tt.now)
			checkErr(t, err, tt.want)
		})
	}
}

func TestVerifySignature_Header(t *testing.T) {
	bogus := strings.Repeat("ab", 32)
	body := []byte(vectorBody)
	tests := []struct {
		name   string
		header string
		secret string
		body   []byte
		want   error
	}{
		{"OK second of several v1 matches", "t=1700000000,v1=" + bogus + ",v1=" + vectorMAC, vectorSecret, body, nil},
		{"OK first of several v1 matches", "t=1700000000,v1=" + vectorMAC + ",v1=" + bogus, vectorSecret, body, nil},
		{"OK v0 and unknown schemes ignored", "t=1700000000,v0=" + bogus + ",v1=" + vectorMAC + ",v9=x", vectorSecret, body, nil},
		{"OK t after the signatures", "v1=" + vectorMAC + ",t=1700000000", vectorSecret, body, nil},
		{"OK upper-case hex", "t=1700000000,v1=" + strings.ToUpper(vectorMAC), vectorSecret, body, nil},
		{"ErrNoSecret", vectorHeader, "", body, ErrNoSecret},
		{"ErrNoSecret before the header is looked at", "", "", body, ErrNoSecret},
		{"ErrNoHeader", "", vectorSecret, body, ErrNoHeader},
		{"ErrNoHeader blank", "  ", vectorSecret, body, ErrNoHeader},
		{"ErrMalformed no t", "v1=" + vectorMAC, vectorSecret, body, ErrMalformed},
		{"ErrMalformed t not an integer", "t=17e8,v1=" + vectorMAC, vectorSecret, body, ErrMalformed},
		{"ErrMalformed t empty", "t=,v1=" + vectorMAC, vectorSecret, body, ErrMalformed},
		{"ErrMalformed two t", "t=1700000000,t=1700000000,v1=" + vectorMAC, vectorSecret, body, ErrMalformed},
		{"ErrMalformed element without =", "t=1700000000,v1", vectorSecret, body, ErrMalformed},
		{"ErrMalformed element with two =", "t=1700000000,v1=" + vectorMAC + "=", vectorSecret, body, ErrMalformed},
		{"ErrMalformed trailing comma", vectorHeader + ",", vectorSecret, body, ErrMalformed},
		{"ErrMalformed semicolons", "t=1700000000;v1=" + vectorMAC, vectorSecret, body, ErrMalformed},
		{"ErrNoSignature v0 only, even with the right MAC", "t=1700000000,v0=" + vectorMAC, vectorSecret, body, ErrNoSignature},
		{"ErrNoSignature v1 not hex", "t=1700000000,v1=zz" + vectorMAC[2:], vectorSecret, body, ErrNoSignature},
		{"ErrNoMatch wrong secret", vectorHeader, "whsec_test_secret_0123456789abcdeF", body, ErrNoMatch},
		{"ErrNoMatch secret without whsec_ prefix", vectorHeader, strings.TrimPrefix(vectorSecret, "whsec_"), body, ErrNoMatch},
		{"ErrNoMatch another t", "t=1700000001,v1=" + vectorMAC, vectorSecret, body, ErrNoMatch},
		{"ErrNoMatch truncated signature", "t=1700000000,v1=" + vectorMAC[:62], vectorSecret, body, ErrNoMatch},
		{"ErrNoMatch body with a newline", vectorHeader, vectorSecret, append([]byte(vectorBody), '\n'), ErrNoMatch},
		{"ErrNoMatch empty body", vectorHeader, vectorSecret, nil, ErrNoMatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := VerifySignature(tt.header, tt.body, tt.secret, vectorTime)
			checkErr(t, err, tt.want)
		})
	}
}

// TestVerifySignature_ErrNoMatchBeforeTime: a forged signature is reported as
// such, not as stale, so ErrTooOld always means Stripe signed the body.
func TestVerifySignature_ErrNoMatchBeforeTime(t *testing.T) {
	err := VerifySignature(vectorHeader, []byte(vectorBody), "whsec_other", vectorTime.Add(time.Hour))
	checkErr(t, err, ErrNoMatch)
}

func TestVerifySignature_FlippedBits(t *testing.T) {
	body := []byte(vectorBody)
	for i := range body {
		for bit := range 8 {
			flipped := append([]byte(nil), body...)
			flipped[i] ^= 1 << bit
			if err := VerifySignature(vectorHeader, flipped, vectorSecret, vectorTime); !errors.Is(err, ErrNoMatch) {
				t.Fatalf("body byte %d bit %d flipped: err = %v, want ErrNoMatch", i, bit, err)
			}
		}
	}
	sig, _ := hex.DecodeString(vectorMAC)
	for i := range sig {
		for bit := range 8 {
			flipped := append([]byte(nil), sig...)
			flipped[i] ^= 1 << bit
			header := "t=1700000000,v1=" + hex.EncodeToString(flipped)
			if err := VerifySignature(header, body, vectorSecret, vectorTime); !errors.Is(err, ErrNoMatch) {
				t.Fatalf("signature byte %d bit %d flipped: err = %v, want ErrNoMatch", i, bit, err)
			}
		}
	}
}

// checkErr asserts err is want (nil for success) and never reveals the secret
// or the expected signature.
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
	for _, secret := range []string{vectorSecret, strings.TrimPrefix(vectorSecret, "whsec_"), vectorMAC} {
		if strings.Contains(err.Error(), secret) {
			t.Fatalf("error %q reveals %q", err, secret)
		}
	}
}

func FuzzVerifySignature(f *testing.F) {
	f.Add(vectorHeader, []byte(vectorBody), vectorSecret, int64(0))
	f.Add("t=1700000000,v1="+strings.Repeat("ab", 32)+",v1="+vectorMAC, []byte(vectorBody), vectorSecret, int64(301))
	f.Add("t=1700000000,v0="+vectorMAC, []byte(vectorBody), vectorSecret, int64(-5))
	f.Add("t=-9223372036854775808,v1=00", []byte{}, "whsec_", int64(-9223372036854775807))
	f.Add("=,==,t==", []byte("{}"), "", int64(1))
	f.Fuzz(func(t *testing.T, header string, body []byte, secret string, offset int64) {
		now := vectorTime.Add(time.Duration(offset) * time.Second)
		err := VerifySignature(header, body, secret, now)
		if err == nil && (secret == "" || !strings.Contains(strings.ToLower(header), hex.EncodeToString(macOf(t, header, secret, body)))) {
			t.Fatalf("accepted %q for a body it does not sign", header)
		}
		if secret == "" {
			return
		}
		// verify(sign(x)) holds, and a flipped byte fails.
		signed := Sign(secret, now, body)
		if err := VerifySignature(signed, body, secret, now); err != nil {
			t.Fatalf("own signature rejected: %v", err)
		}
		if len(body) > 0 {
			flipped := append([]byte(nil), body...)
			flipped[len(flipped)/2] ^= 0x01
			if err := VerifySignature(signed, flipped, secret, now); !errors.Is(err, ErrNoMatch) {
				t.Fatalf("flipped body: err = %v, want ErrNoMatch", err)
			}
		}
	})
}

// macOf recomputes the MAC for the t in an accepted header.
func macOf(t *testing.T, header, secret string, body []byte) []byte {
	t.Helper()
	ts, _, err := parseHeader(header)
	if err != nil {
		t.Fatalf("accepted a header that does not parse: %v", err)
	}
	return mac(secret, ts, body)
}
