// Package account is vend's administrators: creating them (the first one through
// the one-time setup link, the others with `vend user add`) and the random
// tokens that sign them in (session cookies, API tokens, setup links), of which
// the store keeps only a hash, so a copy of the database signs nobody in.
//
// It is here, below web, so that the command line creates users and tokens the
// way the admin does without importing the HTTP layer; the HTTP side of signing
// in (cookies, the login form, requireAdmin) stays in web.
package account

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
)

// apiTokenPrefix starts every API token, so a token found in a log or a
// repository is recognizable as vend's.
const apiTokenPrefix = "vend_"

// NewToken returns 32 random bytes, base64url: a session cookie, or the
// secret of a setup link.
func NewToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// TokenHash is what the store keeps of a cookie or token: its sha256, hex. The
// tokens are 32 random bytes, so a fast hash is enough.
func TokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// NewAPIToken returns a new API token, to show once, and the hash to store in
// vend.APIToken.Hash.
func NewAPIToken() (token, hash string) {
	token = apiTokenPrefix + NewToken()
	return token, TokenHash(token)
}
