package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/vend-shop/vend/report"
)

// vend orders evidence: an order's chargeback evidence pack (docs/evidence.md).
func newOrdersEvidenceCmd(app *App) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "evidence ORDER-ID|REF|TXN-ID [-o FILE]",
		Short: "Write an order's evidence pack for a dispute: a ZIP with a printable summary, CSVs and the access log",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := app.open(cmd.Context()); err != nil {
				return err
			}
			defer app.close()
			d, err := findOrderDetail(cmd.Context(), app, args[0])
			if err != nil {
				return cliError(err)
			}
			ev, err := report.FindEvidence(cmd.Context(), app.DB, d.ID, time.Now())
			if err != nil {
				return cliError(err)
			}
			shop := app.Config.ShopIdentity()
			var buf bytes.Buffer
			err = ev.WriteZip(&buf, report.Shop{Name: shop.Name, URL: app.Config.BaseURL, SupportEmail: shop.SupportEmail, TermsURL: shop.TermsURL})
			if err != nil {
				return err
			}
			if out == "-" {
				_, err := buf.WriteTo(app.Stdout)
				return err
			}
			if out == "" {
				out = fmt.Sprintf("evidence-order-%d.zip", d.ID)
			}
			// It holds the buyer's personal data: readable by the owner only.
			if err := os.WriteFile(out, buf.Bytes(), 0o600); err != nil {
				return err
			}
			abs, _ := filepath.Abs(out)
			fmt.Fprintf(app.Stdout, "%s: order %d, %d download requests, %d completed downloads, %d page visits\n",
				abs, d.ID, len(ev.Attempts), ev.CompletedDownloads(), len(ev.Visits))
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", `the ZIP file to write (default evidence-order-ID.zip; "-": stdout)`)
	return cmd
}
