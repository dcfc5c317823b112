package delivery_test

import (
	"strings"
	"testing"

	"github.com/vend-shop/vend/delivery"
)

// publicID has every letter a base32 token uses, so that look-alike tests find
// an 'S' and an 'I' to replace.
const publicID = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

func TestService_ParseToken(t *testing.T) {
	t.Parallel()
	s := delivery.New(nil, nil, testSecret, delivery.Config{})
	tok := delivery.Token(testSecret, publicID)
	tests := []struct {
		name  string
		token string
		ok    bool
	}{
		{name: "a token made by Token is accepted", token: tok, ok: true},
		{name: "a lower-case token is accepted", token: strings.ToLower(tok), ok: true},
		{name: "a mixed-case token is accepted", token: strings.ToLower(tok[:10]) + tok[10:], ok: true},
		{name: "a token made with another secret is refused", token: delivery.Token([]byte("another"), publicID)},
		{name: "a token with one MAC character changed is refused", token: tok[:40] + flip(tok[40]) + tok[41:]},
		{name: "a token with one public id character changed is refused", token: flip(tok[0]) + tok[1:]},
		{name: "a truncated token is refused", token: tok[:len(tok)-1]},
		{name: "a token with a character added is refused", token: tok + "A"},
		{name: "a token with a trailing newline is refused", token: tok + "\n"},
		{name: "the public id alone is refused", token: publicID},
		{name: "an empty token is refused", token: ""},
		{name: "a non-ASCII look-alike of 'S' (long s, upper-cased to S) is refused", token: strings.Replace(tok, "S", "ſ", 1)},
		{name: "a non-ASCII look-alike of 'I' (dotless i, upper-cased to I) is refused", token: strings.Replace(tok, "I", "ı", 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, ok := s.ParseToken(tt.token)
			if ok != tt.ok {
				t.Fatalf("ParseToken(%q) ok = %v, want %v", tt.token, ok, tt.ok)
			}
			if ok && id != publicID {
				t.Errorf("public id = %q, want %q", id, publicID)
			}
		})
	}
}

func FuzzParseToken(f *testing.F) {
	s := delivery.New(nil, nil, testSecret, delivery.Config{})
	tok := delivery.Token(testSecret, publicID)
	for _, seed := range []string{
		tok, strings.ToLower(tok), tok[:51], tok + "A", publicID, "", delivery.Token(testSecret, "22222222222222222222222222"),
		strings.Replace(tok, "S", "ſ", 1), strings.Replace(tok, "I", "ı", 1), strings.Repeat("\xff", 52),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, token string) {
		id, ok := s.ParseToken(token)
		if !ok {
			return
		}
		// Accepted only if it is, up to the case of ASCII letters, a token made by Token.
		if want := delivery.Token(testSecret, id); upperASCII(token) != want {
			t.Fatalf("ParseToken(%q) accepted public id %q, but Token gives %q", token, id, want)
		}
	})
}

func upperASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}
