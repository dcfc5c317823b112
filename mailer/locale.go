package mailer

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/vend-shop/vend"
)

// locale formats numbers, money, sizes and dates for one language. Templates call
// these as functions: {{date .Order.Date}}, {{money .Order.Total .Order.Currency}},
// {{size .Size}}, {{datetime .ExpiresAt}}.
type locale struct {
	lang    string
	decimal string // decimal separator
	group   string // thousands separator
	months  [12]string
	bytes   string // the word for a size under 1 kB
}

func newLocale(lang string) locale {
	if lang == "de" {
		return locale{lang: "de", decimal: ",", group: ".", bytes: "Bytes",
			months: [12]string{"Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August",
				"September", "Oktober", "November", "Dezember"}}
	}
	return locale{lang: "en", decimal: ".", group: ",", bytes: "bytes",
		months: [12]string{"January", "February", "March", "April", "May", "June", "July", "August",
			"September", "October", "November", "December"}}
}

func (l locale) funcs() map[string]any {
	return map[string]any{
		"date":     l.date,
		"datetime": l.datetime,
		"money":    l.money,
		"size":     l.size,
	}
}

// date renders the day of t in UTC: "March 2, 2026" or "2. März 2026"; the zero
// time renders as "".
func (l locale) date(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	t = t.UTC()
	if l.lang == "de" {
		return fmt.Sprintf("%d. %s %d", t.Day(), l.months[t.Month()-1], t.Year())
	}
	return fmt.Sprintf("%s %d, %d", l.months[t.Month()-1], t.Day(), t.Year())
}

// datetime renders t to the minute in UTC: "March 2, 2026, 14:05 UTC".
func (l locale) datetime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	t = t.UTC()
	return fmt.Sprintf("%s, %02d:%02d UTC", l.date(t), t.Hour(), t.Minute())
}

// money renders an amount with its currency: "1,234.50 USD" or "1.234,50 EUR".
func (l locale) money(a vend.Amount, currency string) string {
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

func (l locale) group3(n int64) string {
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

// size renders a byte count in decimal units: "512 bytes", "1.5 MB", "734 MB".
func (l locale) size(n int64) string {
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

// explain says in plain words why a message was sent: a pending reason, or why
// access ended. Codes are the providers' (PayPal's pending_reason) or the ledger's
// (refund, chargeback); an unknown or empty code gets a general sentence.
func (l locale) explain(kind vend.MailKind, code string) string {
	code = strings.ToLower(strings.TrimSpace(code))
	switch kind {
	case vend.MailPending:
		return l.pendingReason(code)
	case vend.MailEnded, vend.MailRefund, vend.MailChargeback:
		return l.endReason(code)
	}
	return ""
}

func (l locale) pendingReason(code string) string {
	de := l.lang == "de"
	switch code {
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
	case "address", "unilateral", "verify", "upgrade", "intl", "multi_currency":
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

func (l locale) endReason(code string) string {
	de := l.lang == "de"
	switch code {
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
