package license

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// A signed licence is a JSON Web Token (RFC 7519) signed with Ed25519 (JWS
// "EdDSA", RFC 8037) by the shop's key: software checks it offline with the
// shop's public key, with any JWT library or a few lines of its own
// (docs/licenses.md). Its claims:
//
//	iss            the shop (its base URL)
//	sub            the licence key
//	iat            when it was signed
//	exp            when the licence expires (absent: never)
//	product        vend's product id
//	buyer          SHA-256, in hex, of the buyer's email address, trimmed and lower-cased
//	issued         when the key was issued (RFC 3339)
//	updates_until  the last day new versions reach the buyer (RFC 3339; absent: every version)
//	order_id       vend's order id
//	activation_limit  instances at once (-1: unlimited)
type Claims struct {
	Issuer          string `json:"iss"`
	Key             string `json:"sub"`
	IssuedAt        int64  `json:"iat"`
	Expires         int64  `json:"exp,omitempty"`
	Product         string `json:"product"`
	Buyer           string `json:"buyer"`
	Issued          string `json:"issued"`
	UpdatesUntil    string `json:"updates_until,omitempty"`
	OrderID         int64  `json:"order_id"`
	ActivationLimit int    `json:"activation_limit"`
}

// Signer signs licences with the shop's Ed25519 key.
type Signer struct {
	key ed25519.PrivateKey
	kid string
}

// NewSigner signs with key.
func NewSigner(key ed25519.PrivateKey) *Signer {
	pub := key.Public().(ed25519.PublicKey)
	sum := sha256.Sum256(pub)
	return &Signer{key: key, kid: hex.EncodeToString(sum[:8])}
}

// PublicKey is the key software verifies licences with.
func (s *Signer) PublicKey() ed25519.PublicKey { return s.key.Public().(ed25519.PublicKey) }

// KeyID names the key in the token's header (kid): the first 8 bytes of
// the public key's SHA-256, in hex.
func (s *Signer) KeyID() string { return s.kid }

// PublicKeyPEM is the public key as a PEM "PUBLIC KEY" (SubjectPublicKeyInfo),
// what Go's x509, node's crypto and OpenSSL read.
func (s *Signer) PublicKeyPEM() []byte {
	der, err := x509.MarshalPKIXPublicKey(s.PublicKey())
	if err != nil {
		panic(err) // an ed25519.PublicKey always marshals
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

var b64 = base64.RawURLEncoding

// Sign makes the signed licence of c.
func (s *Signer) Sign(c Claims) (string, error) {
	header, err := json.Marshal(map[string]string{"alg": "EdDSA", "typ": "JWT", "kid": s.kid})
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	signing := b64.EncodeToString(header) + "." + b64.EncodeToString(payload)
	return signing + "." + b64.EncodeToString(ed25519.Sign(s.key, []byte(signing))), nil
}

// Verify checks a signed licence against pub and returns its claims: the
// signature, the algorithm, and that it has not expired at now. It is what
// a Go app needs, and what the tests hold the token to.
func Verify(pub ed25519.PublicKey, token string, now time.Time) (*Claims, error) {
	if len(token) > 8192 {
		return nil, errors.New("licence: too long")
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, errors.New("licence: not a JWT")
	}
	header, err := b64.DecodeString(parts[0])
	if err != nil {
		return nil, errors.New("licence: bad header")
	}
	var h struct{ Alg string }
	if err := json.Unmarshal(header, &h); err != nil || h.Alg != "EdDSA" {
		return nil, errors.New("licence: not signed with EdDSA")
	}
	sig, err := b64.DecodeString(parts[2])
	if err != nil || !ed25519.Verify(pub, []byte(parts[0]+"."+parts[1]), sig) {
		return nil, errors.New("licence: the signature does not match the shop's key")
	}
	payload, err := b64.DecodeString(parts[1])
	if err != nil {
		return nil, errors.New("licence: bad payload")
	}
	var c Claims
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, errors.New("licence: bad claims")
	}
	if c.Expires != 0 && !now.Before(time.Unix(c.Expires, 0)) {
		return nil, errors.New("licence: expired")
	}
	return &c, nil
}

// BuyerHash is the buyer claim of an email address.
func BuyerHash(email string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(email))))
	return hex.EncodeToString(sum[:])
}

// LoadKey reads the shop's signing key from path (a PEM "PRIVATE KEY",
// PKCS #8), creating it once: it is the one key every licence ever signed
// is checked with, so losing or changing it breaks every app's offline
// check.
func LoadKey(path string) (ed25519.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if err := createKey(path); err != nil {
			return nil, fmt.Errorf("create licence key: %w", err)
		}
		return LoadKey(path)
	} else if err != nil {
		return nil, fmt.Errorf("read licence key: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("licence key %s is damaged (want a PEM PRIVATE KEY)", path)
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("licence key %s is damaged: %w", path, err)
	}
	ed, ok := key.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("licence key %s is not an Ed25519 key", path)
	}
	return ed, nil
}

// createKey writes a new key to a temporary file and links it into place, so
// a crash never leaves half a key and two vends starting at once agree on
// the first.
func createKey(path string) error {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".license-key-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if err := pem.Encode(tmp, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return nil
}
