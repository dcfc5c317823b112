package config

import (
	"encoding/base64"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/vend-shop/vend"
)

// Key is one setting: its name in the TOML file, the environment variable that
// overrides it, its default and what it means. Keys lists them all; Load, Validate
// and Markdown read the same table.
type Key struct {
	Name    string // in the file, with its section: "paypal.verify_url"
	Env     string // the variable that overrides it: "VEND_PAYPAL_VERIFY_URL"
	Default string // the default as text; "" when the default is empty
	Help    string // what it means
	// Secret says the value may hold a password or a key: no message shows it.
	// Messages about the other keys show their value with any URL's password
	// hidden (vend.RedactURL).
	Secret bool

	fromEnv  func(c *Config, s string) error // s is never empty
	fromFile func(c *Config, v any) error    // v is a decoded TOML value
	reset    func(c *Config)                 // back to the zero that means "default"
	check    func(c *Config) error           // the value as it stands; zero is the default
}

// Keys returns every setting in the order the documentation lists them.
func Keys() []Key {
	return []Key{
		newKey("listen", DefaultListen,
			"Address the HTTP server listens on, as host:port.",
			textKind, func(c *Config) *string { return &c.Listen }, checkListen),
		newKey("base_url", "http://<listen>",
			"Public URL of the shop, the one buyers and PayPal reach (http or https, no query). A trailing slash is removed. "+
				"When listen has no host or 0.0.0.0, the default uses localhost.",
			textKind, func(c *Config) *string { return &c.BaseURL }, checkBaseURL),
		newKey("data_dir", DefaultDataDir,
			"Directory for the database and stored files. A relative path in a config file is relative to the file's directory.",
			textKind, func(c *Config) *string { return &c.DataDir }, nil),
		newKey("database", "",
			"Where the ledger lives. Empty: SQLite in data_dir/vend.db. A postgres:// URL: PostgreSQL, shared by several vend instances.",
			textKind, func(c *Config) *string { return &c.Database }, checkDatabase),
		newKey("storage", "",
			"Where files live. Empty: data_dir/files. An s3://bucket/prefix?endpoint=…&region=… URL: S3-compatible object storage "+
				"(credentials from the usual AWS_* variables).",
			textKind, func(c *Config) *string { return &c.Storage }, checkStorage),
		newKey("log_level", DefaultLogLevel,
			"Least important log messages written: debug, info, warn or error.",
			textKind, func(c *Config) *string { return &c.LogLevel }, oneOf("debug", "info", "warn", "error")),
		newKey("log_format", DefaultLogFormat,
			"Log format: text or json.",
			textKind, func(c *Config) *string { return &c.LogFormat }, oneOf("text", "json")),

		newKey("trusted_proxies", "",
			"Proxies in front of vend (nginx, a load balancer), as IPs or CIDR prefixes: for requests from them, the client is "+
				"the right-most X-Forwarded-For address that is not one of them. Budgets, download sessions and logs are per client.",
			listKind, func(c *Config) *[]string { return &c.TrustedProxies }, eachOf(checkPrefix)),

		newKey("paypal.verify_url", "",
			"URL PayPal IPN messages are posted back to for verification. Empty: "+paypalLiveVerifyURL+
				", or "+paypalSandboxVerifyURL+" when paypal.sandbox is on.",
			textKind, func(c *Config) *string { return &c.PayPal.VerifyURL }, checkVerifyURL),
		newKey("paypal.receiver_emails", "",
			"Email addresses of the PayPal accounts that may receive payments for this shop (comma-separated in the environment).",
			listKind, func(c *Config) *[]string { return &c.PayPal.ReceiverEmails }, eachOf(checkEmail)),
		newKey("paypal.receiver_id", "",
			"Secure merchant account id of the PayPal account that receives payments (13 upper-case letters and digits).",
			textKind, func(c *Config) *string { return &c.PayPal.ReceiverID }, checkReceiverID),
		newKey("paypal.sandbox", "false",
			"Accept PayPal sandbox (test) payments instead of live ones.",
			boolKind, func(c *Config) *bool { return &c.PayPal.Sandbox }, nil),

		newKey("digistore24.passphrase", "",
			"IPN passphrase of the Digistore24 connection (Settings › Integrations (IPN)). Empty: every Digistore24 IPN is refused.",
			textKind, func(c *Config) *string { return &c.Digistore24.Passphrase }, nil),
		newKey("digistore24.sandbox", "false",
			"Accept Digistore24 test orders (api_mode=test) instead of live ones.",
			boolKind, func(c *Config) *bool { return &c.Digistore24.Sandbox }, nil),
		newKey("digistore24.products", "",
			"Digistore24 product ids mapped to vend product ids, as id=product entries (comma-separated in the environment). "+
				"An id not listed is taken as the vend product id.",
			listKind, func(c *Config) *[]string { return &c.Digistore24.Products }, eachOf(checkProductMapping)),
		newKey("digistore24.answer_link", "false",
			"Answer each paid IPN with the buyer's download link, which Digistore24 shows on its thank-you page and receipt.",
			boolKind, func(c *Config) *bool { return &c.Digistore24.AnswerLink }, nil),
		newKey("digistore24.thankyou_page", "false",
			"Send the buyer from Digistore24's checkout straight to vend's download page (thankyou_url in the answer).",
			boolKind, func(c *Config) *bool { return &c.Digistore24.ThankyouPage }, nil),

		newKey("websale.password", "",
			"Encryption password of the WEBSALE shop's external download links. Empty: the links are turned off.",
			textKind, func(c *Config) *string { return &c.Websale.Password }, nil),
		newKey("websale.shop_id", "",
			"WEBSALE shop id that links must carry.",
			textKind, func(c *Config) *string { return &c.Websale.ShopID }, nil),
		newKey("websale.subshop_id", "",
			"WEBSALE subshop id that links must carry.",
			textKind, func(c *Config) *string { return &c.Websale.SubshopID }, nil),
		newKey("websale.max_age", formatDuration(DefaultWebsaleMaxAge),
			"Oldest link accepted, counted from when WEBSALE made it (links in confirmation emails are as old as the email).",
			durationKind, func(c *Config) *time.Duration { return &c.Websale.MaxAge }, positive),
		newKey("websale.future_skew", formatDuration(DefaultWebsaleSkew),
			"How far in the future a link's time may be (clocks differ).",
			durationKind, func(c *Config) *time.Duration { return &c.Websale.FutureSkew }, positive),
		newKey("websale.key_derivation", DefaultWebsaleSetting,
			"How the AES key comes from the password: raw, raw-padded, sha256, sha256hex32, hexkey. auto (try all) works only "+
				"for `vend websale detect`; vend serve needs the setting it reports.",
			textKind, func(c *Config) *string { return &c.Websale.KeyDerivation },
			oneOf("auto", "raw", "raw-padded", "sha256", "sha256hex32", "hexkey")),
		newKey("websale.mode", DefaultWebsaleSetting,
			"Cipher mode of the links: cbc-ivprefix, cbc-zeroiv, ecb, gcm-nonce12 (auto: see websale.key_derivation).",
			textKind, func(c *Config) *string { return &c.Websale.Mode }, oneOf("auto", "cbc-ivprefix", "cbc-zeroiv", "ecb", "gcm-nonce12")),
		newKey("websale.padding", DefaultWebsaleSetting,
			"Padding of the links: pkcs7, zero, none (auto: see websale.key_derivation).",
			textKind, func(c *Config) *string { return &c.Websale.Padding }, oneOf("auto", "pkcs7", "zero", "none")),
		newKey("websale.products", "",
			"WEBSALE product numbers mapped to vend product ids, as number=product entries. A number not listed is taken as the vend product id.",
			listKind, func(c *Config) *[]string { return &c.Websale.Products }, eachOf(checkProductMapping)),
		newKey("websale.language", "de",
			"The language of a WEBSALE shop's buyers, for their mail and pages: de or en. Links carry none, and WEBSALE shops sell in German.",
			textKind, func(c *Config) *string { return &c.Websale.Language }, oneOf("de", "en")),
		newKey("websale.first_click", "false",
			"Let the first link of an order item that vend has not imported (`vend websale import`) create the order and its grant. "+
				"Links carry no signature: with this on, whoever holds a link of an order vend has not seen, however old, can re-date it "+
				"and get a grant. vend serve warns at start while it is on.",
			boolKind, func(c *Config) *bool { return &c.Websale.FirstClick }, nil),

		newKey("stripe.secret", "",
			"Signing secret of the Stripe webhook endpoint (whsec_…). Empty: every Stripe event is refused.",
			textKind, func(c *Config) *string { return &c.Stripe.Secret }, nil),
		newKey("stripe.sandbox", "false",
			"Accept Stripe test-mode events instead of live ones.",
			boolKind, func(c *Config) *bool { return &c.Stripe.Sandbox }, nil),
		newKey("stripe.products", "",
			"Stripe product ids mapped to vend product ids, as id=product entries. An id not listed is taken as the vend product id.",
			listKind, func(c *Config) *[]string { return &c.Stripe.Products }, eachOf(checkProductMapping)),

		newKey("generic.secret", "",
			"Standard Webhooks secret for /webhooks/generic: whsec_ followed by base64, or the base64 alone. Empty: every message is refused.",
			textKind, func(c *Config) *string { return &c.Generic.Secret }, checkWebhookSecret),
		newKey("generic.sandbox", "false",
			"Accept messages marked test instead of live ones.",
			boolKind, func(c *Config) *bool { return &c.Generic.Sandbox }, nil),
		newKey("generic.products", "",
			"Shop product ids mapped to vend product ids, as id=product entries. An id not listed is taken as the vend product id.",
			listKind, func(c *Config) *[]string { return &c.Generic.Products }, eachOf(checkProductMapping)),

		newKey("smtp.url", "",
			"SMTP server mail goes out through: smtp://user:password@host:587 (STARTTLS per smtp.starttls) or "+
				"smtps://user:password@host:465 (TLS). mailbox: keeps mail in data_dir/mailbox, shown in the admin, and sends none. "+
				"Empty: vend sends no mail.",
			textKind, func(c *Config) *string { return &c.SMTP.URL }, checkSMTPURL),
		newKey("smtp.from", "",
			"Sender address of vend's mail, e.g. Shop <shop@example.com>.",
			textKind, func(c *Config) *string { return &c.SMTP.From }, checkMailbox),
		newKey("smtp.starttls", DefaultSMTPStartTLS,
			"STARTTLS on smtp:// URLs: mandatory (refuse a server without it), opportunistic (use it when offered) or none.",
			textKind, func(c *Config) *string { return &c.SMTP.StartTLS }, oneOf("mandatory", "opportunistic", "none")),
		newKey("smtp.retry_for", formatDuration(DefaultMailRetryFor),
			"How long a message that cannot be sent is retried (with growing pauses) before it is marked failed.",
			durationKind, func(c *Config) *time.Duration { return &c.SMTP.RetryFor }, positive),
		newKey("smtp.retry_after", formatDuration(DefaultMailRetryAfter),
			"The pause after a message's first failed attempt; each next pause is twice as long, up to an hour.",
			durationKind, func(c *Config) *time.Duration { return &c.SMTP.RetryAfter }, positive),
		newKey("owner.email", "",
			"The seller's address: it gets a notice of every sale, refund and chargeback, of bursts of forged messages, and of every genuine message vend refused.",
			textKind, func(c *Config) *string { return &c.OwnerEmail }, checkEmail),
		newKey("shop.name", "the host of base_url",
			"The shop's name, as buyers know it: in the header of every buyer page, in mail subjects and as the display name of the mail's sender.",
			textKind, func(c *Config) *string { return &c.Shop.Name }, checkShopName),
		newKey("shop.support_email", "",
			"Where buyers write with a question: every buyer page that sends them to the seller names it. Empty: owner.email, "+
				"else the address of smtp.from.",
			textKind, func(c *Config) *string { return &c.Shop.SupportEmail }, checkEmail),
		newKey("shop.url", "",
			"The shop's own website (http or https), linked from the shop's name on every buyer page.",
			textKind, func(c *Config) *string { return &c.Shop.URL }, checkHTTPURL),
		newKey("shop.logo", "",
			"An https URL of the shop's logo, shown beside its name on every buyer page (at most 40 px high).",
			textKind, func(c *Config) *string { return &c.Shop.Logo }, checkLogo),
		newKey("shop.terms_version", "",
			"The version of the terms buyers agree to at your checkout (\"2026-11\", \"v3\"). Each order keeps the version in force when it "+
				"was made; the chargeback evidence pack shows it. Change it when you change the terms.",
			textKind, func(c *Config) *string { return &c.Shop.TermsVersion }, checkTermsVersion),
		newKey("shop.terms_url", "",
			"Where those terms are read (http or https); the evidence pack links it.",
			textKind, func(c *Config) *string { return &c.Shop.TermsURL }, checkHTTPURL),

		invertedBoolKey("delivery.legacy_links", "true",
			"Keep the old /cgi-bin/download.cgi links working; false turns them off.",
			func(c *Config) *bool { return &c.Delivery.DisableLegacyLinks }),
		newKey("delivery.session_timeout", formatDuration(DefaultSessionTimeout),
			"How long a download session stays open after its last request; requests within it count as one download.",
			durationKind, func(c *Config) *time.Duration { return &c.Delivery.SessionTimeout }, positive),
		newKey("delivery.session_max", formatDuration(DefaultSessionMax),
			"The longest a download session stays open, however active.",
			durationKind, func(c *Config) *time.Duration { return &c.Delivery.SessionMax }, positive),
		newKey("delivery.give_back_percent", strconv.Itoa(DefaultGiveBackPercent),
			"A download session that delivered less than this percent of the product's files (1-100) is given back when it expires.",
			intKind, func(c *Config) *int { return &c.Delivery.GiveBackPercent }, between(1, 100)),
		newKey("delivery.return_window", formatDuration(DefaultReturnWindow),
			"How long after payment the return page shows the download link.",
			durationKind, func(c *Config) *time.Duration { return &c.Delivery.ReturnWindow }, positive),

		newKey("delivery.mode", DefaultDeliveryMode,
			"How file bytes go out after the grant check: direct (vend sends them, sendfile for local files), "+
				"x-accel (nginx sends them: X-Accel-Redirect to delivery.x_accel_prefix), or redirect (a presigned URL of the object store).",
			textKind, func(c *Config) *string { return &c.Delivery.Mode }, oneOf("direct", "x-accel", "redirect")),
		newKey("delivery.x_accel_prefix", DefaultXAccelPrefix,
			"Internal nginx location that maps to the storage directory, for delivery.mode = x-accel.",
			textKind, func(c *Config) *string { return &c.Delivery.XAccelPrefix }, checkXAccelPrefix),
		newKey("delivery.redirect_ttl", formatDuration(DefaultRedirectTTL),
			"How long a presigned URL lives, for delivery.mode = redirect.",
			durationKind, func(c *Config) *time.Duration { return &c.Delivery.RedirectTTL }, presignTTL),
		newKey("delivery.self_test_url", "",
			"Where vend, at start and in vend doctor, reaches itself through nginx (https://shop.example.com, or nginx's "+
				"http://127.0.0.1:port), for delivery.mode = x-accel: it fetches a test file there and refuses to start if nginx "+
				"serves 0 bytes or wrong ones. Empty: the path through nginx is not checked (a warning).",
			textKind, func(c *Config) *string { return &c.Delivery.SelfTestURL }, checkHTTPURL),

		newKey("limits.ipn_per_second", strconv.Itoa(DefaultIPNPerSecond),
			"Provider notifications accepted per second from one client address, sustained; more get 429 and are resent.",
			intKind, func(c *Config) *int { return &c.Limits.IPNPerSecond }, between(1, 1000000)),
		newKey("limits.ipn_burst", strconv.Itoa(DefaultIPNBurst),
			"Provider notifications accepted at once from one client address.",
			intKind, func(c *Config) *int { return &c.Limits.IPNBurst }, between(1, 1000000)),
		newKey("limits.license_per_minute", strconv.Itoa(DefaultLicensePerMin),
			"Licence API requests (/v1/licenses/…) accepted per minute from one client address, sustained; more get 429. "+
				"Raise it for customers whose many installations share one address (an office behind NAT).",
			intKind, func(c *Config) *int { return &c.Limits.LicensePerMinute }, between(1, 1000000)),
		newKey("limits.license_burst", strconv.Itoa(DefaultLicenseBurst),
			"Licence API requests accepted at once from one client address.",
			intKind, func(c *Config) *int { return &c.Limits.LicenseBurst }, between(1, 1000000)),
		newKey("metrics.token", "",
			"Bearer token Prometheus sends to scrape /metrics on the main listener (Authorization: Bearer …). Empty: "+
				"no /metrics there.",
			textKind, func(c *Config) *string { return &c.Metrics.Token }, minLength(16)),
		newKey("webhooks.allow_private_networks", "false",
			"Let outgoing webhook endpoints be on this machine or a private network (127.0.0.1, 10.x, 192.168.x, fd00::/8…). "+
				"Off, vend refuses to connect there, so an admin account cannot be used to probe your internal network.",
			boolKind, func(c *Config) *bool { return &c.WebhooksAllowPrivate }, nil),
		newKey("metrics.listen", "",
			"A second address (host:port) that serves only /metrics, without a token: bind it where only the monitoring "+
				"network reaches. Empty: none.",
			textKind, func(c *Config) *string { return &c.Metrics.Listen }, nil),
		newKey("limits.keep_refused", formatDuration(DefaultKeepRefused),
			"How long notifications vend refused (forged, rejected, not verifiable) and that belong to no order are kept; "+
				"older ones are deleted every hour. Verified ones are the ledger's history and are kept.",
			durationKind, func(c *Config) *time.Duration { return &c.Limits.KeepRefused }, positive),
	}
}

