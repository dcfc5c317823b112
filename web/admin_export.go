package web

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/store"
)

// The admin's exports (CSV files of orders, transactions and download attempts)
// and counters (attempts per buyer, downloads per product). `vend export` and
// `vend stats` print the same through WriteExport and the same store queries.

// adminExportRoutes adds the exports and the counters page.
func (s *Server) adminExportRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /admin/export/orders.csv", s.requireAdmin(s.handleExport(ExportOrders, s.Error)))
	m.HandleFunc("GET /admin/export/transactions.csv", s.requireAdmin(s.handleExport(ExportTransactions, s.Error)))
	m.HandleFunc("GET /admin/export/attempts.csv", s.requireAdmin(s.handleExport(ExportAttempts, s.Error)))
	m.HandleFunc("GET /admin/counters", s.requireAdmin(s.handleAdminCounters))
}

// The kinds of record an export holds.
const (
	ExportOrders       = "orders"
	ExportTransactions = "transactions"
	ExportAttempts     = "attempts"
)

// ExportQuery says what an export holds.
type ExportQuery struct {
	Kind string // ExportOrders, ExportTransactions or ExportAttempts
	// Orders are selected as the admin's order list selects them (Before and
	// Limit are not used). For the other kinds only From and To count: the
	// time a transaction was created or an attempt made.
	Orders store.OrderQuery
	JSON   bool // JSON lines, one record a line, instead of CSV
}

// ParseExportQuery reads an export's filters as the order list does: q,
// product, provider and status (orders only), from and to (dates, to
// included).
func ParseExportQuery(kind string, v url.Values) (ExportQuery, error) {
	if kind != ExportOrders && kind != ExportTransactions && kind != ExportAttempts {
		return ExportQuery{}, vend.Errorf(vend.EINVALID, "Export orders, transactions or attempts (got %q).", kind)
	}
	oq, err := orderQuery(v)
	if err != nil {
		return ExportQuery{}, err
	}
	oq.Before = 0
	if kind != ExportOrders && (oq.Text != "" || oq.Product != "" || oq.Provider != "" || oq.Status != "") {
		return ExportQuery{}, vend.Errorf(vend.EINVALID, "Only orders are filtered by text, product, provider and status; %s by date.", kind)
	}
	return ExportQuery{Kind: kind, Orders: oq}, nil
}

// exportPage is how many records WriteExport reads in one transaction.
const exportPage = 1000

// WriteExport writes the records q selects to w: CSV with a header line, every
// field neutralized against spreadsheet formulas (see cell), or JSON lines.
//
// It reads page after page of exportPage records by keyset, each page in a
// View of its own, and writes a page out only after its View ended: memory
// and the time a transaction stays open are those of one page, whatever the
// size of the export and however slowly w takes the bytes. A long read
// transaction would also keep SQLite from checkpointing its WAL. The records
// are therefore not one snapshot; a range left open at the end is closed at
// now, so records made while the export runs stay out of it.
func WriteExport(ctx context.Context, db store.DB, w io.Writer, q ExportQuery, now time.Time) error {
	if q.Orders.To.IsZero() {
		q.Orders.To = now.Add(time.Millisecond) // [From, To): now itself is in
	}
	var out recordWriter
	if q.JSON {
		out = &jsonLines{enc: json.NewEncoder(w)}
	} else {
		out = &csvRecords{w: csv.NewWriter(w)}
	}
	switch q.Kind {
	case ExportOrders:
		oq := q.Orders
		oq.Limit, oq.Before = exportPage, 0
		return writePages(ctx, db, out, csvOrderHeader, csvOrder,
			func(tx store.Tx, fn func(*vend.Order) error) error { return tx.ExportOrders(ctx, oq, fn) },
			func(last *vend.Order) { oq.Before = last.ID })
	case ExportTransactions:
		tq := store.ExportQuery{From: q.Orders.From, To: q.Orders.To, Limit: exportPage}
		return writePages(ctx, db, out, csvTransactionHeader, csvTransaction,
			func(tx store.Tx, fn func(*vend.Transaction) error) error { return tx.ExportTransactions(ctx, tq, fn) },
			func(last *vend.Transaction) { tq.AfterTime, tq.AfterID = last.CreatedAt, last.ID })
	case ExportAttempts:
		aq := store.ExportQuery{From: q.Orders.From, To: q.Orders.To, Limit: exportPage}
		return writePages(ctx, db, out, csvAttemptHeader, csvAttempt,
			func(tx store.Tx, fn func(*vend.Attempt) error) error { return tx.ExportAttempts(ctx, aq, fn) },
			func(last *vend.Attempt) { aq.AfterTime, aq.AfterID = last.At, last.ID })
	}
	return vend.Errorf(vend.EINVALID, "Export orders, transactions or attempts (got %q).", q.Kind)
}

