package sqldb

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/store"
)

// The counters read every attempt of their window, and that is their cost: one
// step through the index of migration 00009 per attempt, never the table. They
// add the attempts up here, in maps, rather than with GROUP BY: SQLite has no
// hash aggregate and sorts every row of the window for a GROUP BY (in memory,
// with temp_store=MEMORY: hundreds of MiB for a year of ten million attempts),
// which took two to three times as long as reading the rows out. What the attempts
// name (grants and their orders' buyers, files and their products) is then
// looked up once per distinct grant or file, in id order and in batches.

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
	type grantLine struct {
		attempts, downloads int
		last                int64
	}
	grants := map[int64]grantLine{}
	rows, err := tx.query(ctx, `SELECT grant_id, counted, at FROM attempts WHERE at >= $1 AND at < $2`, ms(q.From), msOrMax(q.To))
	if err != nil {
		return nil, fmt.Errorf("count attempts per buyer: %w", err)
	}
	for rows.Next() {
		var id, at int64
		var counted bool
		if err := rows.Scan(&id, &counted, &at); err != nil {
			rows.Close()
			return nil, fmt.Errorf("scan attempt: %w", err)
		}
		g := grants[id]
		g.attempts++
		if counted {
			g.downloads++
		}
		g.last = max(g.last, at)
		grants[id] = g
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count attempts per buyer: %w", err)
	}

	buyers := map[int64]*buyerLine{}
	ids := make([]int64, 0, len(grants))
	for id := range grants {
		ids = append(ids, id)
	}
	err = tx.lookup(ctx, `SELECT g.id, COALESCE(o.buyer_id, 0) FROM grants g JOIN orders o ON o.id = g.order_id WHERE g.id IN (`+tx.inIDs()+`)`, ids,
		func(scan func(...any) error) error {
			var grant, buyer int64
			if err := scan(&grant, &buyer); err != nil {
				return err
			}
			g, b := grants[grant], buyers[buyer]
			if b == nil {
				b = &buyerLine{buyer: buyer}
				buyers[buyer] = b
			}
			b.Attempts += g.attempts
			b.Downloads += g.downloads
			if last := fromMS(g.last); last.After(b.LastAttempt) {
				b.LastAttempt = last
			}
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("find the buyers of attempts: %w", err)
	}

	// Only the lines that can make the first q.Limit need their email address:
	// those at least as far up as the q.Limit-th by the metric.
	n := limit(q.Limit, 100)
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
	ids = ids[:0]
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

// DownloadsPerProduct counts sessions through their index on started_at, and
// attempts by file (a product's files are few) through the index of migration
// 00009, so neither reads a grant.
func (tx *Tx) DownloadsPerProduct(ctx context.Context, from, to time.Time) ([]store.ProductDownloads, error) {
	lo, hi := ms(from), msOrMax(to)
	byID := map[string]*store.ProductDownloads{}
	line := func(id string) *store.ProductDownloads {
		p := byID[id]
		if p == nil {
			p = &store.ProductDownloads{ProductID: id}
			byID[id] = p
		}
		return p
	}
	each := func(what, query string, scan func(scan func(...any) error) error, args ...any) error {
		rows, err := tx.query(ctx, query, args...)
		if err != nil {
			return fmt.Errorf("count %s per product: %w", what, err)
		}
		defer rows.Close()
		for rows.Next() {
			if err := scan(rows.Scan); err != nil {
				return fmt.Errorf("scan %s per product: %w", what, err)
			}
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("count %s per product: %w", what, err)
		}
		return nil
	}
	err := each("products", `SELECT id, name FROM products`, func(scan func(...any) error) error {
		var id, name string
		err := scan(&id, &name)
		line(id).Name = name
		return err
	})
	if err != nil {
		return nil, err
	}
	err = each("download sessions", `
		SELECT product_id, COUNT(*) FILTER (WHERE completed), COUNT(*) FILTER (WHERE charged AND NOT given_back)
		FROM download_sessions WHERE started_at >= $1 AND started_at < $2 GROUP BY product_id`,
		func(scan func(...any) error) error {
			var id string
			var completed, charged int
			err := scan(&id, &completed, &charged)
			p := line(id)
			p.Completed, p.Charged = p.Completed+completed, p.Charged+charged
			return err
		}, lo, hi)
	if err != nil {
		return nil, err
	}
	files := map[int64]int{}
	err = each("attempts", `SELECT file_id FROM attempts WHERE at >= $1 AND at < $2`, func(scan func(...any) error) error {
		var id int64
		err := scan(&id)
		files[id]++
		return err
	}, lo, hi)
	if err != nil {
		return nil, err
	}
	if len(files) > 0 {
		err = each("attempts", `SELECT id, product_id FROM files`, func(scan func(...any) error) error {
			var id int64
			var product string
			if err := scan(&id, &product); err != nil {
				return err
			}
			if n := files[id]; n > 0 {
				line(product).Attempts += n
			}
			return nil
		})
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
