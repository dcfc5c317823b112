package web

import (
	"context"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/report"
	"github.com/vend-shop/vend/store"
)

// reportAdmin serves what the admin reads about the shop: the dashboard, the
// download counters, exports, statistics and the audit trail.
type reportAdmin struct{ *Server }

// handleAPIStats answers the report of `vend stats`: days (30), top (10),
// sort (attempts, downloads, last, email) and test (1: count test orders) as
// parameters.
func (s reportAdmin) handleAPIStats(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	days, err := apiInt(q.Get("days"), 30)
	if err != nil {
		return vend.Errorf(vend.EINVALID, "days: a number.")
	}
	top, err := apiInt(q.Get("top"), 10)
	if err != nil {
		return vend.Errorf(vend.EINVALID, "top: a number.")
	}
	stats, err := report.Stats(r.Context(), s.DB, s.Now(),
		report.StatsQuery{Days: days, Top: top, BuyerSort: q.Get("sort"), WithTest: q.Get("test") == "1"})
	if err != nil {
		return err
	}
	apiJSON(w, stats)
	return nil
}

// handleAPIAudit answers the audit trail, newest first: target ("order:7")
// and limit.
func (s reportAdmin) handleAPIAudit(w http.ResponseWriter, r *http.Request) error {
	f := store.AuditFilter{Target: strings.TrimSpace(r.URL.Query().Get("target"))}
	var err error
	if f.Limit, err = apiLimit(r.URL.Query().Get("limit")); err != nil {
		return err
	}
	var entries []*vend.AuditEntry
	err = s.DB.View(r.Context(), func(tx store.Tx) error {
		var err error
		entries, err = tx.FindAuditEntries(r.Context(), f)
		return err
	})
	if err != nil {
		return err
	}
	if entries == nil {
		entries = []*vend.AuditEntry{}
	}
	apiJSON(w, map[string]any{"entries": entries})
	return nil
}

type auditPage struct {
	adminView
	Target  string
	Entries []*vend.AuditEntry // shown as what changed (auditChanges)
	More    bool               // there may be older entries than those shown
}

const auditPageSize = 200

// handleAudit shows the audit trail, newest first, optionally of one target.
func (s reportAdmin) handleAudit(w http.ResponseWriter, r *http.Request) error {
	target := strings.TrimSpace(r.URL.Query().Get("target"))
	if len(target) > 200 {
		target = target[:200]
	}
	var entries []*vend.AuditEntry
	err := s.DB.View(r.Context(), func(tx store.Tx) error {
		var err error
		entries, err = tx.FindAuditEntries(r.Context(), store.AuditFilter{Target: target, Limit: auditPageSize})
		return err
	})
	if err != nil {
		return err
	}
	p := auditPage{adminView: newAdminView(r, "Audit trail", "audit"), Target: target, Entries: entries, More: len(entries) == auditPageSize}
	s.render(w, r, http.StatusOK, "admin-audit", p)
	return nil
}

// The admin's exports (CSV files of orders, transactions and download attempts)
// and counters (attempts per buyer, downloads per product), over HTTP. What they
// hold is made by package report, which `vend export` and `vend stats` use too.

// handleExport answers GET /admin/export/{kind}.csv (and the API's) with the
// order list's filters (orders) or from and to (the others). An error before
// the first page is out is returned: the admin's message page, or the API's
// error. After it, the connection is broken off, so the browser reports a
// failed download instead of saving a file that looks complete.
func (s reportAdmin) handleExport(kind string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		q, err := report.ParseExportQuery(kind, r.URL.Query())
		if err != nil {
			return err
		}
		now := s.Now()
		aw := &attachment{w: w, name: "vend-" + kind + "-" + now.UTC().Format("2006-01-02") + ".csv"}
		err = report.WriteExport(r.Context(), s.DB, aw, q, now)
		if err == nil || !aw.started {
			return err
		}
		if r.Context().Err() == nil {
			s.Logger.ErrorContext(r.Context(), "export failed", "route", r.Pattern, "error", err)
		}
		panic(http.ErrAbortHandler)
	}
}

// attachment sets a CSV download's headers at its first write.
type attachment struct {
	w       http.ResponseWriter
	name    string
	started bool
}

func (a *attachment) Write(p []byte) (int, error) {
	if !a.started {
		a.started = true
		h := a.w.Header()
		h.Set("Content-Type", "text/csv; charset=utf-8")
		h.Set("Content-Disposition", `attachment; filename="`+a.name+`"`)
		h.Set("X-Content-Type-Options", "nosniff")
		a.w.WriteHeader(http.StatusOK)
	}
	return a.w.Write(p)
}

// counterDays are the periods the counters page offers: the store keeps each
// buyer's sums over them (store/sqldb/windows.go), so a page reads the first
// lines of an index. Other periods, up to counterMaxDays, add up a row per
// buyer and day: on SQLite 0.2 s for 10 days of a shop with ten million
// attempts a year. `vend stats --days` goes further.
var counterDays = []int{7, 30, 90}

