package main

import (
	"fmt"
	"io"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/catalog"
	"github.com/vend-shop/vend/store"
)

// The catalog changes of the admin's product page, for the shell. Each is in
// the audit trail as "cli".

func newProductsEditCmd(app *App) *cobra.Command {
	var f catalog.Fields
	var asJSON bool
	cmd := &cobra.Command{
		Use: "edit ID [--name …] [--price …] [--currency …] [--limit …] [--lifetime …] [--license off|generated] " +
			"[--activation-limit …] [--license-length …] [--key-format …] [--low-stock …] [--updates-for …] [--renew-url …]",
		Short: "Change a product's fields; the flags left out stay as they are, and so do its files",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if f == (catalog.Fields{}) {
				return fmt.Errorf("give at least one of --name, --price, --currency, --limit, --lifetime, --license, " +
					"--activation-limit, --license-length, --key-format, --low-stock, --updates-for, --renew-url")
			}
			if err := app.open(ctx); err != nil {
				return err
			}
			defer app.close()
			p, err := catalog.EditProduct(ctx, app.DB, cliActor, args[0], f)
			if err != nil {
				return cliError(err)
			}
			if asJSON {
				return printJSON(app.Stdout, p)
			}
			fmt.Fprintf(plainWriter{app.Stdout}, "%s\t%s\t%s %s\t%s downloads\t%s\n", p.ID, oneLine(p.Name), p.Price, p.Currency,
				vend.FormatLimit(p.DownloadLimit), vend.FormatLifetime(p.Lifetime))
			if p.License.Mode != vend.LicenseOff {
				fmt.Fprintf(plainWriter{app.Stdout}, "licences %s\t%s activations\tlength %s\tformat %s\n", p.License.Mode,
					vend.FormatLimit(p.License.ActivationLimit), vend.FormatLifetime(p.License.Length), keyFormat(p.License.KeyFormat))
			}
			if p.UpdatesFor != vend.Forever {
				fmt.Fprintf(plainWriter{app.Stdout}, "updates for %s\trenew at %s\n", vend.FormatLifetime(p.UpdatesFor), dash(p.RenewURL))
			}
			warnFree(app, p)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.Name, "name", "", "product name buyers see")
	fl.StringVar(&f.Price, "price", "", "price, e.g. 19.95")
	fl.StringVar(&f.Currency, "currency", "", "ISO 4217 currency code")
	fl.StringVar(&f.Limit, "limit", "", `downloads per purchase, or "unlimited" (for new purchases; vend grants limit changes one buyer)`)
	fl.StringVar(&f.Lifetime, "lifetime", "", `how long new purchases' access lasts: "unlimited", "30d", "12h"`)
	fl.StringVar(&f.License, "license", "", "licence keys for new purchases: off, generated, or list (from keys you import; one key per unit bought)")
	fl.StringVar(&f.ActivationLimit, "activation-limit", "", `instances one key may be active on at once: a number or "unlimited" (default 1)`)
	fl.StringVar(&f.LicenseLength, "license-length", "", `how long a key stays valid from the purchase: "unlimited", "365d"`)
	fl.StringVar(&f.KeyFormat, "key-format", "", `the shape of a generated key, X a random character: "APP-XXXXX-XXXXX-XXXXX-XXXXX" ("default": XXXXX-XXXXX-XXXXX-XXXXX)`)
	fl.StringVar(&f.LowStock, "low-stock", "", "keys from a list: mail the owner when fewer unused keys than this remain (default 10)")
	fl.StringVar(&f.UpdatesFor, "updates-for", "", `how long after the purchase new versions reach the buyer: "unlimited", "365d"`)
	fl.StringVar(&f.RenewURL, "renew-url", "", `where a buyer whose updates ended renews (https://…; "none" clears it)`)
	fl.BoolVar(&asJSON, "json", false, "print the product as JSON")
	return cmd
}

