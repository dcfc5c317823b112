package vend

import (
	"net/url"
	"slices"
	"strings"
)

// RedactURL returns s, a URL as someone typed it, with its password replaced
// by "xxxxx", so that a message can still show which URL it means. Every
// message that quotes a URL from vend's configuration goes through it, and
// every message a library made from one through RedactError.
//
// It reads s as a person would, not as url.Parse does: the user information
// is everything between "://" and the last "@". A password with an unencoded
// "@", "#", "/" or "?" is hidden whole, where url.Parse takes its tail for the
// host, path or fragment and url.URL.Redacted shows that tail. The user name
// before the first ":" stays; user information without a ":" is hidden whole,
// as it may be a token. Text without "://" and a later "@" is returned as is.
func RedactURL(s string) string {
	head, secret, tail := splitSecret(s)
	if secret == "" {
		return s
	}
	return head + "xxxxx" + tail
}

// splitSecret cuts rawURL around its secret, as RedactURL reads it: the
// password, or the whole user information when it has no ":". secret is ""
// when rawURL has none.
func splitSecret(rawURL string) (head, secret, tail string) {
	i := strings.Index(rawURL, "://")
	if i < 0 {
		return rawURL, "", ""
	}
	start := i + len("://")
	at := strings.LastIndex(rawURL[start:], "@")
	if at < 0 {
		return rawURL, "", ""
	}
	end := start + at
	if colon := strings.Index(rawURL[start:end], ":"); colon >= 0 {
		start += colon + 1
	}
	if start == end { // an empty password: nothing to hide
		return rawURL, "", ""
	}
	return rawURL[:start], rawURL[start:end], rawURL[end:]
}

// RedactError returns err with the secret of rawURL hidden in its message:
// for the errors of a library that was given rawURL and may quote it, or
// parts of a malformed one (a host name that was really the end of the
// password). The secret is hidden as typed, percent-decoded, and in the pieces
// of four or more characters between the "@", "#", "/", "?" and "%" that a
// parser cuts a malformed URL at. errors.Is and errors.As still see err.
func RedactError(err error, rawURL string) error {
	if err == nil {
		return nil
	}
	_, secret, _ := splitSecret(rawURL)
	if secret == "" {
		return err
	}
	forms := []string{secret}
	if dec, derr := url.PathUnescape(secret); derr == nil {
		forms = append(forms, dec)
	}
	for _, f := range slices.Clone(forms) {
		for _, piece := range strings.FieldsFunc(f, func(r rune) bool { return strings.ContainsRune("@#/?%", r) }) {
			if len(piece) >= 4 {
				forms = append(forms, piece)
			}
		}
	}
	// Longest first, so that a piece never leaves the rest of a longer form.
	slices.SortFunc(forms, func(a, b string) int { return len(b) - len(a) })
	msg := err.Error()
	for _, f := range forms {
		msg = strings.ReplaceAll(msg, f, "xxxxx")
	}
	return &redactedError{msg: msg, err: err}
}

// redactedError is an error whose message had a secret taken out.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }
