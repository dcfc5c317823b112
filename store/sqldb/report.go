package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/store"
)

const dayMS = int64(24 * time.Hour / time.Millisecond)

// SearchOrders builds one query whose every part an index serves: the text is
// looked up as an id, a reference, a transaction id and an email or name prefix,
// each by its own index, and the page is cut by id.
func (tx *Tx) SearchOrders(ctx context.Context, q store.OrderQuery) ([]*vend.Order, error) {
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	cursorAt, err := tx.boundByCursor(ctx, &q)
	if err != nil || cursorAt < 0 {
		return nil, err // no such cursor: an empty page
	}
	where := []string{"o.deleted = " + arg(false)}
	from, filter := tx.orderFilter(q, arg, "o.created_at")
	where = append(where, filter...)
	// A date range alone is read newest first through the created_at index,
	// and cut there: sorting a month of a big shop by id for every page
	// took 150 ms. The page cursor stays an order id.
	dated := datedList(q)
	order := "o.id DESC"
	switch {
	case dated:
		order = "o.created_at DESC, o.id DESC"
	case from == fromItems:
		order = "i.order_id DESC" // the index's own column, so the page is cut in the index
	}
	if q.Before > 0 {
		switch before := arg(q.Before); {
		case dated:
			// boundByCursor bounded the index range; this cuts the ties.
			where = append(where, "(o.created_at, o.id) < ("+arg(cursorAt)+", "+before+")")
		case from == fromItems:
			where = append(where, "i.order_id < "+before)
		default:
			where = append(where, "o.id < "+before)
		}
	}
	sqlText := `SELECT ` + prefixed("o.", orderColumns) + ` FROM ` + from
	if len(where) > 0 {
		sqlText += ` WHERE ` + strings.Join(where, " AND ")
	}
	sqlText += ` ORDER BY ` + order + ` LIMIT ` + arg(limit(q.Limit, 50))
	rows, err := tx.query(ctx, sqlText, args...)
	if err != nil {
		return nil, fmt.Errorf("search orders: %w", err)
	}
	defer rows.Close()
	var out []*vend.Order
	for rows.Next() {
		o, err := scanOrder(rows)
		if err != nil {
			return nil, fmt.Errorf("scan order: %w", err)
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// boundByCursor ends the date range of a page of a list filtered by date
// alone at its cursor's order, so that the date index is read from the
// cursor down, and returns the cursor's time (0 for other lists, -1 when no
// order is the cursor). Given both the range's end and the cursor's time as
// upper bounds, SQLite seeks by the range's end and steps over every order
// between the two: 47 ms for a page from the middle of a month at ten million
// orders a year, against 1 ms for the month's first page.
func (tx *Tx) boundByCursor(ctx context.Context, q *store.OrderQuery) (int64, error) {
	if !datedList(*q) || q.Before <= 0 {
		return 0, nil
	}
	var at int64
	err := tx.queryRow(ctx, `SELECT created_at FROM orders WHERE id = $1`, q.Before).Scan(&at)
	if errors.Is(err, sql.ErrNoRows) {
		return -1, nil
	} else if err != nil {
		return 0, fmt.Errorf("search orders: the cursor's order: %w", err)
	}
	if end := fromMS(at).Add(time.Millisecond); q.To.IsZero() || end.Before(q.To) {
		q.To = end
	}
	return at, nil
}

// datedList reports whether q is a list filtered by date alone (no text, no
// product): read newest first through the created_at index.
func datedList(q store.OrderQuery) bool {
	return strings.TrimSpace(q.Text) == "" && q.Product == "" && (!q.From.IsZero() || !q.To.IsZero())
}

// The tables an order list reads: the orders alone, or, when a product alone
// drives the list, its items joined to their orders.
const (
	fromOrders = `orders o`
	fromItems  = `items i JOIN orders o ON o.id = i.order_id`
)

// orderFilter turns q's filters (all but its page cursor, Before) into the
// FROM and WHERE of an order list, for SearchOrders and ExportOrders, which
// must select the same orders. A text is looked up by its own indexes
// (textMatches); a product without a text drives the query from the index on
// items (product_id, order_id), newest order first, so a product with few
// orders among millions is found without a scan. created is the expression
// the date range compares: "+o.created_at" keeps the database off the date
// index.
func (tx *Tx) orderFilter(q store.OrderQuery, arg func(any) string, created string) (from string, where []string) {
	from = fromOrders
	switch text := strings.TrimSpace(q.Text); {
	case text != "":
		where = append(where, "o.id IN ("+tx.textMatches(text, arg)+")")
		if q.Product != "" {
			where = append(where, "EXISTS (SELECT 1 FROM items i WHERE i.order_id = o.id AND i.product_id = "+arg(q.Product)+")")
		}
	case q.Product != "":
		from = fromItems
		where = append(where, "i.product_id = "+arg(q.Product))
	}
	if q.Provider != "" {
		where = append(where, "o.provider = "+arg(q.Provider))
	}
	if q.Status != "" {
		where = append(where, "o.status = "+arg(string(q.Status)))
	}
	if !q.From.IsZero() {
		where = append(where, created+" >= "+arg(ms(q.From)))
	}
	if !q.To.IsZero() {
		where = append(where, created+" < "+arg(ms(q.To)))
	}
	return from, where
}

// textMatches is the subquery of the order ids a search text names.
func (tx *Tx) textMatches(text string, arg func(any) string) string {
	exact := arg(text)
	parts := []string{
		`SELECT id FROM orders WHERE ref = ` + exact,
		`SELECT order_id FROM transactions WHERE txn_id = ` + exact + ` AND order_id IS NOT NULL`,
	}
	if id, err := strconv.ParseInt(text, 10, 64); err == nil && id > 0 {
		parts = append(parts, `SELECT id FROM orders WHERE id = `+arg(id))
	}
	lower := strings.ToLower(text)
	for _, col := range []string{"buyer_email", "buyer_name"} {
		if tx.postgres {
			parts = append(parts, `SELECT id FROM orders WHERE lower(`+col+`) LIKE `+arg(likePrefix(lower))+` ESCAPE '\'`)
		} else {
			// A byte range: SQLite compares text by bytes, and its lower() index
			// serves a range, not LIKE.
			parts = append(parts, `SELECT id FROM orders WHERE lower(`+col+`) >= `+arg(lower)+` AND lower(`+col+`) < `+arg(lower+"\U0010FFFF"))
		}
	}
	return strings.Join(parts, " UNION ")
}

// likePrefix makes a LIKE pattern matching strings that start with s.
func likePrefix(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s) + "%"
}

func prefixed(p, columns string) string {
	cols := strings.Split(columns, ", ")
	for i, c := range cols {
		cols[i] = p + c
	}
	return strings.Join(cols, ", ")
}

func (tx *Tx) DailyStats(ctx context.Context, from, to time.Time, withTest bool) ([]store.DayStats, error) {
	first, last := dayOf(from), dayOf(to)
	if last < first {
		return nil, nil
	}
	days := make([]store.DayStats, last-first+1)
	for i := range days {
		days[i].Day = time.UnixMilli((first + int64(i)) * dayMS).UTC()
	}
	at := func(day int64) *store.DayStats { return &days[day-first] }

	query, args := tx.dailySales(first, last, withTest)
	rows, err := tx.query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("daily sales: %w", err)
	}
	for rows.Next() {
		var day int64
		var kind, currency string
		var n int
		var sum vend.Amount
		if err := rows.Scan(&day, &kind, &currency, &n, &sum); err != nil {
			rows.Close()
			return nil, fmt.Errorf("scan daily sales: %w", err)
		}
		d := at(day)
		if vend.TxnKind(kind) == vend.TxnRefund {
			d.Refunds += n
			continue
		}
		if n == 0 {
			continue // all moved away: a test order that became live, or back
		}
		d.Sales += n
		if d.Revenue == nil {
			d.Revenue = map[string]vend.Amount{}
		}
		d.Revenue[currency] += sum
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}

	// Sessions charged and not given back, by the day they started: SQLite
	// keeps them by day in product_days; PostgreSQL adds them up (migration
	// 00021 says why).
	query, args = `SELECT day, charged FROM product_days WHERE day >= $1 AND day <= $2`, []any{first, last}
	if tx.postgres {
		query = `SELECT started_at / ` + strconv.FormatInt(dayMS, 10) + ` AS day, count(*) FROM download_sessions
			WHERE started_at >= $1 AND started_at < $2 AND charged AND NOT given_back GROUP BY day`
		args = []any{first * dayMS, (last + 1) * dayMS}
	}
	rows, err = tx.query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("daily downloads: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var day int64
		var n int
		if err := rows.Scan(&day, &n); err != nil {
			return nil, fmt.Errorf("scan daily downloads: %w", err)
		}
		at(day).Downloads += n
	}
	return days, rows.Err()
}

// dailySales is the query of the days' completed payments and refunds, by
// day, kind and currency: count and sum. SQLite keeps them by day in
// sales_days (migration 00021), so the dashboard reads a few rows a day;
// PostgreSQL adds up the transactions of the window, since keeping the day
// sums there cost the ledger a third of its throughput (docs/benchmarks.md).
// A refund that came before its payment has no order yet: it is not a test
// order's.
func (tx *Tx) dailySales(first, last int64, withTest bool) (string, []any) {
	if tx.postgres {
		return `
			SELECT t.created_at / ` + strconv.FormatInt(dayMS, 10) + ` AS day, t.kind, t.currency, count(*), sum(t.amount)
			FROM transactions t LEFT JOIN orders o ON o.id = t.order_id
			WHERE t.created_at >= $1 AND t.created_at < $2 AND t.status = $3 AND t.kind IN ($4, $5)
				AND ($6 OR o.test IS NULL OR NOT o.test)
			GROUP BY day, t.kind, t.currency`,
			[]any{first * dayMS, (last + 1) * dayMS, vend.TxnCompleted, vend.TxnPayment, vend.TxnRefund, withTest}
	}
	return `SELECT day, kind, currency, n, amount FROM sales_days WHERE day >= $1 AND day <= $2 AND ($3 OR NOT test)`,
		[]any{first, last, withTest}
}

// dayOf is the UTC day number of t.
func dayOf(t time.Time) int64 { return t.UnixMilli() / dayMS }
