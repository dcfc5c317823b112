package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vend-shop/vend/catalog"
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
			if err := app.open(cmd.Context()); err != nil {
				return err
			}
			defer app.close()
			if err := seedDemo(cmd.Context(), app); err != nil {
				return err
			}
			fmt.Fprintf(app.Stdout, `vend demo: a store with sample products and a simulated PayPal.

  1. Open %[1]s/demo and buy something (choose eCheck to see a pending payment).
  2. You land on the return page; it waits for the IPN, then links your download.
  3. In another terminal, look at the ledger or send IPNs yourself:
       export VEND_DATA_DIR=%[2]s VEND_PAYPAL_RECEIVER_EMAILS=%[3]s VEND_PAYPAL_SANDBOX=true
       vend orders list
       vend orders show <txn_id>
       vend simulate paypal --product EBOOK-001 --url %[1]s/ipn/paypal
       vend simulate paypal --product EBOOK-001 --status Refunded --parent <txn_id> --url %[1]s/ipn/paypal

`, cfg.BaseURL, cfg.DataDir, DemoReceiver)
			demoCtx, cancel := context.WithCancel(cmd.Context())
			defer cancel()
			return app.serve(cmd.Context(), &web.Demo{
				Secret: simulatorKey(app.Secret), Receiver: DemoReceiver, Delay: 1500 * time.Millisecond, ClearAfter: 20 * time.Second, Stop: demoCtx.Done(),
			})
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", "vend-demo", "data directory of the demo (kept between runs)")
	return cmd
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
	_, err = catalog.Import(ctx, app.DB, app.Blobs, lines, dir)
	return err
}
