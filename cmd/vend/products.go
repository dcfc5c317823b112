package main

import (
	"fmt"
	"html/template"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/catalog"
	"github.com/vend-shop/vend/provider/paypal"
	"github.com/vend-shop/vend/store"
)

func newProductsCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{Use: "products", Short: "Manage the catalog"}
	cmd.AddCommand(newProductsImportCmd(app), newProductsAddCmd(app), newProductsListCmd(app), newProductsShowCmd(app),
		newProductsButtonCmd(app), newProductsEditCmd(app), newProductsUploadCmd(app), newProductsRetireCmd(app), newProductsRestoreCmd(app),
		newProductsArchiveCmd(app, true), newProductsArchiveCmd(app, false))
	return cmd
}

func newProductsImportCmd(app *App) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "import products.txt",
		Short: "Import products from a file: id|name|file[|price|currency|download_limit|lifetime] per line",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer f.Close()
			lines, err := catalog.ParseProducts(f)
			if err != nil {
				return fmt.Errorf("%s: nothing imported:\n%w", args[0], err)
			}
			if err := app.create(cmd.Context()); err != nil {
				return err
			}
			defer app.close()
			done, err := catalog.Import(cmd.Context(), app.DB, app.Blobs, cliActor, lines, filepath.Dir(args[0]))
			if err != nil {
				return fmt.Errorf("%s: nothing imported:\n%w", args[0], err)
			}
			if asJSON {
				return printJSON(app.Stdout, done)
			}
			w := plainWriter{app.Stdout} // as every listing of the catalog
			for _, d := range done {
				what := "updated"
				if d.Created {
					what = "created"
				}
				if d.NewFile && !d.Created {
					what += ", new file"
				}
				fmt.Fprintf(w, "%s\t%s (%s)\n", d.Product.ID, oneLine(d.Product.Name), what)
				warnFree(app, d.Product)
			}
			fmt.Fprintf(app.Stdout, "%d product(s) imported\n", len(done))
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the imported products as JSON")
	return cmd
}

func newProductsAddCmd(app *App) *cobra.Command {
	var name, price, currency, limit, lifetime string
	var files []string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "add ID --name NAME --file PATH [--file PATH…]",
		Short: "Create or update one product with one or more files",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p := &vend.Product{ID: args[0], Name: name, Currency: strings.ToUpper(currency)}
			var err error
			if p.Price, err = vend.ParseAmount(price); err != nil {
				return fmt.Errorf("--price: %w", err)
			}
			if p.DownloadLimit, err = vend.ParseLimit(limit); err != nil {
				return fmt.Errorf("--limit: %w", err)
			}
			if p.Lifetime, err = vend.ParseLifetime(lifetime); err != nil {
				return fmt.Errorf("--lifetime: %w", err)
			}
			if err := p.Validate(); err != nil {
				return err
			}
			if len(files) == 0 {
				return fmt.Errorf("--file: give at least one file")
			}
			if err := app.create(cmd.Context()); err != nil {
				return err
			}
			defer app.close()
			var stored []*vend.File
			for _, path := range files {
				f, err := catalog.Store(cmd.Context(), app.Blobs, path)
				if err != nil {
					return cliError(err)
				}
				stored = append(stored, f)
			}
			err = app.DB.Update(cmd.Context(), func(tx store.Tx) error {
				old, err := tx.FindProductByID(cmd.Context(), p.ID)
				if err == nil {
					p.CreatedAt = old.CreatedAt
					p.License, p.UpdatesFor, p.RenewURL = old.License, old.UpdatesFor, old.RenewURL
				} else {
					old = nil
				}
				if err := catalog.Save(cmd.Context(), tx, p, stored); err != nil {
					return err
				}
				return store.RecordAudit(cmd.Context(), tx, cliActor, "product.save", vend.ProductTarget(p.ID), old, p)
			})
			if err != nil {
				return cliError(err)
			}
			if asJSON {
				return printJSON(app.Stdout, p)
			}
			fmt.Fprintf(plainWriter{app.Stdout}, "%s\t%s saved with %d file(s)\n", p.ID, oneLine(p.Name), len(p.Files))
			warnFree(app, p)
			return nil
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "product name buyers see")
	cmd.Flags().StringArrayVar(&files, "file", nil, "file to sell (repeat for several)")
	cmd.Flags().StringVar(&price, "price", "0.00", "price, e.g. 19.95")
	cmd.Flags().StringVar(&currency, "currency", vend.DefaultCurrency, "ISO 4217 currency code")
	cmd.Flags().StringVar(&limit, "limit", fmt.Sprint(vend.DefaultDownloadLimit), `downloads per purchase, or "unlimited"`)
	cmd.Flags().StringVar(&lifetime, "lifetime", "unlimited", `how long access lasts: "unlimited", "30d", "12h"`)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the product as JSON")
	return cmd
}

