package delivery_test

import (
	"mime"
	"regexp"
	"strings"
	"testing"

	"github.com/vend-shop/vend/delivery"
)

// publicID has every letter a base32 token uses, so that look-alike tests find
// an 'S' and an 'I' to replace.
const publicID = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

func TestService_ParseToken(t *testing.T) {
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

func TestAttachment(t *testing.T) {
	tests := []struct {
		name      string
		file      string
		want      string // the whole header, if given
		wantName  string // the name a client that reads filename* saves under
		wantASCII string // the name a client that reads only filename saves under
	}{
		{
			name:      "an ASCII name is quoted as it is",
			file:      "report 2024.pdf",
			want:      `attachment; filename="report 2024.pdf"`,
			wantName:  "report 2024.pdf",
			wantASCII: "report 2024.pdf",
		},
		{
			name:      "a non-ASCII name gets an ASCII fallback and filename*",
			file:      "Müller – Buch.pdf",
			want:      `attachment; filename="M_ller _ Buch.pdf"; filename*=UTF-8''M%C3%BCller%20%E2%80%93%20Buch.pdf`,
			wantName:  "Müller – Buch.pdf",
			wantASCII: "M_ller _ Buch.pdf",
		},
		{
			name:      "quotes and percent signs never break the quoted fallback",
			file:      `say "hi" 100%.pdf`,
			wantName:  `say "hi" 100%.pdf`,
			wantASCII: "say _hi_ 100_.pdf",
		},
		{
			name:      "characters RFC 5987 allows only percent-encoded are encoded in filename*",
			file:      "Bericht: Über@Home = 1+1 (neu); [v2], {x}.pdf",
			wantName:  "Bericht: Über@Home = 1+1 (neu); [v2], {x}.pdf",
			wantASCII: "Bericht: _ber@Home = 1+1 (neu); [v2], {x}.pdf",
		},
		{
			name:      "control characters are replaced in both forms",
			file:      "a\r\nX-Evil: 1\x7f.pdf",
			wantName:  "a__X-Evil: 1_.pdf",
			wantASCII: "a__X-Evil: 1_.pdf",
		},
		{
			name:      "a path keeps only its last element",
			file:      `dir/sub\name.pdf`,
			wantName:  "name.pdf",
			wantASCII: "name.pdf",
		},
		{
			name:      "emoji and CJK survive in filename*",
			file:      "日本語 🎵.mp3",
			wantName:  "日本語 🎵.mp3",
			wantASCII: "___ _.mp3",
		},
	}
	fallback := regexp.MustCompile(`filename="([^"]*)"`)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := delivery.Attachment(tt.file)
			if tt.want != "" && got != tt.want {
				t.Errorf("Attachment(%q) = %s, want %s", tt.file, got, tt.want)
			}
			for _, c := range got {
				if c < 0x20 || c >= 0x7f {
					t.Fatalf("Attachment(%q) = %q: not printable ASCII", tt.file, got)
				}
			}
			// mime.ParseMediaType prefers filename* (RFC 2231), as browsers do.
			typ, params, err := mime.ParseMediaType(got)
			if err != nil || typ != "attachment" {
				t.Fatalf("Attachment(%q) = %s does not parse: %v", tt.file, got, err)
			}
			if params["filename"] != tt.wantName {
				t.Errorf("Attachment(%q) = %s saves as %q, want %q", tt.file, got, params["filename"], tt.wantName)
			}
			if m := fallback.FindStringSubmatch(got); m == nil || m[1] != tt.wantASCII {
				t.Errorf("Attachment(%q) = %s: ASCII fallback is not %q", tt.file, got, tt.wantASCII)
			}
		})
	}
}
