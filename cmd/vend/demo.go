package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vend-shop/vend/catalog"
	"github.com/vend-shop/vend/config"
	"github.com/vend-shop/vend/mailer"
	"github.com/vend-shop/vend/provider/paypal"
	"github.com/vend-shop/vend/web"
)

// DemoReceiver is the PayPal address of the demo seller.
const DemoReceiver = "seller@example.com"

func newDemoCmd(app *App) *cobra.Command {
	var dataDir string
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run a complete demo store: sample products, simulated PayPal checkout, real IPNs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := app.loadConfig(); err != nil {
				return err
			}
			cfg := &app.Config
			cfg.DataDir = dataDir
			// The demo never touches a shop's shared database or bucket, whatever
			// the environment says: it has its own SQLite and files in dataDir.
			cfg.Database, cfg.Storage, cfg.Delivery.Mode = "", "", "direct"
			// PayPal verification goes to the built-in verifier, in sandbox mode.
			cfg.PayPal.VerifyURL = cfg.BaseURL + "/demo/paypal/verify"
			cfg.PayPal.Sandbox = true
			cfg.PayPal.ReceiverEmails = []string{DemoReceiver}
			cfg.PayPal.ReceiverID = ""
			demoMail(cfg)
			if err := app.create(cmd.Context()); err != nil {
				return err
			}
			defer app.close()
			if err := seedDemo(cmd.Context(), app); err != nil {
				return err
			}
			demoProviders(cfg, app.Secret)
			cfgPath, err := writeDemoConfig(*cfg)
			if err != nil {
				return err
			}
			fmt.Fprintf(app.Stdout, `vend demo: a store with sample products and every payment provider simulated.

  1. Open %[1]s/demo and buy something: through PayPal (choose eCheck to see a
     pending payment), Digistore24, Stripe, a webhook, or a WEBSALE link.
  2. PayPal returns you to a page that waits for the IPN, then links your download;
     the others land on the download page at once.
     The mail vend would send (receipts, links, new versions) is kept in the
     admin's Mailbox, %[1]s/admin/mailbox: nothing is sent.
  3. In another terminal, look at the ledger or send messages yourself:
       export VEND_CONFIG=%[2]s
       vend orders list
       vend orders show <order or txn id>
       vend simulate paypal --product EBOOK-001
       vend simulate paypal --product EBOOK-001 --status Refunded --parent <txn_id>
       vend simulate digistore24 --product EBOOK-001 --upsell AUDIO-002
       vend simulate digistore24 --product EBOOK-001 --event on_refund --order <order_id>
       vend simulate stripe --product EBOOK-001
       vend simulate generic --product AUDIO-002
       vend simulate websale --product EBOOK-001

`, cfg.BaseURL, cfgPath)
			demoCtx, cancel := context.WithCancel(cmd.Context())
			defer cancel()
			return app.serve(cmd.Context(), &web.Demo{
				Checkout: &paypal.DemoCheckout{Secret: simulatorKey(app.Secret), Receiver: DemoReceiver},
				Delay:    1500 * time.Millisecond, ClearAfter: 20 * time.Second, Stop: demoCtx.Done(),
			})
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", "vend-demo", "data directory of the demo (kept between runs)")
	return cmd
}

// demoProviders configures every further provider for the demo, in test mode,
// with secrets derived from the data directory's secret (never the secret
// itself, which signs download links).
func demoProviders(cfg *config.Config, secret []byte) {
	derive := func(name string) []byte {
		h := hmac.New(sha256.New, secret)
		h.Write([]byte("vend/demo/" + name))
		return h.Sum(nil)
	}
	cfg.Digistore24 = config.Digistore24{Passphrase: hex.EncodeToString(derive("digistore24"))[:32], Sandbox: true, AnswerLink: true}
	cfg.Stripe = config.Stripe{Secret: "whsec_" + hex.EncodeToString(derive("stripe"))[:32], Sandbox: true}
	cfg.Generic = config.Generic{Secret: "whsec_" + base64.StdEncoding.EncodeToString(derive("generic")), Sandbox: true}
	cfg.Websale = config.Websale{Password: hex.EncodeToString(derive("websale"))[:32], ShopID: "demo", SubshopID: "1",
		MaxAge: config.DefaultWebsaleMaxAge, FutureSkew: config.DefaultWebsaleSkew,
		KeyDerivation: "sha256", Mode: "cbc-ivprefix", Padding: "pkcs7",
		FirstClick: true} // the demo shop has no order export to import
}

