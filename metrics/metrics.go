// Package metrics is vend's Prometheus metrics: one Metrics that implements
// what intake, delivery, the mailer and web report (each declares its own
// small interface), the database's commit times, and gauges read from the
// store at each scrape (the outbox). cmd/vend wires it; docs/metrics.md
// lists every metric with a sample scrape and alert rules.
package metrics

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/store"
)

// Metrics holds vend's collectors, registered on one registry.
type Metrics struct {
	notifications  *prometheus.CounterVec
	intakeSeconds  *prometheus.HistogramVec
	postbackFailed *prometheus.CounterVec
	downloads      *prometheus.CounterVec
	bytes          *prometheus.CounterVec
	transfers      prometheus.Gauge
	mail           *prometheus.CounterVec
	refusals       *prometheus.CounterVec
	commitSeconds  prometheus.Histogram
}

// New registers vend's metrics, the Go runtime's and the process's on reg.
// db, when not nil, is read at each scrape for the outbox's depth and the
// age of its oldest message.
func New(reg prometheus.Registerer, db store.DB) *Metrics {
	m := &Metrics{
		notifications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vend_notifications_total",
			Help: "Provider messages received, by provider and verdict (applied, duplicate, rejected, invalid, error, failed).",
		}, []string{"provider", "verdict"}),
		intakeSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "vend_intake_duration_seconds",
			Help:    "Time from a provider message's arrival to its verdict (verification, a PayPal postback included).",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"provider"}),
		postbackFailed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vend_postback_failures_total",
			Help: "Messages whose provider could not be asked back to verify them (PayPal unreachable); the provider resends.",
		}, []string{"provider"}),
		downloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vend_downloads_total",
			Help: "Downloads by event: started (counted against a limit), completed, given_back (delivered too little).",
		}, []string{"event"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vend_download_bytes_total",
			Help: "Bytes of files sent by vend (direct) or handed off to nginx (x-accel) or the object store (redirect).",
		}, []string{"mode"}),
		transfers: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "vend_transfers_in_progress",
			Help: "File transfers vend is sending itself right now.",
		}),
		mail: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vend_mail_attempts_total",
			Help: "Mail attempts by kind and outcome (sent, skipped, retry, failed).",
		}, []string{"kind", "outcome"}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vend_limiter_refusals_total",
			Help: "Requests refused by a budget per client: provider, link, links, license, login.",
		}, []string{"budget"}),
		commitSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "vend_db_commit_duration_seconds",
			Help:    "Time a write transaction's commit took.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
		}),
	}
	reg.MustRegister(m.notifications, m.intakeSeconds, m.postbackFailed, m.downloads, m.bytes, m.transfers, m.mail,
		m.refusals, m.commitSeconds, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if db != nil {
		reg.MustRegister(&outbox{db: db})
	}
	// Counters that should read 0 before anything happened, so alerts on
	// their rate work from the start.
	for _, e := range []string{"started", "completed", "given_back"} {
		m.downloads.WithLabelValues(e)
	}
	return m
}

// Handler answers a scrape of the registry g.
func Handler(g prometheus.Gatherer) http.Handler {
	return promhttp.HandlerFor(g, promhttp.HandlerOpts{})
}

// Notification counts a provider message (intake.Metrics).
func (m *Metrics) Notification(provider, verdict string, d time.Duration) {
	m.notifications.WithLabelValues(provider, verdict).Inc()
	m.intakeSeconds.WithLabelValues(provider).Observe(d.Seconds())
}

// PostbackFailed counts a postback that could not be made (intake.Metrics).
func (m *Metrics) PostbackFailed(provider string) { m.postbackFailed.WithLabelValues(provider).Inc() }

// DownloadStarted counts a download charged to a limit (delivery.Metrics).
func (m *Metrics) DownloadStarted() { m.downloads.WithLabelValues("started").Inc() }

// DownloadClosed counts a download session the sweep closed (delivery.Metrics).
func (m *Metrics) DownloadClosed(completed, givenBack bool) {
	if completed {
		m.downloads.WithLabelValues("completed").Inc()
	}
	if givenBack {
		m.downloads.WithLabelValues("given_back").Inc()
	}
}

// BytesServed counts bytes of files by delivery mode (delivery.Metrics).
func (m *Metrics) BytesServed(mode string, n int64) {
	if n > 0 {
		m.bytes.WithLabelValues(mode).Add(float64(n))
	}
}

// TransferStarted counts a transfer in progress until done (delivery.Metrics).
func (m *Metrics) TransferStarted() (done func()) {
	m.transfers.Inc()
	return m.transfers.Dec
}

// MailAttempt counts a mail attempt (mailer.Metrics).
func (m *Metrics) MailAttempt(kind vend.MailKind, outcome string) {
	m.mail.WithLabelValues(string(kind), outcome).Inc()
}

// Refused counts a request a budget refused (web.Metrics).
func (m *Metrics) Refused(budget string) { m.refusals.WithLabelValues(budget).Inc() }

// ObserveCommit records a write commit's time (the stores' ObserveCommit).
func (m *Metrics) ObserveCommit(d time.Duration) { m.commitSeconds.Observe(d.Seconds()) }

// outbox reads the outbox's depth and oldest message at each scrape.
type outbox struct{ db store.DB }

var (
	outboxDepth = prometheus.NewDesc("vend_outbox_depth", "Mail messages queued to be sent.", nil, nil)
	outboxAge   = prometheus.NewDesc("vend_outbox_oldest_age_seconds",
		"Age of the oldest queued mail message; 0 when none is queued.", nil, nil)
)

func (o *outbox) Describe(ch chan<- *prometheus.Desc) { ch <- outboxDepth; ch <- outboxAge }

// Collect reads the store with a short timeout: a scrape must not hang on a
// busy database. A failed read leaves the two gauges out of this scrape.
func (o *outbox) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var n int
	var oldest time.Time
	err := o.db.View(ctx, func(tx store.Tx) error {
		var err error
		n, oldest, err = tx.OutboxDepth(ctx)
		return err
	})
	if err != nil {
		ch <- prometheus.NewInvalidMetric(outboxDepth, err)
		return
	}
	age := 0.0
	if !oldest.IsZero() {
		age = time.Since(oldest).Seconds()
	}
	ch <- prometheus.MustNewConstMetric(outboxDepth, prometheus.GaugeValue, float64(n))
	ch <- prometheus.MustNewConstMetric(outboxAge, prometheus.GaugeValue, age)
}
