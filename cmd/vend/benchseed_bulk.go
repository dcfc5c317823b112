package main

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/vend-shop/vend/store/sqlite"
)

// seedBulk fills an empty SQLite ledger with the shop `seed` makes, in SQL:
// each table in one INSERT … SELECT over a generated series, with the
// tables' indexes dropped while they fill and built again after. A million
// orders and ten million attempts take minutes this way instead of the
// hour the store's one-row-at-a-time methods need. The products come from
// seedProducts; every other value follows from the row number and the seed
// (a multiplicative hash), so the same options make the same shop.
func seedBulk(ctx context.Context, app *App, o seedOptions) error {
	db, ok := app.DB.(*sqlite.DB)
	if !ok {
		return fmt.Errorf("--bulk: only for the SQLite ledger (database.url is set); seed PostgreSQL without --bulk")
	}
	if _, err := seedProducts(ctx, app, o.Products); err != nil {
		return err
	}
	path := db.Path
	app.close() // one writer: this process's store lets go of the file
	conn, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		return err
	}
	defer conn.Close()
	c, err := conn.Conn(ctx) // PRAGMAs hold per connection
	if err != nil {
		return err
	}
	defer c.Close()
	var orders int
	if err := c.QueryRowContext(ctx, `SELECT count(*) FROM orders`).Scan(&orders); err != nil {
		return fmt.Errorf("--bulk: %w", err)
	}
	if orders > 0 {
		return fmt.Errorf("--bulk: the ledger has %d orders already: point it at a fresh data directory", orders)
	}
	if _, err := c.ExecContext(ctx, `PRAGMA synchronous = OFF; PRAGMA cache_size = -262144; PRAGMA temp_store = MEMORY`); err != nil {
		return err
	}
	// Indexes are built once at the end, from the migrations' own statements.
	indexes, err := seedIndexes(ctx, c)
	if err != nil {
		return err
	}
	var steps []bulkStep
	for name := range indexes {
		steps = append(steps, bulkStep{"", `DROP INDEX "` + name + `"`})
	}
	steps = append(steps, bulkSteps(o, time.Now())...)
	for _, create := range indexes {
		steps = append(steps, bulkStep{"", create})
	}
	steps = append(steps, bulkStep{fmt.Sprintf("%d indexes built", len(indexes)), `PRAGMA wal_checkpoint(TRUNCATE)`})
	start := time.Now()
	for _, step := range steps {
		if _, err := c.ExecContext(ctx, step.sql); err != nil {
			return fmt.Errorf("--bulk: %s: %w", step.sql, err)
		}
		if step.what != "" {
			fmt.Fprintf(app.Stdout, "%s (%s)\n", step.what, time.Since(start).Round(time.Millisecond))
			start = time.Now()
		}
	}
	return nil
}

// seedIndexes returns the statements that make the indexes of the tables a
// bulk seed fills, by name.
func seedIndexes(ctx context.Context, c *sql.Conn) (map[string]string, error) {
	rows, err := c.QueryContext(ctx, `SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL
		AND tbl_name IN ('orders', 'items', 'transactions', 'grants', 'attempts', 'download_sessions')`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var name, create string
		if err := rows.Scan(&name, &create); err != nil {
			return nil, err
		}
		out[name] = create
	}
	return out, rows.Err()
}

type bulkStep struct{ what, sql string }

