package sqldb

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/store"
)

// The counters add up rows of buyer_days and product_days (migration 00021),
// rows per UTC day and buyer or product, in Go maps rather than with GROUP BY:
// SQLite has no hash aggregate and sorts the window's rows for a GROUP BY. A
// window is whole UTC days. The attempts are counted here, in the attempts'
// transaction; on SQLite the download sessions by the migration's triggers,
// on PostgreSQL they are added up when read (a trigger there would lock a
// product's day row for every session, in an order two instances' batches
// could cross).

// attemptDay is what a batch of attempts adds to the counters for one day,
// grant and file.
type attemptDay struct {
	day, grant, file int64
}

type attemptSum struct{ n, counted, last int64 }

// countAttempts adds as to the counters: one statement for the buyers'
// windows, one for their days and one for the products' days, whatever the
// batch holds, each writing its rows in key order and in that order, so that
// two instances' batches on PostgreSQL take the rows' locks in the same order.
// The windows are moved on to the transaction's day first. The windows come
// first because the batch that moves them on locks their table before any row:
// a batch that held a day's row while it waited for that table could wait for
// the mover, which writes the same day's rows after the lock (a batch flushed
// after midnight holds attempts of the day before).
func (tx *Tx) countAttempts(ctx context.Context, as []*vend.Attempt) error {
	if len(as) == 0 {
		return nil
	}
	if err := tx.sweepWindows(ctx); err != nil {
		return err
	}
	sums := map[attemptDay]attemptSum{}
	for _, a := range as {
		at := ms(a.At)
		k := attemptDay{at / dayMS, a.GrantID, a.FileID}
		s := sums[k]
		s.n++
		if a.Counted {
			s.counted++
		}
		s.last = max(s.last, at)
		sums[k] = s
	}
	rows := make([][6]int64, 0, len(sums))
	for k, s := range sums {
		rows = append(rows, [6]int64{k.day, k.grant, k.file, s.n, s.counted, s.last})
	}
	list, err := json.Marshal(rows)
	if err != nil {
		return err
	}
	batch := `(SELECT CAST(value->>0 AS BIGINT) AS day, CAST(value->>1 AS BIGINT) AS grant_id, CAST(value->>2 AS BIGINT) AS file_id,
		CAST(value->>3 AS BIGINT) AS n, CAST(value->>4 AS BIGINT) AS counted, CAST(value->>5 AS BIGINT) AS last FROM ` + tx.jsonElements() + `) a`
	if _, err := tx.exec(ctx, `
		INSERT INTO buyer_windows (days, buyer_id, attempts, downloads, last_at)
		SELECT w.days, COALESCE(o.buyer_id, 0), SUM(a.n), SUM(a.counted), MAX(a.last)
		FROM `+batch+` JOIN grants g ON g.id = a.grant_id JOIN orders o ON o.id = g.order_id JOIN counter_windows w ON a.day >= w.first_day
		WHERE true GROUP BY w.days, COALESCE(o.buyer_id, 0) ORDER BY 1, 2
		ON CONFLICT (days, buyer_id) DO UPDATE SET attempts = buyer_windows.attempts + excluded.attempts,
			downloads = buyer_windows.downloads + excluded.downloads,
			last_at = CASE WHEN excluded.last_at > buyer_windows.last_at THEN excluded.last_at ELSE buyer_windows.last_at END`,
		string(list)); err != nil {
		return fmt.Errorf("count %d attempts in the windows: %w", len(as), err)
	}
	if _, err := tx.exec(ctx, `
		INSERT INTO buyer_days (day, buyer_id, attempts, downloads, last_at)
		SELECT a.day, COALESCE(o.buyer_id, 0), SUM(a.n), SUM(a.counted), MAX(a.last)
		FROM `+batch+` JOIN grants g ON g.id = a.grant_id JOIN orders o ON o.id = g.order_id
		WHERE true GROUP BY a.day, COALESCE(o.buyer_id, 0) ORDER BY 1, 2
		ON CONFLICT (day, buyer_id) DO UPDATE SET attempts = buyer_days.attempts + excluded.attempts,
			downloads = buyer_days.downloads + excluded.downloads,
			last_at = CASE WHEN excluded.last_at > buyer_days.last_at THEN excluded.last_at ELSE buyer_days.last_at END`,
		string(list)); err != nil {
		return fmt.Errorf("count %d attempts per buyer: %w", len(as), err)
	}
	if _, err := tx.exec(ctx, `
		INSERT INTO product_days (day, product_id, attempts, completed, charged)
		SELECT a.day, f.product_id, SUM(a.n), 0, 0 FROM `+batch+` JOIN files f ON f.id = a.file_id
		WHERE true GROUP BY a.day, f.product_id ORDER BY 1, 2
		ON CONFLICT (day, product_id) DO UPDATE SET attempts = product_days.attempts + excluded.attempts`,
		string(list)); err != nil {
		return fmt.Errorf("count %d attempts per product: %w", len(as), err)
	}
	return nil
}

