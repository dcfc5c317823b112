package websale

import (
	"fmt"
	"strings"
)

// Auto is the config value that makes the decoder try every candidate for a
// setting. It exists for onboarding: once a real link decodes, pin what it
// reported, because every extra candidate widens what vend accepts.
const Auto = "auto"

// KDF is how the shared password becomes the 32-byte AES-256 key.
type KDF string

const (
	KDFAuto KDF = Auto
	// KDFRaw uses the password bytes as the key; the password must be exactly 32 bytes.
	KDFRaw KDF = "raw"
	// KDFRawPadded is KDFRaw the way PHP's openssl_encrypt treats a key of the
	// wrong length: NUL-padded or truncated to 32 bytes. It is its own name so
	// that a password of the wrong length is a config error unless asked for.
	KDFRawPadded KDF = "raw-padded"
	// KDFSHA256 uses SHA-256(password).
	KDFSHA256 KDF = "sha256"
	// KDFSHA256Hex32 uses the first 32 ASCII characters of the lower-case hex
	// SHA-256 of the password: PHP passes the hex string and OpenSSL truncates it.
	KDFSHA256Hex32 KDF = "sha256hex32"
	// KDFHexKey reads the password as 64 hex digits.
	KDFHexKey KDF = "hexkey"
)

// Mode is the AES-256 mode and where its IV or nonce lives.
type Mode string

const (
	ModeAuto Mode = Auto
	// ModeCBCIVPrefix is CBC with the IV as the first 16 bytes of the data.
	ModeCBCIVPrefix Mode = "cbc-ivprefix"
	// ModeCBCZeroIV is CBC with an all-zero IV.
	ModeCBCZeroIV Mode = "cbc-zeroiv"
	// ModeECB is ECB: each 16-byte block on its own.
	ModeECB Mode = "ecb"
	// ModeGCMNonce12 is GCM with a 12-byte nonce first and the 16-byte tag last;
	// the only authenticated candidate.
	ModeGCMNonce12 Mode = "gcm-nonce12"
)

// Padding is how the plaintext was made a whole number of blocks.
type Padding string

const (
	PaddingAuto Padding = Auto
	// PaddingPKCS7 is PKCS#7, checked strictly: 1 to 16 bytes, all equal to the count.
	PaddingPKCS7 Padding = "pkcs7"
	// PaddingZero strips trailing NUL bytes (PHP mcrypt, OPENSSL_ZERO_PADDING with manual padding).
	PaddingZero Padding = "zero"
	// PaddingNone takes the decrypted bytes as they are.
	PaddingNone Padding = "none"
)

// The functions below give the auto-detect order of protocols.md 3.3:
// candidates are tried, and reported by Detect, in this order. They are
// functions, not variables, so no caller can reorder them for everyone.

func kdfOrder() []KDF {
	return []KDF{KDFRaw, KDFRawPadded, KDFSHA256, KDFSHA256Hex32, KDFHexKey}
}

func modeOrder() []Mode {
	return []Mode{ModeCBCIVPrefix, ModeCBCZeroIV, ModeECB, ModeGCMNonce12}
}

func paddingOrder() []Padding {
	return []Padding{PaddingPKCS7, PaddingZero, PaddingNone}
}

// Settings is one decoder configuration. A zero field means Auto.
type Settings struct {
	KDF     KDF
	Mode    Mode
	Padding Padding
}

// String is "kdf/mode/padding", the form logs and Detect's output use.
func (s Settings) String() string {
	s = s.withDefaults()
	return string(s.KDF) + "/" + string(s.Mode) + "/" + string(s.Padding)
}

// IsAuto reports whether any setting is still auto-detected, so that startup
// can warn that the setting is not pinned.
func (s Settings) IsAuto() bool {
	s = s.withDefaults()
	return s.KDF == KDFAuto || s.Mode == ModeAuto || s.Padding == PaddingAuto
}

// Candidates lists the concrete settings s stands for, in the order they are tried.
// A pinned s yields itself. Whether a KDF suits a given password is decided
// later, by NewDecoder.
func (s Settings) Candidates() []Settings {
	s = s.withDefaults()
	var out []Settings
	for _, k := range pick(s.KDF, KDFAuto, kdfOrder()) {
		for _, m := range pick(s.Mode, ModeAuto, modeOrder()) {
			for _, p := range pick(s.Padding, PaddingAuto, paddingOrder()) {
				out = append(out, Settings{KDF: k, Mode: m, Padding: p})
			}
		}
	}
	return out
}

func pick[T comparable](v, auto T, all []T) []T {
	if v == auto {
		return all
	}
	return []T{v}
}

func (s Settings) withDefaults() Settings {
	if s.KDF == "" {
		s.KDF = KDFAuto
	}
	if s.Mode == "" {
		s.Mode = ModeAuto
	}
	if s.Padding == "" {
		s.Padding = PaddingAuto
	}
	return s
}

// validate rejects values that did not come through the Parse functions.
func (s Settings) validate() error {
	s = s.withDefaults()
	if _, err := ParseKDF(string(s.KDF)); err != nil {
		return err
	}
	if _, err := ParseMode(string(s.Mode)); err != nil {
		return err
	}
	_, err := ParsePadding(string(s.Padding))
	return err
}

// ParseKDF reads a websale.key_derivation value. Case and surrounding space are
// ignored; "" means auto.
func ParseKDF(s string) (KDF, error) {
	return parseSetting(s, "key derivation", KDFAuto, kdfOrder())
}

// ParseMode reads a websale.mode value. Case and surrounding space are ignored;
// "" means auto.
func ParseMode(s string) (Mode, error) {
	return parseSetting(s, "mode", ModeAuto, modeOrder())
}

// ParsePadding reads a websale.padding value. Case and surrounding space are
// ignored; "" means auto.
func ParsePadding(s string) (Padding, error) {
	return parseSetting(s, "padding", PaddingAuto, paddingOrder())
}

// ParseSettings reads the three config values at once.
func ParseSettings(kdf, mode, padding string) (Settings, error) {
	var s Settings
	var err error
	if s.KDF, err = ParseKDF(kdf); err != nil {
		return Settings{}, err
	}
	if s.Mode, err = ParseMode(mode); err != nil {
		return Settings{}, err
	}
	if s.Padding, err = ParsePadding(padding); err != nil {
		return Settings{}, err
	}
	return s, nil
}

func parseSetting[T ~string](s, what string, auto T, all []T) (T, error) {
	v := T(strings.ToLower(strings.TrimSpace(s)))
	if v == "" || v == auto {
		return auto, nil
	}
	for _, a := range all {
		if v == a {
			return v, nil
		}
	}
	names := make([]string, 0, len(all)+1)
	for _, a := range all {
		names = append(names, string(a))
	}
	names = append(names, Auto)
	return "", fmt.Errorf("websale: unknown %s %q (want one of %s)", what, s, strings.Join(names, ", "))
}