// envName returns the variable that overrides key name: VEND_<SECTION>_<KEY>.
func envName(name string) string {
	return "VEND_" + strings.ToUpper(strings.ReplaceAll(name, ".", "_"))
}

// kind converts one type of setting from the environment and from TOML.
type kind[T any] struct {
	parse  func(s string) (T, error) // from the environment
	decode func(v any) (T, error)    // from a decoded TOML value
	format func(T) string            // for messages and docs
}

// newKey builds a Key for the field that field points to. check, if not nil, is
// given every value that is not the zero value and returns the problem with it.
func newKey[T any](name, def, help string, k kind[T], field func(*Config) *T, check func(T) error) Key {
	set := func(c *Config, v T, got string) error {
		if s, ok := any(v).(string); ok && s == "" {
			*field(c) = v // an empty string means the default
			return nil
		}
		if check != nil {
			if err := check(v); err != nil {
				return problem(name, err, got)
			}
		}
		*field(c) = v
		return nil
	}
	return Key{
		Name: name, Env: envName(name), Default: def, Help: help, Secret: secretKeys[name],
		fromEnv: func(c *Config, s string) error {
			v, err := k.parse(s)
			if err != nil {
				return problem(name, err, s)
			}
			return set(c, v, s)
		},
		fromFile: func(c *Config, raw any) error {
			v, err := k.decode(raw)
			if err != nil {
				return problem(name, err, formatTOML(raw))
			}
			return set(c, v, formatTOML(raw))
		},
		reset: func(c *Config) {
			var zero T
			*field(c) = zero
		},
		check: func(c *Config) error {
			v := *field(c)
			if check == nil || isZero(v) {
				return nil
			}
			if err := check(v); err != nil {
				return problem(name, err, k.format(v))
			}
			return nil
		},
	}
}

