package websale

import (
	"encoding/hex"
	"strings"
	"testing"
	"unicode"
)

// FuzzDecode feeds arbitrary ciphertexts to an all-auto decoder, once hex-
// encoded (the decryption paths) and once as the raw dldata string (the format
// checks). It must never panic, refuse only with a *LinkError that leaks no
// password, and accept only links that satisfy the grammar's invariants.
func FuzzDecode(f *testing.F) {
	for _, v := range vectors() {
		data, err := hex.DecodeString(readVector(f, v.name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte{})
	f.Add(make([]byte, 16))
	f.Add(make([]byte, 28))
	f.Add([]byte("0011zz"))
	d := mustDecoder(f, vectorPassword, Settings{})
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, in := range []string{hex.EncodeToString(data), string(data)} {
			l, err := d.Decode(in)
			if err != nil {
				checkRefusal(t, err, vectorPassword)
				continue
			}
			checkLinkInvariants(t, l)
		}
	})
}

// FuzzParsePlaintext checks the grammar parser on arbitrary plaintexts: no
// panic, and whatever it accepts survives Plaintext and a second parse unchanged.
func FuzzParsePlaintext(f *testing.F) {
	f.Add([]byte(readTestdata(f, "plaintext.txt")))
	f.Add([]byte(head + tail))
	f.Add([]byte(head + "<6></6><7></7>" + tail))
	f.Add([]byte(strings.Replace(head, "kunde", "k\xfcnde", 1) + tail))
	f.Add([]byte(head + tail + "\x00"))
	f.Add([]byte("<1>"))
	f.Fuzz(func(t *testing.T, pt []byte) {
		l, err := parsePlaintext(pt)
		if err != nil {
			if l != (Link{}) {
				t.Fatalf("error %v with link %#v", err, l)
			}
			return
		}
		checkLinkInvariants(t, l)
		again, err := parsePlaintext([]byte(l.Plaintext()))
		if err != nil {
			t.Fatalf("Plaintext() of an accepted link does not parse: %v", err)
		}
		checkLink(t, again, l)
	})
}

func checkLinkInvariants(t *testing.T, l Link) {
	t.Helper()
	for _, v := range []string{l.ShopID, l.SubshopID, l.OrderID, l.Email, l.ProductNumber} {
		if v == "" {
			t.Fatalf("required field empty in %#v", l)
		}
	}
	for _, v := range []string{l.ShopID, l.SubshopID, l.OrderID, l.Email, l.CustomerNumber, l.UserIndex, l.ProductNumber} {
		if strings.ContainsRune(v, '<') || strings.ContainsFunc(v, unicode.IsControl) {
			t.Fatalf("field %q holds '<' or a control character", v)
		}
	}
	if !isEmail(l.Email) {
		t.Fatalf("accepted e-mail %q is not an address", l.Email)
	}
	if s := l.Time.Unix(); s < 0 || s > 99999999999 {
		t.Fatalf("time %v outside 0 … 11 digits", l.Time)
	}
}

// BenchmarkDecoder_AutoWorstCase is the cost a hostile link can impose: the
// largest accepted value, refused by every candidate of an all-auto decoder.
func BenchmarkDecoder_AutoWorstCase(b *testing.B) {
	d := mustDecoder(b, vectorPassword, Settings{})
	data := strings.Repeat("ab", MaxDataLen/2)
	for b.Loop() {
		if _, err := d.Decode(data); err == nil {
			b.Fatal("decoded")
		}
	}
}
