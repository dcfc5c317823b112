package web

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/vend-shop/vend/delivery"
	"github.com/vend-shop/vend/metrics"
)

const metricsToken = "test-metrics-token-0123456789"

// withMetrics wires a fresh registry into the server, as vend serve does.
func withMetrics(s *Server) {
	reg := prometheus.NewRegistry()
	m := metrics.New(reg, s.DB)
	s.Intake.Metrics, s.Delivery.Metrics, s.Metrics = m, m, m
	s.MetricsHandler, s.MetricsToken = metrics.Handler(reg), metricsToken
}

// scrape fetches /metrics as Prometheus does and parses it with Prometheus'
// own text parser.
func (e *testEnv) scrape() map[string]*dto.MetricFamily {
	e.tb.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.HTTP.URL+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+metricsToken)
	req.Header.Set("Accept", "text/plain; version=0.0.4")
	resp, err := e.client.Do(req)
	if err != nil {
		e.tb.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		e.tb.Fatalf("scrape: %d", resp.StatusCode)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		e.tb.Fatalf("the scrape does not parse: %v", err)
	}
	return families
}

// value is the value of the sample of family name whose labels include
// labels ("k=v" pairs); -1 when there is none.
func value(families map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	f := families[name]
	if f == nil {
		return -1
	}
next:
	for _, m := range f.GetMetric() {
		for _, want := range labels {
			k, v, _ := strings.Cut(want, "=")
			found := false
			for _, l := range m.GetLabel() {
				found = found || l.GetName() == k && l.GetValue() == v
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	return -1
}

// TestMetrics_Scrape: /metrics answers only the bearer of the token, parses
// with Prometheus' text parser, and its counters move as a purchase, a
// download and a refused request happen.
func TestMetrics_Scrape(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, withMetrics)
	if a := e.Get("/metrics"); a.Status != http.StatusUnauthorized {
		t.Errorf("/metrics without the token: %d", a.Status)
	}
	before := e.scrape()
	if v := value(before, "vend_downloads_total", "event=started"); v != 0 {
		t.Errorf("downloads started before any: %v, want 0", v)
	}
	for _, name := range []string{"go_goroutines", "vend_outbox_depth", "vend_transfers_in_progress"} {
		if before[name] == nil {
			t.Errorf("the scrape lacks %s", name)
		}
	}

	e.MustPostIPN(sample(t, "p1"))
	g := e.Order(p1Txn).grant("EBOOK-001")
	if f := e.Get(e.FilePath(g)); f.Status != http.StatusOK {
		t.Fatalf("download: %d", f.Status)
	}
	e.Flush()
	e.Clock.Add(delivery.DefaultSessionTimeout + time.Minute)
	if _, err := e.Delivery.Sweep(t.Context()); err != nil {
		t.Fatal(err)
	}
	e.PostIPN([]byte("not a paypal message"))

	after := e.scrape()
	for _, tt := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"vend_notifications_total", []string{"provider=paypal", "verdict=applied"}, 1},
		{"vend_intake_duration_seconds", []string{"provider=paypal"}, 2},
		{"vend_downloads_total", []string{"event=started"}, 1},
		{"vend_downloads_total", []string{"event=completed"}, 1},
		{"vend_downloads_total", []string{"event=given_back"}, 0},
		{"vend_transfers_in_progress", nil, 0},
	} {
		if got := value(after, tt.name, tt.labels...); got != tt.want {
			t.Errorf("%s%v = %v, want %v", tt.name, tt.labels, got, tt.want)
		}
	}
	if got := value(after, "vend_download_bytes_total", "mode=direct"); got < float64(len(catalogProducts[0].Content)) {
		t.Errorf("bytes served directly: %v, want at least the file's %d", got, len(catalogProducts[0].Content))
	}
	if got := value(after, "vend_notifications_total", "provider=paypal"); got < 1 {
		t.Errorf("notifications: %v", got)
	}
	var refusedVerdicts float64
	for _, m := range after["vend_notifications_total"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "verdict" && l.GetValue() != "applied" {
				refusedVerdicts += m.Counter.GetValue()
			}
		}
	}
	if refusedVerdicts != 1 {
		t.Errorf("the unreadable message is counted %v times under another verdict, want 1", refusedVerdicts)
	}
}