// bulkSteps are the statements of a bulk seed. pick(x, k, n) is the k-th
// random choice for row x, from 0 to n-1: a Fibonacci hash of x, k and the
// seed, whose high bits (well mixed, unlike its low ones) are scaled to n.
func bulkSteps(o seedOptions, now time.Time) []bulkStep {
	span := int64(o.Days) * 24 * 3600 * 1000
	end := now.UnixMilli()
	begin := end - span
	pick := func(x string, k, n int64) string {
		return fmt.Sprintf("(((((%s) * %d + %d) * 2654435761 %% 4294967296) * %d) >> 32)", x, 2*k+1, o.Seed%1000003, n)
	}
	spanSeconds := span / 1000
	series := func(n int) string {
		return fmt.Sprintf("WITH RECURSIVE c(x) AS (SELECT 0 UNION ALL SELECT x+1 FROM c WHERE x < %d)", n-1)
	}
	providers := make([]string, len(seedProviders))
	for i, p := range seedProviders {
		providers[i] = fmt.Sprintf("WHEN %d THEN '%s'", i, p)
	}
	names := make([]string, len(seedNames))
	for i, n := range seedNames {
		names[i] = fmt.Sprintf("WHEN %d THEN '%s'", i, strings.ReplaceAll(n, "'", "''"))
	}
	agents := make([]string, len(seedAgents))
	for i, a := range seedAgents {
		agents[i] = fmt.Sprintf("WHEN %d THEN '%s'", i, strings.ReplaceAll(a, "'", "''"))
	}
	product := pick("x", 1, int64(o.Products))
	refunded := fmt.Sprintf("(%s = 0)", pick("x", 2, 50))
	return []bulkStep{
		{fmt.Sprintf("%d buyers", o.Buyers), fmt.Sprintf(`%s
			INSERT INTO buyers (id, email, name, created_at, updated_at)
			SELECT x + 1, 'buyer' || x || '@example.com', CASE x %% %d %s END, %d, %d FROM c`,
			series(o.Buyers), len(seedNames), strings.Join(names, " "), begin, begin)},
		{fmt.Sprintf("%d orders", o.Orders), fmt.Sprintf(`%s
			INSERT INTO orders (id, provider, ref, custom, buyer_id, buyer_email, buyer_name, currency, total, status,
				status_reason, review, test, created_at, updated_at)
			SELECT x + 1, CASE %s %s END, printf('SEED%%013d', x), '', b.id, b.email, b.name, 'EUR',
				500 + 100 * %s, CASE WHEN %s THEN 'refunded' ELSE 'paid' END, '', 0, 0,
				%d + x * %d / %d, %d + x * %d / %d
			FROM c JOIN buyers b ON b.id = 1 + %s`,
			series(o.Orders), pick("x", 3, int64(len(seedProviders))), strings.Join(providers, " "),
			product, refunded, begin, span, o.Orders, begin, span, o.Orders, pick("x", 4, int64(o.Buyers)))},
		{"items", fmt.Sprintf(`INSERT INTO items (id, order_id, product_id, name, quantity, amount, status, hold)
			SELECT o.id, o.id, p.id, p.name, 1, o.total, o.status, ''
			FROM orders o JOIN products p ON p.id = printf('SEED-%%03d', (o.total - 500) / 100)`)},
		{"payments", `INSERT INTO transactions (order_id, provider, txn_id, parent_txn_id, kind, status, raw_status, reason,
				amount, currency, created_at, updated_at, order_ref, product_id, full_refund)
			SELECT id, provider, ref, '', 'payment', 'completed', 'seed', '', total, currency, created_at, created_at, ref, '', 0
			FROM orders ORDER BY id`},
		{"refunds", `INSERT INTO transactions (order_id, provider, txn_id, parent_txn_id, kind, status, raw_status, reason,
				amount, currency, created_at, updated_at, order_ref, product_id, full_refund)
			SELECT id, provider, ref || 'R', ref, 'refund', 'completed', 'seed', '', -total, currency, created_at, created_at, ref, '', 1
			FROM orders WHERE status = 'refunded' ORDER BY id`},
		{"grants", `INSERT INTO grants (id, item_id, order_id, product_id, public_id, state, reason, download_limit,
				downloads_used, expires_at, created_at, updated_at)
			SELECT i.id, i.id, i.order_id, i.product_id, printf('seed%012d', i.id - 1),
				CASE WHEN o.status = 'refunded' THEN 'revoked' ELSE 'active' END,
				CASE WHEN o.status = 'refunded' THEN 'refunded' ELSE '' END, 5, 0, 0, o.created_at, o.created_at
			FROM items i JOIN orders o ON o.id = i.order_id ORDER BY i.id`},
		{fmt.Sprintf("%d attempts", o.Attempts), fmt.Sprintf(`%s
			INSERT INTO attempts (grant_id, file_id, session_id, at, ip, user_agent, method, range_header, status,
				bytes_sent, counted, refused)
			SELECT g.id, f.id, NULL, %d + %s * 1000 + %s,
				'198.51.' || %s || '.' || %s, CASE %s %s END, 'GET', '', 200, 1024, %s = 0, ''
			FROM c JOIN grants g ON g.id = 1 + %s JOIN files f ON f.product_id = g.product_id AND f.current`,
			series(o.Attempts), begin, pick("x", 5, spanSeconds), pick("x", 6, 1000), pick("x", 7, 256), pick("x", 8, 256),
			pick("x", 9, int64(len(seedAgents))), strings.Join(agents, " "), pick("x", 10, 4), pick("x", 11, int64(o.Orders)))},
		{"the attempts counted by day (buyer_days, product_days)", `
			INSERT INTO buyer_days (day, buyer_id, attempts, downloads, last_at)
			SELECT a.at / 86400000, COALESCE(o.buyer_id, 0), count(*), sum(a.counted), max(a.at)
			FROM attempts a JOIN grants g ON g.id = a.grant_id JOIN orders o ON o.id = g.order_id
			GROUP BY 1, 2`},
		{"", `INSERT INTO product_days (day, product_id, attempts, completed, charged)
			SELECT a.at / 86400000, f.product_id, count(*), 0, 0 FROM attempts a JOIN files f ON f.id = a.file_id
			WHERE true GROUP BY 1, 2
			ON CONFLICT (day, product_id) DO UPDATE SET attempts = product_days.attempts + excluded.attempts`},
		{"the buyers' sums over the counters' windows (buyer_windows)", fmt.Sprintf(`
			UPDATE counter_windows SET first_day = %d - days + 1`, end/86400000)},
		{"", `INSERT INTO buyer_windows (days, buyer_id, attempts, downloads, last_at)
			SELECT w.days, d.buyer_id, SUM(d.attempts), SUM(d.downloads), MAX(d.last_at)
			FROM buyer_days d JOIN counter_windows w ON d.day >= w.first_day GROUP BY w.days, d.buyer_id`},
		// Sales and sessions are counted by day by migration 00021's triggers.
		{"download sessions of the counted attempts", `INSERT INTO download_sessions (grant_id, file_id, product_id, client_ip,
				started_at, last_seen, size, bytes_sent, charged, completed, closed, given_back)
			SELECT a.grant_id, a.file_id, g.product_id, a.ip, a.at, a.at, 1024, 1024, 1, a.id % 10 != 0, 1, a.id % 20 = 0
			FROM attempts a JOIN grants g ON g.id = a.grant_id WHERE a.counted ORDER BY a.id`},
	}
}