func newProductsUploadCmd(app *App) *cobra.Command {
	var replace, asJSON bool
	cmd := &cobra.Command{
		Use:   "upload ID FILE [--replace]",
		Short: "Add FILE to a product's files, or with --replace make it the only one (vend release also tells the buyers)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if err := app.open(ctx); err != nil {
				return err
			}
			defer app.close()
			if _, err := findProduct(cmd, app, args[0]); err != nil {
				return err
			}
			f, err := catalog.Store(ctx, app.Blobs, args[1])
			if err != nil {
				return cliError(err)
			}
			if err := catalog.AddFile(ctx, app.DB, cliActor, args[0], f, replace); err != nil {
				return cliError(err)
			}
			return printProductFiles(cmd, app, args[0], asJSON)
		},
	}
	cmd.Flags().BoolVar(&replace, "replace", false, "make FILE the product's only current file: a new version (earlier files stay stored)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the product's files as JSON")
	return cmd
}

// newProductsFileCmd makes "retire" and "restore": take a current file out
// of the product, or make an earlier version current again.
func newProductsFileCmd(app *App, action, short string, change func(cmd *cobra.Command, productID string, fileID int64) error) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   action + " ID FILE-ID",
		Short: short,
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			fileID, err := strconv.ParseInt(args[1], 10, 64)
			if err != nil {
				return fmt.Errorf("%q is not a file id (vend products show %s lists them)", args[1], args[0])
			}
			if err := app.open(cmd.Context()); err != nil {
				return err
			}
			defer app.close()
			if err := change(cmd, args[0], fileID); err != nil {
				return cliError(err)
			}
			return printProductFiles(cmd, app, args[0], asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the product's files as JSON")
	return cmd
}

func newProductsRetireCmd(app *App) *cobra.Command {
	return newProductsFileCmd(app, "retire", "Take a file out of a product's current files (it stays stored; restore brings it back)",
		func(cmd *cobra.Command, productID string, fileID int64) error {
			return catalog.RetireFile(cmd.Context(), app.DB, cliActor, productID, fileID)
		})
}

func newProductsRestoreCmd(app *App) *cobra.Command {
	return newProductsFileCmd(app, "restore", "Make an earlier version of a product's files current again",
		func(cmd *cobra.Command, productID string, fileID int64) error {
			return catalog.RestoreFile(cmd.Context(), app.DB, cliActor, productID, fileID)
		})
}

func findProduct(cmd *cobra.Command, app *App, id string) (*vend.Product, error) {
	var p *vend.Product
	err := app.DB.View(cmd.Context(), func(tx store.Tx) error {
		var err error
		p, err = tx.FindProductByID(cmd.Context(), id)
		return err
	})
	return p, cliError(err)
}

// productFiles are a product's current files and every earlier version.
type productFiles struct {
	Current  []*vend.File `json:"current"`
	Versions []*vend.File `json:"versions"`
}

func loadProductFiles(cmd *cobra.Command, app *App, id string) (*productFiles, error) {
	var out productFiles
	err := app.DB.View(cmd.Context(), func(tx store.Tx) error {
		p, err := tx.FindProductByID(cmd.Context(), id)
		if err != nil {
			return err
		}
		out.Current = p.Files
		out.Versions, err = tx.FindFileVersions(cmd.Context(), id)
		return err
	})
	return &out, cliError(err)
}

func printProductFiles(cmd *cobra.Command, app *App, id string, asJSON bool) error {
	files, err := loadProductFiles(cmd, app, id)
	if err != nil {
		return err
	}
	if asJSON {
		return printJSON(app.Stdout, files)
	}
	writeFiles(plainWriter{app.Stdout}, files)
	return nil
}

// writeFiles lists files for people; w is a plainWriter, because file names
// stored before vend refused control characters may still hold some.
func writeFiles(w io.Writer, files *productFiles) {
	current := map[int64]bool{}
	for _, f := range files.Current {
		current[f.ID] = true
	}
	fmt.Fprintln(w, "Files (every version; * current):")
	for _, f := range files.Versions {
		mark := " "
		if current[f.ID] {
			mark = "*"
		}
		fmt.Fprintf(w, "  %s %d  %s  %d bytes  sha256 %s  %s\n", mark, f.ID, oneLine(f.Name), f.Size, f.SHA256, f.CreatedAt.UTC().Format("2006-01-02 15:04"))
	}
}

// keyFormat is a product's key format as the seller reads it.
func keyFormat(f string) string {
	if f == "" {
		return vend.DefaultKeyFormat
	}
	return f
}
