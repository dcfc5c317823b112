package main

import (
	"bufio"
	"time"

	"github.com/spf13/cobra"

	"github.com/vend-shop/vend/report"
)

func newExportCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{Use: "export", Short: "Write records out for spreadsheets and scripts"}
	cmd.AddCommand(newExportCSVCmd(app))
	return cmd
}

func newExportCSVCmd(app *App) *cobra.Command {
	var filter orderFilterFlags
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "csv orders|transactions|attempts [--from DATE] [--to DATE] [--search TEXT] [--product ID] [--provider NAME] [--status STATUS]",
		Short: "Write orders, transactions or download attempts as CSV to stdout",
		Long: `Write every order, transaction or download attempt that the filters select
to stdout: CSV with a header line, times in UTC, exactly the file the admin's
export links give, fields that would start a spreadsheet formula neutralized
with a leading apostrophe. --json writes JSON lines instead (one record a
line, nothing neutralized). Dates are UTC days, both included. Orders take the
order list's filters as well and come newest first; transactions and attempts
come oldest first. The records are read a page at a time, so an export of
millions holds neither much memory nor a long transaction.`,
		Example:   "  vend export csv orders --from 2026-01-01 --to 2026-03-31 --status paid > q1.csv\n  vend export csv attempts --from 2026-11-01 --json",
		Args:      cobra.ExactArgs(1),
		ValidArgs: []string{report.ExportOrders, report.ExportTransactions, report.ExportAttempts},
		RunE: func(cmd *cobra.Command, args []string) error {
			q, err := report.ParseExportQuery(args[0], filter.values())
			if err != nil {
				return cliError(err)
			}
			q.JSON = asJSON
			if err := app.open(cmd.Context()); err != nil {
				return err
			}
			defer app.close()
			w := bufio.NewWriterSize(app.Stdout, 64<<10)
			if err := report.WriteExport(cmd.Context(), app.DB, w, q, time.Now()); err != nil {
				w.Flush()
				return cliError(err)
			}
			return w.Flush()
		},
	}
	f := cmd.Flags()
	filter.add(f, "orders: ")
	f.BoolVar(&asJSON, "json", false, "write JSON lines instead of CSV")
	return cmd
}