// invertedBoolKey builds a boolean Key whose default is true, stored in a field
// that says the opposite so that the zero Config keeps the default.
func invertedBoolKey(name, def, help string, field func(*Config) *bool) Key {
	k := newKey(name, def, help, boolKind, field, nil)
	k.fromEnv = func(c *Config, s string) error {
		v, err := boolKind.parse(s)
		if err != nil {
			return problem(name, err, s)
		}
		*field(c) = !v
		return nil
	}
	k.fromFile = func(c *Config, raw any) error {
		v, err := boolKind.decode(raw)
		if err != nil {
			return problem(name, err, formatTOML(raw))
		}
		*field(c) = !v
		return nil
	}
	return k
}

func isZero(v any) bool {
	switch v := v.(type) {
	case string:
		return v == ""
	case []string:
		return len(v) == 0
	case int:
		return v == 0
	case time.Duration:
		return v == 0
	case bool:
		return !v
	}
	return false
}

// valueError is a problem with one part of a value (one element of a list), which
// messages show instead of the whole value.
type valueError struct {
	got string
	err error
}

func (e *valueError) Error() string { return e.err.Error() }

// problem formats the message for a bad value: `key: problem (got "value")`.
// It is the one place a configuration message quotes a value: messages go to
// logs and terminals, so a secret key's value is never shown, and any other
// value only with the password of a URL in it hidden (a verify URL with
// user:password@, or a password pasted into the wrong key).
func problem(name string, err error, got string) error {
	if ve, ok := err.(*valueError); ok {
		got = ve.got
	}
	if secretKeys[name] {
		return fmt.Errorf("%s: %v (value not shown: it may hold a password)", name, err)
	}
	return fmt.Errorf("%s: %v (got %q)", name, err, vend.RedactURL(got))
}

