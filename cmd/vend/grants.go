package main

import (
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/ledger"
)

func newGrantsCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{Use: "grants", Short: "Change a buyer's access: revoke, restore, reset the count, extend, limit"}
	for _, a := range []struct {
		action ledger.GrantAction
		short  string
	}{
		{ledger.GrantRevoke, "End a grant's access (no provider message gives it back)"},
		{ledger.GrantRestore, "Give a revoked grant its access back"},
		{ledger.GrantReset, "Start a grant's count of downloads again from zero"},
		{ledger.GrantExtend, "Set a grant's expiry (--until DATE, or --never)"},
		{ledger.GrantLimit, "Set a grant's download limit (--limit N or unlimited)"},
	} {
		cmd.AddCommand(newGrantActionCmd(app, a.action, a.short))
	}
	return cmd
}

func newGrantActionCmd(app *App, action ledger.GrantAction, short string) *cobra.Command {
	var until, limit string
	var never, asJSON bool
	cmd := &cobra.Command{
		Use:   string(action) + " GRANT-ID",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil {
				return fmt.Errorf("%q is not a grant id (vend orders show lists them)", args[0])
			}
			var c ledger.GrantChange
			switch action {
			case ledger.GrantExtend:
				if c.Until, err = ledger.ParseExpiry(until, never); err != nil {
					return fmt.Errorf("--until: %s", vend.ErrorMessage(err))
				}
			case ledger.GrantLimit:
				if c.Limit, err = vend.ParseLimit(limit); err != nil {
					return fmt.Errorf("--limit: %s", err)
				}
			}
			if err := app.open(cmd.Context()); err != nil {
				return err
			}
			defer app.close()
			g, err := ledger.New(app.DB).ChangeGrantWith(cmd.Context(), "cli", id, action, c)
			if err != nil {
				return cliError(err)
			}
			if asJSON {
				return printJSON(app.Stdout, g)
			}
			expires := "never"
			if !g.ExpiresAt.IsZero() {
				expires = g.ExpiresAt.UTC().Format(time.DateTime)
			}
			fmt.Fprintf(app.Stdout, "grant %d of order %d: %s, %d downloads used, expires %s\n", g.ID, g.OrderID, g.State, g.DownloadsUsed, expires)
			return nil
		},
	}
	switch action {
	case ledger.GrantExtend:
		cmd.Flags().StringVar(&until, "until", "", "new expiry: a date (2026-12-31) or a time (2026-12-31T18:00:00Z)")
		cmd.Flags().BoolVar(&never, "never", false, "never expire")
	case ledger.GrantLimit:
		cmd.Flags().StringVar(&limit, "limit", "", "the new download limit: a number or unlimited")
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the grant as JSON")
	return cmd
}
