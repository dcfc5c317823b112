package websale

import (
	"strings"
	"testing"
	"time"
)

const (
	head = "<1>1462879316</1><2>myshop</2><3>1</3><4>1000123</4><5>kunde@example.de</5>"
	tail = "<8>1234567890</8>"
)

func TestParsePlaintext_OK(t *testing.T) {
	base := vectorLink()
	without := func(customer, user string) Link {
		l := base
		l.CustomerNumber, l.UserIndex = customer, user
		return l
	}
	for _, tt := range []struct {
		name, pt string
		want     Link
	}{
		{"all tags", head + "<6>K4711</6><7>42</7>" + tail, base},
		{"optional tags absent", head + tail, without("", "")},
		{"optional tags present but empty", head + "<6></6><7></7>" + tail, without("", "")},
		{"only customer number", head + "<6>K4711</6>" + tail, without("K4711", "")},
		{"only user index", head + "<7>42</7>" + tail, without("", "42")},
		{"9-digit timestamp", strings.Replace(head, "1462879316", "999999999", 1) + tail,
			func() Link { l := without("", ""); l.Time = time.Unix(999999999, 0).UTC(); return l }()},
		{"11-digit timestamp", strings.Replace(head, "1462879316", "01462879316", 1) + tail, without("", "")},
		{"'>' and spaces inside a value", strings.Replace(head, "myshop", "my > shop", 1) + tail,
			func() Link { l := without("", ""); l.ShopID = "my > shop"; return l }()},
		{"e-mail with atext symbols", strings.Replace(head, "kunde@example.de", "o'brien+tag=x@sub.example.co.uk", 1) + tail,
			func() Link { l := without("", ""); l.Email = "o'brien+tag=x@sub.example.co.uk"; return l }()},
		{"e-mail with non-ASCII letters", strings.Replace(head, "kunde@example.de", "jörg@bücher.de", 1) + tail,
			func() Link { l := without("", ""); l.Email = "jörg@bücher.de"; return l }()},
		{"entities stay as they are", strings.Replace(head, "myshop", "a&lt;b", 1) + tail,
			func() Link { l := without("", ""); l.ShopID = "a&lt;b"; return l }()},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parsePlaintext([]byte(tt.pt))
			if err != nil {
				t.Fatal(err)
			}
			checkLink(t, got, tt.want)
		})
	}
}

func TestParsePlaintext_Err(t *testing.T) {
	for _, tt := range []struct{ name, pt string }{
		{"empty", ""},
		{"missing required tag 5", strings.Replace(head, "<5>kunde@example.de</5>", "", 1) + tail},
		{"missing required tag 8", head},
		{"missing timestamp tag", strings.TrimPrefix(head, "<1>1462879316</1>") + tail},
		{"empty required value", strings.Replace(head, "<4>1000123</4>", "<4></4>", 1) + tail},
		{"tags 2 and 3 swapped", strings.Replace(head, "<2>myshop</2><3>1</3>", "<3>1</3><2>myshop</2>", 1) + tail},
		{"tags 6 and 7 swapped", head + "<7>42</7><6>K4711</6>" + tail},
		{"tag 8 before optional tags", head + tail + "<6>K4711</6>"},
		{"duplicate tag", head + "<6>a</6><6>b</6>" + tail},
		{"unknown tag", head + "<9>x</9>" + tail},
		{"text after </8>", head + tail + "x"},
		{"NUL after </8>", head + tail + "\x00"},
		{"text before <1>", " " + head + tail},
		{"text between tags", strings.Replace(head, "</2><3>", "</2> <3>", 1) + tail},
		{"mismatched closing tag", strings.Replace(head, "</2>", "</3>", 1) + tail},
		{"unclosed tag", head + "<8>1234567890"},
		{"'<' inside a value", strings.Replace(head, "myshop", "my<shop", 1) + tail},
		{"control character in a value", strings.Replace(head, "kunde@example.de", "kunde@example.de\r\nBcc: x", 1) + tail},
		{"e-mail without @", strings.Replace(head, "kunde@example.de", "kunde.example.de", 1) + tail},
		{"e-mail with two @", strings.Replace(head, "kunde@example.de", "kunde@x@example.de", 1) + tail},
		{"e-mail without local part", strings.Replace(head, "kunde@example.de", "@example.de", 1) + tail},
		{"e-mail without domain", strings.Replace(head, "kunde@example.de", "kunde@", 1) + tail},
		{"e-mail with a space", strings.Replace(head, "kunde@example.de", "kun de@example.de", 1) + tail},
		{"e-mail with a symbol no address has", strings.Replace(head, "kunde@example.de", "kunde\xa4@example.de", 1) + tail},
		{"non-digit timestamp", strings.Replace(head, "1462879316", "146287931x", 1) + tail},
		{"signed timestamp", strings.Replace(head, "1462879316", "+462879316", 1) + tail},
		{"8-digit timestamp", strings.Replace(head, "1462879316", "14628793", 1) + tail},
		{"12-digit timestamp", strings.Replace(head, "1462879316", "146287931600", 1) + tail},
		{"space inside a tag", strings.Replace(head, "<1>", "<1 >", 1) + tail},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l, err := parsePlaintext([]byte(tt.pt))
			if err == nil {
				t.Fatalf("parsed to %#v", l)
			}
			if l != (Link{}) {
				t.Fatalf("error with a non-zero link %#v", l)
			}
			if strings.Contains(err.Error(), "kunde@example.de") {
				t.Fatalf("error %q quotes the plaintext", err)
			}
		})
	}
}

// The plaintext's charset is not documented: valid UTF-8 is read as UTF-8,
// anything else as ISO-8859-1, and either way the link holds UTF-8.
func TestDecoder_Latin1Fallback(t *testing.T) {
	s := Settings{KDFSHA256, ModeCBCIVPrefix, PaddingPKCS7}
	d := mustDecoder(t, vectorPassword, s)
	for _, tt := range []struct{ name, email, want string }{
		{"ISO-8859-1", "m\xfcller@example.de", "müller@example.de"},
		{"UTF-8", "müller@example.de", "müller@example.de"},
		// As Latin-1, ß's second byte would be a control character.
		{"UTF-8 is never read as Latin-1", "straße@example.de", "straße@example.de"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			pt := strings.Replace(head, "kunde@example.de", tt.email, 1) + tail
			data, err := Encrypt(pt, s, vectorPassword, nil)
			if err != nil {
				t.Fatal(err)
			}
			l, err := d.Decode(data)
			if err != nil {
				t.Fatal(err)
			}
			if l.Email != tt.want {
				t.Fatalf("Email = %q, want %q", l.Email, tt.want)
			}
		})
	}
}

// A decryption that yields bad grammar is a ReasonGrammar refusal, and its log
// line names the setting but not the plaintext.
func TestDecoder_GrammarRefusal(t *testing.T) {
	s := Settings{KDFSHA256, ModeECB, PaddingPKCS7}
	data, err := Encrypt(head+tail+"<9>x</9>", s, vectorPassword, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = mustDecoder(t, vectorPassword, s).Decode(data)
	lerr := checkRefusal(t, err, vectorPassword, "kunde@example.de")
	if lerr.Reason != ReasonGrammar || !strings.Contains(lerr.Detail, s.String()) {
		t.Fatalf("refusal = %#v", lerr)
	}
}
