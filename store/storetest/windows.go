package storetest

import (
	"cmp"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/internal/testclock"
	"github.com/vend-shop/vend/store"
)

// CounterWindows are the counters' standard windows, in days (migration 00022).
var CounterWindows = []int{7, 30, 90}

// windowBuyers is a ledger's buyers for the windows' tests, and the attempts
// written so far: two orders of one buyer (the email's case differs), three
// other buyers, and two orders without an email address.
type windowBuyers struct {
	p      *vend.Product
	emails []string
	names  []string
	grants []*vend.Grant
	all    []*vend.Attempt
}

func newWindowBuyers(t *testing.T, db store.DB) *windowBuyers {
	w := &windowBuyers{p: mustProduct(t, db, "p"), emails: []string{"ann@example.com", "ANN@example.com", "bob@example.com", "cy@example.com", "di@example.com", "", ""},
		names: []string{"Ann", "Ann", "Bob", "Cy", "Di", "", ""}}
	for i, e := range w.emails {
		w.grants = append(w.grants, buyerGrant(t, db, fmt.Sprintf("W%d", i), e, w.names[i], w.p))
	}
	return w
}

func dayNumber(t time.Time) int64 { return t.UnixMilli() / int64(24*time.Hour/time.Millisecond) }

// batch is n attempts of random buyers at now, but for one in eight recorded
// late, up to three days, and one in eight older than any window.
func (w *windowBuyers) batch(r *rand.Rand, now time.Time, n int) []*vend.Attempt {
	batch := make([]*vend.Attempt, n)
	for i := range batch {
		at := now.Add(-time.Duration(r.IntN(3600)) * time.Second)
		switch r.IntN(8) {
		case 0:
			at = now.Add(-time.Duration(r.IntN(72)) * time.Hour)
		case 1:
			at = now.AddDate(0, 0, -100)
		}
		batch[i] = &vend.Attempt{GrantID: w.grants[r.IntN(len(w.grants))].ID, FileID: w.p.Files[0].ID, At: at.Truncate(time.Millisecond),
			IP: "192.0.2.1", Method: "GET", Status: 200, Counted: r.IntN(3) == 0}
	}
	return batch
}

// want is AttemptsPerBuyer's answer from adding up the attempts written.
func (w *windowBuyers) want(from time.Time, sort string, limit int) []store.BuyerAttempts {
	lines := map[string]*store.BuyerAttempts{}
	for _, a := range w.all {
		if dayNumber(a.At) < dayNumber(from) {
			continue
		}
		k := slices.IndexFunc(w.grants, func(g *vend.Grant) bool { return g.ID == a.GrantID })
		email := strings.ToLower(w.emails[k])
		l := lines[email]
		if l == nil {
			l = &store.BuyerAttempts{Email: email, Name: w.names[k]}
			lines[email] = l
		}
		l.Attempts++
		if a.Counted {
			l.Downloads++
		}
		if a.At.After(l.LastAttempt) {
			l.LastAttempt = a.At
		}
	}
	out := []store.BuyerAttempts{}
	for _, l := range lines {
		out = append(out, *l)
	}
	slices.SortFunc(out, func(a, b store.BuyerAttempts) int {
		var c int
		switch sort {
		case store.SortAttempts:
			c = cmp.Compare(b.Attempts, a.Attempts)
		case store.SortDownloads:
			c = cmp.Compare(b.Downloads, a.Downloads)
		case store.SortLast:
			c = b.LastAttempt.Compare(a.LastAttempt)
		}
		return cmp.Or(c, strings.Compare(a.Email, b.Email))
	})
	return out[:min(limit, len(out))]
}

// check compares AttemptsPerBuyer over the last 7, 30, 90 and 10 days before
// now, in every order, with want, and the windows' first days with those of
// the latest day.
func (w *windowBuyers) check(t *testing.T, db store.DB, raw *sql.DB, now time.Time, latest int64, step int) {
	t.Helper()
	wantFirst := map[int]int64{}
	for _, days := range CounterWindows {
		wantFirst[days] = latest - int64(days) + 1
	}
	if got := firstDays(t, raw); !reflect.DeepEqual(got, wantFirst) {
		t.Fatalf("step %d, %v: windows start on days %v, want %v", step, now, got, wantFirst)
	}
	sums := `SELECT c.days, d.buyer_id, SUM(d.attempts), SUM(d.downloads), MAX(d.last_at)
		FROM buyer_days d JOIN counter_windows c ON d.day >= c.first_day GROUP BY c.days, d.buyer_id ORDER BY 1, 2`
	if got, want := rawRows(t, raw, `SELECT days, buyer_id, attempts, downloads, last_at FROM buyer_windows ORDER BY 1, 2`), rawRows(t, raw, sums); got != want {
		t.Fatalf("step %d, %v: the windows hold\n%s\nthe days they start on add up to\n%s", step, now, got, want)
	}
	for _, days := range append([]int{10}, CounterWindows...) {
		from := now.AddDate(0, 0, -(days - 1))
		for _, sort := range []string{store.SortAttempts, store.SortDownloads, store.SortLast, store.SortEmail} {
			for _, limit := range []int{2, 100} {
				got := buyersBy(t, db, store.BuyerQuery{From: from, Sort: sort, Limit: limit})
				if want := w.want(from, sort, limit); !reflect.DeepEqual(got, want) {
					t.Fatalf("step %d, %v, the last %d days by %s, %d lines:\n%+v\nwant\n%+v", step, now, days, sort, limit, got, want)
				}
			}
		}
	}
}