// writePages writes an export page after page until a page comes back empty:
// read reads one page (in a View of its own), next moves the cursor past the
// last record of a page.
func writePages[T any](ctx context.Context, db store.DB, out recordWriter, header []string, fields func(T) []string,
	read func(tx store.Tx, fn func(T) error) error, next func(last T)) error {
	if err := out.header(header); err != nil {
		return err
	}
	page := make([]T, 0, exportPage)
	for {
		err := db.View(ctx, func(tx store.Tx) error {
			page = page[:0]
			return read(tx, func(r T) error { page = append(page, r); return nil })
		})
		if err != nil {
			return err
		}
		if len(page) == 0 {
			return out.flush()
		}
		for _, r := range page {
			if err := out.record(r, func() []string { return fields(r) }); err != nil {
				return err
			}
		}
		if err := out.flush(); err != nil {
			return err
		}
		next(page[len(page)-1])
	}
}

// recordWriter writes an export's records in one format.
type recordWriter interface {
	header(names []string) error
	record(v any, fields func() []string) error
	flush() error
}

type csvRecords struct{ w *csv.Writer }

func (c *csvRecords) header(names []string) error { return c.w.Write(names) }

func (c *csvRecords) record(_ any, fields func() []string) error {
	fs := fields()
	for i, f := range fs {
		fs[i] = cell(f)
	}
	return c.w.Write(fs)
}

func (c *csvRecords) flush() error {
	c.w.Flush()
	return c.w.Error()
}

// jsonLines writes each record as the JSON the API and `--json` use, one a line.
type jsonLines struct{ enc *json.Encoder }

func (j *jsonLines) header([]string) error                 { return nil }
func (j *jsonLines) record(v any, _ func() []string) error { return j.enc.Encode(v) }
func (j *jsonLines) flush() error                          { return nil }

// cell makes a field safe to open in a spreadsheet, where buyers' names, user
// agents and references must stay text. A field that starts like a formula
// (=, +, -, @, their full-width forms, or a tab or carriage return, which some
// spreadsheets skip first) gets a leading apostrophe, which spreadsheets take
// as "this is text" and do not show. A plain number such as the refund amount
// -19.95 is not a formula and stays a number. Control characters other than
// tab and line breaks (terminal escape sequences, say) become U+FFFD.
func cell(s string) string {
	if s == "" {
		return s
	}
	s = strings.Map(func(r rune) rune {
		if r != '\t' && r != '\n' && r != '\r' && unicode.IsControl(r) {
			return '\uFFFD'
		}
		return r
	}, s)
	switch r, _ := utf8.DecodeRuneInString(s); r {
	case '=', '+', '-', '@', '\t', '\r', '＝', '＋', '－', '＠':
		if !plainNumber(s) {
			return "'" + s
		}
	}
	return s
}

// plainNumber reports whether s is an optional sign, digits and at most one
// decimal point: a number, never a formula.
func plainNumber(s string) bool {
	if s != "" && (s[0] == '-' || s[0] == '+') {
		s = s[1:]
	}
	digits, dot := 0, false
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] >= '0' && s[i] <= '9':
			digits++
		case s[i] == '.' && !dot:
			dot = true
		default:
			return false
		}
	}
	return digits > 0
}

