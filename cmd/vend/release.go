package main

import (
	"context"
	"fmt"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/catalog"
	"github.com/vend-shop/vend/ledger"
)

func newReleaseCmd(app *App) *cobra.Command {
	var notify, reset, renewal, asJSON bool
	var version string
	cmd := &cobra.Command{
		Use:   "release PRODUCT [FILE] [--notify] [--reset-limits]",
		Short: "Ship a new version: make FILE the product's file, tell its buyers, give their downloads back",
		Long: `With FILE, store it and make it the product's only current file (earlier files
stay stored). Then, for every buyer with active access to the product:
--notify queues the "new version available" mail (sent by the running vend serve;
one per buyer), --reset-limits sets their downloads used back to zero. A product
with updates for a limited time (vend products edit --updates-for) gives the new
version only to buyers whose updates run until now; --renewal mails the others
where to renew. The work is
recorded as it goes: if this command or vend stops, vend serve resumes it, and no
buyer is mailed twice.`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if err := app.open(ctx); err != nil {
				return err
			}
			defer app.close()
			product := args[0]
			if len(args) == 2 {
				name, err := releaseFile(ctx, app, product, args[1])
				if err != nil {
					return cliError(err)
				}
				if version == "" {
					version = name
				}
			}
			led := ledger.New(app.DB)
			led.Mail = app.Config.SMTP.URL != ""
			r, err := led.StartRelease(ctx, "cli", product, ledger.ReleaseOptions{Version: version, Notify: notify, Reset: reset, Renewal: renewal})
			if err != nil {
				return cliError(err)
			}
			bar := progressbar.NewOptions(max(r.Total, 1), progressbar.OptionSetWriter(app.Stderr),
				progressbar.OptionSetDescription("release of "+product), progressbar.OptionShowCount())
			err = led.RunRelease(ctx, r.ID, func(now *vend.Release) {
				bar.ChangeMax(max(now.Total, 1))
				bar.Set(now.Done)
				r = now
			})
			bar.Finish()
			fmt.Fprintln(app.Stderr)
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(app.Stdout, r)
			}
			fmt.Fprintf(app.Stdout, "release %d of %s: %d buyers handled\n", r.ID, product, r.Done)
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&notify, "notify", false, `queue the "new version available" mail to every buyer with active access`)
	f.BoolVar(&reset, "reset-limits", false, "set every such buyer's downloads used back to zero")
	f.BoolVar(&renewal, "renewal", false, "mail the buyers whose updates ended before this version where to renew (the product's renew URL)")
	f.StringVar(&version, "version", "", "what is new, for the mail (default: the new file's name)")
	f.BoolVar(&asJSON, "json", false, "print the release as JSON")
	return cmd
}

// releaseFile stores the file at path and makes it the product's only current
// file, with an audit entry, and returns its name.
func releaseFile(ctx context.Context, app *App, productID, path string) (string, error) {
	f, err := catalog.Store(ctx, app.Blobs, path)
	if err != nil {
		return "", err
	}
	if err := catalog.AddFile(ctx, app.DB, cliActor, productID, f, true); err != nil {
		return "", cliError(err)
	}
	return f.Name, nil
}
