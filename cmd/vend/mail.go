package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/config"
	"github.com/vend-shop/vend/delivery"
	"github.com/vend-shop/vend/ledger"
	"github.com/vend-shop/vend/mailer"
	"github.com/vend-shop/vend/store"
)

// templates loads the mail templates: the embedded ones, and the seller's
// overrides from data_dir/templates. A broken one stops vend at start, not at
// the first sale.
func (a *App) templates() (*mailer.Templates, error) {
	dir := filepath.Join(a.Config.DataDir, "templates")
	t, err := mailer.Load(dir)
	if err != nil {
		return nil, fmt.Errorf("mail templates: %w", err)
	}
	if o := t.Overrides(); len(o) > 0 {
		a.Logger.Info("mail templates overridden", "dir", dir, "files", o)
	}
	return t, nil
}

// mailWorker builds the worker that sends the outbox, or nil when smtp.url is
// not set, and turns on the ledger's outbox to match.
func (a *App) mailWorker(led *ledger.Ledger) (*mailer.Worker, error) {
	t, err := a.templates()
	if err != nil {
		return nil, err
	}
	cfg := a.Config
	sender, err := mailSender(cfg)
	if err != nil {
		return nil, err
	}
	if sender == nil {
		a.Logger.Info("smtp.url is not set: vend sends no mail")
		return nil, nil
	}
	if mb, ok := sender.(*mailer.Mailbox); ok {
		// A live shop left on the mailbox would leave its buyers without receipts.
		a.Logger.Warn("smtp.url is mailbox: mail goes to the mailbox in the admin (/admin/mailbox), not to buyers", "dir", mb.Dir)
	}
	w := &mailer.Worker{
		DB: a.DB, Sender: sender, Templates: t, From: cfg.SMTP.From, BaseURL: cfg.BaseURL, RetryFor: cfg.SMTP.RetryFor,
		Backoff: cfg.SMTP.RetryAfter,
		PageURL: func(publicID string) string { return delivery.PagePath(a.Secret, publicID) },
		Logger:  a.Logger,
		// With SQLite this is the only server: what a crash left claimed is
		// retried at once instead of after its lease.
		RetryAtStart: cfg.Database == "",
	}
	w.ShopName = cfg.ShopIdentity().Name
	led.Mail, led.OwnerEmail, led.Mailed = true, cfg.OwnerEmail, w.Kick
	return w, nil
}

// mailSender is where smtp.url sends mail: the SMTP server, the development
// mailbox in data_dir/mailbox for "mailbox:", or nil when it is not set. Its
// errors never show the password (mailer.NewSMTP hides it).
func mailSender(cfg config.Config) (mailer.Sender, error) {
	c := cfg.SMTP
	switch c.URL {
	case "":
		return nil, nil
	case mailer.MailboxURL:
		return mailer.NewMailbox(mailboxDir(cfg)), nil
	}
	sender, err := mailer.NewSMTP(mailer.SMTPConfig{URL: c.URL, StartTLS: c.StartTLS})
	if err != nil {
		return nil, fmt.Errorf("smtp.url: %w", err)
	}
	return sender, nil
}

// mailboxDir is where the development mailbox keeps its messages.
func mailboxDir(cfg config.Config) string { return filepath.Join(cfg.DataDir, "mailbox") }

// mailbox is the development mailbox mw sends to, or nil when it sends
// elsewhere (or there is no worker).
func mailbox(mw *mailer.Worker) *mailer.Mailbox {
	if mw == nil {
		return nil
	}
	mb, _ := mw.Sender.(*mailer.Mailbox)
	return mb
}

func newMailCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{Use: "mail", Short: "Look at, retry and preview the mail vend sends"}
	cmd.AddCommand(newMailListCmd(app), newMailRetryCmd(app), newMailPreviewCmd(app))
	return cmd
}