// ---- the records ----

// csvTime is how exports write times: UTC, to the second, a form spreadsheets read.
func csvTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.DateTime)
}

func csvID(id int64) string {
	if id == 0 {
		return ""
	}
	return strconv.FormatInt(id, 10)
}

var csvOrderHeader = []string{"id", "created_at_utc", "provider", "ref", "status", "status_reason", "review", "test",
	"buyer_email", "buyer_name", "currency", "total", "products", "custom", "updated_at_utc"}

func csvOrder(o *vend.Order) []string {
	products := make([]string, len(o.Items))
	for i, it := range o.Items {
		products[i] = it.ProductID
	}
	return []string{csvID(o.ID), csvTime(o.CreatedAt), o.Provider, o.Ref, string(o.Status), o.StatusReason,
		strconv.FormatBool(o.Review), strconv.FormatBool(o.Test), o.Buyer.Email, o.Buyer.Name, o.Currency, o.Total.String(),
		strings.Join(products, " "), o.Custom, csvTime(o.UpdatedAt)}
}

var csvTransactionHeader = []string{"id", "created_at_utc", "order_id", "provider", "txn_id", "parent_txn_id", "order_ref",
	"product_id", "kind", "full_refund", "status", "raw_status", "reason", "amount", "currency", "updated_at_utc"}

func csvTransaction(t *vend.Transaction) []string {
	return []string{csvID(t.ID), csvTime(t.CreatedAt), csvID(t.OrderID), t.Provider, t.TxnID, t.ParentTxnID, t.OrderRef,
		t.ProductID, string(t.Kind), strconv.FormatBool(t.Full), string(t.Status), t.RawStatus, t.Reason, t.Amount.String(),
		t.Currency, csvTime(t.UpdatedAt)}
}

var csvAttemptHeader = []string{"id", "at_utc", "grant_id", "file_id", "session_id", "ip", "method", "range", "status",
	"bytes_sent", "counted", "refused", "user_agent"}

func csvAttempt(a *vend.Attempt) []string {
	return []string{csvID(a.ID), csvTime(a.At), csvID(a.GrantID), csvID(a.FileID), csvID(a.SessionID), a.IP, a.Method, a.Range,
		strconv.Itoa(a.Status), strconv.FormatInt(a.BytesSent, 10), strconv.FormatBool(a.Counted), a.Refused, a.UserAgent}
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
		q, err := ParseExportQuery(kind, r.URL.Query())
		if err != nil {
			fail(w, r, err)
			return
		}
		now := s.Now()
		aw := &attachment{w: w, name: "vend-" + kind + "-" + now.UTC().Format("2006-01-02") + ".csv"}
		err = WriteExport(r.Context(), s.DB, aw, q, now)
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

// productSorts order the products' counter (by store.ProductDownloads field).
var productSorts = map[string]func(a, b store.ProductDownloads) bool{
	"product":   func(a, b store.ProductDownloads) bool { return a.ProductID < b.ProductID },
	"completed": func(a, b store.ProductDownloads) bool { return a.Completed > b.Completed },
	"charged":   func(a, b store.ProductDownloads) bool { return a.Charged > b.Charged },
	"attempts":  func(a, b store.ProductDownloads) bool { return a.Attempts > b.Attempts },
}

// SortProducts orders a products' counter by "product" (id, A to Z),
// "completed", "charged" or "attempts" (most first; ties by product id).
func SortProducts(ps []store.ProductDownloads, by string) error {
	less, ok := productSorts[by]
	if !ok {
		return vend.Errorf(vend.EINVALID, "Sort products by product, completed, charged or attempts (got %q).", by)
	}
	sort.SliceStable(ps, func(i, j int) bool {
		if less(ps[i], ps[j]) != less(ps[j], ps[i]) {
			return less(ps[i], ps[j])
		}
		return ps[i].ProductID < ps[j].ProductID
	})
	return nil
}

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
		err = SortProducts(cv.Products, productSort)
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
