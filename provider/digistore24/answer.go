package digistore24

import "strings"

// AnswerContentType is the content type of every answer: Digistore24 reads plain
// text lines, never HTML.
const AnswerContentType = "text/plain; charset=utf-8"

// Answer is the body of a success answer. Digistore24 counts a message as
// delivered when the body starts with the line OK; the optional lines after it
// reach the buyer's thank-you page and, when the connection runs before the
// thank-you page and does not group upsells, the confirmation e-mail.
type Answer struct {
	// ThankyouURL sends the buyer here instead of Digistore24's thank-you page.
	ThankyouURL string
	// Headline is the title above the data block.
	Headline string
	// DownloadURL is shown as "Download: <url>".
	DownloadURL string
	// Lines are further "Label: value" lines, in order. Labels are vend's own
	// text; values may come from anywhere.
	Lines []Line
	// ShowOn and HideOn say where the data block appears: any of all, invoice,
	// receipt_page and order_confirmation_email.
	ShowOn, HideOn []string
}

// Line is one "Label: value" line of an Answer.
type Line struct {
	Label, Value string
}

// Body renders the answer: "OK\n", then one "key: value\n" line for each field
// that is set. CR, LF and the Unicode line breaks are removed from every value,
// so no value can end its line and forge another one (a thankyou_url, say). A
// line whose value is empty after that is left out.
func (a Answer) Body() string {
	var b strings.Builder
	b.WriteString("OK\n")
	writeLine(&b, "thankyou_url", a.ThankyouURL)
	writeLine(&b, "headline", a.Headline)
	writeLine(&b, "Download", a.DownloadURL)
	for _, l := range a.Lines {
		// A ':' in a label would move where Digistore24 splits the line.
		writeLine(&b, strings.ReplaceAll(l.Label, ":", ""), l.Value)
	}
	writeLine(&b, "show_on", strings.Join(a.ShowOn, ","))
	writeLine(&b, "hide_on", strings.Join(a.HideOn, ","))
	return b.String()
}

func writeLine(b *strings.Builder, label, value string) {
	label, value = oneLine(label), oneLine(value)
	if label == "" || value == "" {
		return
	}
	b.WriteString(label)
	b.WriteString(": ")
	b.WriteString(value)
	b.WriteByte('\n')
}

// ErrorBody renders a failure answer, "ERROR: <reason>\n". Digistore24 retries
// anything that is not OK (at least 20 times over 10 days) and lists the reason
// in its IPN error report, which the seller reads: the reason must say what to
// fix and never carry a secret.
func ErrorBody(reason string) string {
	reason = oneLine(reason)
	if reason == "" {
		reason = "not processed"
	}
	return "ERROR: " + reason + "\n"
}

// oneLine removes every character that could end a line, for readers that
// split on \n, \r, NEL or the Unicode separators, and trims the rest.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		switch r {
		case '\r', '\n', '\v', '\f', '\u0085', '\u2028', '\u2029':
			return -1
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}