// demoMail keeps the demo's mail in its mailbox, shown in the admin: the
// addresses typed into the demo store are no one's, so no mail goes out,
// whatever smtp.url the environment names. The owner's notices go there too.
func demoMail(cfg *config.Config) {
	cfg.SMTP.URL = mailer.MailboxURL
	if cfg.SMTP.From == "" {
		cfg.SMTP.From = "vend demo <" + DemoReceiver + ">"
	}
	if cfg.OwnerEmail == "" {
		cfg.OwnerEmail = DemoReceiver
	}
}

// writeDemoConfig writes the demo's settings to data_dir/vend.toml, so that the
// CLI, pointed at it with VEND_CONFIG, simulates messages the demo accepts.
func writeDemoConfig(c config.Config) (string, error) {
	path, err := filepath.Abs(filepath.Join(c.DataDir, "vend.toml"))
	if err != nil {
		return "", err
	}
	dataDir, err := filepath.Abs(c.DataDir)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# Written by vend demo: its settings, for the CLI (export VEND_CONFIG=%s).\n", path)
	fmt.Fprintf(&b, "data_dir = %q\nlisten = %q\nbase_url = %q\n\n", dataDir, c.Listen, c.BaseURL)
	fmt.Fprintf(&b, "[smtp]\nurl = %q\nfrom = %q\n\n[owner]\nemail = %q\n\n", c.SMTP.URL, c.SMTP.From, c.OwnerEmail)
	fmt.Fprintf(&b, "[paypal]\nreceiver_emails = [%q]\nsandbox = true\n\n", DemoReceiver)
	fmt.Fprintf(&b, "[digistore24]\npassphrase = %q\nsandbox = true\nanswer_link = true\n\n", c.Digistore24.Passphrase)
	fmt.Fprintf(&b, "[stripe]\nsecret = %q\nsandbox = true\n\n", c.Stripe.Secret)
	fmt.Fprintf(&b, "[generic]\nsecret = %q\nsandbox = true\n\n", c.Generic.Secret)
	w := c.Websale
	fmt.Fprintf(&b, "[websale]\npassword = %q\nshop_id = %q\nsubshop_id = %q\nkey_derivation = %q\nmode = %q\npadding = %q\nfirst_click = %t\n",
		w.Password, w.ShopID, w.SubshopID, w.KeyDerivation, w.Mode, w.Padding, w.FirstClick)
	return path, os.WriteFile(path, []byte(b.String()), 0o600)
}

// seedDemo writes the sample files and imports the sample products (again: an
// import of unchanged files changes nothing).
func seedDemo(ctx context.Context, app *App) error {
	dir := filepath.Join(app.Config.DataDir, "demo-files")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	var book strings.Builder
	book.WriteString("Go Patterns — a sample e-book from the vend demo\n\n")
	for i := 1; i <= 2000; i++ {
		fmt.Fprintf(&book, "Chapter %d. Small interfaces, declared by their user, keep packages apart.\n", i)
	}
	course := make([]byte, 8<<20)
	r := rand.New(rand.NewPCG(1, 2)) // the same bytes every run, so re-imports change nothing
	for i := range course {
		course[i] = byte(r.Uint32())
	}
	files := map[string][]byte{"go-patterns.txt": []byte(book.String()), "audio-course.bin": course}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			return err
		}
	}
	products := "# the vend demo catalog\n" +
		"EBOOK-001|Go Patterns (e-book)|go-patterns.txt|19.95|USD|5|30d\n" +
		"AUDIO-002|Audio Course (8 MiB)|audio-course.bin|9.90|USD|3|unlimited\n"
	lines, err := catalog.ParseProducts(bytes.NewReader([]byte(products)))
	if err != nil {
		return err
	}
	_, err = catalog.Import(ctx, app.DB, app.Blobs, "demo", lines, dir)
	return err
}
