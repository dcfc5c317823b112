package catalog

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/vend-shop/vend"
)

// MaxFileNameBytes is the longest file name vend stores: what common file
// systems allow for one name, so that buyers can save the file under it.
const MaxFileNameBytes = 255

// ValidateFileName checks the name a product's file is stored, served and
// shown under. Buyers save the file under that name and operators read it in
// the admin and in a terminal, so it must be one plain name: valid UTF-8 of
// 1 to MaxFileNameBytes bytes, not "." or "..", without '/' or '\', without
// control characters (an escape sequence, a line break or NUL would reach the
// operator's terminal or a header) and without bidirectional controls (which
// show "photo\u202Efdp.exe" as "photoexe.pdf"). Every way a file enters the
// catalog applies this one rule: the admin's upload form, the API, the
// products file, the command line, and AddFile and Save themselves. The
// error's code is EINVALID.
func ValidateFileName(name string) error {
	switch {
	case name == "":
		return vend.Errorf(vend.EINVALID, "file name is empty")
	case !utf8.ValidString(name):
		return vend.Errorf(vend.EINVALID, "file name %q is not valid UTF-8", name)
	case len(name) > MaxFileNameBytes:
		// The name itself is left out: it would be most of the message.
		return vend.Errorf(vend.EINVALID, "file name of %d bytes is too long: at most %d bytes", len(name), MaxFileNameBytes)
	case name == "." || name == "..":
		return vend.Errorf(vend.EINVALID, "file name %q is not a name: give one like book.pdf", name)
	case strings.ContainsAny(name, `/\`):
		return vend.Errorf(vend.EINVALID, "file name %q contains '/' or '\\': give the name alone, like book.pdf", name)
	case strings.ContainsFunc(name, unicode.IsControl):
		return vend.Errorf(vend.EINVALID, "file name %q contains a control character (such as ESC, CR, LF or NUL)", name)
	case strings.ContainsFunc(name, isBidiControl):
		return vend.Errorf(vend.EINVALID, "file name %q contains a bidirectional text control, which can disguise its extension", name)
	}
	return nil
}

// isBidiControl reports whether r changes the direction of the text around
// it: the embeddings, overrides and isolates, and the directional marks.
func isBidiControl(r rune) bool {
	return r == '\u061C' || r == '\u200E' || r == '\u200F' || ('\u202A' <= r && r <= '\u202E') || ('\u2066' <= r && r <= '\u2069')
}

// validateFiles applies ValidateFileName to each of files.
func validateFiles(files []*vend.File) error {
	for _, f := range files {
		if err := ValidateFileName(f.Name); err != nil {
			return err
		}
	}
	return nil
}
