// Package form splits application/x-www-form-urlencoded bodies the way PHP
// does, for the providers whose signatures are defined by PHP code (PayPal,
// Digistore24). net/url will not do: since Go 1.17 ParseQuery drops every pair
// that holds a literal ';' (Digistore24's custom=m:…;t:… among them) and fails
// on a malformed '%' escape, and either loses a field the signature covers.
//
// It works on bytes and knows nothing of charsets: each provider decides what
// the bytes mean, and which of several values for one key counts.
package form

import "bytes"

// MediaType is the content type of a form body.
const MediaType = "application/x-www-form-urlencoded"

// Pair is one key=value segment of a body, percent-decoded.
type Pair struct {
	Key, Value []byte
}

// Split splits a body into pairs like PHP's parse_str, minus its key rewriting:
// it splits on '&' only (a ';' is a literal), skips empty segments, cuts each
// segment at its first '=' (no '=' means an empty value) and percent-decodes key
// and value with '+' as a space. A '%' not followed by two hex digits stays
// literal, as PHP's urldecode leaves it, instead of failing the body. Pairs keep
// input order and duplicates. The pairs never share memory with body.
func Split(body []byte) []Pair {
	var pairs []Pair
	for seg := range bytes.SplitSeq(body, []byte("&")) {
		if len(seg) == 0 {
			continue
		}
		k, v, _ := bytes.Cut(seg, []byte("="))
		pairs = append(pairs, Pair{Key: unescape(k), Value: unescape(v)})
	}
	return pairs
}

func unescape(s []byte) []byte {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '+':
			out = append(out, ' ')
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			out = append(out, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		default:
			out = append(out, c)
		}
	}
	return out
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	default:
		return c - 'a' + 10
	}
}

// AppendEscaped appends b percent-encoded for a form body: ASCII letters, digits
// and "-_.~" stay, a space becomes '+' and every other byte is %XX in upper-case
// hex, so Split gives back exactly the bytes that went in. Real notifications are
// never re-encoded (their raw bytes are kept); this is for simulators and tests.
func AppendEscaped(dst, b []byte) []byte {
	const hex = "0123456789ABCDEF"
	for _, c := range b {
		switch {
		case isUnreserved(c):
			dst = append(dst, c)
		case c == ' ':
			dst = append(dst, '+')
		default:
			dst = append(dst, '%', hex[c>>4], hex[c&15])
		}
	}
	return dst
}

func isUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '_' || c == '.' || c == '~'
}