// secretKeys are the keys whose values may carry credentials.
var secretKeys = map[string]bool{"database": true, "storage": true,
	"digistore24.passphrase": true, "websale.password": true, "stripe.secret": true, "generic.secret": true,
	"smtp.url": true, "metrics.token": true}

// formatTOML renders a decoded TOML value for a message.
func formatTOML(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case []any:
		parts := make([]string, len(v))
		for i, e := range v {
			parts[i] = formatTOML(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return fmt.Sprint(v)
}

var textKind = kind[string]{
	parse: func(s string) (string, error) { return strings.TrimSpace(s), nil },
	decode: func(v any) (string, error) {
		s, ok := v.(string)
		if !ok {
			return "", fmt.Errorf("must be a string")
		}
		return strings.TrimSpace(s), nil
	},
	format: func(s string) string { return s },
}

var boolKind = kind[bool]{
	parse: func(s string) (bool, error) {
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "true", "1", "yes", "on":
			return true, nil
		case "false", "0", "no", "off":
			return false, nil
		}
		return false, fmt.Errorf("must be true or false")
	},
	decode: func(v any) (bool, error) {
		b, ok := v.(bool)
		if !ok {
			return false, fmt.Errorf("must be true or false")
		}
		return b, nil
	},
	format: strconv.FormatBool,
}

var intKind = kind[int]{
	parse: func(s string) (int, error) {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return 0, fmt.Errorf("must be a whole number")
		}
		return n, nil
	},
	decode: func(v any) (int, error) {
		n, ok := v.(int64)
		if !ok || int64(int(n)) != n {
			return 0, fmt.Errorf("must be a whole number")
		}
		return int(n), nil
	},
	format: strconv.Itoa,
}

