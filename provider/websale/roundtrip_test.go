package websale

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"
)

// passwordFor returns a password each key derivation accepts, with the raw-padded
// ones both shorter and longer than a key.
func passwordsFor(k KDF) []string {
	switch k {
	case KDFRaw:
		return []string{vectorPassword}
	case KDFRawPadded:
		return []string{"short", strings.Repeat("long-password-", 4)}
	case KDFHexKey:
		return []string{
			"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
			"00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF",
		}
	}
	return []string{"any password, even with ü"}
}

// alignedLink has a plaintext of whole 16-byte blocks, the only kind padding
// none can carry in a block mode.
func alignedLink(tb testing.TB) Link {
	tb.Helper()
	l := vectorLink()
	for len(l.Plaintext())%16 != 0 {
		l.Email = "x" + l.Email
	}
	return l
}

func TestEncrypt_RoundTrip(t *testing.T) {
	for _, s := range (Settings{}).Candidates() {
		for _, pw := range passwordsFor(s.KDF) {
			for _, l := range []Link{vectorLink(), alignedLink(t)} {
				aligned := len(l.Plaintext())%16 == 0
				t.Run(s.String(), func(t *testing.T) {
					data, err := Encrypt(l.Plaintext(), s, pw, nil)
					if s.Padding == PaddingNone && s.Mode != ModeGCMNonce12 && !aligned {
						if err == nil {
							t.Fatal("padding none of an unaligned plaintext in a block mode: no error")
						}
						return
					}
					if err != nil {
						t.Fatal(err)
					}
					got, err := mustDecoder(t, pw, s).Decode(data)
					if err != nil {
						t.Fatal(err)
					}
					checkLink(t, got, l)
					checkAutoFinds(t, pw, data, s, l)
				})
			}
		}
	}
}

// checkAutoFinds asserts an all-auto decoder reads the link and names its
// setting. Zero padding of a whole-block plaintext is indistinguishable from
// none, so those two may stand for each other.
func checkAutoFinds(t *testing.T, pw, data string, s Settings, want Link) {
	t.Helper()
	got, found, err := mustDecoder(t, pw, Settings{}).DecodeMatch(data)
	if err != nil {
		t.Fatalf("auto: %v", err)
	}
	checkLink(t, got, want)
	if found.KDF == KDFRaw && s.KDF == KDFRawPadded && len(pw) == keySize {
		found.KDF = KDFRawPadded
	}
	if found.Padding != s.Padding && !(found.Padding == PaddingZero && s.Padding == PaddingNone) {
		t.Errorf("auto found %s, encrypted with %s", found, s)
	}
	found.Padding = s.Padding
	if found != s {
		t.Errorf("auto found %s, encrypted with %s", found, s)
	}
}

