package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/vend-shop/vend/account"
	"github.com/vend-shop/vend/blob/s3"
	"github.com/vend-shop/vend/config"
	"github.com/vend-shop/vend/delivery"
	"github.com/vend-shop/vend/ledger"
	"github.com/vend-shop/vend/license"
	"github.com/vend-shop/vend/mailer"
	"github.com/vend-shop/vend/metrics"
	"github.com/vend-shop/vend/store/postgres"
	"github.com/vend-shop/vend/store/sqlite"
	"github.com/vend-shop/vend/web"
)

func newServeCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Run the vend server",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := app.create(cmd.Context()); err != nil {
				return err
			}
			defer app.close()
			return app.serve(cmd.Context(), nil)
		},
	}
}

// shutdownGrace is how long running requests (downloads, IPNs) get to finish.
const shutdownGrace = 30 * time.Second

// serve runs the HTTP server until ctx ends, then shuts down gracefully: stop
// accepting, let requests finish, write the download log, close the database.
func (a *App) serve(ctx context.Context, demo *web.Demo) error {
	cfg := a.Config
	srv, mw, err := a.newServer(demo)
	if err != nil {
		return err
	}
	dl, led := srv.Delivery, srv.Ledger
	setupToken, err := account.SetupToken(ctx, a.DB) // "" once there is an administrator
	if err != nil {
		return fmt.Errorf("admin setup link: %w", err)
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s (listen): %w", cfg.Listen, err)
	}
	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		MaxHeaderBytes:    64 << 10,        // providers and browsers send a few KB
		ReadTimeout:       2 * time.Minute, // bodies are small; downloads are GETs
		IdleTimeout:       2 * time.Minute,
		// No WriteTimeout: a large download on a slow line may take hours.
		ErrorLog: slog.NewLogLogger(a.Logger.Handler(), slog.LevelWarn),
	}
	sweepCtx, stopSweep := context.WithCancel(context.Background())
	defer stopSweep()
	go dl.Run(sweepCtx, time.Minute)
	go a.newDispatcher(led).Run(sweepCtx)
	go a.pruneRefused(sweepCtx, led)
	if mw != nil {
		// Sends what earlier runs left queued at once, then whatever commits
		// kick it awake for.
		go mw.Run(sweepCtx)
	}
	go func() {
		// New-version releases a stop cut off go on where they were.
		if err := led.ResumeReleases(sweepCtx); err != nil && sweepCtx.Err() == nil {
			a.Logger.Error("releases not resumed", "error", err)
		}
	}()

	errc := make(chan error, 2)
	go func() { errc <- hs.Serve(ln) }()
	ms, err := a.serveMetrics(srv, errc)
	if err == nil {
		// With the server up, so that the check through nginx (x-accel)
		// reaches it.
		err = a.selfTest(ctx, dl)
	}
	if err != nil {
		hs.Close()
		if ms != nil {
			ms.Close()
		}
		stopSweep()
		dl.Close()
		return err
	}
	a.Logger.Info("vend listening", "addr", ln.Addr().String(), "base_url", cfg.BaseURL, "data_dir", cfg.DataDir,
		"delivery_mode", dl.Mode())
	fmt.Fprintf(a.Stdout, "vend listening on http://%s\n", ln.Addr())
	if setupToken != "" {
		fmt.Fprintf(a.Stdout, "Set up the first admin user: %s/admin/setup?token=%s\n", cfg.BaseURL, setupToken)
	}
	if len(cfg.PayPal.ReceiverEmails) == 0 && cfg.PayPal.ReceiverID == "" {
		a.Logger.Warn("paypal.receiver_emails and paypal.receiver_id are not set: every PayPal IPN will be refused")
	}

	select {
	case err := <-errc:
		stopSweep()
		dl.Close()
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	a.Logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	err = hs.Shutdown(sctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = hs.Close()
	}
	if ms != nil {
		ms.Close()
	}
	stopSweep()
	dl.Close()
	return err
}

// serveMetrics serves /metrics alone, without a token, on metrics.listen when
// it is set; its failure ends serve through errc.
func (a *App) serveMetrics(srv *web.Server, errc chan<- error) (*http.Server, error) {
	addr := a.Config.Metrics.Listen
	if addr == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s (metrics.listen): %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", srv.MetricsHandler)
	ms := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(a.Logger.Handler(), slog.LevelWarn)}
	go func() {
		if err := ms.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("metrics listener: %w", err)
		}
	}()
	a.Logger.Info("metrics listening", "addr", ln.Addr().String())
	return ms, nil
}

// pruneRefused deletes the refused notifications older than
// limits.keep_refused, at start and every hour, until ctx ends.
func (a *App) pruneRefused(ctx context.Context, led *ledger.Ledger) {
	tick := time.NewTicker(time.Hour)
	defer tick.Stop()
	for {
		n, err := led.PruneRefused(ctx, time.Now().Add(-a.Config.Limits.KeepRefused))
		if err != nil && ctx.Err() == nil {
			a.Logger.Error("refused notifications not pruned", "error", err)
		} else if n > 0 {
			a.Logger.Info("refused notifications pruned", "count", n, "older_than", a.Config.Limits.KeepRefused)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// newServer builds the web.Server from the configuration, with its ledger,
// delivery and providers: the one vend serve and vend demo run. It also
// returns the mail worker (nil while smtp.url is not set), which the caller
// runs if it wants mail sent; with smtp.url set, the ledger enqueues mail
// either way. The caller closes srv.Delivery.
func (a *App) newServer(demo *web.Demo) (*web.Server, *mailer.Worker, error) {
	cfg := a.Config
	dcfg, err := deliveryConfig(cfg.Delivery)
	if err != nil {
		return nil, nil, err
	}
	led, mw, err := a.newLedger()
	if err != nil {
		return nil, nil, err
	}
	dl := delivery.New(a.DB, a.Blobs, a.Secret, dcfg)
	dl.Logger = a.Logger
	in, err := a.newIntake(led)
	if err != nil {
		dl.Close()
		return nil, nil, err
	}
	srv := &web.Server{
		DB: a.DB, Ledger: led, Delivery: dl, Blobs: a.Blobs, Intake: in, BaseURL: cfg.BaseURL,
		LegacyLinks: !cfg.Delivery.DisableLegacyLinks, ReturnWindow: cfg.Delivery.ReturnWindow,
		IPNRate: cfg.Limits.IPNPerSecond, IPNBurst: cfg.Limits.IPNBurst, TrustedProxies: cfg.Proxies(),
		Demo: demo, Mailbox: mailbox(mw), Logger: a.Logger, Shop: web.Shop(cfg.ShopIdentity()),
		Licenses:         &license.Service{DB: a.DB, Signer: license.NewSigner(a.LicenseKey), Issuer: cfg.BaseURL},
		LicensePerMinute: cfg.Limits.LicensePerMinute, LicenseBurst: cfg.Limits.LicenseBurst,
	}
	a.wireMetrics(srv, mw)
	if err := srv.Init(); err != nil {
		dl.Close()
		return nil, nil, err
	}
	if w := cfg.Websale; w.Password != "" && w.FirstClick && demo == nil { // the demo shop has no export to import
		a.Logger.Warn(websaleFirstClickWarning)
	}
	return srv, mw, nil
}

// wireMetrics gives the server's parts one Prometheus registry to report to
// (package metrics), and the server its /metrics handler.
func (a *App) wireMetrics(srv *web.Server, mw *mailer.Worker) {
	reg := prometheus.NewRegistry()
	m := metrics.New(reg, a.DB)
	switch db := a.DB.(type) {
	case *sqlite.DB:
		db.ObserveCommit = m.ObserveCommit
	case *postgres.DB:
		db.ObserveCommit = m.ObserveCommit
	}
	srv.Intake.Metrics, srv.Delivery.Metrics, srv.Metrics = m, m, m
	if mw != nil {
		mw.Metrics = m
	}
	srv.MetricsHandler, srv.MetricsToken = metrics.Handler(reg), a.Config.Metrics.Token
}

// deliveryConfig is the delivery package's configuration, checked as
// delivery.New expects it.
func deliveryConfig(d config.Delivery) (delivery.Config, error) {
	dcfg := delivery.Config{
		SessionTimeout: d.SessionTimeout, SessionMax: d.SessionMax, GiveBackPercent: d.GiveBackPercent,
		Mode: d.Mode, XAccelPrefix: d.XAccelPrefix, RedirectTTL: d.RedirectTTL,
	}
	if err := dcfg.Validate(); err != nil {
		return delivery.Config{}, fmt.Errorf("delivery: %w", err)
	}
	return dcfg, nil
}

// checkServe builds what vend serve builds from the configuration alone, with
// the same functions, and drops it: the storage URL, the delivery settings,
// the mail templates, the SMTP sender and the providers. config.Load checks
// each value on its own; the packages that use a value may refuse more
// (mailer.NewSMTP a path in smtp.url, the WEBSALE decoder an unpinned
// setting). vend config check runs this, so that it accepts exactly what serve
// accepts short of connecting to the database and the bucket.
func (a *App) checkServe() error {
	var errs []error
	if a.Config.Storage != "" {
		if err := s3.CheckURL(a.Config.Storage); err != nil {
			errs = append(errs, err)
		}
	}
	if _, err := deliveryConfig(a.Config.Delivery); err != nil {
		errs = append(errs, err)
	}
	if _, err := a.templates(); err != nil {
		errs = append(errs, err)
	}
	if _, err := mailSender(a.Config); err != nil {
		errs = append(errs, err)
	}
	if _, err := providers(a.Config, a.Logger); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// newLedger is the ledger of this configuration, with the mail worker that
// sends what it queues (nil while smtp.url is not set): the ledger queues mail
// either way once smtp.url is set, whether or not the caller runs the worker.
func (a *App) newLedger() (*ledger.Ledger, *mailer.Worker, error) {
	led := ledger.New(a.DB)
	led.TermsVersion = a.Config.Shop.TermsVersion
	mw, err := a.mailWorker(led)
	if err != nil {
		return nil, nil, err
	}
	return led, mw, nil
}
