package web

import (
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/report"
	"github.com/vend-shop/vend/store"
)

// The admin's exports (CSV files of orders, transactions and download attempts)
// and counters (attempts per buyer, downloads per product), over HTTP. What they
// hold is made by package report, which `vend export` and `vend stats` use too.

// adminExportRoutes adds the exports and the counters page.
func (s *Server) adminExportRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /admin/export/orders.csv", s.requireAdmin(s.handleExport(report.ExportOrders, s.Error)))
	m.HandleFunc("GET /admin/export/transactions.csv", s.requireAdmin(s.handleExport(report.ExportTransactions, s.Error)))
	m.HandleFunc("GET /admin/export/attempts.csv", s.requireAdmin(s.handleExport(report.ExportAttempts, s.Error)))
	m.HandleFunc("GET /admin/counters", s.requireAdmin(s.handleAdminCounters))
}

// ---- the handlers ----

// handleExport answers GET /admin/export/{kind}.csv with the order list's
// filters (orders) or from and to (the others). An error before the first
// page is out is a clean error page; after it, the connection is broken off,
// so the browser reports a failed download instead of saving a file that
// looks complete.
//
// fail answers an error before the first page: s.Error for the admin,
// s.apiError for the API.
func (s *Server) handleExport(kind string, fail func(http.ResponseWriter, *http.Request, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q, err := report.ParseExportQuery(kind, r.URL.Query())
		if err != nil {
			fail(w, r, err)
			return
		}
		now := s.Now()
		aw := &attachment{w: w, name: "vend-" + kind + "-" + now.UTC().Format("2006-01-02") + ".csv"}
		err = report.WriteExport(r.Context(), s.DB, aw, q, now)
		if err == nil {
			return
		}
		if !aw.started {
			fail(w, r, err)
			return
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

// ---- counters ----

// counterDays are the periods the counters page offers. The counters read
// every attempt of the period: on SQLite, a shop with a million orders and ten
// million attempts a year waits about 0.7 s for 7 days, 3 s for 30 and 7 s for
// 90. counterMaxDays bounds what a URL can ask for; `vend stats --days` goes
// further.
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

func (s *Server) handleAdminCounters(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	days := counterDefaultDays
	if d := v.Get("days"); d != "" {
		n, err := strconv.Atoi(d)
		if err != nil || n < 1 || n > counterMaxDays {
			s.Error(w, r, vend.Errorf(vend.EINVALID, "days: a number from 1 to %d.", counterMaxDays))
			return
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
	now := s.Now()
	from := now.Add(-time.Duration(days) * 24 * time.Hour)
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
		s.Error(w, r, err)
		return
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
}
