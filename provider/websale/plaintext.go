package websale

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Link is a decoded dldata plaintext: one product of one WEBSALE order.
type Link struct {
	// Time is when WEBSALE generated the link (tag 1), not when the order was
	// placed: order-history pages make fresh links.
	Time           time.Time
	ShopID         string // tag 2
	SubshopID      string // tag 3
	OrderID        string // tag 4, the shop's order number
	Email          string // tag 5, the customer's e-mail address
	CustomerNumber string // tag 6, optional
	UserIndex      string // tag 7, optional
	ProductNumber  string // tag 8, WEBSALE's product number
}

// Plaintext writes l in the tagged form WEBSALE encrypts, leaving out empty
// optional tags and writing the time with at least 9 digits, as the grammar
// wants. The simulator and the tests encrypt it.
func (l Link) Plaintext() string {
	var b strings.Builder
	fmt.Fprintf(&b, "<1>%0*d</1>", minStampDigits, l.Time.Unix())
	writeTag(&b, '2', l.ShopID)
	writeTag(&b, '3', l.SubshopID)
	writeTag(&b, '4', l.OrderID)
	writeTag(&b, '5', l.Email)
	if l.CustomerNumber != "" {
		writeTag(&b, '6', l.CustomerNumber)
	}
	if l.UserIndex != "" {
		writeTag(&b, '7', l.UserIndex)
	}
	writeTag(&b, '8', l.ProductNumber)
	return b.String()
}

func writeTag(b *strings.Builder, tag byte, value string) {
	b.WriteString("<" + string(tag) + ">" + value + "</" + string(tag) + ">")
}

// Timestamps have 9 to 11 digits: every second from 1973 to the year 5138.
const (
	minStampDigits = 9
	maxStampDigits = 11
)

// parsePlaintext reads the anchored grammar of protocols.md 3.3:
//
//	<1>9-11 digits</1><2>…</2><3>…</3><4>…</4><5>…</5>[<6>…</6>][<7>…</7>]<8>…</8>
//
// Required values are non-empty; no value holds '<' or a control character,
// and tag 5 must look like an e-mail address (see isEmail).
// The grammar is the only check that a decryption used the right key and
// mode, so it accepts nothing it does not have to: no XML unescaping (WEBSALE
// has not said it escapes), no surrounding space, no text after </8>.
// Its errors give positions, never plaintext, which may be another buyer's data.
//
// The structure is read on the raw bytes, since every delimiter is ASCII in
// both candidate charsets; only the values of a plaintext that parses are
// converted. A wrong key then costs a few byte comparisons, not a conversion
// of the whole buffer, which matters when auto mode tries dozens of them.
func parsePlaintext(b []byte) (Link, error) {
	r := tagReader{s: string(b)}
	stamp := r.field('1', false)
	var values [9]string // indexed by tag; 0 and 1 unused
	for tag := byte('2'); tag <= '8'; tag++ {
		values[tag-'0'] = r.field(tag, tag == '6' || tag == '7')
	}
	if r.err == nil && r.pos != len(r.s) {
		r.fail("%d bytes after </8>", len(r.s)-r.pos)
	}
	if r.err != nil {
		return Link{}, r.err
	}
	if err := decodeValues(values[2:], !utf8.Valid(b)); err != nil {
		return Link{}, err
	}
	if !isEmail(values[5]) {
		return Link{}, errors.New("<5> is not an e-mail address")
	}
	t, err := parseStamp(stamp)
	if err != nil {
		return Link{}, err
	}
	return Link{
		Time: t, ShopID: values[2], SubshopID: values[3], OrderID: values[4], Email: values[5],
		CustomerNumber: values[6], UserIndex: values[7], ProductNumber: values[8],
	}, nil
}

// decodeValues turns the values of tags 2 to 8 into UTF-8 in place and refuses
// control characters, which no id, e-mail address or product number holds and
// which would be header injection in a mail. The plaintext is read as UTF-8
// when it is valid UTF-8 and as ISO-8859-1 otherwise: the charset is not
// documented, and an older shop back end may well write Latin-1.
func decodeValues(values []string, latin1 bool) error {
	for i, v := range values {
		if latin1 {
			v = fromLatin1(v)
		}
		if strings.ContainsFunc(v, unicode.IsControl) {
			return fmt.Errorf("<%d> holds a control character", i+2)
		}
		values[i] = v
	}
	return nil
}

// fromLatin1 converts ISO-8859-1, where every byte is the code point of the
// same number, so it never fails.
func fromLatin1(s string) string {
	runes := make([]rune, len(s))
	for i := 0; i < len(s); i++ {
		runes[i] = rune(s[i])
	}
	return string(runes)
}

// isEmail accepts what shops accept as an address: one '@' between non-empty
// parts, and only letters (any script), digits and the RFC 5322 atext
// symbols. The grammar alone would take any text, and that matters: in CBC a
// changed ciphertext block turns its own plaintext block into 16 random bytes
// and rewrites the next block at will, so the e-mail, the one value a buyer
// chooses freely, is where a forger hides the random block. Any 16 random
// bytes pass "no '<', no control character" about once in 120 tries (Latin-1
// reads almost every byte as text); this check makes it about once in 3,400,
// and an address that is not one could not be mailed anyway.
func isEmail(s string) bool {
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" || domain == "" || strings.Contains(domain, "@") {
		return false
	}
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune("@.!#$%&'*+-/=?^_`{|}~", r) {
			return false
		}
	}
	return true
}

func parseStamp(s string) (time.Time, error) {
	if len(s) < minStampDigits || len(s) > maxStampDigits {
		return time.Time{}, fmt.Errorf("timestamp has %d characters, not %d to %d digits", len(s), minStampDigits, maxStampDigits)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return time.Time{}, fmt.Errorf("timestamp has a non-digit at position %d", i)
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, errors.New("timestamp is not a number")
	}
	return time.Unix(n, 0).UTC(), nil
}

// tagReader walks the plaintext once. The first error sticks and later calls do
// nothing, so parsePlaintext reads as the grammar does.
type tagReader struct {
	s   string
	pos int
	err error
}

// field reads <tag>value</tag> at the current position. An optional tag that
// is absent yields "" and consumes nothing; a present one may be empty.
func (r *tagReader) field(tag byte, optional bool) string {
	if r.err != nil {
		return ""
	}
	open := "<" + string(tag) + ">"
	if !strings.HasPrefix(r.s[r.pos:], open) {
		if !optional {
			r.fail("<%c> expected at byte %d", tag, r.pos)
		}
		return ""
	}
	start := r.pos + len(open)
	end := strings.IndexByte(r.s[start:], '<')
	if end < 0 {
		r.fail("<%c> is not closed", tag)
		return ""
	}
	value, at := r.s[start:start+end], start+end
	closing := "</" + string(tag) + ">"
	switch {
	case !strings.HasPrefix(r.s[at:], closing):
		r.fail("</%c> expected at byte %d", tag, at)
	case value == "" && !optional:
		r.fail("<%c> is empty", tag)
	default:
		r.pos = at + len(closing)
	}
	return value
}

func (r *tagReader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf(format, args...)
	}
}