const (
	counterDefaultDays = 7
	counterMaxDays     = 92
	counterBuyers      = 100
)

type countersView struct {
	Days        int
	From        time.Time
	Windows     []counterLink
	BuyerCols   []counterLink
	ProductCols []counterLink
	Buyers      []store.BuyerAttempts
	Products    []store.ProductDownloads
	Statuses    []vend.OrderStatus
}

// counterLink is a link that changes one parameter of the page: a period, or
// the column a table is sorted by.
type counterLink struct {
	Label, URL string
	Current    bool
	Order      string // the column's sort order: "ascending" or "descending"
}

func (s reportAdmin) handleAdminCounters(w http.ResponseWriter, r *http.Request) error {
	v := r.URL.Query()
	days := counterDefaultDays
	if d := v.Get("days"); d != "" {
		n, err := strconv.Atoi(d)
		if err != nil || n < 1 || n > counterMaxDays {
			return vend.Errorf(vend.EINVALID, "days: a number from 1 to %d.", counterMaxDays)
		}
		days = n
	}
	buyerSort, productSort := v.Get("sort"), v.Get("psort")
	if buyerSort == "" {
		buyerSort = store.SortAttempts
	}
	if productSort == "" {
		productSort = "product"
	}
	// Whole UTC days, today included, as `vend stats` counts: the counters
	// are kept by day.
	y, m, d := s.Now().UTC().AddDate(0, 0, -(days - 1)).Date()
	from := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	cv := countersView{Days: days, From: from, Statuses: allStatuses}
	ctx := r.Context()
	err := s.DB.View(ctx, func(tx store.Tx) error {
		var err error
		if cv.Buyers, err = tx.AttemptsPerBuyer(ctx, store.BuyerQuery{From: from, Sort: buyerSort, Limit: counterBuyers}); err != nil {
			return err
		}
		cv.Products, err = tx.DownloadsPerProduct(ctx, from, time.Time{})
		return err
	})
	if err == nil {
		err = report.SortProducts(cv.Products, productSort)
	}
	if err != nil {
		return err
	}
	with := func(key, value string) string {
		q := url.Values{"days": {strconv.Itoa(days)}, "sort": {buyerSort}, "psort": {productSort}}
		q.Set(key, value)
		return "/admin/counters?" + q.Encode()
	}
	for _, d := range counterDays {
		cv.Windows = append(cv.Windows, counterLink{Label: strconv.Itoa(d) + " days", URL: with("days", strconv.Itoa(d)), Current: d == days})
	}
	column := func(label, param, key, current string) counterLink {
		order := "descending"
		if key == store.SortEmail || key == "product" {
			order = "ascending"
		}
		return counterLink{Label: label, URL: with(param, key), Current: key == current, Order: order}
	}
	cv.BuyerCols = []counterLink{column("Buyer", "sort", store.SortEmail, buyerSort), column("Attempts", "sort", store.SortAttempts, buyerSort),
		column("Counted downloads", "sort", store.SortDownloads, buyerSort), column("Last attempt", "sort", store.SortLast, buyerSort)}
	cv.ProductCols = []counterLink{column("Product", "psort", "product", productSort), column("Completed downloads", "psort", "completed", productSort),
		column("Charged sessions", "psort", "charged", productSort), column("Attempts", "psort", "attempts", productSort)}
	s.renderAdmin(w, r, http.StatusOK, "admin-counters", "Counters", "counters", cv)
	return nil
}

type dashboardView struct {
	Start         []startStep          // the first-run checklist, until every step is done
	Refused       []*vend.Notification // genuine messages vend refused, for the seller to settle
	WaitingKeys   []waitingKeys        // purchases waiting for licence keys from the seller's list
	WithTest      bool                 // test orders' sales and revenue are counted
	Periods       []periodStats
	Sales         chart
	Downloads     chart
	Notifications []*vend.Notification
}

// waitingKeys is how many purchases of a product wait for licence keys.
type waitingKeys struct {
	ProductID string
	Purchases int
}

// keysWaiting counts the purchases waiting for keys, by product.
func keysWaiting(ctx context.Context, tx store.Licenses) ([]waitingKeys, error) {
	items, err := tx.FindWaitingItems(ctx, "", 1000)
	var out []waitingKeys
	at := map[string]int{} // product → index in out
	for _, w := range items {
		if i, ok := at[w.Item.ProductID]; ok {
			out[i].Purchases++
			continue
		}
		at[w.Item.ProductID] = len(out)
		out = append(out, waitingKeys{ProductID: w.Item.ProductID, Purchases: 1})
	}
	return out, err
}

// periodStats sums the daily stats of the last Days days.
type periodStats struct {
	Label                     string
	Sales, Refunds, Downloads int
	Revenue                   []money
}

type money struct {
	Amount   vend.Amount
	Currency string
}

