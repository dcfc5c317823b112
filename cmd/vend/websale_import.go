package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/provider/websale"
	"github.com/vend-shop/vend/store"
)

func newWebsaleImportCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "import FILE",
		Short: "Import WEBSALE's order export: the orders whose links may make grants",
		Long: `Import the shop's orders, so that their download links make grants.

WEBSALE's links carry no signature, and a changed link can still decode, so
vend makes an order and grant from a buyer's first link only for an order item
imported here (or for any, with websale.first_click on: see the README).

FILE is CSV in UTF-8 (or "-" for standard input), separated by commas or
semicolons. The header names the columns order (the shop's order number),
product (WEBSALE's product number) and, optionally, email (the buyer's
address; a link with another address is then refused); other columns are
ignored. One row per product of an order:

  order,product,email
  1000123,1234567890,kunde@example.de

Shop and subshop are websale.shop_id and websale.subshop_id. While
websale.products has entries, rows of other product numbers are skipped.
Importing a file again adds only what is new (and takes corrected addresses);
nothing is ever removed.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := app.open(cmd.Context()); err != nil {
				return err
			}
			defer app.close()
			r := cmd.InOrStdin()
			if args[0] != "-" {
				f, err := os.Open(args[0])
				if err != nil {
					return err
				}
				defer f.Close()
				r = f
			}
			im, err := websale.ImportOrders(r, websaleConfig(app.Config.Websale))
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			var added int
			err = app.DB.Update(cmd.Context(), func(tx store.Tx) error {
				added = 0
				for _, it := range im.Items {
					isNew, err := tx.SaveImportedItem(cmd.Context(), it)
					if err != nil {
						return err
					}
					if isNew {
						added++
					}
				}
				// Which orders links may create is access control: the trail says who widened it.
				return store.RecordAudit(cmd.Context(), tx, cliActor, "websale.import", vend.ProviderTarget(websale.Provider), nil,
					map[string]any{"file": args[0], "orders": im.Orders, "items": len(im.Items), "new": added, "skipped": im.Skipped})
			})
			if err != nil {
				return fmt.Errorf("websale import %s: %w", args[0], err)
			}
			fmt.Fprintf(app.Stdout, "imported %d items of %d orders, %d of them new\n", len(im.Items), im.Orders, added)
			if im.Skipped > 0 {
				fmt.Fprintf(app.Stdout, "skipped %d rows of product numbers not in websale.products\n", im.Skipped)
			}
			return nil
		},
	}
}
