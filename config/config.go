// Package config reads vend's settings: an optional TOML file, then one
// VEND_<SECTION>_<KEY> environment variable per key on top. Load is pure apart from
// reading the file, so tests pass their own environment. Every key is listed once,
// in Keys; the environment overlay, Validate and Markdown all read that table.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Defaults. A zero field in a Config means the default.
const (
	DefaultListen          = "127.0.0.1:8080"
	DefaultDataDir         = "./vend-data"
	DefaultLogLevel        = "info"
	DefaultLogFormat       = "text"
	DefaultSessionTimeout  = 30 * time.Minute
	DefaultSessionMax      = 24 * time.Hour
	DefaultGiveBackPercent = 50
	DefaultReturnWindow    = 72 * time.Hour
	DefaultDeliveryMode    = "direct"
	DefaultXAccelPrefix    = "/_vend_files/"
	DefaultRedirectTTL     = 5 * time.Minute
	DefaultIPNPerSecond    = 20
	DefaultIPNBurst        = 100
	DefaultLicensePerMin   = 60 // Lemon Squeezy's budget
	DefaultLicenseBurst    = 30
	DefaultKeepRefused     = 90 * 24 * time.Hour
	DefaultWebsaleMaxAge   = 365 * 24 * time.Hour
	DefaultWebsaleSkew     = 5 * time.Minute
	DefaultWebsaleSetting  = "auto"
	DefaultSMTPStartTLS    = "opportunistic"
	DefaultMailRetryFor    = 72 * time.Hour
	DefaultMailRetryAfter  = 30 * time.Second
)

const (
	paypalLiveVerifyURL    = "https://ipnpb.paypal.com/cgi-bin/webscr"
	paypalSandboxVerifyURL = "https://ipnpb.sandbox.paypal.com/cgi-bin/webscr"
)

// Config is every setting of a vend server. Load and Default fill in the defaults;
// in a Config built by hand, a zero field means the default.
type Config struct {
	Listen    string // host:port
	Database  string // "" (SQLite in data_dir) or a postgres:// URL
	Storage   string // "" (data_dir/files) or an s3:// URL
	BaseURL   string // public URL, no trailing slash
	DataDir   string
	LogLevel  string // debug, info, warn or error
	LogFormat string // text or json
	// TrustedProxies are proxies in front of vend (IPs or CIDR prefixes) whose
	// X-Forwarded-For names the client.
	TrustedProxies []string
	PayPal         PayPal
	Digistore24    Digistore24
	Websale        Websale
	Stripe         Stripe
	Generic        Generic
	SMTP           SMTP
	OwnerEmail     string // gets sale, refund and chargeback notices
	Shop           Shop
	Delivery       Delivery
	Limits         Limits
	Metrics        Metrics
	// WebhooksAllowPrivate lets outgoing webhook endpoints be on this
	// machine or a private network (webhooks.allow_private_networks).
	WebhooksAllowPrivate bool
}

// Metrics says where Prometheus scrapes /metrics: on the main listener for
// the bearer of Token, and/or without a token on Listen (an address only the
// monitoring network reaches). Neither set: no /metrics.
type Metrics struct {
	Token  string
	Listen string
}

// PayPal holds the settings of the PayPal IPN provider.
type PayPal struct {
	VerifyURL      string   // "": see VerifyEndpoint
	ReceiverEmails []string // accounts that may receive this shop's payments
	ReceiverID     string   // secure merchant account id; "" when not checked
	Sandbox        bool
}

// VerifyEndpoint returns the URL that IPN messages are posted back to: VerifyURL
// when set, otherwise PayPal's live or sandbox endpoint.
func (p PayPal) VerifyEndpoint() string {
	switch {
	case p.VerifyURL != "":
		return p.VerifyURL
	case p.Sandbox:
		return paypalSandboxVerifyURL
	}
	return paypalLiveVerifyURL
}

// Digistore24 holds the settings of the Digistore24 IPN provider.
type Digistore24 struct {
	Passphrase string   // the connection's IPN passphrase; "" refuses every IPN
	Sandbox    bool     // accept api_mode=test instead of live messages
	Products   []string // "digistore24 product id=vend product id" entries
	// AnswerLink adds the buyer's download link to the answer, which Digistore24
	// shows on its thank-you page and receipt; ThankyouPage sends the buyer to
	// vend's download page instead of Digistore24's thank-you page.
	AnswerLink, ThankyouPage bool
}