var durationKind = kind[time.Duration]{
	parse: parseDuration,
	decode: func(v any) (time.Duration, error) {
		s, ok := v.(string)
		if !ok {
			return 0, fmt.Errorf(`must be a duration in quotes such as "30m"`)
		}
		return parseDuration(s)
	},
	format: formatDuration,
}

func parseDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf(`must be a duration such as "30m" or "72h"`)
	}
	return d, nil
}

// formatDuration renders d without trailing zero units: "30m", "24h", "1h30m".
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

var listKind = kind[[]string]{
	parse: func(s string) ([]string, error) {
		var list []string
		for _, e := range strings.Split(s, ",") {
			if e = strings.TrimSpace(e); e != "" {
				list = append(list, e)
			}
		}
		return list, nil
	},
	decode: func(v any) ([]string, error) {
		a, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf(`must be a list of strings such as ["a", "b"]`)
		}
		var list []string
		for _, e := range a {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf(`must be a list of strings such as ["a", "b"]`)
			}
			if s = strings.TrimSpace(s); s != "" {
				list = append(list, s)
			}
		}
		return list, nil
	},
	format: func(list []string) string { return strings.Join(list, ", ") },
}

// Checks. Each returns the problem with a value that is not the zero value.

func checkListen(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil || strings.ContainsAny(host, " /") {
		return fmt.Errorf("must be host:port such as 127.0.0.1:8080")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("must be host:port with a port number from 0 to 65535")
	}
	return nil
}