// PHP's openssl_encrypt NUL-pads a short key and truncates a long one;
// raw-padded must agree with raw on the key that results.
func TestEncrypt_RawPaddedIsPHPKey(t *testing.T) {
	s := Settings{KDFRawPadded, ModeECB, PaddingPKCS7}
	raw := Settings{KDFRaw, ModeECB, PaddingPKCS7}
	for _, tt := range []struct{ password, key string }{
		{"short", "short" + strings.Repeat("\x00", 27)},
		{vectorPassword + "-and-more", vectorPassword},
	} {
		data, err := Encrypt(vectorLink().Plaintext(), s, tt.password, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := mustDecoder(t, tt.key, raw).Decode(data); err != nil {
			t.Errorf("password %q: raw with the PHP key: %v", tt.password, err)
		}
	}
}

func TestNewDecoder_RawNeeds32Bytes(t *testing.T) {
	_, err := NewDecoder("short-secret", Settings{KDF: KDFRaw})
	if err == nil || !strings.Contains(err.Error(), "raw-padded") || strings.Contains(err.Error(), "short-secret") {
		t.Fatalf("err = %v", err)
	}
}

// GCM is the one mode without the malleability caveat: every flipped bit,
// nonce and tag included, fails authentication.
func TestDecoder_GCMBitFlip(t *testing.T) {
	s := Settings{KDFSHA256, ModeGCMNonce12, PaddingNone}
	nonce := bytes.Repeat([]byte{7}, 12)
	out, err := Encrypt(vectorLink().Plaintext(), s, vectorPassword, bytes.NewReader(nonce))
	if err != nil {
		t.Fatal(err)
	}
	data, _ := hex.DecodeString(out)
	if !bytes.Equal(data[:12], nonce) {
		t.Fatalf("nonce not first: %x", data[:12])
	}
	d := mustDecoder(t, vectorPassword, s)
	if _, err := d.Decode(out); err != nil {
		t.Fatal(err)
	}
	for i := range data {
		for bit := range 8 {
			flipped := bytes.Clone(data)
			flipped[i] ^= 1 << bit
			_, err := d.Decode(hex.EncodeToString(flipped))
			if got := checkRefusal(t, err, vectorPassword).Reason; got != ReasonAuth {
				t.Fatalf("byte %d bit %d: reason %s, want %s", i, bit, got, ReasonAuth)
			}
		}
	}
}

func TestEncrypt_RandomIV(t *testing.T) {
	s := Settings{KDFSHA256, ModeCBCIVPrefix, PaddingPKCS7}
	a, err := Encrypt(vectorLink().Plaintext(), s, vectorPassword, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Encrypt(vectorLink().Plaintext(), s, vectorPassword, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Fatal("two encryptions with a random IV are equal")
	}
}

func TestEncrypt_Err(t *testing.T) {
	pt := vectorLink().Plaintext()
	for _, tt := range []struct {
		name     string
		s        Settings
		password string
		random   *bytes.Reader
	}{
		{"ErrAuto", Settings{KDF: KDFSHA256, Mode: ModeECB}, vectorPassword, nil},
		{"ErrUnknownMode", Settings{KDFSHA256, "ctr", PaddingPKCS7}, vectorPassword, nil},
		{"ErrRawLength", Settings{KDFRaw, ModeECB, PaddingPKCS7}, "too short", nil},
		{"ErrHexKey", Settings{KDFHexKey, ModeECB, PaddingPKCS7}, strings.Repeat("g", 64), nil},
		{"ErrShortRandom", Settings{KDFSHA256, ModeCBCIVPrefix, PaddingPKCS7}, vectorPassword, bytes.NewReader(make([]byte, 5))},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			if tt.random != nil {
				_, err = Encrypt(pt, tt.s, tt.password, tt.random)
			} else {
				_, err = Encrypt(pt, tt.s, tt.password, nil)
			}
			if err == nil {
				t.Fatal("no error")
			}
			if strings.Contains(err.Error(), tt.password) {
				t.Fatalf("error %q quotes the password", err)
			}
		})
	}
	if _, err := Encrypt("ends in NUL\x00", Settings{KDFSHA256, ModeECB, PaddingZero}, vectorPassword, nil); err == nil {
		t.Fatal("zero padding of a NUL-terminated plaintext: no error")
	}
}

// unpadPKCS7 is written in constant time, so its logic gets its own cases.
func TestUnpadPKCS7(t *testing.T) {
	block := func(tail ...byte) []byte {
		return append(bytes.Repeat([]byte{'a'}, 16-len(tail)), tail...)
	}
	full := bytes.Repeat([]byte{16}, 16)
	for _, tt := range []struct {
		name string
		in   []byte
		n    int // bytes removed; -1 means invalid
	}{
		{"one byte", block(1), 1},
		{"two bytes", block(2, 2), 2},
		{"a whole block", full, 16},
		{"a whole block after data", append(block(), full...), 16},
		{"ErrZero", block(0), -1},
		{"ErrSeventeen", block(17), -1},
		{"byte before the padding may be anything", block(3, 2, 2), 2},
		{"ErrInconsistent", block(1, 2, 3), -1},
		{"ErrShort", []byte{1}, -1},
		{"ErrNotWholeBlocks", append(block(), 1), -1},
		{"ErrEmpty", nil, -1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := unpadPKCS7(tt.in)
			switch {
			case tt.n < 0 && ok:
				t.Fatalf("accepted, kept %d bytes", len(got))
			case tt.n >= 0 && (!ok || len(got) != len(tt.in)-tt.n):
				t.Fatalf("ok=%v, kept %d bytes, want %d", ok, len(got), len(tt.in)-tt.n)
			}
		})
	}
}
