package config_test

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vend-shop/vend/config"
)

// MustWriteFile writes a config file into a fresh directory and returns its path.
func MustWriteFile(tb testing.TB, content string) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "vend.toml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}

const fullFile = `
listen = "0.0.0.0:9000"
base_url = "https://shop.example.com/"
data_dir = "/var/lib/vend"
log_level = "debug"
log_format = "json"

[paypal]
verify_url = "http://127.0.0.1:9999/verify"
receiver_emails = ["seller@example.com", " other@example.com "]
receiver_id = "ABCDEFGH12345"
sandbox = false

[delivery]
legacy_links = false
session_timeout = "10m"
session_max = "2h"
give_back_percent = 25
return_window = "48h"
`

func TestLoad(t *testing.T) {
	tests := []struct {
		name    string
		file    string // "" means no file
		environ []string
		want    func(c *config.Config) // changes from Default()
	}{
		{
			name: "nothing set gives the defaults",
			want: func(c *config.Config) {},
		},
		{
			name: "file only sets every key",
			file: fullFile,
			want: func(c *config.Config) {
				c.Listen = "0.0.0.0:9000"
				c.BaseURL = "https://shop.example.com"
				c.DataDir = "/var/lib/vend"
				c.LogLevel = "debug"
				c.LogFormat = "json"
				c.PayPal = config.PayPal{
					VerifyURL:      "http://127.0.0.1:9999/verify",
					ReceiverEmails: []string{"seller@example.com", "other@example.com"},
					ReceiverID:     "ABCDEFGH12345",
				}
				c.Delivery = config.Delivery{
					DisableLegacyLinks: true,
					SessionTimeout:     10 * time.Minute,
					SessionMax:         2 * time.Hour,
					GiveBackPercent:    25,
					ReturnWindow:       48 * time.Hour,
					Mode:               "direct", XAccelPrefix: "/_vend_files/", RedirectTTL: 5 * time.Minute,
				}
			},
		},
		{
			name:    "smtp.url mailbox: keeps mail in the data directory",
			environ: []string{"VEND_SMTP_URL=mailbox:", "VEND_SMTP_FROM=Shop <shop@example.com>"},
			want: func(c *config.Config) {
				c.SMTP.URL, c.SMTP.From = "mailbox:", "Shop <shop@example.com>"
			},
		},
		{
			name: "environment only sets every key",
			environ: []string{
				"VEND_LISTEN=127.0.0.1:7000",
				"VEND_BASE_URL=https://example.com/shop/",
				"VEND_DATA_DIR=/srv/vend",
				"VEND_LOG_LEVEL=warn",
				"VEND_LOG_FORMAT=json",
				"VEND_PAYPAL_VERIFY_URL=https://ipnpb.sandbox.paypal.com/cgi-bin/webscr",
				"VEND_PAYPAL_RECEIVER_EMAILS=a@example.com",
				"VEND_PAYPAL_RECEIVER_ID=XYZ0123456789",
				"VEND_PAYPAL_SANDBOX=yes",
				"VEND_DELIVERY_LEGACY_LINKS=off",
				"VEND_DELIVERY_SESSION_TIMEOUT=1h",
				"VEND_DELIVERY_SESSION_MAX=3h",
				"VEND_DELIVERY_GIVE_BACK_PERCENT=100",
				"VEND_DELIVERY_RETURN_WINDOW=1h30m",
			},
			want: func(c *config.Config) {
				c.Listen = "127.0.0.1:7000"
				c.BaseURL = "https://example.com/shop"
				c.DataDir = "/srv/vend"
				c.LogLevel = "warn"
				c.LogFormat = "json"
				c.PayPal = config.PayPal{
					VerifyURL:      "https://ipnpb.sandbox.paypal.com/cgi-bin/webscr",
					ReceiverEmails: []string{"a@example.com"},
					ReceiverID:     "XYZ0123456789",
					Sandbox:        true,
				}
				c.Delivery = config.Delivery{
					DisableLegacyLinks: true,
					SessionTimeout:     time.Hour,
					SessionMax:         3 * time.Hour,
					GiveBackPercent:    100,
					ReturnWindow:       90 * time.Minute,
					Mode:               "direct", XAccelPrefix: "/_vend_files/", RedirectTTL: 5 * time.Minute,
				}
			},
		},
		{
			name: "environment overrides the file key by key",
			file: fullFile,
			environ: []string{
				"VEND_LOG_LEVEL=error",
				"VEND_PAYPAL_RECEIVER_EMAILS=new@example.com",
				"VEND_DELIVERY_LEGACY_LINKS=true",
				"VEND_DELIVERY_GIVE_BACK_PERCENT=75",
			},
			want: func(c *config.Config) {
				c.Listen = "0.0.0.0:9000"
				c.BaseURL = "https://shop.example.com"
				c.DataDir = "/var/lib/vend"
				c.LogLevel = "error"
				c.LogFormat = "json"
				c.PayPal = config.PayPal{
					VerifyURL:      "http://127.0.0.1:9999/verify",
					ReceiverEmails: []string{"new@example.com"},
					ReceiverID:     "ABCDEFGH12345",
				}
				c.Delivery = config.Delivery{
					SessionTimeout:  10 * time.Minute,
					SessionMax:      2 * time.Hour,
					GiveBackPercent: 75,
					ReturnWindow:    48 * time.Hour,
					Mode:            "direct",
					XAccelPrefix:    "/_vend_files/",
					RedirectTTL:     5 * time.Minute,
				}
			},
		},
		{
			name:    "an empty variable sets its key back to the default",
			file:    "log_level = \"debug\"\n[delivery]\nlegacy_links = false\n[paypal]\nreceiver_emails = [\"a@example.com\"]\n",
			environ: []string{"VEND_LOG_LEVEL=", "VEND_DELIVERY_LEGACY_LINKS=", "VEND_PAYPAL_RECEIVER_EMAILS= "},
			want:    func(c *config.Config) {},
		},
		{
			name:    "environment lists are split on commas, trimmed, empties dropped",
			environ: []string{"VEND_PAYPAL_RECEIVER_EMAILS= a@example.com ,, b@example.com,"},
			want: func(c *config.Config) {
				c.PayPal.ReceiverEmails = []string{"a@example.com", "b@example.com"}
			},
		},
		{
			name: "file lists drop empty strings",
			file: "[paypal]\nreceiver_emails = [\"a@example.com\", \"\", \"b@example.com\"]\n",
			want: func(c *config.Config) {
				c.PayPal.ReceiverEmails = []string{"a@example.com", "b@example.com"}
			},
		},
		{
			name:    "base_url default follows listen",
			environ: []string{"VEND_LISTEN=192.0.2.1:8443"},
			want: func(c *config.Config) {
				c.Listen = "192.0.2.1:8443"
				c.BaseURL = "http://192.0.2.1:8443"
			},
		},
		{
			name: "base_url default uses localhost when listen names no host",
			file: `listen = ":8080"`,
			want: func(c *config.Config) {
				c.Listen = ":8080"
				c.BaseURL = "http://localhost:8080"
			},
		},
		{
			name:    "base_url default uses localhost for the unspecified IPv6 address",
			environ: []string{"VEND_LISTEN=[::]:8080"},
			want: func(c *config.Config) {
				c.Listen = "[::]:8080"
				c.BaseURL = "http://localhost:8080"
			},
		},
		{
			name:    "set base_url is kept whatever listen says",
			environ: []string{"VEND_LISTEN=:9000", "VEND_BASE_URL=https://shop.example.com"},
			want: func(c *config.Config) {
				c.Listen = ":9000"
				c.BaseURL = "https://shop.example.com"
			},
		},
		{
			name: "booleans accept the usual words in the environment",
			environ: []string{
				"VEND_PAYPAL_SANDBOX=ON",
				"VEND_DELIVERY_LEGACY_LINKS=0",
			},
			want: func(c *config.Config) {
				c.PayPal.Sandbox = true
				c.Delivery.DisableLegacyLinks = true
			},
		},
		{
			name: "VEND_CONFIG, VEND_TEST_* and other variables are ignored",
			environ: []string{
				"VEND_CONFIG=/etc/vend.toml",
				"VEND_TEST_POSTGRES=postgres://x",
				"HOME=/root",
				"PATH=/bin",
				"vend_listen=nonsense",
			},
			want: func(c *config.Config) {},
		},
		{
			name: "an empty file gives the defaults",
			file: "# nothing here\n",
			want: func(c *config.Config) {},
		},
		{
			name: "an empty string in the file means the default",
			file: "listen = \"\"\n[paypal]\nverify_url = \"\"\n",
			want: func(c *config.Config) {},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := ""
			if tt.file != "" {
				path = MustWriteFile(t, tt.file)
			}
			got, err := config.Load(path, tt.environ)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			want := config.Default()
			tt.want(&want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Load:\n got %+v\nwant %+v", got, want)
			}
			if err := got.Validate(); err != nil {
				t.Errorf("Validate of a loaded config: %v", err)
			}
		})
	}
}