// Websale holds the settings of WEBSALE's external download links.
type Websale struct {
	Password      string // the shop's encryption password; "" turns the links off
	ShopID        string
	SubshopID     string
	MaxAge        time.Duration // a link older than this is refused
	FutureSkew    time.Duration // and one dated further ahead than this
	KeyDerivation string        // how the key comes from the password, or auto
	Mode          string        // cipher mode, or auto
	Padding       string        // padding, or auto
	Products      []string      // "websale product number=vend product id" entries
	FirstClick    bool          // a link of an item not imported creates it (risky: see websale.first_click)
	Language      string        // the buyers' language: links carry none
}

// Stripe holds the settings of Stripe webhooks.
type Stripe struct {
	Secret   string // the endpoint's signing secret (whsec_…); "" refuses every event
	Sandbox  bool   // accept test-mode events instead of live ones
	Products []string
}

// Generic holds the settings of the Standard Webhooks endpoint.
type Generic struct {
	Secret   string // whsec_ + base64, or the base64 alone; "" refuses every message
	Sandbox  bool   // accept messages marked test instead of live ones
	Products []string
}

// SMTP holds how vend sends mail.
type SMTP struct {
	URL        string        // smtp://user:pass@host:587 or smtps://user:pass@host:465; "" sends no mail
	From       string        // the sender address
	StartTLS   string        // mandatory, opportunistic or none, for smtp:// URLs
	RetryFor   time.Duration // how long a message is retried before it is marked failed
	RetryAfter time.Duration // the first pause after a failed attempt; each next one is twice as long, up to an hour
}

// Shop is what buyers see of the seller: a name, a contact, a website, a logo.
type Shop struct {
	Name         string // "": the host of BaseURL
	SupportEmail string // "": OwnerEmail, else the address of SMTP.From
	URL          string // the shop's website; "" for none
	Logo         string // an https URL of the logo; "" for none
	// TermsVersion names the terms buyers agree to at checkout ("2026-11");
	// each order keeps the version in force when it was made, for the
	// evidence pack. TermsURL is where they are read.
	TermsVersion string
	TermsURL     string
}

// ShopIdentity returns Shop with its defaults filled in: the name falls back
// to base_url's host, the support address to owner.email and then to the
// address of smtp.from, so that a buyer always has somewhere to write when
// the seller has any address configured.
func (c Config) ShopIdentity() Shop {
	s := c.Shop
	if s.Name == "" {
		if u, err := url.Parse(c.BaseURL); err == nil {
			s.Name = u.Hostname()
		}
	}
	if s.SupportEmail == "" {
		s.SupportEmail = c.OwnerEmail
	}
	if s.SupportEmail == "" {
		if a, err := mail.ParseAddress(c.SMTP.From); err == nil {
			s.SupportEmail = a.Address
		}
	}
	return s
}

