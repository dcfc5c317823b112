package mailer

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	texttemplate "text/template"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/locale"
)

// The embedded templates: for every kind and language a plain part
// KIND.LANG.txt, whose first line is "Subject: …", and an HTML part KIND.LANG.html.
//
//go:embed templates/*.txt templates/*.html
var embedded embed.FS

// Templates are the parsed message templates: the embedded defaults, each
// replaced by the file of the same name in the override directory if there is one.
type Templates struct {
	sets      map[setKey]*set
	overrides []string
}

type setKey struct {
	kind vend.MailKind
	lang string
}

type set struct {
	text       *texttemplate.Template
	html       *htmltemplate.Template
	textOrigin string // "embedded receipt.en.txt" or the override's path
	htmlOrigin string
	loc        locale.Locale
}

// templateName matches file names that look like message templates, so that a
// misspelt override ("reciept.en.txt") is reported instead of silently ignored.
var templateName = regexp.MustCompile(`^([a-z0-9-]+)\.([a-z]{2})\.(txt|html)$`)

// Load parses every template, taking a file of the same name in overrideDir (the
// data directory's templates/; "" or a missing directory: none) instead of the
// embedded one, and renders each with sample data, so that a syntax error or a
// field that does not exist is reported now, naming the file and line, rather
// than when a message is sent. A file in overrideDir named like a template but
// matching none (a misspelt kind, a language vend does not ship) is an error too;
// other files there are ignored.
func Load(overrideDir string) (*Templates, error) {
	t := &Templates{sets: map[setKey]*set{}}
	known := map[string]bool{}
	for _, kind := range kinds() {
		for _, lang := range languages() {
			s := &set{loc: locale.New(lang)}
			for _, ext := range []string{"txt", "html"} {
				name := string(kind) + "." + lang + "." + ext
				known[name] = true
				src, origin, err := t.source(overrideDir, name)
				if err != nil {
					return nil, err
				}
				if err := s.parse(name, ext, src, origin); err != nil {
					return nil, err
				}
			}
			t.sets[setKey{kind, lang}] = s
		}
	}
	if err := checkStrays(overrideDir, known); err != nil {
		return nil, err
	}
	for key, s := range t.sets {
		for _, full := range []bool{true, false} {
			if _, err := s.render(sample(key.kind, full)); err != nil {
				return nil, err
			}
		}
	}
	return t, nil
}

// source returns the override of name if overrideDir has one, else the embedded file.
func (t *Templates) source(overrideDir, name string) (string, string, error) {
	if overrideDir != "" {
		path := filepath.Join(overrideDir, name)
		b, err := os.ReadFile(path)
		if err == nil {
			t.overrides = append(t.overrides, path)
			return string(b), path, nil
		} else if !errors.Is(err, fs.ErrNotExist) {
			return "", "", fmt.Errorf("mailer: template override: %w", err)
		}
	}
	b, err := embedded.ReadFile("templates/" + name)
	if err != nil {
		return "", "", fmt.Errorf("mailer: embedded template %s is missing: %w", name, err)
	}
	return string(b), "embedded " + name, nil
}

func checkStrays(overrideDir string, known map[string]bool) error {
	if overrideDir == "" {
		return nil
	}
	entries, err := os.ReadDir(overrideDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("mailer: template overrides: %w", err)
	}
	for _, e := range entries {
		if name := e.Name(); templateName.MatchString(name) && !known[name] {
			return fmt.Errorf("mailer: template %s: no message has this name; use KIND.LANG.txt or KIND.LANG.html with KIND one of %s and LANG one of %s",
				filepath.Join(overrideDir, name), kindList(), strings.Join(languages(), ", "))
		}
	}
	return nil
}

func kindList() string {
	names := make([]string, 0, len(kinds()))
	for _, k := range kinds() {
		names = append(names, string(k))
	}
	return strings.Join(names, ", ")
}

func (s *set) parse(name, ext, src, origin string) error {
	var err error
	if ext == "txt" {
		s.textOrigin = origin
		s.text, err = texttemplate.New(name).Funcs(s.loc.Funcs()).Option("missingkey=zero").Parse(src)
	} else {
		s.htmlOrigin = origin
		s.html, err = htmltemplate.New(name).Funcs(s.loc.Funcs()).Option("missingkey=zero").Parse(src)
	}
	if err != nil {
		return fmt.Errorf("mailer: %s: %w", origin, err)
	}
	return nil
}

// Render renders a message of kind in lang (as Language reads it) from v: its
// subject, plain part and HTML part. From, To, MessageID and Date are the
// caller's. Strings in v are cleaned of control characters first; ReasonText is
// filled from Reason when empty.
func (t *Templates) Render(kind vend.MailKind, lang string, v View) (*Message, error) {
	lang = Language(lang)
	s, ok := t.sets[setKey{kind, lang}]
	if !ok {
		return nil, vend.Errorf(vend.EINVALID, "No mail kind %q; kinds are %s.", kind, kindList())
	}
	v.Kind = kind
	return s.render(v)
}

// Preview renders kind in lang with made-up data, for `vend mail preview`.
func (t *Templates) Preview(kind vend.MailKind, lang string) (*Message, error) {
	return t.Render(kind, lang, sample(kind, true))
}

// Kinds lists the kinds of message there are templates for.
func (t *Templates) Kinds() []vend.MailKind { return kinds() }

// Overrides lists the override files Load used, for the log at start.
func (t *Templates) Overrides() []string { return slices.Clone(t.overrides) }

func (s *set) render(v View) (*Message, error) {
	v = v.clean()
	v.Lang = s.loc.Lang
	if v.ReasonText == "" {
		v.ReasonText = explain(s.loc, v.Kind, v.Reason)
	}
	var text, html bytes.Buffer
	if err := s.text.Execute(&text, v); err != nil {
		return nil, fmt.Errorf("mailer: %s: %w", s.textOrigin, err)
	}
	subject, body, err := splitSubject(text.String())
	if err != nil {
		return nil, fmt.Errorf("mailer: %s: %w", s.textOrigin, err)
	}
	if err := s.html.Execute(&html, v); err != nil {
		return nil, fmt.Errorf("mailer: %s: %w", s.htmlOrigin, err)
	}
	return &Message{Subject: subject, Text: body, HTML: strings.TrimSpace(html.String()) + "\n", Language: s.loc.Lang, Kind: v.Kind}, nil
}

// splitSubject takes the "Subject: …" first line off a rendered plain part, and
// tidies the body: no trailing spaces, at most one empty line in a row.
func splitSubject(s string) (subject, body string, err error) {
	first, rest, _ := strings.Cut(strings.TrimLeft(s, "\r\n"), "\n")
	subj, ok := strings.CutPrefix(strings.TrimSpace(first), "Subject:")
	subject = strings.Join(strings.Fields(cleanText(subj)), " ")
	if !ok || subject == "" {
		return "", "", errors.New(`the first line must be "Subject: …" with a subject`)
	}
	var b strings.Builder
	blank := 0
	for line := range strings.Lines(strings.TrimSpace(rest)) {
		line = strings.TrimRight(line, " \t\r\n")
		if line == "" {
			if blank++; blank > 1 {
				continue
			}
		} else {
			blank = 0
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	return subject, b.String(), nil
}