func checkBaseURL(s string) error {
	if err := checkHTTPURL(s); err != nil {
		return err
	}
	u, _ := url.Parse(s)
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(s, "#") {
		return fmt.Errorf("must not have a query or fragment")
	}
	return nil
}

func checkVerifyURL(s string) error {
	return checkHTTPURL(s)
}

func checkHTTPURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "http" && u.Scheme != "https" || u.Host == "" || u.Hostname() == "" {
		return fmt.Errorf("must be an http or https URL")
	}
	if u.User != nil {
		return fmt.Errorf("must not contain a user name or password")
	}
	return nil
}

func checkDatabase(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "postgres" && u.Scheme != "postgresql" || u.Host == "" {
		return fmt.Errorf("must be a postgres:// URL (or empty for SQLite)")
	}
	return nil
}

func checkStorage(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "s3" || u.Host == "" {
		return fmt.Errorf("must be an s3://bucket/prefix URL (or empty for data_dir/files)")
	}
	return nil
}

func checkXAccelPrefix(s string) error {
	if !strings.HasPrefix(s, "/") || !strings.HasSuffix(s, "/") || strings.Contains(s, "/../") || strings.Contains(s, "/./") {
		return fmt.Errorf("must be a path that starts and ends with /")
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-~", r)) {
			return fmt.Errorf("may hold only letters, digits and / . _ - ~")
		}
	}
	return nil
}