// warnFree says what a price of 0.00 means, in case the seller only forgot it.
func warnFree(app *App, p *vend.Product) {
	if p.Price == 0 {
		fmt.Fprintf(app.Stderr, "warning: %s costs 0.00 %s: any verified payment for it, of any amount, grants it\n", p.ID, p.Currency)
	}
}

func newProductsListCmd(app *App) *cobra.Command {
	var asJSON, all bool
	cmd := &cobra.Command{
		Use:   "list [--all]",
		Short: "List the products on sale (--all: the archived ones too)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := app.open(cmd.Context()); err != nil {
				return err
			}
			defer app.close()
			var products []*vend.Product
			var completed map[string]int
			err := app.DB.View(cmd.Context(), func(tx store.Tx) error {
				var err error
				if products, err = tx.FindProducts(cmd.Context()); err != nil {
					return err
				}
				completed, err = tx.CompletedDownloads(cmd.Context())
				return err
			})
			if err != nil {
				return err
			}
			if !all {
				products = slices.DeleteFunc(products, func(p *vend.Product) bool { return p.Archived })
			}
			if asJSON {
				type listed struct {
					*vend.Product
					CompletedDownloads int `json:"completed_downloads"`
				}
				out := make([]listed, len(products))
				for i, p := range products {
					out[i] = listed{p, completed[p.ID]}
				}
				return printJSON(app.Stdout, out)
			}
			// Names were typed in the admin and the API: no escape sequence of
			// theirs may reach the operator's terminal.
			tw := tabwriter.NewWriter(plainWriter{app.Stdout}, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tPRICE\tLIMIT\tLIFETIME\tFILES\tCOMPLETED DOWNLOADS")
			for _, p := range products {
				name := oneLine(p.Name)
				if p.Archived {
					name += " [archived]"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s %s\t%s\t%s\t%d\t%d\n", p.ID, name, p.Price, p.Currency, vend.FormatLimit(p.DownloadLimit),
					vend.FormatLifetime(p.Lifetime), len(p.Files), completed[p.ID])
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print as JSON")
	cmd.Flags().BoolVar(&all, "all", false, "list archived products too")
	return cmd
}

func newProductsArchiveCmd(app *App, archive bool) *cobra.Command {
	use, short, done := "archive ID", "Stop selling a product: new payments for it are refused, its buyers keep their downloads (audited)", "archived: no longer sold"
	if !archive {
		use, short, done = "unarchive ID", "Sell an archived product again (audited)", "on sale again"
	}
	var asJSON bool
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := app.open(cmd.Context()); err != nil {
				return err
			}
			defer app.close()
			p, err := catalog.ArchiveProduct(cmd.Context(), app.DB, cliActor, args[0], archive)
			if err != nil {
				return cliError(err)
			}
			if asJSON {
				return printJSON(app.Stdout, p)
			}
			fmt.Fprintf(app.Stdout, "%s %s\n", p.ID, done)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the product as JSON")
	return cmd
}

func newProductsShowCmd(app *App) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Show one product, its files and its completed downloads",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := app.open(cmd.Context()); err != nil {
				return err
			}
			defer app.close()
			var p *vend.Product
			var completed map[string]int
			err := app.DB.View(cmd.Context(), func(tx store.Tx) error {
				var err error
				if p, err = tx.FindProductByID(cmd.Context(), args[0]); err != nil {
					return err
				}
				completed, err = tx.CompletedDownloads(cmd.Context())
				return err
			})
			if err != nil {
				return cliError(err)
			}
			files, err := loadProductFiles(cmd, app, p.ID)
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(app.Stdout, struct {
					*vend.Product
					Versions           []*vend.File `json:"versions"`
					CompletedDownloads int          `json:"completed_downloads"`
				}{p, files.Versions, completed[p.ID]})
			}
			// A name stored before vend refused control characters in names
			// still reaches the terminal only as '?'.
			w := plainWriter{app.Stdout}
			if p.Archived {
				fmt.Fprintln(w, "Archived   no longer sold (vend products unarchive sells it again)")
			}
			fmt.Fprintf(w, "Product    %s\nName       %s\nPrice      %s %s\nLimit      %s downloads\nLifetime   %s\nCompleted  %d downloads\n",
				p.ID, oneLine(p.Name), p.Price, p.Currency, vend.FormatLimit(p.DownloadLimit), vend.FormatLifetime(p.Lifetime), completed[p.ID])
			writeFiles(w, files)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print as JSON")
	return cmd
}

