package paypal

import (
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/htmlindex"

	"github.com/vend-shop/vend/provider/form"
)

// DefaultCharset is the charset assumed when a body has no charset field. It is
// PayPal's default for most accounts, and django-paypal assumes it too.
const DefaultCharset = "windows-1252"

// Pair is one key=value pair of a form body, percent-decoded and transcoded to UTF-8.
type Pair struct {
	Key, Value string
}

// Form is a parsed application/x-www-form-urlencoded body: every pair in input
// order, duplicates kept.
type Form struct {
	Pairs []Pair
}

// ParseForm parses a form body the way PHP does, not the way net/url does: see
// form.Split (a ';' is a literal, so values such as "m:a;t:b" survive, and
// malformed '%' escapes stay as they are). The percent-decoded bytes are then
// transcoded to UTF-8 from the charset the body's own charset field names
// (DefaultCharset if it has none); any name the WHATWG encoding index knows is
// accepted. Note that this index treats iso-8859-1 as windows-1252, as browsers do.
//
// The only error is a *vend.RejectError for a charset that is unknown or that cannot
// decode the body: such a message may be genuine, but vend cannot read it.
func ParseForm(body []byte) (*Form, error) {
	raw := form.Split(body)
	name := charsetName(lastValue(raw, "charset"))
	enc, err := lookupCharset(name)
	if err != nil {
		return nil, err
	}
	dec := enc.NewDecoder()
	f := &Form{Pairs: make([]Pair, 0, len(raw))}
	for _, p := range raw {
		k, err := decodeBytes(dec, p.Key, name)
		if err != nil {
			return nil, err
		}
		v, err := decodeBytes(dec, p.Value, name)
		if err != nil {
			return nil, err
		}
		f.Pairs = append(f.Pairs, Pair{Key: k, Value: v})
	}
	return f, nil
}

// Get returns the last value for key, or "" if there is none. The last one wins
// because PHP's $_POST, the reference for PayPal's own samples, works that way.
func (f *Form) Get(key string) string {
	v, _ := f.Lookup(key)
	return v
}

// Lookup returns the last value for key and whether the key occurs at all.
func (f *Form) Lookup(key string) (string, bool) {
	if f == nil {
		return "", false
	}
	for i := len(f.Pairs) - 1; i >= 0; i-- {
		if f.Pairs[i].Key == key {
			return f.Pairs[i].Value, true
		}
	}
	return "", false
}

// Encode writes the pairs back as a form body, in order, transcoded into the
// charset the form's own charset field names (DefaultCharset if none), which is
// the rule ParseForm reads it by. So ParseForm(Encode(f)) gives f's pairs back
// whenever the charset can represent every character; characters it cannot
// represent are written as '?'. It is for tests and the simulator: a real
// notification is never re-encoded, its raw bytes are kept.
func (f *Form) Encode() ([]byte, error) {
	name := charsetName(f.Get("charset"))
	enc, err := lookupCharset(name)
	if err != nil {
		return nil, err
	}
	return appendPairs(nil, f.Pairs, enc.NewEncoder()), nil
}

// lastValue returns the last value whose key is exactly key, compared before
// transcoding: the charset field must be found before the body can be decoded.
func lastValue(pairs []form.Pair, key string) string {
	for i := len(pairs) - 1; i >= 0; i-- {
		if string(pairs[i].Key) == key {
			return string(pairs[i].Value)
		}
	}
	return ""
}

// charsetName applies the default: an empty or missing charset field means
// PayPal's default, not "no charset".
func charsetName(field string) string {
	if name := strings.TrimSpace(field); name != "" {
		return name
	}
	return DefaultCharset
}

func lookupCharset(name string) (encoding.Encoding, error) {
	enc, err := htmlindex.Get(name)
	if err != nil {
		return nil, rejectf("charset %q is not supported", name)
	}
	return enc, nil
}

func decodeBytes(dec *encoding.Decoder, b []byte, charset string) (string, error) {
	out, err := dec.Bytes(b)
	if err != nil {
		return "", rejectf("cannot decode %q as %s: %v", b, charset, err)
	}
	return string(out), nil
}

// appendPairs writes pairs as key=value joined by '&'.
func appendPairs(dst []byte, pairs []Pair, enc *encoding.Encoder) []byte {
	for i, p := range pairs {
		if i > 0 {
			dst = append(dst, '&')
		}
		dst = appendPair(dst, p, enc)
	}
	return dst
}

func appendPair(dst []byte, p Pair, enc *encoding.Encoder) []byte {
	dst = form.AppendEscaped(dst, encodeLossy(enc, p.Key))
	dst = append(dst, '=')
	return form.AppendEscaped(dst, encodeLossy(enc, p.Value))
}

// encodeLossy transcodes s, writing '?' for each character the charset cannot
// represent, as a form page in that charset would.
func encodeLossy(enc *encoding.Encoder, s string) []byte {
	if out, err := enc.String(s); err == nil {
		return []byte(out)
	}
	var out []byte
	for len(s) > 0 {
		r, size := utf8.DecodeRuneInString(s)
		b, err := enc.String(s[:size])
		if r == utf8.RuneError && size == 1 || err != nil {
			b = "?"
		}
		out = append(out, b...)
		s = s[size:]
	}
	return out
}
