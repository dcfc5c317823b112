// Package locale formats what buyers read, in their language, the same way in
// mail and on the pages: dates, sizes and money, and the plain-word reasons a
// payment is pending or access ended. It knows English and German, and picks
// one from what a provider says of the buyer or from an Accept-Language header.
package locale

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/vend-shop/vend"
)

// Languages are those vend speaks; the first is the fallback.
func Languages() []string { return []string{"en", "de"} }

// Language returns the language for a buyer's language as a provider gives it:
// "de", "de-DE", "de_DE" (any case) give "de"; anything else "en".
func Language(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if i := strings.IndexAny(s, "-_"); i >= 0 {
		s = s[:i]
	}
	if s == "de" {
		return "de"
	}
	return "en"
}

// Accept picks the language from an Accept-Language header: German when the
// buyer's first choice is German, English for everyone else.
func Accept(header string) string {
	first, _, _ := strings.Cut(header, ",")
	first, _, _ = strings.Cut(first, ";")
	return Language(first)
}

// Locale formats numbers, money, sizes and dates for one language.
type Locale struct {
	Lang    string // "en" or "de"
	decimal string // decimal separator
	group   string // thousands separator
	months  [12]string
	bytes   string // the word for a size under 1 kB
}

// New returns the Locale of lang as Language reads it.
func New(lang string) Locale {
	if Language(lang) == "de" {
		return Locale{Lang: "de", decimal: ",", group: ".", bytes: "Bytes",
			months: [12]string{"Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August",
				"September", "Oktober", "November", "Dezember"}}
	}
	return Locale{Lang: "en", decimal: ".", group: ",", bytes: "bytes",
		months: [12]string{"January", "February", "March", "April", "May", "June", "July", "August",
			"September", "October", "November", "December"}}
}

// Funcs are the formatting functions for templates: {{date .Order.Date}},
// {{money .Order.Total .Order.Currency}}, {{size .Size}}, {{datetime .ExpiresAt}}.
func (l Locale) Funcs() map[string]any {
	return map[string]any{
		"date":     l.Date,
		"datetime": l.DateTime,
		"money":    l.Money,
		"size":     l.Size,
	}
}

// Date renders the day of t in UTC: "March 2, 2026" or "2. März 2026"; the zero
// time renders as "".
func (l Locale) Date(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	t = t.UTC()
	if l.Lang == "de" {
		return fmt.Sprintf("%d. %s %d", t.Day(), l.months[t.Month()-1], t.Year())
	}
	return fmt.Sprintf("%s %d, %d", l.months[t.Month()-1], t.Day(), t.Year())
}

// DateTime renders t to the minute in UTC: "March 2, 2026, 14:05 UTC".
func (l Locale) DateTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	t = t.UTC()
	return fmt.Sprintf("%s, %02d:%02d UTC", l.Date(t), t.Hour(), t.Minute())
}

// Money renders an amount with its currency: "1,234.50 USD" or "1.234,50 EUR".
func (l Locale) Money(a vend.Amount, currency string) string {
	sign := ""
	if a < 0 {
		sign, a = "-", -a
	}
	s := sign + l.group3(int64(a)/100) + l.decimal + fmt.Sprintf("%02d", int64(a)%100)
	if currency != "" {
		s += " " + currency
	}
	return s
}

func (l Locale) group3(n int64) string {
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteString(l.group)
		}
		b.WriteRune(c)
	}
	return b.String()
}

// Size renders a byte count in decimal units: "512 bytes", "1.5 MB", "734 MB".
func (l Locale) Size(n int64) string {
	if n < 1000 {
		return fmt.Sprintf("%d %s", n, l.bytes)
	}
	v := float64(n)
	units := []string{"kB", "MB", "GB", "TB", "PB"}
	u := -1
	for v >= 1000 && u < len(units)-1 {
		v /= 1000
		u++
	}
	var s string
	if v < 10 {
		s = strconv.FormatFloat(v, 'f', 1, 64)
		s = strings.TrimSuffix(s, ".0")
	} else {
		s = strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strings.Replace(s, ".", l.decimal, 1) + " " + units[u]
}

// PendingReason says in plain words why a payment is pending, from the
// provider's code (PayPal's pending_reason); an unknown or empty code gets a
// general sentence.
func (l Locale) PendingReason(code string) string {
	de := l.Lang == "de"
	switch strings.ToLower(strings.TrimSpace(code)) {
	case "echeck":
		if de {
			return "Die Zahlung erfolgt per eCheck (Lastschrift vom Bankkonto). Die Bank braucht dafür meist einige Werktage."
		}
		return "The payment was made by eCheck (from a bank account). Banks usually take a few business days to clear it."
	case "paymentreview", "regulatory_review":
		if de {
			return "Der Zahlungsdienst prüft die Zahlung noch. Das dauert meist nicht länger als 24 Stunden."
		}
		return "The payment provider is reviewing the payment. This usually takes no more than 24 hours."
	case "address", "unilateral", "verify", "upgrade", "intl", "multi_currency", "multi-currency":
		if de {
			return "Der Verkäufer muss die Zahlung noch annehmen. Das geschieht in der Regel bald."
		}
		return "The seller still has to accept the payment. This usually happens soon."
	case "authorization", "order", "delayed_disbursement":
		if de {
			return "Die Zahlung ist genehmigt, aber noch nicht abgeschlossen."
		}
		return "The payment has been authorized but not yet completed."
	}
	if de {
		return "Der Zahlungsdienst hat die Zahlung noch nicht abgeschlossen."
	}
	return "The payment provider has not completed the payment yet."
}

// EndReason says in plain words why access ended, from the ledger's code
// (refund, chargeback, suspended, ended).
func (l Locale) EndReason(code string) string {
	de := l.Lang == "de"
	switch strings.ToLower(strings.TrimSpace(code)) {
	case "refund", "refunded":
		if de {
			return "Die Zahlung wurde erstattet."
		}
		return "The payment was refunded."
	case "chargeback", "reversal", "reversed":
		if de {
			return "Die Zahlung wurde zurückgebucht."
		}
		return "The payment was charged back."
	case "suspended":
		if de {
			return "Eine wiederkehrende Zahlung fehlt; die Downloads sind pausiert, bis sie eingeht."
		}
		return "A recurring payment is missing; downloads are paused until it is paid."
	case "ended":
		if de {
			return "Der bezahlte Zeitraum ist abgelaufen."
		}
		return "The paid period is over."
	}
	if de {
		return "Die Zahlung gilt nicht mehr."
	}
	return "The payment no longer stands."
}
