package main

import (
	"context"
	"fmt"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/ledger"
	"github.com/vend-shop/vend/store"
	"github.com/vend-shop/vend/webhook"
)

// newDispatcher sends the shop's outgoing webhooks; an endpoint it turns off
// after days of failures is told to the owner by mail, in the same
// transaction.
func (a *App) newDispatcher(led *ledger.Ledger) *webhook.Dispatcher {
	return &webhook.Dispatcher{
		DB:           a.DB,
		Logger:       a.Logger,
		AllowPrivate: a.Config.WebhooksAllowPrivate,
		// With SQLite this is the only server: what a crash left claimed is
		// sent again at once instead of after its lease.
		ReleaseAtStart: a.Config.Database == "",
		Disabled: func(ctx context.Context, tx store.Tx, e *vend.WebhookEndpoint, reason string) error {
			return led.NotifyOwnerIn(ctx, tx, vend.MailWebhookOff, webhook.Target(e.ID)+"|"+strconv.FormatInt(e.UpdatedAt.UnixMilli(), 10),
				map[string]string{vend.MailDataEndpoint: strconv.FormatInt(e.ID, 10), vend.MailDataURL: e.URL, vend.MailDataReason: reason})
		},
	}
}

// vend webhooks: the seller's outgoing webhook endpoints from the shell
// (docs/webhooks.md).
func newWebhooksCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{Use: "webhooks", Short: "Outgoing webhooks: endpoints, their secrets, deliveries and replays"}
	cmd.AddCommand(newWebhooksListCmd(app), newWebhooksAddCmd(app), newWebhooksShowCmd(app), newWebhooksEditCmd(app))
	for _, a := range []struct {
		action webhook.Action
		short  string
	}{
		{webhook.Enable, "Turn an endpoint on again (also one vend turned off after failures)"},
		{webhook.Disable, "Turn an endpoint off: its events wait until it is on again"},
		{webhook.Rotate, "Give an endpoint a new secret; the old one also signs for 24 hours"},
		{webhook.Delete, "Delete an endpoint with its deliveries and their log"},
	} {
		cmd.AddCommand(newWebhookChangeCmd(app, a.action, a.short))
	}
	cmd.AddCommand(newWebhooksDeliveriesCmd(app), newWebhooksDeliveryCmd(app), newWebhooksReplayCmd(app))
	return cmd
}

// withID is the RunE of a command whose one argument is the number of an
// endpoint or a delivery (what): it opens the data directory for fn.
func withID(app *App, what string, fn func(cmd *cobra.Command, id int64) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		id, err := strconv.ParseInt(args[0], 10, 64)
		if err != nil || id <= 0 {
			return fmt.Errorf("%s %q: use its number", what, args[0])
		}
		if err := app.open(cmd.Context()); err != nil {
			return err
		}
		defer app.close()
		return fn(cmd, id)
	}
}

func newWebhooksListCmd(app *App) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the webhook endpoints",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := app.open(cmd.Context()); err != nil {
				return err
			}
			defer app.close()
			es, err := webhook.List(cmd.Context(), app.DB)
			if err != nil {
				return cliError(err)
			}
			if asJSON {
				return printJSON(app.Stdout, es)
			}
			tw := tabwriter.NewWriter(plainWriter{app.Stdout}, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tURL\tEVENTS\tSTATE")
			for _, e := range es {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", e.ID, e.URL, joinEvents(e.Events), endpointState(e))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print as JSON")
	return cmd
}

func endpointState(e *vend.WebhookEndpoint) string {
	if e.Disabled {
		return "off: " + oneLine(e.DisabledReason)
	}
	return "on"
}

func joinEvents(evs []vend.WebhookEvent) string {
	s := ""
	for i, e := range evs {
		if i > 0 {
			s += ","
		}
		s += string(e)
	}
	return s
}

func eventsHelp() string { return "an event to send, repeatable: " + joinEvents(vend.WebhookEvents()) }