// dayRange is the first and last UTC day of a window of whole days: the days
// of from and of to, both included; a zero from or to leaves that end open.
func dayRange(from, to time.Time) (lo, hi int64) {
	lo, hi = math.MinInt64, math.MaxInt64
	if !from.IsZero() {
		lo = dayOf(from)
	}
	if !to.IsZero() {
		hi = dayOf(to)
	}
	return lo, hi
}

// dayMillis is the window of days lo to hi, both included, in Unix
// milliseconds: [start, end).
func dayMillis(lo, hi int64) (start, end int64) {
	start, end = 0, math.MaxInt64
	if lo != math.MinInt64 {
		start = lo * dayMS
	}
	if hi != math.MaxInt64 {
		end = (hi + 1) * dayMS
	}
	return start, end
}

// jsonElements is the table of the elements of the JSON array $1.
func (tx *Tx) jsonElements() string {
	if tx.postgres {
		return `jsonb_array_elements(CAST($1 AS jsonb))`
	}
	return `json_each($1)`
}

// lookupBatch is how many ids one lookup statement takes.
const lookupBatch = 5000

// inIDs is the subquery that unpacks a JSON array of ids, the one parameter
// $1: a statement whose text does not depend on the number of ids.
func (tx *Tx) inIDs() string {
	if tx.postgres {
		return `SELECT CAST(value AS BIGINT) FROM jsonb_array_elements_text(CAST($1 AS jsonb))`
	}
	return `SELECT value FROM json_each($1)`
}

