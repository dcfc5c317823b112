package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/vend-shop/vend/report"
	"github.com/vend-shop/vend/store"
)

// statsReport is what `vend stats` prints: the dashboard's sums over the last
// days and the top lines of the admin's two counters.
type statsReport = report.StatsReport

func newStatsCmd(app *App) *cobra.Command {
	var q report.StatsQuery
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "stats [--days 30] [--top 10] [--sort attempts|downloads|last|email] [--test] [--json]",
		Short: "Sales, refunds and downloads of the last days; the buyers with most download attempts; downloads per product",
		Long: `Print the sums of the last --days UTC days (today included): sales, revenue
per currency, refunds and downloads counted against limits; then the --top
buyers by download attempts in those days (or by --sort) and the --top
products by completed downloads. Sales and refunds of test orders (sandbox
payments) count only with --test, as on the admin's dashboard.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := app.open(cmd.Context()); err != nil {
				return err
			}
			defer app.close()
			r, err := report.Stats(cmd.Context(), app.DB, time.Now(), q)
			if err != nil {
				return cliError(err)
			}
			if asJSON {
				return printJSON(app.Stdout, r)
			}
			printStats(app.Stdout, r)
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&q.Days, "days", 30, "the last this many UTC days, today included")
	f.IntVar(&q.Top, "top", 10, "how many buyers and products")
	f.BoolVar(&q.WithTest, "test", false, "count the sales and refunds of test orders too")
	f.StringVar(&q.BuyerSort, "sort", store.SortAttempts, "order the buyers by attempts, downloads, last (attempt) or email")
	f.BoolVar(&asJSON, "json", false, "print as JSON")
	return cmd
}

func printStats(out io.Writer, r *statsReport) {
	// Buyers choose their names and addresses: nothing of theirs may reach the
	// terminal as an escape sequence.
	w := plainWriter{out}
	currencies := make([]string, 0, len(r.Revenue))
	for c := range r.Revenue {
		currencies = append(currencies, c)
	}
	sort.Strings(currencies)
	revenue := make([]string, len(currencies))
	for i, c := range currencies {
		revenue[i] = r.Revenue[c].String() + " " + c
	}
	fmt.Fprintf(w, "Last %d days, since %s UTC", r.Days, r.Since.Format(time.DateOnly))
	if r.Test {
		fmt.Fprint(w, ", test orders included")
	} else {
		fmt.Fprint(w, ", without test orders (--test counts them)")
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "Sales\t%d\t%s\n", r.Sales, strings.Join(revenue, ", "))
	fmt.Fprintf(tw, "Refunds\t%d\t\n", r.Refunds)
	fmt.Fprintf(tw, "Downloads\t%d\t\n", r.Downloads)
	tw.Flush()

	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nBUYER\tATTEMPTS\tCOUNTED\tLAST ATTEMPT")
	for _, b := range r.Buyers {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\n", dash(b.Email), b.Attempts, b.Downloads, b.LastAttempt.Format("2006-01-02 15:04"))
	}
	fmt.Fprintln(tw, "\nPRODUCT\tCOMPLETED\tCHARGED\tATTEMPTS")
	for _, p := range r.Products {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\n", p.ProductID, p.Completed, p.Charged, p.Attempts)
	}
	tw.Flush()
}