var buttonTemplate = template.Must(template.New("button").Parse(`<form action="{{.Action}}" method="post">
  <input type="hidden" name="cmd" value="_xclick">
  <input type="hidden" name="business" value="{{.Business}}">
  <input type="hidden" name="item_number" value="{{.ItemNumber}}">
  <input type="hidden" name="item_name" value="{{.ItemName}}">
  <input type="hidden" name="amount" value="{{.Amount}}">
  <input type="hidden" name="currency_code" value="{{.Currency}}">
  <input type="hidden" name="no_shipping" value="1">
  <input type="hidden" name="notify_url" value="{{.NotifyURL}}">
  <input type="hidden" name="return" value="{{.Return}}">
  <input type="hidden" name="cancel_return" value="{{.CancelReturn}}">
  <input type="hidden" name="rm" value="2">
  <button type="submit">Buy now with PayPal</button>
</form>
`))

func newProductsButtonCmd(app *App) *cobra.Command {
	var business string
	cmd := &cobra.Command{
		Use:   "button ID",
		Short: "Print the PayPal Buy Now form for a product, wired to this vend's IPN and return page",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := app.open(cmd.Context()); err != nil {
				return err
			}
			defer app.close()
			var p *vend.Product
			err := app.DB.View(cmd.Context(), func(tx store.Tx) error {
				var err error
				p, err = tx.FindProductByID(cmd.Context(), args[0])
				return err
			})
			if err != nil {
				return cliError(err)
			}
			if p.Archived {
				return fmt.Errorf("%s is archived: vend would refuse the payments of this button (vend products unarchive %s sells it again)", p.ID, p.ID)
			}
			if business == "" && len(app.Config.PayPal.ReceiverEmails) > 0 {
				business = app.Config.PayPal.ReceiverEmails[0]
			}
			if business == "" {
				return fmt.Errorf("--business: set it, or configure paypal.receiver_emails")
			}
			if reason := unreachable(app.Config.BaseURL); reason != "" {
				// On stderr: the form on stdout stays fit to paste.
				fmt.Fprintf(app.Stderr, "warning: base_url %s cannot be reached from the internet: %s. "+
					"PayPal could not deliver its IPN there, so buyers would pay and get nothing: set base_url to the shop's public address.\n",
					app.Config.BaseURL, reason)
			}
			b := paypal.Button(p, business, app.Config.BaseURL)
			if app.Config.PayPal.Sandbox {
				b.Action = "https://www.sandbox.paypal.com/cgi-bin/webscr"
			}
			return buttonTemplate.Execute(app.Stdout, b)
		},
	}
	cmd.Flags().StringVar(&business, "business", "", "your PayPal address (default: the first of paypal.receiver_emails)")
	return cmd
}