// Proxies parses TrustedProxies; entries were checked when the configuration
// was loaded.
func (c Config) Proxies() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range c.TrustedProxies {
		if p, err := parsePrefix(s); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// parsePrefix reads an IP address (a prefix of its full length) or a CIDR prefix.
func parsePrefix(s string) (netip.Prefix, error) {
	if ip, err := netip.ParseAddr(s); err == nil {
		return netip.PrefixFrom(ip.Unmap(), ip.Unmap().BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	return p.Masked(), err
}

// ProductMap turns "provider id=vend id" entries into a map; entries were
// checked when the configuration was loaded.
func ProductMap(entries []string) map[string]string {
	m := make(map[string]string, len(entries))
	for _, e := range entries {
		from, to, _ := strings.Cut(e, "=")
		m[strings.TrimSpace(from)] = strings.TrimSpace(to)
	}
	return m
}

// Delivery holds the settings of downloads and download sessions.
type Delivery struct {
	// DisableLegacyLinks turns off the old /cgi-bin/download.cgi links (the key
	// delivery.legacy_links = false). It is negative so that zero keeps the default.
	DisableLegacyLinks bool
	SessionTimeout     time.Duration // a session closes this long after its last request
	SessionMax         time.Duration // and at the latest this long after it started
	GiveBackPercent    int           // 1-100: a session that delivered less is given back
	ReturnWindow       time.Duration // the return page shows links this long after payment
	Mode               string        // direct, x-accel or redirect
	XAccelPrefix       string        // internal nginx location that maps to the storage directory
	RedirectTTL        time.Duration // how long a presigned URL of the redirect mode lives
	// SelfTestURL is where the start-up self-test reaches vend through nginx,
	// for Mode x-accel: it fetches a test file there and compares its bytes.
	SelfTestURL string
}

// Limits holds the budgets of the endpoints open to the internet.
type Limits struct {
	IPNPerSecond int           // provider requests per second per client address, sustained
	IPNBurst     int           // and at once
	KeepRefused  time.Duration // how long refused notifications are kept
	// LicensePerMinute and LicenseBurst budget the licence API per client
	// address: sustained, and at once.
	LicensePerMinute int
	LicenseBurst     int
}

// Default returns the configuration used when nothing is set.
func Default() Config {
	return Config{}.withDefaults()
}

// withDefaults replaces zero fields by their defaults and normalizes base_url.
func (c Config) withDefaults() Config {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.BaseURL == "" {
		c.BaseURL = defaultBaseURL(c.Listen)
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	if c.DataDir == "" {
		c.DataDir = DefaultDataDir
	}
	if c.LogLevel == "" {
		c.LogLevel = DefaultLogLevel
	}
	if c.LogFormat == "" {
		c.LogFormat = DefaultLogFormat
	}
	d := &c.Delivery
	if d.SessionTimeout == 0 {
		d.SessionTimeout = DefaultSessionTimeout
	}
	if d.SessionMax == 0 {
		d.SessionMax = DefaultSessionMax
	}
	if d.GiveBackPercent == 0 {
		d.GiveBackPercent = DefaultGiveBackPercent
	}
	if d.ReturnWindow == 0 {
		d.ReturnWindow = DefaultReturnWindow
	}
	if d.Mode == "" {
		d.Mode = DefaultDeliveryMode
	}
	if d.XAccelPrefix == "" {
		d.XAccelPrefix = DefaultXAccelPrefix
	}
	if d.RedirectTTL == 0 {
		d.RedirectTTL = DefaultRedirectTTL
	}
	w := &c.Websale
	if w.MaxAge == 0 {
		w.MaxAge = DefaultWebsaleMaxAge
	}
	if w.FutureSkew == 0 {
		w.FutureSkew = DefaultWebsaleSkew
	}
	if w.Language == "" {
		w.Language = "de"
	}
	for _, f := range []*string{&w.KeyDerivation, &w.Mode, &w.Padding} {
		if *f == "" {
			*f = DefaultWebsaleSetting
		}
	}
	if c.SMTP.StartTLS == "" {
		c.SMTP.StartTLS = DefaultSMTPStartTLS
	}
	if c.SMTP.RetryFor == 0 {
		c.SMTP.RetryFor = DefaultMailRetryFor
	}
	if c.SMTP.RetryAfter == 0 {
		c.SMTP.RetryAfter = DefaultMailRetryAfter
	}
	if c.Limits.IPNPerSecond == 0 {
		c.Limits.IPNPerSecond = DefaultIPNPerSecond
	}
	if c.Limits.IPNBurst == 0 {
		c.Limits.IPNBurst = DefaultIPNBurst
	}
	if c.Limits.KeepRefused == 0 {
		c.Limits.KeepRefused = DefaultKeepRefused
	}
	if c.Limits.LicensePerMinute == 0 {
		c.Limits.LicensePerMinute = DefaultLicensePerMin
	}
	if c.Limits.LicenseBurst == 0 {
		c.Limits.LicenseBurst = DefaultLicenseBurst
	}
	return c
}

// defaultBaseURL returns "http://" + listen, with localhost for a listen address
// that names no host (":8080", "0.0.0.0:8080", "[::]:8080").
func defaultBaseURL(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "http://" + listen
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// Load reads the TOML file at path (none when path is ""), then overrides each key
// whose VEND_<SECTION>_<KEY> variable is set in environ (as from os.Environ), fills
// in the defaults and validates the result. An empty variable sets its key back to
// the default. Unknown keys and variables are refused, except VEND_CONFIG and
// VEND_TEST_*. The error lists every problem, one per line, each naming where it
// came from: the file's path or the variable, then the key.
func Load(path string, environ []string) (Config, error) {
	var c Config
	var errs []error
	if path != "" {
		errs = append(errs, loadFile(&c, path)...)
		// A relative data_dir in a file means next to the file: the seller who
		// wrote data_dir = "data" into /etc/vend/vend.toml meant /etc/vend/data,
		// wherever vend is started from. VEND_DATA_DIR, below, stays relative
		// to the working directory, like any path given in a shell.
		if c.DataDir != "" && !filepath.IsAbs(c.DataDir) {
			c.DataDir = filepath.Join(filepath.Dir(path), c.DataDir)
		}
	}
	errs = append(errs, loadEnv(&c, environ)...)
	if len(errs) > 0 {
		return Config{}, errors.Join(errs...)
	}
	c = c.withDefaults()
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// sections are the tables a file may have.
var sections = map[string]bool{"paypal": true, "digistore24": true, "websale": true, "stripe": true, "generic": true,
	"smtp": true, "owner": true, "shop": true, "delivery": true, "limits": true}

func loadFile(c *Config, path string) []error {
	data, err := os.ReadFile(path)
	if err != nil {
		return []error{fmt.Errorf("read config file: %w", err)}
	}
	var doc map[string]any
	md, err := toml.Decode(string(data), &doc)
	if err != nil {
		return []error{fmt.Errorf("%s: %w", path, err)}
	}
	keys := make(map[string]Key)
	for _, k := range Keys() {
		keys[k.Name] = k
	}
	var errs []error
	for _, tk := range md.Keys() {
		name := tk.String()
		switch {
		case len(tk) == 1 && sections[name]:
			if _, ok := doc[name].(map[string]any); !ok {
				errs = append(errs, fmt.Errorf("%s: %s: must be a table ([%s])", path, name, name))
			}
			continue
		case len(tk) > 2 || len(tk) == 2 && !sections[tk[0]]:
			continue // inside a table already refused
		}
		k, ok := keys[name]
		if !ok {
			errs = append(errs, fmt.Errorf("%s: unknown key %q", path, name))
			continue
		}
		if err := k.fromFile(c, lookup(doc, tk)); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", path, err))
		}
	}
	return errs
}

// lookup returns the value at key in a decoded document.
func lookup(doc map[string]any, key toml.Key) any {
	var v any = doc
	for _, k := range key {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func loadEnv(c *Config, environ []string) []error {
	keys := make(map[string]Key)
	for _, k := range Keys() {
		keys[k.Env] = k
	}
	var errs []error
	for _, kv := range environ {
		name, value, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "VEND_") || strings.HasPrefix(name, "VEND_TEST_") || name == "VEND_CONFIG" {
			continue
		}
		k, ok := keys[name]
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("unknown environment variable %s", name))
		case strings.TrimSpace(value) == "":
			k.reset(c)
		default:
			if err := k.fromEnv(c, value); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", name, err))
			}
		}
	}
	return errs
}

// Validate checks every value and the rules between them. Zero fields count as
// their defaults. The error lists every problem, one per line, each starting with
// the key.
func (c Config) Validate() error {
	derivedBaseURL := c.BaseURL == ""
	c = c.withDefaults()
	var errs []error
	for _, k := range Keys() {
		if k.Name == "base_url" && derivedBaseURL && checkListen(c.Listen) != nil {
			continue // the listen problem is the one to report
		}
		if err := k.check(&c); err != nil {
			errs = append(errs, err)
		}
	}

	d := c.Delivery
	if d.Mode == "x-accel" && c.Storage != "" {
		// nginx serves from a local directory; it cannot reach objects in a bucket.
		errs = append(errs, fmt.Errorf("delivery.mode: x-accel needs local files, but storage is S3: use redirect or direct (got %q)", d.Mode))
	}
	if d.SessionTimeout > 0 && d.SessionMax > 0 && d.SessionTimeout > d.SessionMax {
		errs = append(errs, fmt.Errorf("delivery.session_timeout: must not be longer than delivery.session_max (%s) (got %q)",
			formatDuration(d.SessionMax), formatDuration(d.SessionTimeout)))
	}

	// A live shop that verifies against the sandbox would accept free test
	// payments as real ones; the reverse would refuse every payment.
	if p := c.PayPal; p.VerifyURL != "" && checkVerifyURL(p.VerifyURL) == nil {
		switch paypalHost(p.VerifyURL) {
		case "sandbox":
			if !p.Sandbox {
				errs = append(errs, problem("paypal.verify_url", errors.New("is PayPal's sandbox but paypal.sandbox is off"), p.VerifyURL))
			}
		case "live":
			if p.Sandbox {
				errs = append(errs, problem("paypal.verify_url", errors.New("is PayPal's live site but paypal.sandbox is on"), p.VerifyURL))
			}
		}
	}
	if c.SMTP.URL != "" && c.SMTP.From == "" {
		errs = append(errs, fmt.Errorf("smtp.from: smtp.url is set, so vend needs a sender address"))
	}
	if w := c.Websale; w.Password != "" && (w.ShopID == "" || w.SubshopID == "") {
		errs = append(errs, fmt.Errorf("websale.shop_id: websale.password is set, so websale.shop_id and websale.subshop_id must be too"))
	}
	return errors.Join(errs...)
}

// paypalHost says whether rawURL is on PayPal's "live" or "sandbox" site, or
// neither ("").
func paypalHost(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return ""
	}
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	switch {
	case host == "sandbox.paypal.com" || strings.HasSuffix(host, ".sandbox.paypal.com"):
		return "sandbox"
	case host == "paypal.com" || strings.HasSuffix(host, ".paypal.com"):
		return "live"
	}
	return ""
}
