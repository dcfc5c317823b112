package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/store"
)

func newNotificationsCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{Use: "notifications", Short: "Look at the raw messages providers sent, and replay one"}
	cmd.AddCommand(newNotificationsListCmd(app), newNotificationsShowCmd(app), newNotificationsReplayCmd(app))
	return cmd
}

// verdicts are the verdicts --verdict accepts.
var verdicts = []vend.Verdict{vend.VerdictApplied, vend.VerdictDuplicate, vend.VerdictRejected, vend.VerdictInvalid,
	vend.VerdictError, vend.VerdictIgnored, vend.VerdictReceived}

func newNotificationsListCmd(app *App) *cobra.Command {
	var asJSON bool
	var limit int
	var provider, verdict string
	var orderID, before int64
	cmd := &cobra.Command{
		Use:   "list [--provider NAME] [--verdict VERDICT] [--order ID]",
		Short: "List the newest notifications (--before ID for older ones)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			f := store.NotificationFilter{Limit: limit, Before: before}
			if provider != "" {
				f.Provider = &provider
			}
			if verdict != "" {
				v := vend.Verdict(verdict)
				if !slices.Contains(verdicts, v) {
					return fmt.Errorf("--verdict: one of %s (got %q)", verdictList(), verdict)
				}
				f.Verdict = &v
			}
			if orderID != 0 {
				f.OrderID = &orderID
			}
			if limit < 1 {
				return fmt.Errorf("--limit: at least 1 (got %d)", limit)
			}
			if err := app.open(cmd.Context()); err != nil {
				return err
			}
			defer app.close()
			var notes []*vend.Notification
			err := app.DB.View(cmd.Context(), func(tx store.Tx) error {
				var err error
				notes, err = tx.FindNotifications(cmd.Context(), f)
				return err
			})
			if err != nil {
				return err
			}
			if asJSON {
				if notes == nil {
					notes = []*vend.Notification{}
				}
				return printJSON(app.Stdout, notes)
			}
			// Providers, and whoever posts to their endpoints, choose what the
			// reasons quote: no escape sequence reaches the terminal.
			tw := tabwriter.NewWriter(plainWriter{app.Stdout}, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tRECEIVED\tPROVIDER\tVERDICT\tORDER\tFROM\tREASON / CHANGES")
			for _, n := range notes {
				order := "-"
				if n.OrderID != 0 {
					order = strconv.FormatInt(n.OrderID, 10)
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", n.ID, n.ReceivedAt.Format("2006-01-02 15:04:05"), n.Provider, n.Verdict,
					order, n.RemoteAddr, dash(oneLine(joinNonEmpty(n.Reason, n.Changes))))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print as JSON")
	cmd.Flags().IntVar(&limit, "limit", 50, "how many notifications")
	cmd.Flags().StringVar(&provider, "provider", "", "only this provider's (paypal, digistore24, stripe, generic, websale)")
	cmd.Flags().StringVar(&verdict, "verdict", "", "only those with this verdict ("+verdictList()+")")
	cmd.Flags().Int64Var(&orderID, "order", 0, "only those about this order id")
	cmd.Flags().Int64Var(&before, "before", 0, "only those older than this notification id: the next page")
	return cmd
}

// notificationDetail is what `vend notifications show` and `replay` print as
// JSON: the notification (its body as base64, byte for byte) and the body as
// text (bytes that are not UTF-8 shown as U+FFFD).
type notificationDetail struct {
	*vend.Notification
	BodyText string `json:"body_text"`
	ReplayOf int64  `json:"replay_of,omitempty"`
}

func newNotificationDetail(n *vend.Notification) notificationDetail {
	return notificationDetail{Notification: n, BodyText: strings.ToValidUTF8(string(n.Body), "\uFFFD")}
}

func newNotificationsShowCmd(app *App) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Show a notification: verdict, reason, changes, headers and the raw body as text",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := notificationID(args[0])
			if err != nil {
				return err
			}
			if err := app.open(cmd.Context()); err != nil {
				return err
			}
			defer app.close()
			var n *vend.Notification
			err = app.DB.View(cmd.Context(), func(tx store.Tx) error {
				var err error
				n, err = tx.FindNotificationByID(cmd.Context(), id)
				return err
			})
			if err != nil {
				return cliError(err)
			}
			if asJSON {
				return printJSON(app.Stdout, newNotificationDetail(n))
			}
			printNotification(app.Stdout, n)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print as JSON")
	return cmd
}

func newNotificationsReplayCmd(app *App) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "replay ID",
		Short: "Process a stored notification again, as if its provider sent it now",
		Long: `Replay runs a stored message through its provider's checks again, with this
configuration, and stores the outcome as a new notification ("replay by cli"):
PayPal's message is verified with PayPal again, a signature is checked with the
secret set now, a WEBSALE link is decrypted again. It applies at most once: a
message applied before replays as a duplicate; one refused before (a product
missing from the catalog, say) applies once the cause is fixed. Only the
message's age is not judged again. The replay is on the audit trail.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := notificationID(args[0])
			if err != nil {
				return err
			}
			if err := app.open(cmd.Context()); err != nil {
				return err
			}
			defer app.close()
			led, _, err := app.newLedger()
			if err != nil {
				return err
			}
			in, err := app.newIntake(led)
			if err != nil {
				return err
			}
			n, err := in.Replay(cmd.Context(), id, "cli")
			if err != nil {
				return cliError(err)
			}
			if asJSON {
				d := newNotificationDetail(n)
				d.ReplayOf = id
				return printJSON(app.Stdout, d)
			}
			w := plainWriter{app.Stdout}
			fmt.Fprintf(w, "Notification %d replayed as %d: %s", id, n.ID, n.Verdict)
			if n.Reason != "" {
				fmt.Fprintf(w, " (%s)", oneLine(n.Reason))
			}
			fmt.Fprintln(w)
			if n.Changes != "" {
				fmt.Fprintf(w, "Changes  %s\n", oneLine(n.Changes))
			}
			if n.OrderID != 0 {
				fmt.Fprintf(w, "Order    %d\n", n.OrderID)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the replay as JSON")
	return cmd
}

func notificationID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id < 1 {
		return 0, fmt.Errorf("%q is not a notification id", s)
	}
	return id, nil
}

func printNotification(out io.Writer, n *vend.Notification) {
	// Everything here came from the network: no escape sequence of a sender's
	// may reach the operator's terminal.
	w := plainWriter{out}
	fmt.Fprintf(w, "Notification %d  %s  %s\n", n.ID, n.Provider, n.Verdict)
	order := "-"
	if n.OrderID != 0 {
		order = strconv.FormatInt(n.OrderID, 10)
	}
	for _, f := range [][2]string{
		{"Reason", n.Reason}, {"Changes", n.Changes}, {"Key", n.Key}, {"Order", order},
		{"Received", n.ReceivedAt.Format("2006-01-02 15:04:05.000 MST")}, {"From", n.RemoteAddr},
	} {
		fmt.Fprintf(w, "%-9s %s\n", f[0], dash(oneLine(f[1])))
	}
	fmt.Fprintln(w, "\nHeaders")
	for _, name := range slices.Sorted(maps.Keys(n.Headers)) {
		for _, v := range n.Headers[name] {
			fmt.Fprintf(w, "  %s: %s\n", oneLine(name), oneLine(v))
		}
	}
	if n.Trimmed() { // it failed verification: only its first part is kept
		fmt.Fprintf(w, "\nBody (the first %d of %d bytes, sha256 %s)\n", len(n.Body), n.Size, n.SHA256)
	} else {
		fmt.Fprintf(w, "\nBody (%d bytes)\n", len(n.Body))
	}
	body := string(n.Body)
	if body != "" && !strings.HasSuffix(body, "\n") {
		body += "\n"
	}
	io.WriteString(w, body) // in one write: plainWriter sees whole characters
}

// oneLine keeps a value on its line and in its column: newlines and tabs
// become spaces.
func oneLine(s string) string {
	return strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ", "\t", " ").Replace(s)
}

func joinNonEmpty(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, "; ")
}

func verdictList() string {
	s := make([]string, len(verdicts))
	for i, v := range verdicts {
		s[i] = string(v)
	}
	return strings.Join(s, ", ")
}
