package vend

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// Unlimited is the DownloadLimit of a product or grant whose downloads are not counted
// against a limit. It is not the zero value on purpose: a product or grant built
// without a limit must fail validation, not give unlimited downloads. Forever is
// the Lifetime of access that never expires.
const (
	Unlimited = -1
	Forever   = time.Duration(0)
)

// Defaults for products whose line in the products file leaves a field empty.
const (
	DefaultCurrency      = "USD"
	DefaultDownloadLimit = 5
)

// Product is something a seller sells: one or more files under one price.
type Product struct {
	ID            string        `json:"id"`
	Name          string        `json:"name"`
	Price         Amount        `json:"price"`
	Currency      string        `json:"currency"`
	DownloadLimit int           `json:"download_limit"` // Unlimited (-1) or ≥ 1
	Lifetime      time.Duration `json:"lifetime"`       // Forever or > 0
	Archived      bool          `json:"archived"`       // no longer sold: new payments are refused, buyers keep their downloads
	License       LicensePolicy `json:"license"`
	// UpdatesFor is how long after the purchase new versions of the files
	// still come to a buyer ("updates until"): Forever or > 0. Versions
	// released later are listed on the buyer's page, not served; RenewURL is
	// where the page sends the buyer to renew.
	UpdatesFor time.Duration `json:"updates_for"`
	RenewURL   string        `json:"renew_url,omitempty"`
	Files      []*File       `json:"files"`
	CreatedAt  time.Time     `json:"created_at"`
	UpdatedAt  time.Time     `json:"updated_at"`
}

// File is one stored file of a product. Key names the bytes in blob storage and is
// never shown to a buyer.
type File struct {
	ID        int64     `json:"id"`
	ProductID string    `json:"product_id"`
	Name      string    `json:"name"`
	Key       string    `json:"-"`
	Size      int64     `json:"size"`
	SHA256    string    `json:"sha256"`
	CreatedAt time.Time `json:"created_at"`          // when it was released
	RetiredAt time.Time `json:"retired_at,omitzero"` // when a newer version replaced it; zero while current
}

var productIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// ValidateProductID reports whether id can name a product: 1–64 letters, digits, '.',
// '_' or '-', starting with a letter or digit. PayPal's item_number carries it.
func ValidateProductID(id string) error {
	if !productIDPattern.MatchString(id) {
		return Errorf(EINVALID, "product id %q: use 1-64 letters, digits, '.', '_' or '-'", id)
	}
	return nil
}

// Validate checks the fields a seller sets.
func (p *Product) Validate() error {
	if err := ValidateProductID(p.ID); err != nil {
		return err
	}
	if strings.TrimSpace(p.Name) == "" {
		return Errorf(EINVALID, "product %s: name is empty", p.ID)
	}
	if p.Price < 0 {
		return Errorf(EINVALID, "product %s: price %s is negative", p.ID, p.Price)
	}
	if err := ValidateCurrency(p.Currency); err != nil {
		return Errorf(EINVALID, "product %s: %s", p.ID, ErrorMessage(err))
	}
	if p.DownloadLimit < 1 && p.DownloadLimit != Unlimited {
		return Errorf(EINVALID, "product %s: download limit %d: use a positive number or unlimited", p.ID, p.DownloadLimit)
	}
	if p.Lifetime < 0 {
		return Errorf(EINVALID, "product %s: lifetime is negative", p.ID)
	}
	if err := p.License.Validate(); err != nil {
		return Errorf(EINVALID, "product %s: %s", p.ID, ErrorMessage(err))
	}
	if p.UpdatesFor < 0 {
		return Errorf(EINVALID, "product %s: updates period is negative", p.ID)
	}
	if err := ValidateRenewURL(p.RenewURL); err != nil {
		return Errorf(EINVALID, "product %s: %s", p.ID, ErrorMessage(err))
	}
	return nil
}

// ValidateRenewURL checks the page a buyer renews updates on: empty, or an
// absolute http(s) URL of at most 500 characters.
func ValidateRenewURL(s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(s) > 500 {
		return Errorf(EINVALID, "renewal URL %q: use an absolute https:// address", s)
	}
	return nil
}

// ValidateCurrency checks for a three-letter upper-case ISO 4217 code.
func ValidateCurrency(c string) error {
	if len(c) != 3 || strings.ToUpper(c) != c || !isLetters(c) {
		return Errorf(EINVALID, "currency %q is not a three-letter ISO 4217 code such as USD", c)
	}
	return nil
}

func isLetters(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

// FormatLimit renders a download limit for people: "unlimited" or the number.
func FormatLimit(n int) string {
	if n == Unlimited {
		return "unlimited"
	}
	return fmt.Sprint(n)
}

// FormatLifetime renders an access lifetime for people: "unlimited", "30d" or "12h".
func FormatLifetime(d time.Duration) string {
	switch {
	case d == Forever:
		return "unlimited"
	case d%(24*time.Hour) == 0 && d < 100000*24*time.Hour:
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	default:
		return d.String()
	}
}

// ParseLifetime parses "unlimited", a number of days with a "d" suffix ("30d"), or a
// Go duration ("12h"). Zero is refused: "unlimited" says it in words.
func ParseLifetime(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "unlimited" || s == "forever" {
		return Forever, nil
	}
	var d time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok && allDigits(days) && days != "" && len(days) < 6 {
		var n int
		fmt.Sscan(days, &n)
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf("lifetime %q: use \"unlimited\", days such as \"30d\" or a duration such as \"12h\"", s)
		}
	}
	if d <= 0 {
		return 0, fmt.Errorf("lifetime %q must be positive (or \"unlimited\")", s)
	}
	return d, nil
}

// ParseLimit parses "unlimited" or a positive number of downloads.
func ParseLimit(s string) (int, error) {
	s = strings.TrimSpace(s)
	if s == "unlimited" {
		return Unlimited, nil
	}
	var n int
	if !allDigits(s) || s == "" || len(s) > 9 {
		return 0, fmt.Errorf("download limit %q: use a positive number or \"unlimited\"", s)
	}
	fmt.Sscan(s, &n)
	if n <= 0 {
		return 0, fmt.Errorf("download limit %q must be positive (or \"unlimited\")", s)
	}
	return n, nil
}