func newWebhooksAddCmd(app *App) *cobra.Command {
	var f webhook.Fields
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "add URL --event order.paid [--event …] [--description TEXT]",
		Short: "Add a webhook endpoint; prints its secret (whsec_…) for the receiver",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := app.open(cmd.Context()); err != nil {
				return err
			}
			defer app.close()
			f.URL = args[0]
			if f.Events == nil {
				f.Events = []string{}
			}
			e, err := webhook.Create(cmd.Context(), app.DB, cliActor, f)
			if err != nil {
				return cliError(err)
			}
			return printEndpoint(app, webhook.DetailOf(e, time.Now()), asJSON)
		},
	}
	cmd.Flags().StringArrayVar(&f.Events, "event", nil, eventsHelp())
	cmd.Flags().StringVar(&f.Description, "description", "", "what the endpoint is for")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print as JSON")
	return cmd
}

func newWebhooksShowCmd(app *App) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Show an endpoint with its secret and its latest deliveries",
		Args:  cobra.ExactArgs(1),
		RunE: withID(app, "endpoint", func(cmd *cobra.Command, id int64) error {
			d, err := webhook.Find(cmd.Context(), app.DB, id, time.Now())
			if err != nil {
				return cliError(err)
			}
			if err := printEndpoint(app, d, asJSON); err != nil || asJSON {
				return err
			}
			ds, err := webhook.Deliveries(cmd.Context(), app.DB, store.DeliveryFilter{EndpointID: &id, Limit: 10})
			if err != nil {
				return cliError(err)
			}
			fmt.Fprintln(app.Stdout)
			return printDeliveries(app, ds)
		}),
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print as JSON")
	return cmd
}

func printEndpoint(app *App, d *webhook.Detail, asJSON bool) error {
	if asJSON {
		return printJSON(app.Stdout, d)
	}
	w := plainWriter{app.Stdout}
	fmt.Fprintf(w, "Endpoint %d  %s  %s\nEvents %s\nSecret %s\n", d.ID, d.URL, endpointState(d.WebhookEndpoint), joinEvents(d.Events), d.Secret)
	if d.PreviousSecret != "" {
		fmt.Fprintf(w, "Previous secret %s  signs too until %s\n", d.PreviousSecret, d.PreviousUntil.UTC().Format("2006-01-02 15:04 MST"))
	}
	if d.Description != "" {
		fmt.Fprintf(w, "Description %s\n", oneLine(d.Description))
	}
	return nil
}

func newWebhooksEditCmd(app *App) *cobra.Command {
	var f webhook.Fields
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "edit ID [--url URL] [--event E …] [--description TEXT]",
		Short: "Change an endpoint's URL, events or description",
		Args:  cobra.ExactArgs(1),
		RunE: withID(app, "endpoint", func(cmd *cobra.Command, id int64) error {
			cur, err := webhook.Find(cmd.Context(), app.DB, id, time.Now())
			if err != nil {
				return cliError(err)
			}
			if !cmd.Flags().Changed("description") {
				f.Description = cur.Description
			}
			e, err := webhook.Change(cmd.Context(), app.DB, cliActor, id, "", &f, time.Now())
			if err != nil {
				return cliError(err)
			}
			return printEndpoint(app, webhook.DetailOf(e, time.Now()), asJSON)
		}),
	}
	cmd.Flags().StringVar(&f.URL, "url", "", "the new URL")
	cmd.Flags().StringArrayVar(&f.Events, "event", nil, eventsHelp()+" (replaces the events)")
	cmd.Flags().StringVar(&f.Description, "description", "", "what the endpoint is for")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print as JSON")
	return cmd
}

func newWebhookChangeCmd(app *App, action webhook.Action, short string) *cobra.Command {
	return &cobra.Command{
		Use:   string(action) + " ID",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: withID(app, "endpoint", func(cmd *cobra.Command, id int64) error {
			e, err := webhook.Change(cmd.Context(), app.DB, cliActor, id, action, nil, time.Now())
			if err != nil {
				return cliError(err)
			}
			if e == nil {
				fmt.Fprintf(app.Stdout, "Endpoint %d deleted\n", id)
				return nil
			}
			return printEndpoint(app, webhook.DetailOf(e, time.Now()), false)
		}),
	}
}