func TestLoad_Errors(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		environ []string
		want    []string // each must appear in the error
	}{
		// Every key refuses a bad value and names itself.
		{name: "listen without a port", environ: []string{"VEND_LISTEN=localhost"},
			want: []string{`VEND_LISTEN: listen: must be host:port such as 127.0.0.1:8080 (got "localhost")`}},
		{name: "listen with a port out of range", file: `listen = "127.0.0.1:70000"`,
			want: []string{`listen: must be host:port with a port number from 0 to 65535 (got "127.0.0.1:70000")`}},
		{name: "base_url that is relative", environ: []string{"VEND_BASE_URL=/shop"},
			want: []string{`base_url: must be an http or https URL (got "/shop")`}},
		{name: "base_url with a query", environ: []string{"VEND_BASE_URL=https://x.example/?a=1"},
			want: []string{`base_url: must not have a query or fragment (got "https://x.example/?a=1")`}},
		{name: "base_url with another scheme", file: `base_url = "ftp://x.example"`,
			want: []string{`base_url: must be an http or https URL (got "ftp://x.example")`}},
		{name: "shop.name on two lines", file: "[shop]\nname = \"Books\\nBcc: x\"",
			want: []string{`shop.name: must be one line of at most 100 bytes`}},
		{name: "shop.support_email not an address", environ: []string{"VEND_SHOP_SUPPORT_EMAIL=help"},
			want: []string{`shop.support_email: must be email addresses such as seller@example.com (got "help")`}},
		{name: "shop.logo over http", environ: []string{"VEND_SHOP_LOGO=http://books.example/logo.png"},
			want: []string{`shop.logo: must be an https URL such as https://shop.example.com/logo.png (got "http://books.example/logo.png")`}},
		{name: "log_level unknown", environ: []string{"VEND_LOG_LEVEL=verbose"},
			want: []string{`log_level: must be one of debug, info, warn, error (got "verbose")`}},
		{name: "log_format unknown", file: `log_format = "xml"`,
			want: []string{`log_format: must be one of text, json (got "xml")`}},
		{name: "log_level not a string in the file", file: `log_level = 3`,
			want: []string{`log_level: must be a string (got "3")`}},
		{name: "paypal.verify_url not http", environ: []string{"VEND_PAYPAL_VERIFY_URL=ftp://x"},
			want: []string{`paypal.verify_url: must be an http or https URL (got "ftp://x")`}},
		{name: "paypal.verify_url with credentials", file: "[paypal]\nverify_url = \"https://u:p@x.example/\"",
			want: []string{`paypal.verify_url: must not contain a user name or password`}},
		{name: "paypal.receiver_emails entry without @", environ: []string{"VEND_PAYPAL_RECEIVER_EMAILS=a@example.com, seller"},
			want: []string{`paypal.receiver_emails: must be email addresses such as seller@example.com (got "seller")`}},
		{name: "paypal.receiver_emails entry with two @", file: "[paypal]\nreceiver_emails = [\"a@b@example.com\"]",
			want: []string{`paypal.receiver_emails: must be email addresses such as seller@example.com (got "a@b@example.com")`}},
		{name: "paypal.receiver_emails not a list in the file", file: "[paypal]\nreceiver_emails = \"a@example.com\"",
			want: []string{`paypal.receiver_emails: must be a list of strings`}},
		{name: "paypal.receiver_id lower case", environ: []string{"VEND_PAYPAL_RECEIVER_ID=abcdefgh12345"},
			want: []string{`paypal.receiver_id: must be a PayPal secure merchant account id: 13 upper-case letters and digits (got "abcdefgh12345")`}},
		{name: "paypal.receiver_id too short", file: "[paypal]\nreceiver_id = \"ABC123\"",
			want: []string{`paypal.receiver_id: must be a PayPal secure merchant account id: 13 upper-case letters and digits (got "ABC123")`}},
		{name: "paypal.sandbox not a boolean", environ: []string{"VEND_PAYPAL_SANDBOX=maybe"},
			want: []string{`VEND_PAYPAL_SANDBOX: paypal.sandbox: must be true or false (got "maybe")`}},
		{name: "paypal.sandbox as a string in the file", file: "[paypal]\nsandbox = \"true\"",
			want: []string{`paypal.sandbox: must be true or false (got "true")`}},
		{name: "delivery.legacy_links not a boolean", environ: []string{"VEND_DELIVERY_LEGACY_LINKS=sometimes"},
			want: []string{`delivery.legacy_links: must be true or false (got "sometimes")`}},
		{name: "delivery.session_timeout not a duration", environ: []string{"VEND_DELIVERY_SESSION_TIMEOUT=30"},
			want: []string{`delivery.session_timeout: must be a duration such as "30m" or "72h" (got "30")`}},
		{name: "delivery.session_timeout zero", file: "[delivery]\nsession_timeout = \"0s\"",
			want: []string{`delivery.session_timeout: must be positive (got "0s")`}},
		{name: "delivery.session_max negative", environ: []string{"VEND_DELIVERY_SESSION_MAX=-1h"},
			want: []string{`delivery.session_max: must be positive (got "-1h")`}},
		{name: "delivery.session_max as a number in the file", file: "[delivery]\nsession_max = 3600",
			want: []string{`delivery.session_max: must be a duration in quotes such as "30m" (got "3600")`}},
		{name: "delivery.give_back_percent zero", environ: []string{"VEND_DELIVERY_GIVE_BACK_PERCENT=0"},
			want: []string{`delivery.give_back_percent: must be a whole number from 1 to 100 (got "0")`}},
		{name: "delivery.give_back_percent over 100", file: "[delivery]\ngive_back_percent = 101",
			want: []string{`delivery.give_back_percent: must be a whole number from 1 to 100 (got "101")`}},
		{name: "delivery.give_back_percent not a number", environ: []string{"VEND_DELIVERY_GIVE_BACK_PERCENT=half"},
			want: []string{`delivery.give_back_percent: must be a whole number (got "half")`}},
		{name: "delivery.return_window not a duration", environ: []string{"VEND_DELIVERY_RETURN_WINDOW=3d"},
			want: []string{`delivery.return_window: must be a duration such as "30m" or "72h" (got "3d")`}},

		// Unknown names.
		{name: "unknown top-level key in the file", file: "listen = \"127.0.0.1:1\"\nlisten_port = 8080",
			want: []string{`unknown key "listen_port"`}},
		{name: "unknown key in a section", file: "[paypal]\nreceiver_mail = \"a@example.com\"",
			want: []string{`unknown key "paypal.receiver_mail"`}},
		{name: "unknown section is named once", file: "[mailer]\nhost = \"mail\"\nport = 25",
			want: []string{`unknown key "mailer"`}},
		{name: "section that is not a table", file: `paypal = "yes"`,
			want: []string{`paypal: must be a table ([paypal])`}},
		{name: "unknown environment variable", environ: []string{"VEND_PAYPAL_EMAIL=a@example.com"},
			want: []string{`unknown environment variable VEND_PAYPAL_EMAIL`}},
		{name: "TOML syntax error names the file", file: "listen = \n",
			want: []string{`vend.toml: toml: line 1`}},

		// Every problem is reported, from the file and the environment.
		{name: "all problems together",
			file:    "log_level = \"loud\"\nbogus = 1\n",
			environ: []string{"VEND_LOG_FORMAT=xml", "VEND_NOPE=1"},
			want: []string{
				`vend.toml: log_level: must be one of`,
				`vend.toml: unknown key "bogus"`,
				`VEND_LOG_FORMAT: log_format: must be one of`,
				`unknown environment variable VEND_NOPE`,
			}},

		{name: "digistore24.products entry without =", environ: []string{"VEND_DIGISTORE24_PRODUCTS=512345=ebook, 512346"},
			want: []string{`digistore24.products: must be provider-id=product-id entries such as 512345=ebook (got "512346")`}},
		{name: "websale.mode unknown", file: "[websale]\nmode = \"ctr\"",
			want: []string{`websale.mode: must be one of auto, cbc-ivprefix, cbc-zeroiv, ecb, gcm-nonce12 (got "ctr")`}},
		{name: "websale.key_derivation unknown", environ: []string{"VEND_WEBSALE_KEY_DERIVATION=md5"},
			want: []string{`websale.key_derivation: must be one of auto, raw, raw-padded, sha256, sha256hex32, hexkey (got "md5")`}},
		{name: "websale.padding unknown", environ: []string{"VEND_WEBSALE_PADDING=iso10126"},
			want: []string{`websale.padding: must be one of auto, pkcs7, zero, none (got "iso10126")`}},
		{name: "websale.max_age not positive", environ: []string{"VEND_WEBSALE_MAX_AGE=-1h"},
			want: []string{`websale.max_age: must be positive (got "-1h")`}},
		// A secret is never repeated in a message: it goes to logs.
		{name: "generic.secret not base64", environ: []string{"VEND_GENERIC_SECRET=hunter2-not-base64!"},
			want: []string{`generic.secret: must be base64, with or without the whsec_ prefix (value not shown: it may hold a password)`}},
		{name: "generic.secret prefix only", environ: []string{"VEND_GENERIC_SECRET=whsec_"},
			want: []string{`generic.secret: must be base64, with or without the whsec_ prefix (value not shown: it may hold a password)`}},

		{name: "smtp.url not smtp", environ: []string{"VEND_SMTP_URL=http://user:hunter2@mail.example.com"},
			want: []string{`smtp.url: must be mailbox: or an smtp:// or smtps:// URL such as smtp://user:password@mail.example.com:587 (value not shown: it may hold a password)`}},
		{name: "smtp.url a mailbox elsewhere", environ: []string{"VEND_SMTP_URL=mailbox:/tmp/mail", "VEND_SMTP_FROM=shop@example.com"},
			want: []string{`smtp.url: must be mailbox: or an smtp:// or smtps:// URL such as smtp://user:password@mail.example.com:587 (value not shown: it may hold a password)`}},
		{name: "trusted_proxies entry not an address", environ: []string{"VEND_TRUSTED_PROXIES=127.0.0.1, nginx"},
			want: []string{`trusted_proxies: must be IP addresses or CIDR prefixes such as 127.0.0.1 or 10.0.0.0/8 (got "nginx")`}},
		{name: "smtp.starttls unknown", environ: []string{"VEND_SMTP_STARTTLS=sometimes"},
			want: []string{`smtp.starttls: must be one of mandatory, opportunistic, none (got "sometimes")`}},
		{name: "smtp.from not an address", file: "[smtp]\nfrom = \"shop\"",
			want: []string{`smtp.from: must be an email address such as shop@example.com or Shop <shop@example.com> (got "shop")`}},
		{name: "owner.email not an address", environ: []string{"VEND_OWNER_EMAIL=owner"},
			want: []string{`owner.email: must be email addresses such as seller@example.com (got "owner")`}},

		// Cross-field rules.
		{name: "smtp.url without smtp.from", environ: []string{"VEND_SMTP_URL=smtp://mail.example.com:587"},
			want: []string{`smtp.from: smtp.url is set, so vend needs a sender address`}},
		{name: "websale password without the shop",
			environ: []string{"VEND_WEBSALE_PASSWORD=test-password-websale-0123456789"},
			want:    []string{`websale.shop_id: websale.password is set, so websale.shop_id and websale.subshop_id must be too`}},
		{name: "session_timeout longer than session_max",
			environ: []string{"VEND_DELIVERY_SESSION_TIMEOUT=2h", "VEND_DELIVERY_SESSION_MAX=1h"},
			want:    []string{`delivery.session_timeout: must not be longer than delivery.session_max (1h) (got "2h")`}},
		{name: "sandbox verify URL on a live shop",
			environ: []string{"VEND_PAYPAL_VERIFY_URL=https://ipnpb.sandbox.paypal.com/cgi-bin/webscr"},
			want:    []string{`paypal.verify_url: is PayPal's sandbox but paypal.sandbox is off`}},
		{name: "live verify URL on a sandbox shop",
			environ: []string{"VEND_PAYPAL_SANDBOX=true", "VEND_PAYPAL_VERIFY_URL=https://ipnpb.paypal.com/cgi-bin/webscr"},
			want:    []string{`paypal.verify_url: is PayPal's live site but paypal.sandbox is on`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := ""
			if tt.file != "" {
				path = MustWriteFile(t, tt.file)
			}
			got, err := config.Load(path, tt.environ)
			if err == nil {
				t.Fatalf("Load succeeded with %+v", got)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not contain %q:\n%v", w, err)
				}
			}
			if n := strings.Count(err.Error(), "\n") + 1; n != len(tt.want) {
				t.Errorf("error has %d lines, want %d:\n%v", n, len(tt.want), err)
			}
			if !reflect.DeepEqual(got, config.Config{}) {
				t.Errorf("Load returned %+v with an error", got)
			}
		})
	}
}