// presignTTL bounds delivery.redirect_ttl: at least a second, and at most the
// seven days a presigned URL (Signature V4) can live.
func presignTTL(d time.Duration) error {
	if d < time.Second || d > 7*24*time.Hour {
		return fmt.Errorf("must be between 1s and 168h")
	}
	return nil
}

func checkEmail(s string) error {
	local, domain, _ := strings.Cut(s, "@")
	if strings.Count(s, "@") != 1 || local == "" || domain == "" || strings.ContainsAny(s, " \t,;<>") {
		return fmt.Errorf("must be email addresses such as seller@example.com")
	}
	return nil
}

var receiverIDPattern = regexp.MustCompile(`^[A-Z0-9]{13}$`)

func checkReceiverID(s string) error {
	if !receiverIDPattern.MatchString(s) {
		return fmt.Errorf("must be a PayPal secure merchant account id: 13 upper-case letters and digits")
	}
	return nil
}

func checkSMTPURL(s string) error {
	if s == "mailbox:" { // the development mailbox (mailer.MailboxURL)
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "smtp" && u.Scheme != "smtps" || u.Hostname() == "" {
		return fmt.Errorf("must be mailbox: or an smtp:// or smtps:// URL such as smtp://user:password@mail.example.com:587")
	}
	return nil
}

// checkMailbox checks an address with an optional display name.
// checkShopName keeps the name to one line: it goes into mail subjects and the
// sender's display name.
func checkShopName(s string) error {
	if strings.ContainsFunc(s, unicode.IsControl) || len(s) > 100 {
		return fmt.Errorf("must be one line of at most 100 bytes")
	}
	return nil
}

// checkLogo accepts https URLs only: the buyer pages are served over https in
// production, and an http image there would be blocked as mixed content.
func checkTermsVersion(s string) error {
	if len(s) > 100 || strings.ContainsFunc(s, unicode.IsControl) {
		return fmt.Errorf("must be a short label such as 2026-11 (at most 100 characters, no control characters)")
	}
	return nil
}

func checkLogo(s string) error {
	if u, err := url.Parse(s); err != nil || u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("must be an https URL such as https://shop.example.com/logo.png")
	}
	return nil
}

