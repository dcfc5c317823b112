// Package catalog is the seller's products: the products file (this file: the
// parser and its inverse, Format, which never touch the file system), its import
// (import.go: the listed files go into storage, the products into the store) and
// product edits (edit.go).
package catalog

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/vend-shop/vend"
)

// MaxErrors is how many problems ParseProducts reports before it stops reading.
const MaxErrors = 20

// Line is one product read from a products file.
type Line struct {
	No      int          // line number in the file, from 1
	Product vend.Product // Files is empty: File names the file
	File    string       // the path as written; a relative one is relative to the products file
}

// LineError is one problem on one line of a products file. Its code is EINVALID.
type LineError struct {
	No  int
	Msg string
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %s", e.No, e.Msg) }

// Unwrap gives the problem as a *vend.Error, so vend.ErrorCode reports EINVALID and
// vend.ErrorMessage shows the seller the first problem.
func (e *LineError) Unwrap() error { return vend.Errorf(vend.EINVALID, "%s", e.Error()) }

const header = "id|name|file[|price|currency|download_limit|lifetime]"

// ParseProducts reads a products file: one product a line,
//
//	id|name|file[|price|currency|download_limit|lifetime]
//
// with fields trimmed. Lines whose first non-space character is '#' are comments,
// blank lines are skipped, CRLF line ends and a leading UTF-8 byte order mark are
// accepted. Empty optional fields mean a price of 0.00, vend.DefaultCurrency,
// vend.DefaultDownloadLimit downloads and access forever. download_limit is
// "unlimited" or a positive number; lifetime is "unlimited", days ("30d") or a Go
// duration ("12h").
//
// If any line is wrong, ParseProducts returns no lines and an error joining one
// *LineError per problem (at most MaxErrors of them), so a bad file imports nothing.
func ParseProducts(r io.Reader) ([]Line, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("catalog: read products: %w", err)
	}
	data = bytes.TrimPrefix(data, []byte("\uFEFF"))

	var (
		lines []Line
		errs  []error
		seen  = make(map[string]int) // product id → line number
	)
	stoppedAt := 0 // the line where reading stopped after too many errors
	for no, text := range splitLines(data) {
		if len(errs) >= MaxErrors {
			stoppedAt = no
			break
		}
		if !utf8.ValidString(text) {
			errs = append(errs, &LineError{No: no, Msg: "not valid UTF-8"})
			continue
		}
		if t := strings.TrimSpace(text); t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		l, problems := parseLine(no, text)
		for _, p := range problems {
			errs = append(errs, &LineError{No: no, Msg: p})
		}
		if id := l.Product.ID; vend.ValidateProductID(id) == nil {
			if first, ok := seen[id]; ok {
				errs = append(errs, &LineError{No: no, Msg: fmt.Sprintf("product id %q is already used on line %d", id, first)})
				continue
			}
			seen[id] = no
		}
		if len(problems) == 0 {
			lines = append(lines, l)
		}
	}
	if len(errs) > MaxErrors {
		stoppedAt = errs[MaxErrors].(*LineError).No
		errs = errs[:MaxErrors]
	}
	if stoppedAt > 0 {
		errs = append(errs, &LineError{No: stoppedAt, Msg: fmt.Sprintf("too many errors; stopped reading after %d", MaxErrors)})
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return lines, nil
}

// splitLines yields each line of data with its number, from 1, without its "\n" or
// "\r\n".
func splitLines(data []byte) func(yield func(int, string) bool) {
	return func(yield func(int, string) bool) {
		for no := 1; len(data) > 0; no++ {
			line, rest, _ := bytes.Cut(data, []byte("\n"))
			line = bytes.TrimSuffix(line, []byte("\r"))
			if !yield(no, string(line)) {
				return
			}
			data = rest
		}
	}
}

// parseLine parses one product line and returns every problem with it.
func parseLine(no int, text string) (Line, []string) {
	fields := strings.Split(text, "|")
	for i := range fields {
		fields[i] = strings.TrimSpace(fields[i])
	}
	l := Line{No: no}
	if len(fields) < 3 || len(fields) > 7 {
		return l, []string{fmt.Sprintf("want 3 to 7 fields separated by '|' (%s), got %d", header, len(fields))}
	}
	for len(fields) < 7 {
		fields = append(fields, "")
	}
	var problems []string
	add := func(err error) {
		if err != nil {
			problems = append(problems, vend.ErrorMessage(err))
		}
	}
	p := &l.Product

	p.ID = fields[0]
	if p.ID == "" {
		problems = append(problems, "product id is empty")
	} else {
		add(vend.ValidateProductID(p.ID))
	}

	p.Name = fields[1]
	add(checkText("name", p.Name))

	l.File = fields[2]
	if err := checkText("file", l.File); err != nil {
		add(err)
	} else {
		// Buyers see the file under its base name: refuse a bad one before
		// anything is read. The file may be written with either separator
		// (C:\files\a.zip); Store checks the name again as its system sees it.
		add(ValidateFileName(path.Base(strings.ReplaceAll(l.File, `\`, "/"))))
	}

	p.Price = 0
	if s := fields[3]; s != "" {
		price, err := vend.ParseAmount(s)
		switch {
		case err != nil:
			add(vend.Errorf(vend.EINVALID, "price %q: use a decimal number such as 19.95", s))
		case price < 0 || strings.HasPrefix(s, "-"):
			add(vend.Errorf(vend.EINVALID, "price %q must not be negative", s))
		default:
			p.Price = price
		}
	}

	p.Currency = vend.DefaultCurrency
	if s := fields[4]; s != "" {
		if err := vend.ValidateCurrency(upperASCII(s)); err != nil {
			add(vend.Errorf(vend.EINVALID, "currency %q is not a three-letter ISO 4217 code such as USD", s))
		} else {
			p.Currency = upperASCII(s)
		}
	}

	p.DownloadLimit = vend.DefaultDownloadLimit
	if s := fields[5]; s != "" {
		n, err := vend.ParseLimit(s)
		if err != nil {
			add(vend.Errorf(vend.EINVALID, "%s", err))
		} else {
			p.DownloadLimit = n
		}
	}

	p.Lifetime = vend.Forever
	if s := fields[6]; s != "" {
		d, err := vend.ParseLifetime(s)
		if err != nil {
			add(vend.Errorf(vend.EINVALID, "%s", err))
		} else {
			p.Lifetime = d
		}
	}

	if len(problems) == 0 {
		add(p.Validate())
	}
	return l, problems
}

// checkText refuses an empty field or one with control characters (tabs included).
func checkText(what, s string) error {
	if s == "" {
		return vend.Errorf(vend.EINVALID, "%s is empty", what)
	}
	if strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return vend.Errorf(vend.EINVALID, "%s %q contains a control character", what, s)
	}
	return nil
}

// upperASCII upper-cases ASCII letters only, so that no other letter turns into
// one of A-Z.
func upperASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

// Format renders lines as a products file that ParseProducts reads back to the
// same products and files, every field written out. It refuses a line the format
// cannot hold, such as a name with '|' or surrounding spaces, or an invalid product.
func Format(lines []Line) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("# " + header + "\n")
	for _, l := range lines {
		p := l.Product
		text := fmt.Sprintf("%s|%s|%s|%s|%s|%s|%s", p.ID, p.Name, l.File, p.Price, p.Currency,
			vend.FormatLimit(p.DownloadLimit), formatLifetime(p.Lifetime))
		back, problems := parseLine(0, text)
		switch {
		case len(problems) > 0:
			return nil, fmt.Errorf("catalog: format product %q: %s", p.ID, problems[0])
		case !sameLine(back, l):
			return nil, fmt.Errorf("catalog: format product %q: cannot be written as a line of a products file", p.ID)
		}
		b.WriteString(text + "\n")
	}
	return b.Bytes(), nil
}

// sameLine reports whether a and b hold the same product fields and file; the line
// numbers and the fields a products file does not set are not compared.
func sameLine(a, b Line) bool {
	p, q := a.Product, b.Product
	return a.File == b.File && p.ID == q.ID && p.Name == q.Name && p.Price == q.Price &&
		p.Currency == q.Currency && p.DownloadLimit == q.DownloadLimit && p.Lifetime == q.Lifetime
}

// formatLifetime is vend.FormatLifetime, except that day counts ParseLifetime does
// not read (six digits or more) are written as a Go duration.
func formatLifetime(d time.Duration) string {
	if d != vend.Forever && d%(24*time.Hour) == 0 && d/(24*time.Hour) >= 100000 {
		return d.String()
	}
	return vend.FormatLifetime(d)
}
