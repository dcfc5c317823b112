package report

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/store"
)

// StatsReport is the sums of the last Days UTC days, today included, and
// the buyers and products with the most downloads in them: what `vend
// stats` prints and GET /api/v1/stats answers.
type StatsReport struct {
	Days      int                      `json:"days"`
	Test      bool                     `json:"test"`  // sales and refunds of test orders counted
	Since     time.Time                `json:"since"` // the first day's start, UTC
	Sales     int                      `json:"sales"`
	Revenue   map[string]vend.Amount   `json:"revenue"` // by currency
	Refunds   int                      `json:"refunds"`
	Downloads int                      `json:"downloads"` // counted against limits
	Buyers    []store.BuyerAttempts    `json:"buyers"`    // by attempts, or by sort
	Products  []store.ProductDownloads `json:"products"`  // by completed downloads
}

// StatsMaxDays bounds a report's days: ten years.
const StatsMaxDays = 3660

// StatsQuery asks for a report: the last Days days, the Top buyers (ordered
// by BuyerSort: attempts, downloads, last or email) and products. Sales and
// refunds of test orders (sandbox payments) count only WithTest, as on the
// dashboard.
type StatsQuery struct {
	Days, Top int
	BuyerSort string
	WithTest  bool
}

// Stats makes the report q asks for, of the days before now.
func Stats(ctx context.Context, db store.DB, now time.Time, q StatsQuery) (*StatsReport, error) {
	days, top := q.Days, q.Top
	if days < 1 || days > StatsMaxDays {
		return nil, vend.Errorf(vend.EINVALID, "days: a number from 1 to %d (got %d).", StatsMaxDays, days)
	}
	if top < 1 || top > 1000 {
		return nil, vend.Errorf(vend.EINVALID, "top: a number from 1 to 1000 (got %d).", top)
	}
	now = now.UTC()
	y, m, d := now.AddDate(0, 0, -(days - 1)).Date()
	r := &StatsReport{Days: days, Test: q.WithTest, Since: time.Date(y, m, d, 0, 0, 0, 0, time.UTC), Revenue: map[string]vend.Amount{}}
	err := db.View(ctx, func(tx store.Tx) error {
		stats, err := tx.DailyStats(ctx, r.Since, now, q.WithTest)
		if err != nil {
			return err
		}
		for _, s := range stats {
			r.Sales, r.Refunds, r.Downloads = r.Sales+s.Sales, r.Refunds+s.Refunds, r.Downloads+s.Downloads
			for c, a := range s.Revenue {
				r.Revenue[c] += a
			}
		}
		if r.Buyers, err = tx.AttemptsPerBuyer(ctx, store.BuyerQuery{From: r.Since, Sort: q.BuyerSort, Limit: top}); err != nil {
			return err
		}
		r.Products, err = tx.DownloadsPerProduct(ctx, r.Since, time.Time{})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("report: stats of %d days: %w", days, err)
	}
	if err := SortProducts(r.Products, "completed"); err != nil {
		return nil, err
	}
	r.Products = r.Products[:min(top, len(r.Products))]
	if r.Buyers == nil {
		r.Buyers = []store.BuyerAttempts{}
	}
	if r.Products == nil {
		r.Products = []store.ProductDownloads{}
	}
	return r, nil
}

// productLess is how the products' counter is ordered by by, or nil for an
// unknown order.
func productLess(by string) func(a, b store.ProductDownloads) bool {
	switch by {
	case "product":
		return func(a, b store.ProductDownloads) bool { return a.ProductID < b.ProductID }
	case "completed":
		return func(a, b store.ProductDownloads) bool { return a.Completed > b.Completed }
	case "charged":
		return func(a, b store.ProductDownloads) bool { return a.Charged > b.Charged }
	case "attempts":
		return func(a, b store.ProductDownloads) bool { return a.Attempts > b.Attempts }
	}
	return nil
}

// SortProducts orders a products' counter by "product" (id, A to Z),
// "completed", "charged" or "attempts" (most first; ties by product id).
func SortProducts(ps []store.ProductDownloads, by string) error {
	less := productLess(by)
	if less == nil {
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
