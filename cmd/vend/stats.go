package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/store"
	"github.com/vend-shop/vend/web"
)

// statsReport is what `vend stats` prints: the dashboard's sums over the last
// days and the top lines of the admin's two counters.
type statsReport struct {
	Days      int                      `json:"days"`
	Since     time.Time                `json:"since"` // the first day's start, UTC
	Sales     int                      `json:"sales"`
	Revenue   map[string]vend.Amount   `json:"revenue"` // by currency
	Refunds   int                      `json:"refunds"`
	Downloads int                      `json:"downloads"` // counted against limits
	Buyers    []store.BuyerAttempts    `json:"buyers"`    // by attempts, or --sort
	Products  []store.ProductDownloads `json:"products"`  // by completed downloads
}

// statsMaxDays bounds --days: the counters read every attempt of the period.
const statsMaxDays = 3660

func newStatsCmd(app *App) *cobra.Command {
	var days, top int
	var sortBy string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "stats [--days 30] [--top 10] [--sort attempts|downloads|last|email] [--json]",
		Short: "Sales, refunds and downloads of the last days; the buyers with most download attempts; downloads per product",
		Long: `Print the sums of the last --days UTC days (today included): sales, revenue
per currency, refunds and downloads counted against limits; then the --top
buyers by download attempts in those days (or by --sort) and the --top
products by completed downloads.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if days < 1 || days > statsMaxDays {
				return fmt.Errorf("--days: a number from 1 to %d (got %d)", statsMaxDays, days)
			}
			if top < 1 {
				return fmt.Errorf("--top: a positive number (got %d)", top)
			}
			if err := app.open(cmd.Context()); err != nil {
				return err
			}
			defer app.close()
			ctx := cmd.Context()
			now := time.Now().UTC()
			y, m, d := now.AddDate(0, 0, -(days - 1)).Date()
			r := statsReport{Days: days, Since: time.Date(y, m, d, 0, 0, 0, 0, time.UTC), Revenue: map[string]vend.Amount{}}
			err := app.DB.View(ctx, func(tx store.Tx) error {
				stats, err := tx.DailyStats(ctx, r.Since, now)
				if err != nil {
					return err
				}
				for _, s := range stats {
					r.Sales, r.Refunds, r.Downloads = r.Sales+s.Sales, r.Refunds+s.Refunds, r.Downloads+s.Downloads
					for c, a := range s.Revenue {
						r.Revenue[c] += a
					}
				}
				if r.Buyers, err = tx.AttemptsPerBuyer(ctx, store.BuyerQuery{From: r.Since, Sort: sortBy, Limit: top}); err != nil {
					return err
				}
				r.Products, err = tx.DownloadsPerProduct(ctx, r.Since, time.Time{})
				return err
			})
			if err != nil {
				return cliError(err)
			}
			if err := web.SortProducts(r.Products, "completed"); err != nil {
				return err
			}
			r.Products = r.Products[:min(top, len(r.Products))]
			if r.Buyers == nil {
				r.Buyers = []store.BuyerAttempts{}
			}
			if asJSON {
				return printJSON(app.Stdout, r)
			}
			printStats(app.Stdout, &r)
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&days, "days", 30, "the last this many UTC days, today included")
	f.IntVar(&top, "top", 10, "how many buyers and products")
	f.StringVar(&sortBy, "sort", store.SortAttempts, "order the buyers by attempts, downloads, last (attempt) or email")
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
	fmt.Fprintf(w, "Last %d days, since %s UTC\n", r.Days, r.Since.Format(time.DateOnly))
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