func newWebhooksDeliveriesCmd(app *App) *cobra.Command {
	var endpoint, before int64
	var status string
	var limit int
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "deliveries [--endpoint ID] [--status pending|delivered|failed] [--limit 50] [--before ID]",
		Short: "List webhook deliveries, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := app.open(cmd.Context()); err != nil {
				return err
			}
			defer app.close()
			f := store.DeliveryFilter{Before: before, Limit: limit}
			if endpoint > 0 {
				f.EndpointID = &endpoint
			}
			if status != "" {
				st := vend.WebhookStatus(status)
				f.Status = &st
			}
			ds, err := webhook.Deliveries(cmd.Context(), app.DB, f)
			if err != nil {
				return cliError(err)
			}
			if asJSON {
				return printJSON(app.Stdout, ds)
			}
			if err := printDeliveries(app, ds); err != nil {
				return err
			}
			if len(ds) == limit {
				fmt.Fprintf(app.Stdout, "more: --before %d\n", ds[len(ds)-1].ID)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.Int64Var(&endpoint, "endpoint", 0, "only this endpoint's deliveries")
	f.StringVar(&status, "status", "", "only deliveries in this state: pending, delivered or failed")
	f.IntVar(&limit, "limit", 50, "how many")
	f.Int64Var(&before, "before", 0, "only deliveries with a smaller id: the next page")
	f.BoolVar(&asJSON, "json", false, "print as JSON")
	return cmd
}

func printDeliveries(app *App, ds []*vend.WebhookDelivery) error {
	tw := tabwriter.NewWriter(plainWriter{app.Stdout}, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DELIVERY\tENDPOINT\tEVENT\tSTATUS\tATTEMPTS\tLAST ANSWER\tCREATED")
	for _, d := range ds {
		answer := "-"
		if d.LastStatus != 0 {
			answer = strconv.Itoa(d.LastStatus)
		} else if d.LastError != "" {
			answer = oneLine(d.LastError)
		}
		fmt.Fprintf(tw, "%d\t%d\t%s\t%s\t%d\t%s\t%s\n", d.ID, d.EndpointID, d.Event, d.Status, d.Attempts, answer,
			d.CreatedAt.UTC().Format("2006-01-02 15:04:05"))
	}
	return tw.Flush()
}

func newWebhooksDeliveryCmd(app *App) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "delivery ID",
		Short: "Show a delivery: its body and every attempt, with what was sent and what came back",
		Args:  cobra.ExactArgs(1),
		RunE: withID(app, "delivery", func(cmd *cobra.Command, id int64) error {
			r, err := webhook.FindRecord(cmd.Context(), app.DB, id)
			if err != nil {
				return cliError(err)
			}
			if asJSON {
				return printJSON(app.Stdout, r)
			}
			w := plainWriter{app.Stdout}
			fmt.Fprintf(w, "Delivery %d  %s  %s  endpoint %d  webhook-id %s\n%s\n", r.ID, r.Event, r.Status, r.EndpointID, r.MessageID, r.Payload)
			for i, a := range r.Attempts {
				fmt.Fprintf(w, "\nAttempt %d at %s, %s\n--- sent\n%s\n--- answer\n%s\n", i+1, a.At.UTC().Format("2006-01-02 15:04:05"),
					a.Duration.Round(time.Millisecond), a.Request, a.Response)
			}
			return nil
		}),
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print as JSON")
	return cmd
}

func newWebhooksReplayCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "replay DELIVERY",
		Short: "Send a delivery's event again, as a new delivery at the end of its endpoint's queue",
		Args:  cobra.ExactArgs(1),
		RunE: withID(app, "delivery", func(cmd *cobra.Command, id int64) error {
			d, err := webhook.Replay(cmd.Context(), app.DB, cliActor, id)
			if err != nil {
				return cliError(err)
			}
			fmt.Fprintf(app.Stdout, "Delivery %d queued (%s, webhook-id %s); a running vend sends it within seconds\n", d.ID, d.Event, d.MessageID)
			return nil
		}),
	}
}
