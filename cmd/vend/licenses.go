package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/ledger"
	"github.com/vend-shop/vend/license"
	"github.com/vend-shop/vend/store"
)

// vend licenses: the admin's licence keys for the shell (docs/licenses.md).
func newLicensesCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{Use: "licenses", Short: "Licence keys: find them, see their activations, disable, enable, reset, limit"}
	cmd.AddCommand(newLicensesListCmd(app), newLicensesShowCmd(app), newLicensesPublicKeyCmd(app), newLicensesImportCmd(app))
	for _, a := range []struct {
		action license.Action
		short  string
	}{
		{license.Disable, "Disable a key: the licence API answers it is disabled, whatever its purchase says"},
		{license.Enable, "Enable a key again: it follows its purchase (a refund still disables it)"},
		{license.Reset, "End every activation of a key: all its slots are free"},
	} {
		cmd.AddCommand(newLicenseChangeCmd(app, a.action, a.short))
	}
	cmd.AddCommand(newLicensesLimitCmd(app))
	return cmd
}

func newLicensesListCmd(app *App) *cobra.Command {
	var product string
	var before int64
	var limit int
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list [--product ID] [--limit 50] [--before ID]",
		Short: "List licence keys, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := app.open(cmd.Context()); err != nil {
				return err
			}
			defer app.close()
			f := store.LicenseFilter{Before: before, Limit: limit}
			if product != "" {
				f.ProductID = &product
			}
			ls, err := license.List(cmd.Context(), app.DB, f, time.Now())
			if err != nil {
				return cliError(err)
			}
			if asJSON {
				if ls == nil {
					ls = []license.Detail{}
				}
				return printJSON(app.Stdout, ls)
			}
			tw := tabwriter.NewWriter(plainWriter{app.Stdout}, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tKEY\tPRODUCT\tORDER\tSTATUS\tACTIVATIONS\tISSUED")
			for _, l := range ls {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\t%d/%s\t%s\n", l.ID, l.Key, l.ProductID, l.OrderID, l.Status, l.Activations,
					vend.FormatLimit(l.ActivationLimit), l.CreatedAt.UTC().Format("2006-01-02 15:04"))
			}
			tw.Flush()
			if len(ls) == limit {
				fmt.Fprintf(app.Stdout, "more: --before %d\n", ls[len(ls)-1].ID)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&product, "product", "", "only this product's keys")
	f.IntVar(&limit, "limit", 50, "how many")
	f.Int64Var(&before, "before", 0, "only keys with a smaller id: the next page")
	f.BoolVar(&asJSON, "json", false, "print as JSON")
	return cmd
}

// licenseArg is the key an argument names: its id, or the key itself.
func licenseArg(cmd *cobra.Command, app *App, arg string) (int64, error) {
	if id, err := strconv.ParseInt(arg, 10, 64); err == nil {
		return id, nil
	}
	id, err := license.FindKey(cmd.Context(), app.DB, arg)
	return id, cliError(err)
}

func newLicensesShowCmd(app *App) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show ID|KEY",
		Short: "Show a licence key: its status, order and every activation (instance, when, from which address)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := app.open(cmd.Context()); err != nil {
				return err
			}
			defer app.close()
			id, err := licenseArg(cmd, app, args[0])
			if err != nil {
				return err
			}
			r, err := license.FindRecord(cmd.Context(), app.DB, id, time.Now())
			if err != nil {
				return cliError(err)
			}
			return printLicense(app, r, asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print as JSON")
	return cmd
}

func printLicense(app *App, r *license.Record, asJSON bool) error {
	if asJSON {
		return printJSON(app.Stdout, r)
	}
	// Buyers name their instances: no escape sequence of theirs may reach the terminal.
	w := plainWriter{app.Stdout}
	expires := "never"
	if !r.ExpiresAt.IsZero() {
		expires = r.ExpiresAt.UTC().Format("2006-01-02")
	}
	fmt.Fprintf(w, "Licence %d  %s  %s\nProduct %s  order %d  %s <%s>\nActivations %d of %s  expires %s  issued %s\n",
		r.ID, r.Key, r.Status, r.ProductID, r.OrderID, r.Order.Buyer.Name, r.Order.Buyer.Email, r.Activations,
		vend.FormatLimit(r.ActivationLimit), expires, r.CreatedAt.UTC().Format("2006-01-02 15:04"))
	if r.Disabled {
		fmt.Fprintln(w, "Disabled by an administrator")
	}
	printInstances(w, r.Instances)
	return nil
}

