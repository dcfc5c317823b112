package vend

import (
	"bufio"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// LicenseMode says whether a product's buyers get licence keys, and where
// the keys come from.
type LicenseMode string

const (
	LicenseOff       LicenseMode = ""          // no keys (the default)
	LicenseGenerated LicenseMode = "generated" // vend makes each key (LicensePolicy.KeyFormat)
	LicenseList      LicenseMode = "list"      // each key comes from a list the seller uploaded
)

// Known reports whether m is a mode vend has.
func (m LicenseMode) Known() bool {
	return m == LicenseOff || m == LicenseGenerated || m == LicenseList
}

// DefaultLowStock is when the owner hears that a product's uploaded keys run
// low: fewer unused ones than this.
const DefaultLowStock = 10

// DefaultKeyFormat is the shape of a generated key: four groups of five
// characters from KeyAlphabet, about 98 random bits.
const DefaultKeyFormat = "XXXXX-XXXXX-XXXXX-XXXXX"

// KeyAlphabet holds the characters a generated key is made of: digits and
// capital letters without those a buyer mistakes for another when typing a
// key from paper (0 O, 1 I L, U V).
const KeyAlphabet = "23456789ABCDEFGHJKMNPQRSTWXYZ"

// minKeyRandom is the fewest random characters a key format may have: 16
// from KeyAlphabet are 77 bits, beyond guessing at any request rate.
const minKeyRandom = 16

// LicensePolicy is how a product licenses its buyers.
type LicensePolicy struct {
	Mode LicenseMode `json:"mode,omitempty"`
	// ActivationLimit is how many instances one key may be activated on at
	// once: Unlimited or ≥ 1 (default 1).
	ActivationLimit int `json:"activation_limit"`
	// Length is how long a key stays valid from the purchase: Forever or > 0.
	Length time.Duration `json:"length"`
	// KeyFormat is the shape of a generated key: each X a random character
	// of KeyAlphabet, anything else itself (a prefix, the dashes).
	KeyFormat string `json:"key_format,omitempty"`
	// LowStock (list mode): the owner is mailed when fewer unused keys than
	// this remain; 0 means DefaultLowStock.
	LowStock int `json:"low_stock,omitempty"`
}

// LowStockOrDefault is the policy's LowStock, or DefaultLowStock.
func (p LicensePolicy) LowStockOrDefault() int {
	if p.LowStock <= 0 {
		return DefaultLowStock
	}
	return p.LowStock
}

// Validate checks a policy a seller set.
func (p LicensePolicy) Validate() error {
	if !p.Mode.Known() {
		return Errorf(EINVALID, "licence mode %q: use off, generated or list", p.Mode)
	}
	if p.Mode == LicenseOff {
		return nil
	}
	if p.ActivationLimit < 1 && p.ActivationLimit != Unlimited {
		return Errorf(EINVALID, "activation limit %d: use a positive number or unlimited", p.ActivationLimit)
	}
	if p.Length < 0 {
		return Errorf(EINVALID, "licence length is negative")
	}
	if p.LowStock < 0 || p.LowStock > 1000000 {
		return Errorf(EINVALID, "low stock %d: use a number from 0 to 1000000", p.LowStock)
	}
	return ValidateKeyFormat(p.KeyFormat)
}

// MaxKeyList bounds one upload of keys.
const MaxKeyList = 100000

// ParseKeyList reads a seller's list of licence keys: one a line, spaces
// around it ignored, blank lines and lines starting with # skipped, a UTF-8
// byte order mark and CRLF line ends accepted. Keys are kept as written;
// one the list repeats (in any case) is kept once. A line that cannot be a
// key (NormalizeKey) fails the whole list with its number, so a broken file
// adds nothing.
func ParseKeyList(r io.Reader) ([]string, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	var keys []string
	seen := map[string]bool{}
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if n == 1 {
			line = strings.TrimPrefix(line, "\ufeff")
		}
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		norm, ok := NormalizeKey(line)
		if !ok {
			return nil, Errorf(EINVALID, "line %d is not a licence key (at most %d characters, no spaces or control characters)", n, MaxKeyLength)
		}
		if seen[norm] {
			continue
		}
		seen[norm] = true
		if len(keys) == MaxKeyList {
			return nil, Errorf(EINVALID, "more than %d keys: upload them in parts", MaxKeyList)
		}
		keys = append(keys, line)
	}
	if err := sc.Err(); err != nil {
		return nil, Errorf(EINVALID, "the list of keys cannot be read: %v", err)
	}
	return keys, nil
}

// ValidateKeyFormat checks a key format: up to 64 printable ASCII characters
// without spaces, at least 16 of them X (random).
func ValidateKeyFormat(format string) error {
	if format == "" {
		return nil // DefaultKeyFormat
	}
	if len(format) > 64 {
		return Errorf(EINVALID, "key format: at most 64 characters")
	}
	random := 0
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c <= ' ' || c > '~' {
			return Errorf(EINVALID, "key format: only printable ASCII without spaces")
		}
		if c == 'X' {
			random++
		}
	}
	if random < minKeyRandom {
		return Errorf(EINVALID, "key format %q has %d random characters (X); use at least %d", format, random, minKeyRandom)
	}
	return nil
}

