package websale

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
)

// Encrypt makes the dldata hex (lower case, as WEBSALE writes it) for a
// plaintext, usually Link.Plaintext(), the way a shop configured with s and
// password would. It is for the simulator and the tests; vend never has to make
// real links. random supplies the IV (cbc-ivprefix) or nonce (gcm-nonce12); nil
// means crypto/rand, and a fixed reader makes the output reproducible. s must be
// pinned: there is no "auto" way to encrypt.
func Encrypt(plaintext string, s Settings, password string, random io.Reader) (string, error) {
	if err := s.validate(); err != nil {
		return "", err
	}
	if s = s.withDefaults(); s.IsAuto() {
		return "", fmt.Errorf("websale: encrypt needs pinned settings, not %s", s)
	}
	if random == nil {
		random = rand.Reader
	}
	block, err := newBlock(s.KDF, password)
	if err != nil {
		return "", err
	}
	padded, err := pad(s.Padding, []byte(plaintext))
	if err != nil {
		return "", err
	}
	data, err := encrypt(block, s.Mode, padded, random)
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(data), nil
}

// LinkURL puts a dldata value on base the way WEBSALE builds its links:
// "https://dl.example.com" becomes "https://dl.example.com/?dldata=…", and a base
// with a path or query (".../websale", "...?a=1") keeps it.
func LinkURL(base, dldata string) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("websale: link base %q: %w", base, err)
	}
	if u.Path == "" && u.Host != "" {
		u.Path = "/"
	}
	q := u.RawQuery
	if q != "" {
		q += "&"
	}
	u.RawQuery = q + "dldata=" + url.QueryEscape(dldata)
	return u.String(), nil
}
