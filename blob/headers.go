package blob

import (
	"mime"
	"path"
	"strings"
)

// The headers a stored file goes out with, the same whether vend sends it, nginx
// does, or a presigned object-store URL does.

// Attachment builds a Content-Disposition that every browser saves under the right
// name: an ASCII fallback plus the RFC 6266 / RFC 5987 UTF-8 form. Control
// characters are replaced in both, so that no client saves a name with a line break.
func Attachment(name string) string {
	name = DownloadName(name)
	var ascii strings.Builder
	for _, r := range name {
		if r >= 0x80 || r == '"' || r == '\\' || r == '%' {
			r = '_'
		}
		ascii.WriteRune(r)
	}
	v := `attachment; filename="` + ascii.String() + `"`
	if ascii.String() != name {
		v += "; filename*=UTF-8''" + extValue(name)
	}
	return v
}

// DownloadName is the name a file is saved under: the last element of its name,
// with control characters replaced.
func DownloadName(name string) string {
	name = path.Base(strings.ReplaceAll(name, "\\", "/"))
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '_'
		}
		return r
	}, name)
}

// extValue percent-encodes s as an RFC 5987 value: only attr-chars stay as they
// are. url.PathEscape is not enough: it leaves ':', '=' and '@' unencoded, which
// makes the whole header unparseable for strict clients.
func extValue(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$&+-.^_`|~", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// ContentType is the media type of a file named name, by its extension.
func ContentType(name string) string {
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return "application/octet-stream"
}
