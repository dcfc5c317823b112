package sqldb

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/store"
)

// exportPage is how many rows a page of an export holds when the query names
// no limit: a page is read in one short transaction, so it must stay small.
const exportPage = 1000

// ExportOrders selects what SearchOrders selects, in id order (SearchOrders
// orders a date range by creation time instead, for its pages), and never
// lets the date range drive the query. Here the id index (or the filter's own index that
// also orders by id) walks the orders in page order and the dates only filter
// (+created_at keeps either database off the date index), so a whole export
// reads each order at most once. An order with two items of the product
// filtered on comes once. The page's items are read in one statement; their
// order ids travel as one JSON array, so the statement's text is the same for
// every page (the prepared statement cache holds each text once).
func (tx *Tx) ExportOrders(ctx context.Context, q store.OrderQuery, fn func(*vend.Order) error) error {
	orders, err := tx.exportOrders(ctx, q)
	if err != nil {
		return fmt.Errorf("export orders: %w", err)
	}
	if len(orders) == 0 {
		return nil
	}
	ids := make([]int64, len(orders))
	byID := make(map[int64]*vend.Order, len(orders))
	for i, o := range orders {
		ids[i], byID[o.ID] = o.ID, o
	}
	list, err := json.Marshal(ids)
	if err != nil {
		return fmt.Errorf("export orders: %w", err)
	}
	rows, err := tx.query(ctx, `SELECT id, order_id, product_id, name, quantity, amount, status, hold FROM items
		WHERE order_id IN (`+tx.inIDs()+`) ORDER BY id`, string(list))
	if err != nil {
		return fmt.Errorf("export items: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var it vend.Item
		if err := rows.Scan(&it.ID, &it.OrderID, &it.ProductID, &it.Name, &it.Quantity, &it.Amount, &it.Status, &it.Hold); err != nil {
			return fmt.Errorf("scan item: %w", err)
		}
		if o := byID[it.OrderID]; o != nil {
			o.Items = append(o.Items, &it)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("export items: %w", err)
	}
	rows.Close()
	for _, o := range orders {
		if err := fn(o); err != nil {
			return err
		}
	}
	return nil
}

// exportOrders reads one page of orders, newest first; see ExportOrders.
func (tx *Tx) exportOrders(ctx context.Context, q store.OrderQuery) ([]*vend.Order, error) {
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	// Dates only filter here (see ExportOrders); the page is cut, and
	// ordered, by the index that drives the query.
	from, where := tx.orderFilter(q, arg, "+o.created_at")
	col := "o.id"
	if from == fromItems {
		col = "i.order_id"
	}
	if q.Before > 0 {
		where = append(where, col+" < "+arg(q.Before))
	}
	query := `SELECT ` + prefixed("o.", orderColumns) + ` FROM ` + from
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	query += ` ORDER BY ` + col + ` DESC LIMIT ` + arg(limit(q.Limit, exportPage))
	rows, err := tx.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*vend.Order
	for rows.Next() {
		o, err := scanOrder(rows)
		if err != nil {
			return nil, fmt.Errorf("scan order: %w", err)
		}
		if n := len(out); n > 0 && out[n-1].ID == o.ID {
			continue // a second item of the product
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// ExportTransactions walks the index on created_at. SQLite's index ends with the
// row id, so it is ordered by (created_at, id) as the page is; PostgreSQL has an
// index on both (migration 00009).
func (tx *Tx) ExportTransactions(ctx context.Context, q store.ExportQuery, fn func(*vend.Transaction) error) error {
	lo, hi, after := exportBounds(q)
	rows, err := tx.query(ctx, `SELECT `+txnColumns+` FROM transactions
		WHERE created_at >= $1 AND created_at < $2 AND (created_at > $1 OR id > $3)
		ORDER BY created_at, id LIMIT $4`, lo, hi, after, limit(q.Limit, exportPage))
	if err != nil {
		return fmt.Errorf("export transactions: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		t, err := scanTxn(rows)
		if err != nil {
			return fmt.Errorf("scan transaction: %w", err)
		}
		if err := fn(t); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("export transactions: %w", err)
	}
	return nil
}

// ExportAttempts walks the index on (at, id) of migration 00009.
func (tx *Tx) ExportAttempts(ctx context.Context, q store.ExportQuery, fn func(*vend.Attempt) error) error {
	lo, hi, after := exportBounds(q)
	rows, err := tx.query(ctx, `SELECT id, grant_id, file_id, session_id, at, ip, user_agent, method, range_header, status,
		bytes_sent, counted, refused FROM attempts
		WHERE at >= $1 AND at < $2 AND (at > $1 OR id > $3)
		ORDER BY at, id LIMIT $4`, lo, hi, after, limit(q.Limit, exportPage))
	if err != nil {
		return fmt.Errorf("export attempts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var a vend.Attempt
		var session sql.NullInt64
		var at int64
		if err := rows.Scan(&a.ID, &a.GrantID, &a.FileID, &session, &at, &a.IP, &a.UserAgent, &a.Method, &a.Range, &a.Status,
			&a.BytesSent, &a.Counted, &a.Refused); err != nil {
			return fmt.Errorf("scan attempt: %w", err)
		}
		a.SessionID, a.At = session.Int64, fromMS(at)
		if err := fn(&a); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("export attempts: %w", err)
	}
	return nil
}

// exportBounds turns a page's query into the statement's arguments: the lower
// bound in milliseconds (the cursor's time once there is one: rows of that very
// millisecond then need an id after the cursor's), the upper bound, and the
// cursor's id (0: none, so every row at the lower bound is in).
func exportBounds(q store.ExportQuery) (lo, hi, after int64) {
	lo, hi = ms(q.From), msOrMax(q.To)
	if q.AfterID > 0 && ms(q.AfterTime) >= lo {
		lo, after = ms(q.AfterTime), q.AfterID
	}
	return lo, hi, after
}

// msOrMax is ms for an upper bound: the zero time leaves it open.
func msOrMax(t time.Time) int64 {
	if t.IsZero() {
		return math.MaxInt64
	}
	return t.UnixMilli()
}
