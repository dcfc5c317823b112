package delivery

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"hash"
)

// A download link's token is the grant's public id followed by a MAC of it under the
// instance's signing secret. The database alone therefore never yields a working
// link, and checking one is a constant-time comparison, not a lookup of a secret.
const (
	publicIDLen = 26 // crypto/rand.Text
	macLen      = 26 // 16 bytes, base32 without padding
)

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

func mac(secret []byte, publicID string) string {
	var sum [macLen]byte
	macInto(&sum, hmac.New(sha256.New, secret), publicID)
	return string(sum[:])
}

// macInto writes publicID's MAC, base32, into dst with h, an HMAC-SHA256
// under the secret.
func macInto(dst *[macLen]byte, h hash.Hash, publicID string) {
	h.Reset()
	h.Write([]byte("vend/grant-link/v1\x00"))
	h.Write([]byte(publicID))
	var sum [sha256.Size]byte
	b32.Encode(dst[:], h.Sum(sum[:0])[:16])
}

// Token returns the link token of the grant with the given public id under secret.
func Token(secret []byte, publicID string) string { return publicID + mac(secret, publicID) }

// Token returns the link token of the grant with the given public id.
func (s *Service) Token(publicID string) string { return Token(s.secret, publicID) }

// PagePath is the path of the download page of the grant with the given public
// id under secret: what buyers get in mail, on the return page and in
// Digistore24's answer.
func PagePath(secret []byte, publicID string) string { return "/d/" + Token(secret, publicID) }

// PagePath is the path of the download page of the grant with the given
// public id.
func (s *Service) PagePath(publicID string) string { return PagePath(s.secret, publicID) }

// parseToken checks a token's MAC and returns its public id. Links are accepted in
// lower case (some mail clients and people retype them so), but only ASCII letters
// are upper-cased: strings.ToUpper would also turn look-alikes such as 'ſ' into 'S',
// so that many different strings would open the same grant.
func (s *Service) parseToken(token string) (string, bool) {
	if len(token) != publicIDLen+macLen {
		return "", false
	}
	b := []byte(token)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - ('a' - 'A')
		}
	}
	id := string(b[:publicIDLen])
	// The keyed hash is kept for the next request: making one (hmac.New) costs
	// two SHA-256 states and the key's pads, on every download.
	h, _ := s.macs.Get().(hash.Hash)
	if h == nil {
		h = hmac.New(sha256.New, s.secret)
	}
	var want [macLen]byte
	macInto(&want, h, id)
	s.macs.Put(h)
	if !hmac.Equal(b[publicIDLen:], want[:]) {
		return "", false
	}
	return id, true
}
