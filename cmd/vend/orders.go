package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/delivery"
	"github.com/vend-shop/vend/ledger"
	"github.com/vend-shop/vend/license"
	"github.com/vend-shop/vend/report"
	"github.com/vend-shop/vend/store"
)

func newOrdersCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{Use: "orders", Short: "Look at orders, or make one by hand"}
	cmd.AddCommand(newOrdersListCmd(app), newOrdersShowCmd(app), newOrdersCreateCmd(app), newOrdersEditCmd(app), newOrdersDeleteCmd(app),
		newOrdersRefundCmd(app), newOrdersEvidenceCmd(app))
	return cmd
}

func newOrdersEditCmd(app *App) *cobra.Command {
	var b vend.Buyer
	cmd := newOrderChangeCmd(app, "edit ORDER-ID|REF|TXN-ID --email ADDRESS [--name NAME]",
		"Change an order's buyer email and name (audited)", "", "",
		func(cmd *cobra.Command, id int64) error {
			_, err := ledger.New(app.DB).EditBuyer(cmd.Context(), cliActor, id, b)
			return err
		})
	cmd.Flags().StringVar(&b.Email, "email", "", "the buyer's email address")
	cmd.Flags().StringVar(&b.Name, "name", "", "the buyer's name")
	return cmd
}

// newOrderChangeCmd makes a command that changes one order: it finds the
// order by id, reference or transaction id, runs change on it and prints the
// order as it is then (--json), or "order N done", or (done "") the whole
// order. With confirm, it asks for --yes first, saying confirm.
func newOrderChangeCmd(app *App, use, short, confirm, done string, change func(cmd *cobra.Command, orderID int64) error) *cobra.Command {
	var yes, asJSON bool
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if confirm != "" && !yes {
				return fmt.Errorf("--yes: %s; confirm with --yes", confirm)
			}
			if err := app.open(cmd.Context()); err != nil {
				return err
			}
			defer app.close()
			d, err := findOrderDetail(cmd.Context(), app, args[0])
			if err != nil {
				return cliError(err)
			}
			if err := change(cmd, d.ID); err != nil {
				return cliError(err)
			}
			if d, err = findOrderDetail(cmd.Context(), app, strconv.FormatInt(d.ID, 10)); err != nil {
				return err
			}
			switch {
			case asJSON:
				return printJSON(app.Stdout, d)
			case done == "":
				printOrder(app.Stdout, d)
			default:
				fmt.Fprintf(app.Stdout, "order %d %s\n", d.ID, done)
			}
			return nil
		},
	}
	if confirm != "" {
		cmd.Flags().BoolVar(&yes, "yes", false, "confirm")
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the order as JSON")
	return cmd
}

func newOrdersDeleteCmd(app *App) *cobra.Command {
	return newOrderChangeCmd(app, "delete ORDER-ID|REF|TXN-ID --yes",
		"Delete an order: out of the lists, its buyer's downloads ended (audited; the history stays)",
		"deleting an order ends its buyer's downloads", "deleted",
		func(cmd *cobra.Command, id int64) error {
			_, err := ledger.New(app.DB).DeleteOrder(cmd.Context(), cliActor, id)
			return err
		})
}

func newOrdersRefundCmd(app *App) *cobra.Command {
	var note string
	cmd := newOrderChangeCmd(app, "refund ORDER-ID|REF|TXN-ID --yes [--note …]",
		"Record a full refund made outside vend: access ends, the buyer is told (audited)",
		"a refund ends the buyer's downloads", "refunded",
		func(cmd *cobra.Command, id int64) error {
			led := ledger.New(app.DB)
			led.Mail, led.OwnerEmail = app.Config.SMTP.URL != "", app.Config.OwnerEmail
			_, err := led.RefundOrder(cmd.Context(), cliActor, id, note)
			return err
		})
	cmd.Flags().StringVar(&note, "note", "", "why or how it was refunded, for the order's history")
	return cmd
}