func newMailListCmd(app *App) *cobra.Command {
	var status, to string
	var limit int
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list [--status queued|sent|failed|skipped] [--to ADDRESS]",
		Short: "List the outbox, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := app.open(cmd.Context()); err != nil {
				return err
			}
			defer app.close()
			f := store.MailFilter{Limit: limit}
			if status != "" {
				s := vend.MailStatus(status)
				f.Status = &s
			}
			if to != "" {
				f.To = &to
			}
			var mails []*vend.Mail
			err := app.DB.View(cmd.Context(), func(tx store.Tx) error {
				var err error
				mails, err = tx.FindMails(cmd.Context(), f)
				return err
			})
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(app.Stdout, mails)
			}
			tw := tabwriter.NewWriter(plainWriter{app.Stdout}, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSTATUS\tKIND\tTO\tORDER\tATTEMPTS\tWHEN\tLAST ERROR")
			for _, m := range mails {
				// WHEN is when it went out, or for a queued message the next try.
				when := "-"
				switch {
				case m.Status == vend.MailSent:
					when = "sent " + m.SentAt.Format(time.DateTime)
				case m.Status == vend.MailQueued:
					when = "next " + m.NextAttempt.Format(time.DateTime)
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%d\t%s\t%s\n", m.ID, m.Status, m.Kind, m.To, m.OrderID, m.Attempts, when, dash(m.LastError))
			}
			return tw.Flush()
		},
	}
	f := cmd.Flags()
	f.StringVar(&status, "status", "", "only messages with this status")
	f.StringVar(&to, "to", "", "only messages to this address")
	f.IntVar(&limit, "limit", 100, "at most this many")
	f.BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newMailRetryCmd(app *App) *cobra.Command {
	var failed bool
	cmd := &cobra.Command{
		Use:   "retry [ID ...] [--failed]",
		Short: "Send queued or failed messages again now",
		Long: `Make the given messages (or, with --failed, every failed one) due now and send
everything due, once, with the configured SMTP server. A failed message gets one
more attempt.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := app.open(cmd.Context()); err != nil {
				return err
			}
			defer app.close()
			w, err := app.mailWorker(ledger.New(app.DB))
			if err != nil {
				return err
			}
			if w == nil {
				return fmt.Errorf("smtp.url is not set: there is no server to send through")
			}
			ids, err := retryIDs(cmd.Context(), app, args, failed)
			if err != nil {
				return err
			}
			for _, id := range ids {
				if err := w.Requeue(cmd.Context(), id); err != nil {
					return cliError(err)
				}
			}
			sent, err := w.RunOnce(cmd.Context())
			fmt.Fprintf(app.Stdout, "%d message(s) sent\n", sent)
			return err
		},
	}
	cmd.Flags().BoolVar(&failed, "failed", false, "retry every failed message")
	return cmd
}

func retryIDs(ctx context.Context, app *App, args []string, failed bool) ([]int64, error) {
	var ids []int64
	for _, a := range args {
		id, err := strconv.ParseInt(a, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a message id", a)
		}
		ids = append(ids, id)
	}
	if !failed {
		return ids, nil
	}
	st := vend.MailFailed
	err := app.DB.View(ctx, func(tx store.Tx) error {
		mails, err := tx.FindMails(ctx, store.MailFilter{Status: &st, Limit: 10000})
		for _, m := range mails {
			ids = append(ids, m.ID)
		}
		return err
	})
	return ids, err
}

func newMailPreviewCmd(app *App) *cobra.Command {
	var lang string
	var html, asJSON bool
	cmd := &cobra.Command{
		Use:   "preview KIND [--lang de] [--html]",
		Short: "Render a message with sample data, with the data directory's template overrides",
		Long: `Render one kind of message with sample data, as vend would send it, using the
templates in data_dir/templates where there are any. Kinds: receipt, pending,
ended, links, new-version, renewal, license-keys, owner-sale, owner-refund,
owner-chargeback, owner-forgeries, owner-refused, owner-license-keys.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := app.loadConfig(); err != nil {
				return err
			}
			t, err := app.templates()
			if err != nil {
				return err
			}
			m, err := t.Preview(vend.MailKind(args[0]), lang)
			if err != nil {
				return cliError(err)
			}
			if asJSON {
				return printJSON(app.Stdout, m)
			}
			body := m.Text
			if html {
				body = m.HTML
			}
			_, err = fmt.Fprintf(app.Stdout, "Subject: %s\n\n%s\n", m.Subject, body)
			return err
		},
	}
	cmd.Flags().StringVar(&lang, "lang", "en", "language: en or de")
	cmd.Flags().BoolVar(&html, "html", false, "print the HTML part instead of the plain text")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