// NewLicenseKey makes a key in format (DefaultKeyFormat when empty): each X
// a uniformly random character of KeyAlphabet.
func NewLicenseKey(format string) (string, error) {
	if format == "" {
		format = DefaultKeyFormat
	}
	if err := ValidateKeyFormat(format); err != nil {
		return "", err
	}
	b := []byte(format)
	for i, c := range b {
		if c != 'X' {
			continue
		}
		// Rejection sampling keeps every character equally likely: 232 is
		// the largest multiple of the alphabet's 29 characters below 256.
		var r [1]byte
		for {
			if _, err := rand.Read(r[:]); err != nil {
				return "", fmt.Errorf("licence key: %w", err)
			}
			if int(r[0]) < 256-256%len(KeyAlphabet) {
				break
			}
		}
		b[i] = KeyAlphabet[int(r[0])%len(KeyAlphabet)]
	}
	return string(b), nil
}

// MaxKeysPerItem bounds the keys of one order item: a payment for more units
// of a licensed product is refused rather than filling the database.
const MaxKeysPerItem = 100

// MaxKeyLength bounds a licence key as anyone sends it.
const MaxKeyLength = 128

// NormalizeKey is a key as vend compares it: trimmed and upper-cased, so a
// buyer may type it in any case. ok is false for what cannot be a key:
// empty, longer than MaxKeyLength, not UTF-8, or with spaces or control
// characters inside.
func NormalizeKey(s string) (key string, ok bool) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > MaxKeyLength || !utf8.ValidString(s) {
		return "", false
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f || r >= 0x80 && r < 0xa0 {
			return "", false
		}
	}
	return strings.ToUpper(s), true
}

// KeyHash is what the store finds a key by: the SHA-256 of its normalized
// form. A lookup by hash takes the same time whatever other keys exist.
func KeyHash(normalized string) string {
	sum := sha256.Sum256([]byte(normalized))
	return hex.EncodeToString(sum[:])
}

// License is one licence key, issued with the grant of one unit of an order
// item. Whether it is valid follows the grant: a refund or chargeback that
// revokes the grant disables the key, a restore enables it again.
type License struct {
	ID              int64     `json:"id"`
	GrantID         int64     `json:"grant_id"`
	OrderID         int64     `json:"order_id"`
	ItemID          int64     `json:"item_id"`
	ProductID       string    `json:"product_id"`
	Unit            int       `json:"unit"` // 0 … quantity-1: one key per unit bought
	Key             string    `json:"key"`
	ActivationLimit int       `json:"activation_limit"`    // Unlimited or ≥ 1
	Disabled        bool      `json:"disabled,omitempty"`  // by an administrator, whatever the grant says
	ExpiresAt       time.Time `json:"expires_at,omitzero"` // zero: never
	Activations     int       `json:"activations"`         // instances active now (read, not stored)
	CreatedAt       time.Time `json:"created_at"`
	UpdatedAt       time.Time `json:"updated_at"`
}

// LicenseStatus is a key's standing as the licence API reports it, in the
// words Lemon Squeezy's API uses.
type LicenseStatus string

const (
	LicenseInactive LicenseStatus = "inactive" // valid, on no instance yet
	LicenseActive   LicenseStatus = "active"   // valid, on one or more instances
	LicenseExpired  LicenseStatus = "expired"  // its length ran out
	LicenseDisabled LicenseStatus = "disabled" // its grant ended (refund, chargeback, revoke) or an administrator disabled it
)

// Status is the key's standing at now, given its grant's.
func (l *License) Status(g *Grant, now time.Time) LicenseStatus {
	switch {
	case l.Disabled || g == nil || g.State != GrantActive:
		return LicenseDisabled
	case !l.ExpiresAt.IsZero() && !now.Before(l.ExpiresAt):
		return LicenseExpired
	case l.Activations > 0:
		return LicenseActive
	}
	return LicenseInactive
}

// Valid reports whether a status lets software run.
func (s LicenseStatus) Valid() bool { return s == LicenseInactive || s == LicenseActive }

// LicenseInstance is one activation of a key: an installation the buyer
// named. It counts against the key's limit until it is deactivated.
type LicenseInstance struct {
	ID            int64     `json:"-"`
	LicenseID     int64     `json:"license_id"`
	InstanceID    string    `json:"id"` // random, the client's handle for it
	Name          string    `json:"name"`
	IP            string    `json:"ip,omitempty"`
	CreatedAt     time.Time `json:"created_at"`
	DeactivatedAt time.Time `json:"deactivated_at,omitzero"` // zero while it counts
}

// MaxInstanceName bounds an instance's name, as a client sends it.
const MaxInstanceName = 200