func newOrdersCreateCmd(app *App) *cobra.Command {
	var req ledger.ManualOrder
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "create --email ADDRESS --product ID [--product ID] [--name NAME] [--note TEXT] [--language en|de] [--send-receipt]",
		Short: "Make a paid order by hand, without a provider (a free copy, a replacement)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := app.open(cmd.Context()); err != nil {
				return err
			}
			defer app.close()
			led := ledger.New(app.DB)
			led.TermsVersion = app.Config.Shop.TermsVersion
			if req.SendReceipt {
				// Queue the receipt; a running vend serve sends it.
				led.Mail = app.Config.SMTP.URL != ""
				if !led.Mail {
					return fmt.Errorf("--send-receipt: smtp.url is not set, so vend sends no mail")
				}
			}
			res, err := led.CreateOrder(cmd.Context(), "cli", req)
			if err != nil {
				return cliError(err)
			}
			d, err := findOrderDetail(cmd.Context(), app, strconv.FormatInt(res.OrderID, 10))
			if err != nil {
				return cliError(err)
			}
			if asJSON {
				return printJSON(app.Stdout, d)
			}
			printOrder(app.Stdout, d)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&req.Buyer.Email, "email", "", "the buyer's email address")
	f.StringVar(&req.Buyer.Name, "name", "", "the buyer's name")
	f.StringSliceVar(&req.Products, "product", nil, "a product id (repeatable)")
	f.StringVar(&req.Note, "note", "", "why, for the log")
	f.StringVar(&req.Language, "language", "", "the buyer's language for the receipt and the download page (en, de; default: their browser's)")
	f.BoolVar(&req.SendReceipt, "send-receipt", false, "mail the buyer the receipt with the links")
	f.BoolVar(&asJSON, "json", false, "print the order as JSON")
	return cmd
}