func TestConfig_Proxies(t *testing.T) {
	c, err := config.Load("", []string{"VEND_TRUSTED_PROXIES=127.0.0.1, 10.1.2.3/8, ::1"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range c.Proxies() {
		got = append(got, p.String())
	}
	if want := []string{"127.0.0.1/32", "10.0.0.0/8", "::1/128"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Proxies() = %v, want %v", got, want)
	}
}

func TestLoad_Providers(t *testing.T) {
	file := MustWriteFile(t, `
[digistore24]
passphrase = "s3cret-passphrase"
products = ["512345=ebook", " 512346 = bonus "]
answer_link = true

[websale]
password = "test-password-websale-0123456789"
shop_id = "myshop"
subshop_id = "1"
mode = "ecb"
first_click = true

[stripe]
secret = "whsec_test_secret_0123456789abcdef"
`)
	c, err := config.Load(file, []string{"VEND_GENERIC_SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "VEND_STRIPE_SANDBOX=true"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Digistore24.Passphrase != "s3cret-passphrase" || !c.Digistore24.AnswerLink || c.Digistore24.ThankyouPage {
		t.Errorf("digistore24: %+v", c.Digistore24)
	}
	if got := config.ProductMap(c.Digistore24.Products); !reflect.DeepEqual(got, map[string]string{"512345": "ebook", "512346": "bonus"}) {
		t.Errorf("digistore24 products: %v", got)
	}
	if w := c.Websale; w.ShopID != "myshop" || w.Mode != "ecb" || w.Padding != "auto" || w.MaxAge != 365*24*time.Hour || !w.FirstClick {
		t.Errorf("websale: %+v", w)
	}
	if !c.Stripe.Sandbox || c.Stripe.Secret != "whsec_test_secret_0123456789abcdef" || c.Generic.Secret == "" {
		t.Errorf("stripe %+v generic %+v", c.Stripe, c.Generic)
	}
}

func TestLoad_DataDirNextToTheFile(t *testing.T) {
	t.Parallel()
	path := MustWriteFile(t, `data_dir = "data"`)
	dir := filepath.Dir(path)
	tests := []struct {
		name, file string
		environ    []string
		want       string
	}{
		{"a relative data_dir is the file's neighbour", `data_dir = "data"`, nil, filepath.Join(dir, "data")},
		{"one level up", `data_dir = "../shop"`, nil, filepath.Join(filepath.Dir(dir), "shop")},
		{"an absolute one stays", `data_dir = "/var/lib/vend"`, nil, "/var/lib/vend"},
		{"the environment's stays relative to the working directory", `data_dir = "data"`, []string{"VEND_DATA_DIR=here"}, "here"},
		{"none: the default, in the working directory", `listen = "127.0.0.1:8080"`, nil, config.DefaultDataDir},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(dir, fmt.Sprintf("vend-%d.toml", i))
			if err := os.WriteFile(path, []byte(tt.file), 0o600); err != nil {
				t.Fatal(err)
			}
			c, err := config.Load(path, tt.environ)
			if err != nil || c.DataDir != tt.want {
				t.Errorf("data_dir = %q, %v; want %q", c.DataDir, err, tt.want)
			}
		})
	}
}

func TestLoad_MissingFile(t *testing.T) {
	_, err := config.Load(filepath.Join(t.TempDir(), "nope.toml"), nil)
	if err == nil || !strings.Contains(err.Error(), "nope.toml") {
		t.Fatalf("err = %v, want one naming the file", err)
	}
}

func TestDefault(t *testing.T) {
	want := config.Config{
		Listen:    "127.0.0.1:8080",
		BaseURL:   "http://127.0.0.1:8080",
		DataDir:   "./vend-data",
		LogLevel:  "info",
		LogFormat: "text",
		Delivery: config.Delivery{
			SessionTimeout:  30 * time.Minute,
			SessionMax:      24 * time.Hour,
			GiveBackPercent: 50,
			ReturnWindow:    72 * time.Hour,
			Mode:            "direct",
			XAccelPrefix:    "/_vend_files/",
			RedirectTTL:     5 * time.Minute,
		},
		Websale: config.Websale{MaxAge: 365 * 24 * time.Hour, FutureSkew: 5 * time.Minute, Language: "de",
			KeyDerivation: "auto", Mode: "auto", Padding: "auto"},
		SMTP:   config.SMTP{StartTLS: "opportunistic", RetryFor: 72 * time.Hour, RetryAfter: 30 * time.Second},
		Limits: config.Limits{IPNPerSecond: 20, IPNBurst: 100, KeepRefused: 90 * 24 * time.Hour, LicensePerMinute: 60, LicenseBurst: 30},
	}
	if got := config.Default(); !reflect.DeepEqual(got, want) {
		t.Errorf("Default:\n got %+v\nwant %+v", got, want)
	}
	if got := config.Default(); got.Delivery.DisableLegacyLinks {
		t.Error("legacy links are off by default, want on")
	}
}

func TestConfig_ShopIdentity(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		environ []string
		want    config.Shop
	}{
		{"defaults from base_url and smtp.from", []string{"VEND_BASE_URL=https://books.example:8443",
			"VEND_SMTP_FROM=Books <mail@books.example>"}, config.Shop{Name: "books.example", SupportEmail: "mail@books.example"}},
		{"owner.email before smtp.from", []string{"VEND_OWNER_EMAIL=owner@books.example", "VEND_SMTP_FROM=mail@books.example"},
			config.Shop{Name: "127.0.0.1", SupportEmail: "owner@books.example"}},
		{"all set", []string{"VEND_SHOP_NAME=Example Books", "VEND_SHOP_SUPPORT_EMAIL=help@books.example",
			"VEND_SHOP_URL=https://books.example", "VEND_SHOP_LOGO=https://books.example/logo.svg", "VEND_OWNER_EMAIL=owner@books.example"},
			config.Shop{Name: "Example Books", SupportEmail: "help@books.example", URL: "https://books.example", Logo: "https://books.example/logo.svg"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := config.Load("", tt.environ)
			if err != nil {
				t.Fatal(err)
			}
			if got := c.ShopIdentity(); got != tt.want {
				t.Errorf("ShopIdentity = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestPayPal_VerifyEndpoint(t *testing.T) {
	tests := []struct {
		name   string
		paypal config.PayPal
		want   string
	}{
		{"live by default", config.PayPal{}, "https://ipnpb.paypal.com/cgi-bin/webscr"},
		{"sandbox when sandbox is on", config.PayPal{Sandbox: true}, "https://ipnpb.sandbox.paypal.com/cgi-bin/webscr"},
		{"verify_url wins", config.PayPal{VerifyURL: "http://127.0.0.1:1/v", Sandbox: true}, "http://127.0.0.1:1/v"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.paypal.VerifyEndpoint(); got != tt.want {
				t.Errorf("VerifyEndpoint = %q, want %q", got, tt.want)
			}
		})
	}

	c, err := config.Load("", []string{"VEND_PAYPAL_SANDBOX=1"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.PayPal.VerifyEndpoint(), "https://ipnpb.sandbox.paypal.com/cgi-bin/webscr"; got != want {
		t.Errorf("loaded sandbox config: VerifyEndpoint = %q, want %q", got, want)
	}
}

func TestConfig_Validate(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		if err := (config.Config{}).Validate(); err != nil {
			t.Errorf("zero Config (all defaults): %v", err)
		}
		if err := config.Default().Validate(); err != nil {
			t.Errorf("Default: %v", err)
		}
	})
	t.Run("every problem on its own line, starting with the key", func(t *testing.T) {
		c := config.Config{
			Listen:    "nope",
			LogFormat: "yaml",
			PayPal:    config.PayPal{ReceiverEmails: []string{"x"}, VerifyURL: "mailto:a@b"},
			Delivery: config.Delivery{
				SessionTimeout:  -time.Minute,
				GiveBackPercent: 200,
			},
		}
		err := c.Validate()
		if err == nil {
			t.Fatal("Validate succeeded")
		}
		lines := strings.Split(err.Error(), "\n")
		want := []string{
			"listen: ",
			"log_format: ",
			"paypal.verify_url: ",
			"paypal.receiver_emails: ",
			"delivery.session_timeout: ",
			"delivery.give_back_percent: ",
		}
		if len(lines) != len(want) {
			t.Fatalf("got %d lines, want %d:\n%v", len(lines), len(want), err)
		}
		for i, w := range want {
			if !strings.HasPrefix(lines[i], w) {
				t.Errorf("line %d = %q, want it to start with %q", i+1, lines[i], w)
			}
		}
	})
}

func TestKeys(t *testing.T) {
	seen := map[string]bool{}
	for _, k := range config.Keys() {
		if k.Name == "" || k.Env == "" || k.Help == "" {
			t.Errorf("key %+v is missing a name, variable or help", k)
		}
		want := "VEND_" + strings.ToUpper(strings.ReplaceAll(k.Name, ".", "_"))
		if k.Env != want {
			t.Errorf("key %s: Env = %s, want %s", k.Name, k.Env, want)
		}
		if seen[k.Env] {
			t.Errorf("variable %s used twice", k.Env)
		}
		seen[k.Env] = true
	}
	if len(seen) != 63 {
		t.Errorf("got %d keys, want 63", len(seen))
	}
}

func TestMarkdown(t *testing.T) {
	md := config.Markdown()
	for _, k := range config.Keys() {
		if !strings.Contains(md, "| `"+k.Name+"` | `"+k.Env+"` |") {
			t.Errorf("Markdown has no row for %s", k.Name)
		}
	}
	for _, want := range []string{
		"| `delivery.session_timeout` | `VEND_DELIVERY_SESSION_TIMEOUT` | `30m` |",
		"| `delivery.legacy_links` | `VEND_DELIVERY_LEGACY_LINKS` | `true` |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("Markdown does not contain %q:\n%s", want, md)
		}
	}
	if got, want := strings.Count(md, "\n"), len(config.Keys())+2; got != want {
		t.Errorf("Markdown has %d lines, want %d", got, want)
	}
}
