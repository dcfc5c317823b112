package digistore24

import (
	"crypto/sha512"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Convention is one way of computing sha_sign. Digistore24's own code has
// disagreed over key case and HTML decoding (protocols.md 2.2, 2.3), and every
// way needs the passphrase, so Verify accepts all four and reports which one
// matched: a seller whose messages match anything but OriginalKeys has an
// unusual account worth knowing about.
type Convention int

// The conventions in the order Verify tries them.
const (
	// OriginalKeys: keys as sent, raw values. What live accounts send.
	OriginalKeys Convention = iota + 1
	// UpperKeys: keys upper-cased and sorted that way, raw values (the vendor
	// function's convert_keys_to_uppercase).
	UpperKeys
	// OriginalKeysHTMLDecoded: keys as sent, values through PHP's
	// html_entity_decode first (the 2019 vendor IPN example).
	OriginalKeysHTMLDecoded
	// UpperKeysHTMLDecoded: both of the above.
	UpperKeysHTMLDecoded
)

var conventions = [...]Convention{OriginalKeys, UpperKeys, OriginalKeysHTMLDecoded, UpperKeysHTMLDecoded}

func (c Convention) String() string {
	switch c {
	case OriginalKeys:
		return "original keys, raw values"
	case UpperKeys:
		return "upper-case keys, raw values"
	case OriginalKeysHTMLDecoded:
		return "original keys, HTML-decoded values"
	case UpperKeysHTMLDecoded:
		return "upper-case keys, HTML-decoded values"
	}
	return "no convention"
}

func (c Convention) upper() bool   { return c == UpperKeys || c == UpperKeysHTMLDecoded }
func (c Convention) decoded() bool { return c == OriginalKeysHTMLDecoded || c == UpperKeysHTMLDecoded }

// The verification failures. Callers branch on them: ErrNoPassphrase is vend's
// configuration, the other two are the message's fault. None of them, nor any
// error wrapping them, carries the passphrase or the expected signature.
var (
	ErrNoPassphrase = errors.New("digistore24: no IPN passphrase is configured, so no message can be verified")
	ErrNoSignature  = errors.New("digistore24: the message has no sha_sign, so it cannot be verified")
	ErrSignature    = errors.New("digistore24: sha_sign does not match: the message was altered, or its IPN passphrase is not the one configured")
)

// Verify checks the message's sha_sign against passphrase under each
// Convention in turn and returns the first that matches. The received value is
// upper-cased first and compared in constant time.
func Verify(f *Form, passphrase string) (Convention, error) {
	if passphrase == "" {
		return 0, ErrNoPassphrase
	}
	got := strings.ToUpper(receivedSignature(f))
	if got == "" {
		return 0, ErrNoSignature
	}
	signed := signedFields(f.pairs())
	for _, c := range conventions {
		if c.decoded() && !hasEntity(signed) {
			continue // decoding changes nothing: same as the raw candidate
		}
		want := sign(signed, passphrase, c)
		if subtle.ConstantTimeCompare([]byte(want), []byte(got)) == 1 {
			return c, nil
		}
	}
	return 0, ErrSignature
}

// Signed returns the message as convention c signed it, which is what
// Normalize must read, never the raw pairs: under an HTML-decoding convention
// the raw value "&#51;999938" is signed as "3999938", so reading it raw would
// let anyone who saw one genuine message respell a value and replay it as a new
// order or payment. The view has PHP's last-value-wins applied, values decoded
// where c decodes, keys lower-cased where c upper-cases them (so renaming
// transaction_id to TRANSACTION_ID, which the signature cannot see, changes
// nothing), empty values dropped (they are not signed) and the received
// signature last, as sha_sign. Keys that only the letter case tells apart make
// the upper-case views ambiguous: they fail.
func (f *Form) Signed(c Convention) (*Form, error) {
	out := &Form{}
	seen := map[string]bool{}
	for _, fd := range signedFields(f.pairs()) {
		k, v := fd.key, fd.value
		if c.upper() {
			k = strings.ToLower(k)
			if seen[k] {
				return nil, fmt.Errorf("digistore24: fields %q appear in more than one letter case", k)
			}
			seen[k] = true
		}
		if c.decoded() {
			v = htmlDecode(v)
		}
		if v != "" {
			out.Pairs = append(out.Pairs, Pair{Key: k, Value: v})
		}
	}
	out.Pairs = append(out.Pairs, Pair{Key: "sha_sign", Value: strings.ToUpper(receivedSignature(f))})
	return out, nil
}

// Sign computes sha_sign over pairs: the signature fields (sha_sign, SHASIGN,
// in any letter case) are left out, the last value of a duplicated key counts
// (PHP's $_POST), keys are sorted by byte order (after upper-casing when upper
// is set), empty values are skipped ("0" is not empty), each KEY=VALUE is
// followed by the passphrase, and the whole is SHA-512 in upper-case hex.
// Sign returns "" for an empty passphrase: a signature without a secret proves
// nothing.
func Sign(pairs []Pair, passphrase string, upper bool) string {
	if passphrase == "" {
		return ""
	}
	c := OriginalKeys
	if upper {
		c = UpperKeys
	}
	return sign(signedFields(pairs), passphrase, c)
}

// field is one signed key with the value that counts.
type field struct {
	key, value string
}

// signedFields applies PHP's last-value-wins and drops the signature itself,
// keeping first-seen order (sign sorts anyway).
func signedFields(pairs []Pair) []field {
	index := make(map[string]int, len(pairs))
	var out []field
	for _, p := range pairs {
		if isSignatureKey(p.Key) {
			continue
		}
		if i, ok := index[p.Key]; ok {
			out[i].value = p.Value
			continue
		}
		index[p.Key] = len(out)
		out = append(out, field{p.Key, p.Value})
	}
	return out
}

func isSignatureKey(k string) bool {
	return strings.EqualFold(k, "sha_sign") || strings.EqualFold(k, "SHASIGN")
}

// receivedSignature is the last signature field's value, under either name.
func receivedSignature(f *Form) string {
	pairs := f.pairs()
	for i := len(pairs) - 1; i >= 0; i-- {
		if isSignatureKey(pairs[i].Key) {
			return pairs[i].Value
		}
	}
	return ""
}

func hasEntity(fields []field) bool {
	for _, f := range fields {
		if strings.IndexByte(f.value, '&') >= 0 {
			return true
		}
	}
	return false
}

// sign hashes fields under convention c. In upper-case mode two keys can meet
// (a and A): both stay, ordered by their original spelling, as PHP's
// array_multisort breaks the tie.
func sign(fields []field, passphrase string, c Convention) string {
	type entry struct{ name, orig, value string }
	entries := make([]entry, 0, len(fields))
	for _, f := range fields {
		e := entry{name: f.key, orig: f.key, value: f.value}
		if c.upper() {
			e.name = asciiUpper(f.key)
		}
		if c.decoded() {
			e.value = htmlDecode(e.value)
		}
		if e.value != "" {
			entries = append(entries, e)
		}
	}
	sort.Slice(entries, func(i, j int) bool {
		if entries[i].name != entries[j].name {
			return entries[i].name < entries[j].name
		}
		return entries[i].orig < entries[j].orig
	})
	h := sha512.New()
	for _, e := range entries {
		_, _ = io.WriteString(h, e.name)
		_, _ = io.WriteString(h, "=")
		_, _ = io.WriteString(h, e.value)
		_, _ = io.WriteString(h, passphrase)
	}
	return strings.ToUpper(hex.EncodeToString(h.Sum(nil)))
}

// asciiUpper is PHP's strtoupper since 8.2: ASCII letters only, whatever the
// locale, and bytes above 0x7F untouched (strings.ToUpper would change "ö").
func asciiUpper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}