const dashboardDays = 30

func (s reportAdmin) handleAdminDashboard(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	now := s.Now()
	// Test orders (a provider's sandbox) are not sales: left out unless asked.
	withTest := r.URL.Query().Get("test") == "1"
	var days []store.DayStats
	var notes []*vend.Notification
	var start []startStep
	var refused []*vend.Notification
	var keys []waitingKeys
	err := s.DB.View(ctx, func(tx store.Tx) error {
		var err error
		if start, err = s.startSteps(ctx, tx); err != nil {
			return err
		}
		if keys, err = keysWaiting(ctx, tx); err != nil {
			return err
		}
		if refused, err = waitingRefused(ctx, tx, now); err != nil {
			return err
		}
		if days, err = tx.DailyStats(ctx, now.AddDate(0, 0, -(dashboardDays-1)), now, withTest); err != nil {
			return err
		}
		notes, err = tx.FindNotifications(ctx, store.NotificationFilter{Limit: 20})
		return err
	})
	if err != nil {
		return err
	}
	v := dashboardView{Start: start, Refused: refused, WaitingKeys: keys, Notifications: notes, WithTest: withTest}
	for _, p := range []struct {
		label string
		days  int
	}{{"Today", 1}, {"7 days", 7}, {"30 days", 30}} {
		v.Periods = append(v.Periods, sumDays(p.label, days[max(len(days)-p.days, 0):]))
	}
	var dates []time.Time
	var sales, downloads []int
	for _, d := range days {
		dates, sales, downloads = append(dates, d.Day), append(sales, d.Sales), append(downloads, d.Downloads)
	}
	v.Sales = newChart("Sales per day", dates, sales)
	v.Downloads = newChart("Downloads per day", dates, downloads)
	s.renderAdmin(w, r, http.StatusOK, "admin-dashboard", "Dashboard", "dashboard", v)
	return nil
}

// waitingRefused are the genuine messages of the last 30 days vend refused
// that the seller has neither granted by hand nor dismissed, newest first: a
// buyer may have paid for each.
func waitingRefused(ctx context.Context, tx store.Notifications, now time.Time) ([]*vend.Notification, error) {
	rejected := vend.VerdictRejected
	return tx.FindNotifications(ctx, store.NotificationFilter{Verdict: &rejected, Unsettled: true,
		Since: now.Add(-30 * 24 * time.Hour), Limit: 100})
}

// startStep is one step of the dashboard's first-run checklist, with the place
// that does it.
type startStep struct {
	Done       bool
	Text, Link string
	LinkText   string
}

// startSteps is the first-run checklist: what a new shop still lacks before
// its first sale, each linked to where it is done; nil once all is done.
func (s reportAdmin) startSteps(ctx context.Context, tx store.Tx) ([]startStep, error) {
	products, err := tx.FindProducts(ctx)
	if err != nil {
		return nil, err
	}
	orders, err := tx.FindOrders(ctx, store.OrderFilter{Limit: 1})
	if err != nil {
		return nil, err
	}
	var providers []string
	for _, p := range s.Intake.Providers {
		if info := p.Info(); info.Configured {
			providers = append(providers, info.Label)
		}
	}
	steps := []startStep{
		{Done: true, Text: "An administrator signs in"},
		{Done: len(products) > 0, Text: "Add your products and their files", Link: "/admin/products/new", LinkText: "New product"},
		{Done: len(providers) > 0, Text: "Connect a payment provider (PayPal, Digistore24, Stripe, a webhook or WEBSALE) in the configuration",
			Link: "https://github.com/vend-shop/vend#every-provider-one-ledger", LinkText: "How"},
		{Done: s.Ledger.Mail, Text: "Set up mail (smtp.url), or the development mailbox (smtp.url = \"mailbox:\") to read it here",
			Link: "https://github.com/vend-shop/vend#email", LinkText: "How"},
		{Done: len(orders) > 0, Text: "Make a test purchase: vend simulate, or a sandbox payment", Link: "/admin/orders/new", LinkText: "Or make an order by hand"},
	}
	if len(providers) > 0 {
		steps[2].Text = "Connect a payment provider: " + strings.Join(providers, ", ") + " configured"
	}
	for _, st := range steps {
		if !st.Done {
			return steps, nil
		}
	}
	return nil, nil
}

func sumDays(label string, days []store.DayStats) periodStats {
	p := periodStats{Label: label}
	revenue := map[string]vend.Amount{}
	for _, d := range days {
		p.Sales, p.Refunds, p.Downloads = p.Sales+d.Sales, p.Refunds+d.Refunds, p.Downloads+d.Downloads
		for c, a := range d.Revenue {
			revenue[c] += a
		}
	}
	for c, a := range revenue {
		p.Revenue = append(p.Revenue, money{a, c})
	}
	sort.Slice(p.Revenue, func(i, j int) bool { return p.Revenue[i].Currency < p.Revenue[j].Currency })
	return p
}