// RunCounterWindows checks the counters' windows (migration 00022) while
// clock, db's Now, moves on by days, at times by more than a window, and at
// times back: after each batch of attempts, AttemptsPerBuyer over the last 7,
// 30 and 90 days (and 10, which no window holds) answers in every order as
// adding up the attempts does, and each window starts on the first day of its
// days up to the clock's latest day. raw is a connection of its own to db's
// database, to read the windows' first days (a window that had fallen behind
// would give the same answers, only slower).
func RunCounterWindows(t *testing.T, db store.DB, clock *testclock.Clock, raw *sql.DB) {
	r := rand.New(rand.NewPCG(22, 7))
	clock.Set(time.Date(2025, 1, 10, 9, 0, 0, 0, time.UTC))
	w := newWindowBuyers(t, db)
	var latest int64 // the clock's latest day: a clock set back leaves the windows where they were
	for step := range 40 {
		now := clock.Now()
		switch step {
		case 12: // more than the 7-day window at once
			now = now.AddDate(0, 0, 9)
		case 25: // more than the 30-day window at once
			now = now.AddDate(0, 0, 33)
		case 30: // a clock set back a day
			now = now.AddDate(0, 0, -1)
		default:
			now = now.Add(time.Duration(r.IntN(3*24)) * time.Hour)
		}
		clock.Set(now)
		batch := w.batch(r, now, 1+r.IntN(12))
		if len(batch) == 1 {
			update(t, db, func(tx store.Tx) error { return tx.CreateAttempt(ctx, batch[0]) })
		} else {
			createAttempts(t, db, batch...)
		}
		w.all = append(w.all, batch...)
		latest = max(latest, dayNumber(now))
		w.check(t, db, raw, now, latest, step)
	}
	// The answers above come from the windows, not from adding up the days
	// (which would give the same): a window's rows changed behind the store's
	// back show in its answer.
	if _, err := raw.ExecContext(ctx, `UPDATE buyer_windows SET attempts = attempts + 1000 WHERE days = 30`); err != nil {
		t.Fatal(err)
	}
	if got := buyersBy(t, db, store.BuyerQuery{From: clock.Now().AddDate(0, 0, -29), Limit: 1}); len(got) != 1 || got[0].Attempts < 1000 {
		t.Errorf("the last 30 days, by attempts: %+v, not from the 30-day window", got)
	}
}

// rawRows is the rows query answers, one line each.
func rawRows(t *testing.T, raw *sql.DB, query string) string {
	t.Helper()
	rows, err := raw.QueryContext(ctx, query)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var days, buyer, attempts, downloads, last int64
		if err := rows.Scan(&days, &buyer, &attempts, &downloads, &last); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%d %d %d %d %d\n", days, buyer, attempts, downloads, last)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// RunCounterWindowsConcurrent has the instances dbs, which share a database,
// write batches of attempts at once while the days change under them: the
// first batches of a day move the windows on while the others add to them,
// and the last instance, whose clock lags a day behind (behind, its clock;
// clock is the others'), writes on the day before. None fails or has to run
// again (a deadlock would), and the windows count every attempt once.
func RunCounterWindowsConcurrent(t *testing.T, dbs []store.DB, clock, behind *testclock.Clock, raw *sql.DB) {
	clock.Set(time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC))
	w := newWindowBuyers(t, dbs[0])
	for step := range 10 {
		now := clock.Now().AddDate(0, 0, 1+step%3*4)
		clock.Set(now)
		behind.Set(now.AddDate(0, 0, -1))
		batches := make([][]*vend.Attempt, len(dbs)*3)
		var wg sync.WaitGroup
		for i := range batches {
			k := i % len(dbs)
			at := now
			if k == len(dbs)-1 {
				at = behind.Now()
			}
			batches[i] = w.batch(rand.New(rand.NewPCG(uint64(step), uint64(i))), at, 20)
			wg.Go(func() {
				runs := 0
				err := dbs[k].Update(ctx, func(tx store.Tx) error { runs++; return tx.CreateAttempts(ctx, batches[i]) })
				if err != nil || runs != 1 {
					t.Errorf("step %d, batch %d: run %d times: %v", step, i, runs, err)
				}
			})
		}
		wg.Wait()
		for _, b := range batches {
			w.all = append(w.all, b...)
		}
		w.check(t, dbs[0], raw, now, dayNumber(now), step)
	}
}

// firstDays reads the first day of each of the counters' windows.
func firstDays(t *testing.T, raw *sql.DB) map[int]int64 {
	t.Helper()
	rows, err := raw.QueryContext(ctx, `SELECT days, first_day FROM counter_windows`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[int]int64{}
	for rows.Next() {
		var days int
		var first int64
		if err := rows.Scan(&days, &first); err != nil {
			t.Fatal(err)
		}
		out[days] = first
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
