package web

import (
	"fmt"
	"net/http"
	"time"

	"github.com/vend-shop/vend/locale"
)

// Shop is what buyers see of the seller on every buyer page: config's shop.*
// keys, with their defaults filled in.
type Shop struct {
	Name         string
	SupportEmail string // "" when the seller gave no address
	URL          string // the shop's website; "" for none
	Logo         string // an https URL; "" for none
	TermsVersion string // the terms in force (shop.terms_version); "" for none
	TermsURL     string
}

// view is what the layout needs from every page.
type view struct {
	Title      string
	Refresh    int    // seconds; 0: no automatic refresh
	RefreshURL string // where the refresh goes; "": the page itself
	Lang       string // "en" or "de"
	Shop       Shop
	// Help offers, below the page's text, the page that sends links again and
	// the seller's address: for pages that end in a problem.
	Help bool
	loc  locale.Locale
}

// buyerView starts the view of a buyer page in lang (see pageLang) with its
// title translated.
func (s *Server) buyerView(lang, title string) view {
	v := view{Lang: locale.Language(lang), Shop: s.Shop, loc: locale.New(lang)}
	v.Title = v.T(title)
	return v
}

// pageLang is the language of a buyer page: the order's (what the provider
// said of the buyer, vend.Order.Language), then the browser's Accept-Language.
func pageLang(r *http.Request, orderLang string) string {
	if orderLang != "" {
		return locale.Language(orderLang)
	}
	return locale.Accept(r.Header.Get("Accept-Language"))
}

// T translates an English sentence of the buyer pages; one without a
// translation stays English. Keys are the English text, so the templates and
// handlers read as the English page does.
func (v view) T(s string) string {
	if v.Lang == "de" {
		if t, ok := german[s]; ok {
			return t
		}
	}
	return s
}

// Date, DateTime and Size format as the mails do, in the page's language.
func (v view) Date(t time.Time) string     { return v.loc.Date(t) }
func (v view) DateTime(t time.Time) string { return v.loc.DateTime(t) }
func (v view) Size(n int64) string         { return v.loc.Size(n) }

// Tf translates format and fills it in: {{.Tf "Download %s" .Name}}.
func (v view) Tf(format string, args ...any) string { return fmt.Sprintf(v.T(format), args...) }