func printInstances(w io.Writer, ins []*vend.LicenseInstance) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nINSTANCE\tNAME\tACTIVATED\tFROM\tDEACTIVATED")
	for _, in := range ins {
		off := "-"
		if !in.DeactivatedAt.IsZero() {
			off = in.DeactivatedAt.UTC().Format("2006-01-02 15:04")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", in.InstanceID, oneLine(in.Name), in.CreatedAt.UTC().Format("2006-01-02 15:04"), dash(in.IP), off)
	}
	tw.Flush()
}

func newLicenseChangeCmd(app *App, action license.Action, short string) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   string(action) + " ID|KEY",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return changeLicense(cmd, app, args[0], action, 0, asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the key as JSON")
	return cmd
}

func newLicensesLimitCmd(app *App) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "limit ID|KEY N|unlimited",
		Short: "Set how many instances a key may be active on at once",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			n, err := vend.ParseLimit(args[1])
			if err != nil {
				return fmt.Errorf("activation limit %q: use a positive number or \"unlimited\"", args[1])
			}
			return changeLicense(cmd, app, args[0], license.Limit, n, asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the key as JSON")
	return cmd
}

func changeLicense(cmd *cobra.Command, app *App, arg string, action license.Action, limit int, asJSON bool) error {
	if err := app.open(cmd.Context()); err != nil {
		return err
	}
	defer app.close()
	id, err := licenseArg(cmd, app, arg)
	if err != nil {
		return err
	}
	r, err := license.Change(cmd.Context(), app.DB, cliActor, id, action, limit, time.Now())
	if err != nil {
		return cliError(err)
	}
	return printLicense(app, r, asJSON)
}

func newLicensesPublicKeyCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "public-key",
		Short: "Print the key signed licences are checked with (PEM); ship it inside your software",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := app.open(cmd.Context()); err != nil {
				return err
			}
			defer app.close()
			_, err := app.Stdout.Write(license.NewSigner(app.LicenseKey).PublicKeyPEM())
			return err
		},
	}
}

func newLicensesImportCmd(app *App) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "import PRODUCT FILE",
		Short: "Add licence keys from a list (one a line) to a product whose keys come from a list; waiting buyers get theirs at once",
		Long: `Add the keys in FILE (one a line; blank lines and lines starting with # are
skipped; "-" reads standard input) to the unused keys of PRODUCT, whose licence
keys come from a list (vend products edit PRODUCT --license list). A key vend has
already, unused or issued, is left out. Buyers who waited for keys get theirs at
once, by mail from the running vend serve.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			in := io.Reader(os.Stdin)
			if args[1] != "-" {
				f, err := os.Open(args[1])
				if err != nil {
					return err
				}
				defer f.Close()
				in = f
			}
			keys, err := vend.ParseKeyList(in)
			if err != nil {
				return fmt.Errorf("%s: %w", args[1], cliError(err))
			}
			if err := app.open(cmd.Context()); err != nil {
				return err
			}
			defer app.close()
			led := ledger.New(app.DB)
			led.Mail, led.OwnerEmail = app.Config.SMTP.URL != "", app.Config.OwnerEmail
			r, err := led.ImportLicenseKeys(cmd.Context(), cliActor, args[0], keys)
			if err != nil {
				return cliError(err)
			}
			if asJSON {
				return printJSON(app.Stdout, r)
			}
			fmt.Fprintf(app.Stdout, "%d keys added (%d vend had already), %d given to waiting buyers, %d unused now\n",
				r.Added, r.Duplicates, r.Assigned, r.Unused)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print what was done as JSON")
	return cmd
}