func checkMailbox(s string) error {
	if _, err := mail.ParseAddress(s); err != nil {
		return fmt.Errorf("must be an email address such as shop@example.com or Shop <shop@example.com>")
	}
	return nil
}

func checkPrefix(s string) error {
	if _, err := parsePrefix(s); err != nil {
		return fmt.Errorf("must be IP addresses or CIDR prefixes such as 127.0.0.1 or 10.0.0.0/8")
	}
	return nil
}

// checkProductMapping checks one "provider id=vend product id" entry.
func checkProductMapping(s string) error {
	from, to, ok := strings.Cut(s, "=")
	from, to = strings.TrimSpace(from), strings.TrimSpace(to)
	if !ok || from == "" || to == "" || strings.Contains(to, "=") {
		return fmt.Errorf("must be provider-id=product-id entries such as 512345=ebook")
	}
	return nil
}

// checkWebhookSecret checks a Standard Webhooks secret: base64, with or without
// the whsec_ prefix. The prefix is optional because the reference libraries
// (and provider/generic's ParseSecret) strip it when present and use the base64
// either way, and some shops show the secret without it.
func checkWebhookSecret(s string) error {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, "whsec_"))
	if err != nil || len(key) == 0 {
		return fmt.Errorf("must be base64, with or without the whsec_ prefix")
	}
	return nil
}

func oneOf(words ...string) func(string) error {
	return func(s string) error {
		for _, w := range words {
			if s == w {
				return nil
			}
		}
		return fmt.Errorf("must be one of %s", strings.Join(words, ", "))
	}
}

func eachOf(check func(string) error) func([]string) error {
	return func(list []string) error {
		for _, s := range list {
			if err := check(s); err != nil {
				return &valueError{got: s, err: err}
			}
		}
		return nil
	}
}

func positive(d time.Duration) error {
	if d <= 0 {
		return fmt.Errorf("must be positive")
	}
	return nil
}

func between(lo, hi int) func(int) error {
	return func(n int) error {
		if n < lo || n > hi {
			return fmt.Errorf("must be a whole number from %d to %d", lo, hi)
		}
		return nil
	}
}

// minLength refuses a value shorter than n characters: a token too short to
// be hard to guess.
func minLength(n int) func(string) error {
	return func(s string) error {
		if len(s) < n {
			return fmt.Errorf("must be at least %d characters: use a random one (openssl rand -hex 24)", n)
		}
		return nil
	}
}
