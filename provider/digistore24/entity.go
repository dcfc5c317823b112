package digistore24

import "strings"

// maxCodePoint is the largest Unicode code point; PHP refuses any numeric
// reference above it.
const maxCodePoint = 0x10FFFF

// htmlDecode is PHP's html_entity_decode(s, ENT_QUOTES|ENT_SUBSTITUTE|
// ENT_HTML401, "UTF-8"), the defaults since PHP 8.1, which Digistore24's 2019 IPN
// example applied to every value before signing. Go's html.UnescapeString is an
// HTML5 decoder and differs exactly where a signature notices: it decodes &apos;
// and entities without their ';' ("&copy 2024"), which PHP leaves as they are.
//
// A reference PHP would not decode is copied byte for byte, and bytes outside
// references are never interpreted, so invalid UTF-8 passes through unchanged.
func htmlDecode(s string) string {
	i := strings.IndexByte(s, '&')
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i >= 0 {
		b.WriteString(s[:i])
		s = s[i:]
		if r, n := entity(s); n > 0 {
			b.WriteRune(r)
			s = s[n:]
		} else {
			b.WriteByte('&')
			s = s[1:]
		}
		i = strings.IndexByte(s, '&')
	}
	b.WriteString(s)
	return b.String()
}

// entity decodes the reference s starts with and returns its code point and
// length, or n == 0 when PHP would leave it alone.
func entity(s string) (r rune, n int) {
	if len(s) < len("&lt;") {
		return 0, 0
	}
	if s[1] == '#' {
		return numericEntity(s)
	}
	return namedEntity(s)
}

// namedEntity reads "&name;". The ';' is required: HTML 4.01 has no entities
// that may omit it, unlike HTML5's legacy ones.
func namedEntity(s string) (rune, int) {
	end := 1
	for end < len(s) && isAlnum(s[end]) {
		end++
	}
	if end == 1 || end == len(s) || s[end] != ';' {
		return 0, 0
	}
	r, ok := html401[s[1:end]]
	if !ok {
		return 0, 0
	}
	return r, end + 1
}

// numericEntity reads "&#123;" or "&#x7B;" the way PHP does, with strtol's
// quirks: a hexadecimal number may carry its own "0x" ("&#x0x41;" is "A"), leading
// zeros are fine, and a number strtol cannot hold is not a reference. Code points
// HTML 4.01 does not allow (controls, C1, surrogates) stay as written.
func numericEntity(s string) (rune, int) {
	i, base := 2, uint64(10)
	if s[i] == 'x' || s[i] == 'X' {
		i, base = i+1, 16
	}
	if i >= len(s) || digit(s[i]) >= base {
		return 0, 0
	}
	if base == 16 && s[i] == '0' && i+2 < len(s) && (s[i+1] == 'x' || s[i+1] == 'X') && digit(s[i+2]) < 16 {
		i += 2
	}
	var n uint64
	for ; i < len(s) && digit(s[i]) < base; i++ {
		if n <= maxCodePoint { // past it the reference is refused anyway; stop growing
			n = n*base + digit(s[i])
		}
	}
	if i >= len(s) || s[i] != ';' || n > maxCodePoint || !allowedHTML401(rune(n)) {
		return 0, 0
	}
	return rune(n), i + 1
}

// allowedHTML401 is PHP's unicode_cp_is_allowed for ENT_HTML401. Unlike its
// HTML5 rule it lets non-characters such as U+FFFE through.
func allowedHTML401(r rune) bool {
	return r == '\t' || r == '\n' || r == '\r' ||
		0x20 <= r && r <= 0x7E ||
		0xA0 <= r && r <= 0xD7FF ||
		0xE000 <= r && r <= maxCodePoint
}

// digit returns the value of a hex digit, or 16 for any other byte.
func digit(c byte) uint64 {
	switch {
	case '0' <= c && c <= '9':
		return uint64(c - '0')
	case 'a' <= c && c <= 'f':
		return uint64(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return uint64(c-'A') + 10
	}
	return 16
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}
