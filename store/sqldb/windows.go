package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"

	"github.com/vend-shop/vend/store"
)

// The counters' standard windows (migration 00022): each buyer's sums over the
// last 7, 30 and 90 UTC days, today included, in buyer_windows. A window's rows
// add up the buyer_days from its first_day on, so the top buyers of the last
// 30 days are the first rows of an index rather than the sum of a row per buyer
// and day. countAttempts adds each batch to the windows, and first moves them
// on to the transaction's day (sweepWindows). AttemptsPerBuyer reads a window
// when one holds exactly the days asked for, and adds up buyer_days otherwise:
// other windows, or before the first attempt of a day has moved them on.

// unbuilt is the first_day of a window not built yet: it holds no day.
const unbuilt = math.MaxInt64

// sweepWindows moves each window on to the transaction's day: it subtracts the
// days that left it, or builds it again from buyer_days when it was never built
// or all its days left. A window ahead of the day (a clock set back) is left as
// it is, to be read again when the day reaches it. It costs a point query on a
// table of three rows when the windows are current.
func (tx *Tx) sweepWindows(ctx context.Context) error {
	stale, err := tx.staleWindows(ctx)
	if err != nil || len(stale) == 0 {
		return err
	}
	if tx.postgres {
		// Other instances' batches add to buyer_windows concurrently, reading
		// first_day when they do: hold their writes until this commits (they
		// wait, once a day), then look again, as one of them may have swept.
		if _, err := tx.exec(ctx, `LOCK TABLE buyer_windows IN SHARE ROW EXCLUSIVE MODE`); err != nil {
			return fmt.Errorf("lock the counters' windows: %w", err)
		}
		if stale, err = tx.staleWindows(ctx); err != nil {
			return err
		}
	}
	today := dayOf(tx.now)
	for _, w := range stale {
		if err := tx.sweepWindow(ctx, w, today-w.days+1); err != nil {
			return fmt.Errorf("move the counters' %d-day window on: %w", w.days, err)
		}
	}
	return nil
}

type window struct{ days, first int64 }

// staleWindows are the windows that do not start on the first day of a window
// that ends today, and are not ahead of it.
func (tx *Tx) staleWindows(ctx context.Context) ([]window, error) {
	today := dayOf(tx.now)
	rows, err := tx.query(ctx, `SELECT days, first_day FROM counter_windows ORDER BY days`)
	if err != nil {
		return nil, fmt.Errorf("read the counters' windows: %w", err)
	}
	defer rows.Close()
	var stale []window
	for rows.Next() {
		var w window
		if err := rows.Scan(&w.days, &w.first); err != nil {
			return nil, fmt.Errorf("read the counters' windows: %w", err)
		}
		if want := today - w.days + 1; w.first < want || w.first == unbuilt {
			stale = append(stale, w)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read the counters' windows: %w", err)
	}
	return stale, nil
}

// sweepWindow makes w start on the day first.
func (tx *Tx) sweepWindow(ctx context.Context, w window, first int64) error {
	if w.first == unbuilt || first-w.first >= w.days {
		if _, err := tx.exec(ctx, `DELETE FROM buyer_windows WHERE days = $1`, w.days); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `
			INSERT INTO buyer_windows (days, buyer_id, attempts, downloads, last_at)
			SELECT $1, buyer_id, SUM(attempts), SUM(downloads), MAX(last_at) FROM buyer_days WHERE day >= $2
			GROUP BY buyer_id ORDER BY buyer_id`, w.days, first); err != nil {
			return err
		}
	} else {
		// A buyer's last attempt stays: it is on a day still in the window
		// whenever the buyer has attempts left in it.
		if _, err := tx.exec(ctx, `
			UPDATE buyer_windows SET attempts = buyer_windows.attempts - d.attempts, downloads = buyer_windows.downloads - d.downloads
			FROM (SELECT buyer_id, SUM(attempts) AS attempts, SUM(downloads) AS downloads FROM buyer_days
				WHERE day >= $2 AND day < $3 GROUP BY buyer_id) d
			WHERE buyer_windows.days = $1 AND buyer_windows.buyer_id = d.buyer_id`, w.days, w.first, first); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `DELETE FROM buyer_windows WHERE days = $1 AND attempts <= 0`, w.days); err != nil {
			return err
		}
	}
	_, err := tx.exec(ctx, `UPDATE counter_windows SET first_day = $2 WHERE days = $1`, w.days, first)
	return err
}

// windowColumns are the columns of buyer_windows that order the lines for
// each store.Sort*, most first, before the email address that breaks ties
// ("": by email address alone).
var windowColumns = map[string]string{
	store.SortAttempts:  "attempts",
	store.SortDownloads: "downloads",
	store.SortLast:      "last_at",
	store.SortEmail:     "",
}

// buyersInWindow answers AttemptsPerBuyer's first n lines by sort from the
// window that holds exactly the days from lo on, if one does (ok).
//
// By a count, it first reads the n-th highest, from the count's index, then
// sorts the lines at least that high (the ties included) by the count and the
// email address: a join ordered by both would make SQLite sort the whole
// window. By email address, it sorts the whole window, as the index of the
// buyers' addresses holds every buyer, most of them outside the window.
func (tx *Tx) buyersInWindow(ctx context.Context, lo int64, sort string, n int) (out []store.BuyerAttempts, ok bool, err error) {
	var days int64
	err = tx.queryRow(ctx, `SELECT days FROM counter_windows WHERE first_day = $1`, lo).Scan(&days)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read the counters' windows: %w", err)
	}
	// Ties go by email address in byte order, as Go compares strings.
	order := `COALESCE(b.email, '')`
	if tx.postgres {
		order += ` COLLATE "C"`
	}
	order += `, w.buyer_id`
	cut := ``
	args := []any{days, n}
	if col := windowColumns[sort]; col != "" {
		order = `w.` + col + ` DESC, ` + order
		var least int64
		err := tx.queryRow(ctx, `SELECT `+col+` FROM buyer_windows WHERE days = $1 ORDER BY `+col+` DESC LIMIT 1 OFFSET $2`,
			days, n-1).Scan(&least)
		switch {
		case err == nil:
			cut, args = ` AND w.`+col+` >= $3`, append(args, least)
		case !errors.Is(err, sql.ErrNoRows): // no row: n lines or fewer, all of them wanted
			return nil, false, fmt.Errorf("count attempts per buyer in the %d-day window: %w", days, err)
		}
	}
	rows, err := tx.query(ctx, `
		SELECT w.attempts, w.downloads, w.last_at, COALESCE(b.email, ''), COALESCE(b.name, '')
		FROM buyer_windows w LEFT JOIN buyers b ON b.id = w.buyer_id WHERE w.days = $1`+cut+`
		ORDER BY `+order+` LIMIT $2`, args...)
	if err != nil {
		return nil, false, fmt.Errorf("count attempts per buyer in the %d-day window: %w", days, err)
	}
	defer rows.Close()
	out = []store.BuyerAttempts{}
	for rows.Next() {
		var b store.BuyerAttempts
		var last int64
		if err := rows.Scan(&b.Attempts, &b.Downloads, &last, &b.Email, &b.Name); err != nil {
			return nil, false, fmt.Errorf("scan attempts per buyer: %w", err)
		}
		b.LastAttempt = fromMS(last)
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("count attempts per buyer in the %d-day window: %w", days, err)
	}
	return out, true, nil
}
