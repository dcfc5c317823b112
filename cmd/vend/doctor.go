package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/vend-shop/vend/delivery"
	"github.com/vend-shop/vend/mailer"
	"github.com/vend-shop/vend/store"
)

// A check is one thing vend doctor and the start-up self-test look at. A
// fatal one that fails stops vend serve: buyers would get nothing, or the
// wrong bytes. The others are warnings at start, failures in vend doctor.
type check struct {
	name  string
	fatal bool
	run   func(ctx context.Context) error
}

// errSkipped marks a check that does not apply to this configuration.
type errSkipped struct{ why string }

func (e errSkipped) Error() string { return e.why }

// checks are the checks of a vend whose server is srv's parts: its database,
// its delivery (storage and the serving path) and its mail sender.
func (a *App) checks(dl *delivery.Service, sender mailer.Sender) []check {
	cfg := a.Config
	client := &http.Client{Timeout: 10 * time.Second}
	return []check{
		{"data directory", true, func(context.Context) error { return writableDir(cfg.DataDir) }},
		{"database", true, func(ctx context.Context) error {
			return a.DB.Update(ctx, func(tx store.Tx) error {
				return tx.PutSetting(ctx, "self_test_at", time.Now().UTC().Format(time.RFC3339))
			})
		}},
		{"storage and the serving path (" + dl.Mode() + ")", true, func(ctx context.Context) error {
			return dl.SelfTest(ctx, client, cfg.Delivery.SelfTestURL)
		}},
		{"mail", false, func(ctx context.Context) error {
			type checker interface{ Check(context.Context) error }
			c, ok := sender.(checker)
			if !ok {
				return errSkipped{"smtp.url is not set: vend sends no mail"}
			}
			return c.Check(ctx)
		}},
		{"base_url", false, func(context.Context) error {
			if len(a.configuredProviders()) == 0 {
				return errSkipped{"no payment provider is configured"}
			}
			if why := unreachable(cfg.BaseURL); why != "" {
				return fmt.Errorf("%s, but providers send their messages there: set base_url to the shop's public https:// address", why)
			}
			return nil
		}},
		{"clock", false, func(context.Context) error {
			if now := time.Now(); now.Year() < 2025 || now.Year() > 2100 {
				return fmt.Errorf("the clock says %s: signatures and links are checked against it; set the time (NTP)", now.Format(time.RFC3339))
			}
			return nil
		}},
	}
}

// writableDir makes sure vend can create files in dir.
func writableDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("data_dir %s cannot be made: %w; point data_dir at a directory vend's user may write", dir, err)
	}
	f, err := os.CreateTemp(dir, ".vend-self-test-*")
	if err != nil {
		return fmt.Errorf("data_dir %s is not writable: %w; vend keeps its ledger, secret and files there: fix its owner or mode", dir, err)
	}
	f.Close()
	return os.Remove(f.Name())
}

// checkResult is one check's outcome.
type checkResult struct {
	check
	err error
}

func (r checkResult) skipped() bool { var s errSkipped; return errors.As(r.err, &s) }

// runChecks runs every check, each within 30 seconds.
func runChecks(ctx context.Context, checks []check) []checkResult {
	out := make([]checkResult, len(checks))
	for i, c := range checks {
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		out[i] = checkResult{check: c, err: c.run(cctx)}
		cancel()
	}
	return out
}

// selfTest runs the checks as vend serve starts: a fatal one that fails
// stops it, with what to fix; the others are logged as warnings. The mail
// server is left to vend doctor: the worker retries for days, and a slow
// server must not hold the start up.
func (a *App) selfTest(ctx context.Context, dl *delivery.Service) error {
	var fatal []error
	var checks []check
	for _, c := range a.checks(dl, nil) {
		if c.name != "mail" {
			checks = append(checks, c)
		}
	}
	for _, r := range runChecks(ctx, checks) {
		switch {
		case r.err == nil || r.skipped():
		case r.fatal && !errors.Is(r.err, delivery.ErrNoSelfTestURL):
			fatal = append(fatal, fmt.Errorf("%s: %w", r.name, r.err))
		default:
			a.Logger.Warn("self-test: "+r.name, "problem", r.err)
		}
	}
	if len(fatal) > 0 {
		return fmt.Errorf("self-test failed, vend does not start (vend doctor checks again): %w", errors.Join(fatal...))
	}
	return nil
}

func newDoctorCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "doctor",
		Short: "Check what vend serve needs: data directory, database, storage and the serving path, mail, base_url, clock",
		Long: `Check what vend serve needs, and say what to fix:

  data directory   vend can write data_dir
  database         a write commits
  storage          a test file is stored and read back the way buyers get files:
                   direct from storage, from a presigned URL (redirect), or through
                   nginx at delivery.self_test_url (x-accel); the bytes must match
  mail             the SMTP server takes a connection and the login (nothing is sent)
  base_url         providers can reach it (not loopback or a private address)
  clock            the time is plausible

vend serve runs the same checks but mail when it starts, and refuses to start when
the data directory, the database or the serving path is broken. For x-accel, vend doctor
needs vend serve running behind nginx. Exits 1 if any check fails.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := app.open(cmd.Context()); err != nil {
				return err
			}
			defer app.close()
			dcfg, err := deliveryConfig(app.Config.Delivery)
			if err != nil {
				return err
			}
			dl := delivery.New(app.DB, app.Blobs, app.Secret, dcfg)
			defer dl.Close()
			sender, err := mailSender(app.Config)
			if err != nil {
				return err
			}
			failed := 0
			w := plainWriter{app.Stdout}
			for _, r := range runChecks(cmd.Context(), app.checks(dl, sender)) {
				switch {
				case r.err == nil:
					fmt.Fprintf(w, "ok    %s\n", r.name)
				case r.skipped():
					fmt.Fprintf(w, "-     %s: %s\n", r.name, r.err)
				default:
					failed++
					fmt.Fprintf(w, "FAIL  %s: %s\n", r.name, r.err)
				}
			}
			if failed > 0 {
				return fmt.Errorf("%d check(s) failed", failed)
			}
			return nil
		},
	}
}
