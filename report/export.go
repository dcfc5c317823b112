// Package report is vend's read side for people: the exports (orders,
// transactions and download attempts as CSV or JSON lines) and the sums and
// counters of the stats. The admin pages, the API and the command line show
// the same numbers and write the same files because they all go through here,
// and the command line does so without importing the HTTP layer.
package report

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/store"
)

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
	oq, err := ParseOrderQuery(v)
	if err != nil {
		return ExportQuery{}, err
	}
	oq.Before = 0
	if kind != ExportOrders && (oq.Text != "" || oq.Product != "" || oq.Provider != "" || oq.Status != "") {
		return ExportQuery{}, vend.Errorf(vend.EINVALID, "Only orders are filtered by text, product, provider and status; %s by date.", kind)
	}
	return ExportQuery{Kind: kind, Orders: oq}, nil
}

// ParseOrderQuery reads the order list's filters: q, product, provider,
// status, from and to (dates, 2006-01-02, to inclusive) and before (an order
// id). The admin's list, the API and the exports take the same.
func ParseOrderQuery(v url.Values) (store.OrderQuery, error) {
	q := store.OrderQuery{Text: strings.TrimSpace(v.Get("q")), Product: strings.TrimSpace(v.Get("product")),
		Provider: strings.TrimSpace(v.Get("provider")), Status: vend.OrderStatus(v.Get("status"))}
	if q.Status != "" && !q.Status.Known() {
		return q, vend.Errorf(vend.EINVALID, "status: use paid, pending, refunded, reversed, failed, suspended or ended (got %q).", q.Status)
	}
	var err error
	if s := v.Get("from"); s != "" {
		if q.From, err = time.Parse(time.DateOnly, s); err != nil {
			return q, vend.Errorf(vend.EINVALID, "from: use a date such as 2026-11-21.")
		}
	}
	if s := v.Get("to"); s != "" {
		if q.To, err = time.Parse(time.DateOnly, s); err != nil {
			return q, vend.Errorf(vend.EINVALID, "to: use a date such as 2026-11-21.")
		}
		q.To = q.To.AddDate(0, 0, 1)
	}
	if s := v.Get("before"); s != "" {
		if q.Before, err = strconv.ParseInt(s, 10, 64); err != nil || q.Before < 1 {
			return q, vend.Errorf(vend.EINVALID, "before: not an order id.")
		}
	}
	return q, nil
}

// ExportPage is how many records WriteExport reads in one transaction, and
// writes out at once.
const ExportPage = 1000

// WriteExport writes the records q selects to w: CSV with a header line, every
// field neutralized against spreadsheet formulas (see cell), or JSON lines.
//
// It reads page after page of ExportPage records by keyset, each page in a
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
	var err error
	switch q.Kind {
	case ExportOrders:
		oq := q.Orders
		oq.Limit, oq.Before = ExportPage, 0
		err = writePages(ctx, db, out, csvOrderHeader, csvOrder,
			func(tx store.Tx, fn func(*vend.Order) error) error { return tx.ExportOrders(ctx, oq, fn) },
			func(last *vend.Order) { oq.Before = last.ID })
	case ExportTransactions:
		tq := store.ExportQuery{From: q.Orders.From, To: q.Orders.To, Limit: ExportPage}
		err = writePages(ctx, db, out, csvTransactionHeader, csvTransaction,
			func(tx store.Tx, fn func(*vend.Transaction) error) error { return tx.ExportTransactions(ctx, tq, fn) },
			func(last *vend.Transaction) { tq.AfterTime, tq.AfterID = last.CreatedAt, last.ID })
	case ExportAttempts:
		aq := store.ExportQuery{From: q.Orders.From, To: q.Orders.To, Limit: ExportPage}
		err = writePages(ctx, db, out, csvAttemptHeader, csvAttempt,
			func(tx store.Tx, fn func(*vend.Attempt) error) error { return tx.ExportAttempts(ctx, aq, fn) },
			func(last *vend.Attempt) { aq.AfterTime, aq.AfterID = last.At, last.ID })
	default:
		return vend.Errorf(vend.EINVALID, "Export orders, transactions or attempts (got %q).", q.Kind)
	}
	if err != nil {
		return fmt.Errorf("report: export %s: %w", q.Kind, err)
	}
	return nil
}

// writePages writes an export page after page until a page comes back empty:
// read reads one page (in a View of its own), next moves the cursor past the
// last record of a page.
func writePages[T any](ctx context.Context, db store.DB, out recordWriter, header []string, fields func(T) []string,
	read func(tx store.Tx, fn func(T) error) error, next func(last T)) error {
	if err := out.header(header); err != nil {
		return err
	}
	page := make([]T, 0, ExportPage)
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
// agents and references must stay text.
//
// A spreadsheet runs a cell as a formula when it starts with =, +, -, @ (or
// their full-width forms), or with a tab or line break, which some skip
// first. A cell is not always the whole field: a spreadsheet opens a CSV file
// with its locale's list separator, ',' in some and ';' in others (German
// Excel among them), and encoding/csv quotes a field with ',' but not one with
// ';', so "ok;=cmd|…" becomes the cells "ok" and "=cmd|…". So each piece of a
// field, from its start and after every ',' and ';', is looked at past any
// spaces and double quotes: if it starts like a formula, an apostrophe goes
// in front of that character, which spreadsheets take as "this is text" and
// do not show. A piece that is a plain number however the field is split,
// such as the refund amount -19.95, is not a formula and stays as it is.
// Control characters other than tab and line breaks (terminal escape
// sequences, say) become U+FFFD.
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
	var b strings.Builder
	for {
		lead := len(s) - len(strings.TrimLeft(s, ` "`))
		b.WriteString(s[:lead])
		s = s[lead:]
		if r, _ := utf8.DecodeRuneInString(s); formulaStart(r) && !plainPiece(s) {
			b.WriteByte('\'')
		}
		end := strings.IndexAny(s, ",;")
		if end < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:end+1])
		s = s[end+1:]
	}
}

// formulaStart reports whether a cell that starts with r may be run as a
// formula.
func formulaStart(r rune) bool {
	switch r {
	case '=', '+', '-', '@', '\t', '\r', '\n', '＝', '＋', '－', '＠':
		return true
	}
	return false
}

// plainPiece reports whether the piece of a field that starts s is a plain
// number whichever of ',' and ';' ends it.
func plainPiece(s string) bool {
	bySemicolon, _, _ := strings.Cut(s, ";")
	byComma, _, _ := strings.Cut(s, ",")
	return plainNumber(bySemicolon) && plainNumber(byComma)
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
	"buyer_email", "buyer_name", "currency", "total", "products", "custom", "updated_at_utc", "deleted"}

func csvOrder(o *vend.Order) []string {
	products := make([]string, len(o.Items))
	for i, it := range o.Items {
		products[i] = it.ProductID
	}
	return []string{csvID(o.ID), csvTime(o.CreatedAt), o.Provider, o.Ref, string(o.Status), o.StatusReason,
		strconv.FormatBool(o.Review), strconv.FormatBool(o.Test), o.Buyer.Email, o.Buyer.Name, o.Currency, o.Total.String(),
		strings.Join(products, " "), o.Custom, csvTime(o.UpdatedAt), strconv.FormatBool(o.Deleted)}
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