// lookup runs query, whose $1 is a list of ids, for ids in ascending batches,
// calling scan for each row.
func (tx *Tx) lookup(ctx context.Context, query string, ids []int64, scan func(scan func(...any) error) error) error {
	slices.Sort(ids)
	for len(ids) > 0 {
		n := min(len(ids), lookupBatch)
		list, err := json.Marshal(ids[:n])
		if err != nil {
			return err
		}
		ids = ids[n:]
		rows, err := tx.query(ctx, query, string(list))
		if err != nil {
			return err
		}
		for rows.Next() {
			if err := scan(rows.Scan); err != nil {
				rows.Close()
				return err
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}

// buyerLine is a buyer's line while it is counted; buyer 0 stands for orders
// without an email address.
type buyerLine struct {
	buyer int64
	store.BuyerAttempts
}

// buyerMetrics order the lines by store.Sort*, before the email address that
// breaks ties (nil: by email address alone).
var buyerMetrics = map[string]func(a, b *buyerLine) int{
	store.SortAttempts:  func(a, b *buyerLine) int { return cmp.Compare(b.Attempts, a.Attempts) },
	store.SortDownloads: func(a, b *buyerLine) int { return cmp.Compare(b.Downloads, a.Downloads) },
	store.SortLast:      func(a, b *buyerLine) int { return b.LastAttempt.Compare(a.LastAttempt) },
	store.SortEmail:     nil,
}

func (tx *Tx) AttemptsPerBuyer(ctx context.Context, q store.BuyerQuery) ([]store.BuyerAttempts, error) {
	sortKey := cmp.Or(q.Sort, store.SortAttempts)
	metric, ok := buyerMetrics[sortKey]
	if !ok {
		return nil, vend.Errorf(vend.EINVALID, "Sort by attempts, downloads, last or email (got %q).", q.Sort)
	}
	lo, hi := dayRange(q.From, q.To)
	n := limit(q.Limit, 100)
	if q.To.IsZero() && !q.From.IsZero() {
		out, ok, err := tx.buyersInWindow(ctx, lo, sortKey, n)
		if ok || err != nil {
			return out, err
		}
	}
	buyers := map[int64]*buyerLine{}
	rows, err := tx.query(ctx, `SELECT buyer_id, attempts, downloads, last_at FROM buyer_days WHERE day >= $1 AND day <= $2`, lo, hi)
	if err != nil {
		return nil, fmt.Errorf("count attempts per buyer: %w", err)
	}
	for rows.Next() {
		var buyer, last int64
		var attempts, downloads int
		if err := rows.Scan(&buyer, &attempts, &downloads, &last); err != nil {
			rows.Close()
			return nil, fmt.Errorf("scan attempts per buyer: %w", err)
		}
		b := buyers[buyer]
		if b == nil {
			b = &buyerLine{buyer: buyer}
			buyers[buyer] = b
		}
		b.Attempts += attempts
		b.Downloads += downloads
		if last := fromMS(last); last.After(b.LastAttempt) {
			b.LastAttempt = last
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count attempts per buyer: %w", err)
	}

	// Only the lines that can make the first q.Limit need their email address:
	// those at least as far up as the q.Limit-th by the metric.
	lines := make([]*buyerLine, 0, len(buyers))
	for _, b := range buyers {
		lines = append(lines, b)
	}
	if metric != nil && len(lines) > n {
		slices.SortFunc(lines, metric)
		cut := n
		for cut < len(lines) && metric(lines[cut], lines[n-1]) == 0 {
			cut++
		}
		lines = lines[:cut]
	}
	ids := make([]int64, 0, len(lines))
	for _, b := range lines {
		if b.buyer != 0 {
			ids = append(ids, b.buyer)
		}
	}
	err = tx.lookup(ctx, `SELECT id, email, name FROM buyers WHERE id IN (`+tx.inIDs()+`)`, ids, func(scan func(...any) error) error {
		var id int64
		var email, name string
		if err := scan(&id, &email, &name); err != nil {
			return err
		}
		buyers[id].Email, buyers[id].Name = email, name
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("find buyers: %w", err)
	}
	slices.SortFunc(lines, func(a, b *buyerLine) int {
		if metric != nil {
			if c := metric(a, b); c != 0 {
				return c
			}
		}
		return cmp.Or(strings.Compare(a.Email, b.Email), cmp.Compare(a.buyer, b.buyer))
	})
	out := make([]store.BuyerAttempts, 0, min(n, len(lines)))
	for _, b := range lines[:min(n, len(lines))] {
		out = append(out, b.BuyerAttempts)
	}
	return out, nil
}

// DownloadsPerProduct reads product_days, and the catalog for the names.
func (tx *Tx) DownloadsPerProduct(ctx context.Context, from, to time.Time) ([]store.ProductDownloads, error) {
	lo, hi := dayRange(from, to)
	byID := map[string]*store.ProductDownloads{}
	line := func(id string) *store.ProductDownloads {
		p := byID[id]
		if p == nil {
			p = &store.ProductDownloads{ProductID: id}
			byID[id] = p
		}
		return p
	}
	each := func(query string, scan func(scan func(...any) error) error, args ...any) error {
		rows, err := tx.query(ctx, query, args...)
		if err != nil {
			return fmt.Errorf("count downloads per product: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			if err := scan(rows.Scan); err != nil {
				return fmt.Errorf("scan downloads per product: %w", err)
			}
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("count downloads per product: %w", err)
		}
		return nil
	}
	err := each(`SELECT id, name FROM products`, func(scan func(...any) error) error {
		var id, name string
		err := scan(&id, &name)
		line(id).Name = name
		return err
	})
	if err != nil {
		return nil, err
	}
	sum := func(scan func(...any) error) error {
		var id string
		var attempts, completed, charged int
		err := scan(&id, &attempts, &completed, &charged)
		p := line(id)
		p.Attempts, p.Completed, p.Charged = p.Attempts+attempts, p.Completed+completed, p.Charged+charged
		return err
	}
	if err := each(`SELECT product_id, attempts, completed, charged FROM product_days WHERE day >= $1 AND day <= $2`, sum, lo, hi); err != nil {
		return nil, err
	}
	if tx.postgres {
		// PostgreSQL's product_days counts attempts alone (migration 00021):
		// the sessions are added up here, through their index on started_at.
		start, end := dayMillis(lo, hi)
		err := each(`
			SELECT product_id, 0, COUNT(*) FILTER (WHERE completed), COUNT(*) FILTER (WHERE charged AND NOT given_back)
			FROM download_sessions WHERE started_at >= $1 AND started_at < $2 GROUP BY product_id`, sum, start, end)
		if err != nil {
			return nil, err
		}
	}
	out := make([]store.ProductDownloads, 0, len(byID))
	for _, p := range byID {
		out = append(out, *p)
	}
	slices.SortFunc(out, func(a, b store.ProductDownloads) int { return strings.Compare(a.ProductID, b.ProductID) })
	return out, nil
}