func newOrdersListCmd(app *App) *cobra.Command {
	var asJSON bool
	var limit int
	var before int64
	var filter orderFilterFlags
	var email string
	cmd := &cobra.Command{
		Use:   "list [--status STATUS] [--product ID] [--provider NAME] [--search TEXT] [--from DATE] [--to DATE] [--limit N] [--before ORDER-ID]",
		Short: "List the newest orders, filtered as in the admin's order list, a page at a time",
		Long: `List orders newest first, with the admin's order list filters. A full
page ends with the command for the next one (on stderr, so --json stays one
array): the same filters and --before the last order's id.`,
		Example: "  vend orders list --status refunded --product EBOOK-001\n  vend orders list --search kunde@example.de",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if filter.search != "" && email != "" {
				return fmt.Errorf("--email is --search: give one")
			}
			if email != "" {
				filter.search = email
			}
			if limit < 1 {
				return fmt.Errorf("--limit: at least 1 (got %d)", limit)
			}
			// The admin's parser reads the filters, so the CLI, the admin and
			// the exports select the same orders.
			q, err := report.ParseOrderQuery(filter.values())
			if err != nil {
				return cliError(err)
			}
			q.Limit, q.Before = limit, before
			if err := app.open(cmd.Context()); err != nil {
				return err
			}
			defer app.close()
			var orders []*vend.Order
			err = app.DB.View(cmd.Context(), func(tx store.Tx) error {
				var err error
				if orders, err = tx.SearchOrders(cmd.Context(), q); err != nil {
					return err
				}
				for _, o := range orders {
					if o.Items, err = tx.FindItems(cmd.Context(), o.ID); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				return err
			}
			if len(orders) == limit {
				next := append(nextPageArgs(cmd), "--before", strconv.FormatInt(orders[len(orders)-1].ID, 10))
				fmt.Fprintf(app.Stderr, "more: vend orders list %s\n", strings.Join(next, " "))
			}
			if asJSON {
				if orders == nil {
					orders = []*vend.Order{}
				}
				return printJSON(app.Stdout, orders)
			}
			tw := tabwriter.NewWriter(plainWriter{app.Stdout}, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tCREATED\tPROVIDER\tREF\tSTATUS\tTOTAL\tBUYER\tPRODUCTS")
			for _, o := range orders {
				var products []string
				for _, it := range o.Items {
					products = append(products, it.ProductID)
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s %s\t%s\t%s\n", o.ID, o.CreatedAt.Format("2006-01-02 15:04"), o.Provider, o.Ref,
					o.Status, o.Total, o.Currency, o.Buyer.Email, strings.Join(products, ","))
			}
			return tw.Flush()
		},
	}
	f := cmd.Flags()
	f.BoolVar(&asJSON, "json", false, "print as JSON")
	f.IntVar(&limit, "limit", 50, "orders on one page")
	f.Int64Var(&before, "before", 0, "the next page: only orders with a smaller id")
	f.StringVar(&email, "email", "", "the buyer's email, or its start (the same as --search)")
	filter.add(f, "")
	return cmd
}

// orderFilterFlags are the admin order list's filters as flags: vend orders
// list and vend export take the same, and report.ParseOrderQuery reads them,
// so all three select the same orders.
type orderFilterFlags struct{ search, product, provider, status, from, to string }

// add defines the flags; note starts the help of the flags that only filter
// orders ("orders: " in an export that also writes other records).
func (o *orderFilterFlags) add(f *pflag.FlagSet, note string) {
	f.StringVar(&o.from, "from", "", "only those of this UTC day (2006-01-02) or later")
	f.StringVar(&o.to, "to", "", "only those of this UTC day (2006-01-02) or earlier")
	f.StringVar(&o.search, "search", "", note+"an order id, reference or transaction id, or the start of the buyer's email or name")
	f.StringVar(&o.product, "product", "", note+"only orders with an item of this product")
	f.StringVar(&o.provider, "provider", "", note+"only orders of this provider")
	f.StringVar(&o.status, "status", "", note+"only orders with this status: paid, pending, refunded, reversed, failed, suspended or ended")
}

// values are the flags given, under the names the admin's query string uses.
func (o *orderFilterFlags) values() url.Values {
	v := url.Values{}
	for k, val := range map[string]string{"q": o.search, "product": o.product, "provider": o.provider, "status": o.status, "from": o.from, "to": o.to} {
		if val != "" {
			v.Set(k, val)
		}
	}
	return v
}

// nextPageArgs repeats the flags the seller gave, but --before, so the next
// page has the same filters. Each is quoted for a POSIX shell, so it can be
// pasted as it is ("--search=Kurt Smith").
func nextPageArgs(cmd *cobra.Command) []string {
	var args []string
	cmd.Flags().Visit(func(f *pflag.Flag) {
		if f.Name != "before" {
			args = append(args, shellQuote("--"+f.Name+"="+f.Value.String()))
		}
	})
	return args
}

// shellQuote leaves a word of safe characters alone and puts any other in
// single quotes.
func shellQuote(s string) string {
	if strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=.,:/@+") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// orderDetail is everything `vend orders show` prints.
type orderDetail struct {
	*vend.Order
	Grants        []grantDetail        `json:"grants"`
	Licenses      []license.Detail     `json:"licenses"`
	Attempts      []*vend.Attempt      `json:"attempts"`
	Notifications []*vend.Notification `json:"notifications"`
}

type grantDetail struct {
	*vend.Grant
	Link string `json:"link"`
}

func newOrdersShowCmd(app *App) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show ORDER-ID|TXN-ID",
		Short: "Show an order: items, transactions, grants with their links, download attempts",
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
			if asJSON {
				return printJSON(app.Stdout, d)
			}
			printOrder(app.Stdout, d)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print as JSON")
	return cmd
}

func findOrderDetail(ctx context.Context, app *App, ref string) (*orderDetail, error) {
	d := &orderDetail{}
	err := app.DB.View(ctx, func(tx store.Tx) error {
		var err error
		d.Order, err = findOrder(ctx, tx, ref)
		if err != nil {
			return err
		}
		if d.Items, err = tx.FindItems(ctx, d.ID); err != nil {
			return err
		}
		if d.Transactions, err = tx.FindTransactionsByOrder(ctx, d.ID); err != nil {
			return err
		}
		grants, err := tx.FindGrantsByOrder(ctx, d.ID)
		if err != nil {
			return err
		}
		for _, g := range grants {
			d.Grants = append(d.Grants, grantDetail{Grant: g, Link: app.Config.BaseURL + delivery.PagePath(app.Secret, g.PublicID)})
		}
		keys, err := tx.FindLicenses(ctx, store.LicenseFilter{OrderID: &d.ID, Limit: 1000})
		if err != nil {
			return err
		}
		d.Licenses = license.Details(keys, grants, time.Now())
		if d.Attempts, err = tx.FindAttempts(ctx, store.AttemptFilter{OrderID: &d.ID, Limit: 200}); err != nil {
			return err
		}
		d.Notifications, err = tx.FindNotifications(ctx, store.NotificationFilter{OrderID: &d.ID, Limit: 50})
		return err
	})
	return d, err
}

// findOrder takes an order id, a provider's order reference (Digistore24's
// order_id, a Stripe payment intent) or any transaction id of the order (the
// payment, a refund, a reversal).
func findOrder(ctx context.Context, tx store.Tx, ref string) (*vend.Order, error) {
	if id, err := strconv.ParseInt(ref, 10, 64); err == nil {
		if o, err := tx.FindOrderByID(ctx, id); err == nil || vend.ErrorCode(err) != vend.ENOTFOUND {
			return o, err
		}
	}
	for _, provider := range providerNames() {
		if o, err := tx.FindOrderByRef(ctx, provider, ref); err == nil || vend.ErrorCode(err) != vend.ENOTFOUND {
			return o, err
		}
		t, err := tx.FindTransaction(ctx, provider, ref)
		if err == nil && t.OrderID != 0 {
			return tx.FindOrderByID(ctx, t.OrderID)
		} else if err != nil && vend.ErrorCode(err) != vend.ENOTFOUND {
			return nil, err
		}
	}
	return nil, vend.Errorf(vend.ENOTFOUND, "No order with id or transaction id %q.", ref)
}

func printOrder(out io.Writer, d *orderDetail) {
	// Buyers and their browsers choose names, user agents and ranges: no escape
	// sequence of theirs may reach the operator's terminal.
	w := plainWriter{out}
	o := d.Order
	fmt.Fprintf(w, "Order %d  %s %s  %s", o.ID, o.Provider, o.Ref, o.Status)
	if o.StatusReason != "" {
		fmt.Fprintf(w, " (%s)", o.StatusReason)
	}
	if o.Review {
		fmt.Fprint(w, "  [partly refunded: review]")
	}
	if o.Test {
		fmt.Fprint(w, "  [test]")
	}
	fmt.Fprintf(w, "\nBuyer  %s <%s>", o.Buyer.Name, o.Buyer.Email)
	if o.Language != "" {
		fmt.Fprintf(w, "  language %s", o.Language)
	}
	fmt.Fprintf(w, "\nTotal  %s %s\nCreated %s\n", o.Total, o.Currency, o.CreatedAt.Format("2006-01-02 15:04:05 MST"))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	// GRANT is the id `vend grants revoke|restore|reset|extend|limit` takes.
	fmt.Fprintln(tw, "\nITEM\tPRODUCT\tQTY\tAMOUNT\tGRANT\tACCESS\tDOWNLOADS\tEXPIRES\tLINK")
	for _, it := range d.Items {
		grant, access, used, expires, link := "-", "none", "-", "-", "-"
		for _, g := range d.Grants {
			if g.ItemID != it.ID {
				continue
			}
			grant = strconv.FormatInt(g.ID, 10)
			access = string(g.State)
			if g.Reason != "" {
				access += " (" + g.Reason + ")"
			}
			used = fmt.Sprintf("%d/%s", g.DownloadsUsed, vend.FormatLimit(g.DownloadLimit))
			if !g.ExpiresAt.IsZero() {
				expires = g.ExpiresAt.Format("2006-01-02")
			} else {
				expires = "never"
			}
			link = g.Link
		}
		fmt.Fprintf(tw, "%d\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n", it.ID, it.ProductID, it.Quantity, it.Amount, grant, access, used, expires, link)
	}
	if len(d.Licenses) > 0 {
		// LICENCE is the id `vend licenses show|disable|enable|reset|limit` takes.
		fmt.Fprintln(tw, "\nLICENCE\tKEY\tPRODUCT\tSTATUS\tACTIVATIONS\tEXPIRES")
		for _, l := range d.Licenses {
			expires := "never"
			if !l.ExpiresAt.IsZero() {
				expires = l.ExpiresAt.Format("2006-01-02")
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d/%s\t%s\n", l.ID, l.Key, l.ProductID, l.Status, l.Activations,
				vend.FormatLimit(l.ActivationLimit), expires)
		}
	}
	fmt.Fprintln(tw, "\nTRANSACTION\tKIND\tSTATUS\tAMOUNT\tPARENT\tREASON\tAT")
	for _, t := range d.Transactions {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s %s\t%s\t%s\t%s\n", t.TxnID, t.Kind, t.Status, t.Amount, t.Currency, dash(t.ParentTxnID), dash(t.Reason),
			t.CreatedAt.Format("2006-01-02 15:04:05"))
	}
	fmt.Fprintln(tw, "\nATTEMPT\tAT\tIP\tMETHOD\tRANGE\tSTATUS\tBYTES\tCOUNTED\tUSER AGENT")
	for _, a := range d.Attempts {
		counted := "no"
		if a.Counted {
			counted = "yes"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\t%d\t%s\t%s\n", a.ID, a.At.Format("2006-01-02 15:04:05"), a.IP, a.Method, dash(a.Range),
			a.Status, a.BytesSent, counted, a.UserAgent)
	}
	fmt.Fprintln(tw, "\nNOTIFICATION\tRECEIVED\tVERDICT\tKEY\tCHANGES")
	for _, n := range d.Notifications {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", n.ID, n.ReceivedAt.Format("2006-01-02 15:04:05"), n.Verdict, n.Key, dash(n.Changes+n.Reason))
	}
	tw.Flush()
}

// plainWriter replaces control characters (but newlines and tabs, which the
// table layout writes) with '?'.
type plainWriter struct{ w io.Writer }

func (p plainWriter) Write(b []byte) (int, error) {
	clean := []rune(string(b))
	for i, r := range clean {
		if r != '\n' && r != '\t' && (r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0) {
			clean[i] = '?'
		}
	}
	if _, err := p.w.Write([]byte(string(clean))); err != nil {
		return 0, err
	}
	return len(b), nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
