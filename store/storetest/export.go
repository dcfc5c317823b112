package storetest

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/store"
)

// buyerGrant creates a paid order of p by a buyer, with its item and grant.
func buyerGrant(tb testing.TB, db store.DB, ref, email, name string, p *vend.Product) *vend.Grant {
	tb.Helper()
	o := &vend.Order{Provider: "paypal", Ref: ref, Buyer: vend.Buyer{Email: email, Name: name}, Currency: "USD", Total: p.Price, Status: vend.OrderPaid}
	it := &vend.Item{ProductID: p.ID, Name: p.Name, Quantity: 1, Amount: p.Price}
	update(tb, db, func(tx store.Tx) error {
		if err := tx.CreateOrder(ctx, o); err != nil {
			return err
		}
		it.OrderID = o.ID
		return tx.CreateItem(ctx, it)
	})
	return mustGrant(tb, db, o, it, "pub-"+ref)
}

func createAttempts(tb testing.TB, db store.DB, as ...*vend.Attempt) {
	tb.Helper()
	update(tb, db, func(tx store.Tx) error { return tx.CreateAttempts(ctx, as) })
}

// exportAttempts reads a whole export page by page, as an exporter does.
func exportAttempts(tb testing.TB, db store.DB, q store.ExportQuery) []*vend.Attempt {
	tb.Helper()
	var out []*vend.Attempt
	for {
		var page []*vend.Attempt
		view(tb, db, func(tx store.Tx) error {
			return tx.ExportAttempts(ctx, q, func(a *vend.Attempt) error { page = append(page, a); return nil })
		})
		if len(page) > q.Limit {
			tb.Fatalf("a page of %d attempts, limit %d", len(page), q.Limit)
		}
		out = append(out, page...)
		if len(page) < q.Limit {
			return out
		}
		if len(out) > 1000 {
			tb.Fatalf("the export does not end: %d attempts", len(out))
		}
		q.AfterTime, q.AfterID = page[len(page)-1].At, page[len(page)-1].ID
	}
}

func exportTxns(tb testing.TB, db store.DB, q store.ExportQuery) []string {
	tb.Helper()
	var out []string
	for {
		var page []*vend.Transaction
		view(tb, db, func(tx store.Tx) error {
			return tx.ExportTransactions(ctx, q, func(t *vend.Transaction) error { page = append(page, t); return nil })
		})
		for _, t := range page {
			out = append(out, t.TxnID)
		}
		if len(page) < q.Limit {
			return out
		}
		if len(out) > 1000 {
			tb.Fatalf("the export does not end: %d transactions", len(out))
		}
		q.AfterTime, q.AfterID = page[len(page)-1].CreatedAt, page[len(page)-1].ID
	}
}

func buyersBy(tb testing.TB, db store.DB, q store.BuyerQuery) []store.BuyerAttempts {
	tb.Helper()
	var out []store.BuyerAttempts
	view(tb, db, func(tx store.Tx) error {
		var err error
		out, err = tx.AttemptsPerBuyer(ctx, q)
		return err
	})
	return out
}

func testExports(t *testing.T, open Opener) {
	subtests(t, open, map[string]func(t *testing.T, db store.DB){
		"ExportOrders selects as SearchOrders does, deleted orders too, newest first, each order once with every item": func(t *testing.T, db store.DB) {
			ebook, course := mustProduct(t, db, "ebook"), mustProduct(t, db, "course")
			var ids []int64
			for i, products := range [][]*vend.Product{{ebook}, {ebook, course}, {course, course}, {ebook}} {
				o := &vend.Order{Provider: "paypal", Ref: fmt.Sprintf("R%d", i), Buyer: vend.Buyer{Email: "b@example.com"}, Currency: "USD", Status: vend.OrderPaid}
				update(t, db, func(tx store.Tx) error {
					if err := tx.CreateOrder(ctx, o); err != nil {
						return err
					}
					for _, p := range products {
						if err := tx.CreateItem(ctx, &vend.Item{OrderID: o.ID, ProductID: p.ID, Name: p.Name, Quantity: 1, Amount: p.Price}); err != nil {
							return err
						}
					}
					return nil
				})
				ids = append(ids, o.ID)
				if i == 1 { // deleted by an administrator: gone from the lists, not from the books
					o.Deleted = true
					update(t, db, func(tx store.Tx) error { return tx.UpdateOrder(ctx, o) })
				}
			}
			// export reads pages until an empty one, as an exporter does.
			export := func(q store.OrderQuery) []string {
				var out []string
				for {
					n := 0
					view(t, db, func(tx store.Tx) error {
						return tx.ExportOrders(ctx, q, func(o *vend.Order) error {
							line := o.Ref + ":"
							for _, it := range o.Items {
								if it.OrderID != o.ID || it.Name == "" || it.Amount == 0 {
									t.Errorf("order %s has item %+v", o.Ref, it)
								}
								line += " " + it.ProductID
							}
							if o.Deleted {
								line += " (deleted)"
							}
							out, q.Before, n = append(out, line), o.ID, n+1
							return nil
						})
					})
					if n == 0 || len(out) > 100 {
						return out
					}
					if q.Limit > 0 && n > q.Limit {
						t.Fatalf("a page of %d orders, limit %d", n, q.Limit)
					}
				}
			}
			page := func(q store.OrderQuery) []string {
				var out []string
				view(t, db, func(tx store.Tx) error {
					return tx.ExportOrders(ctx, q, func(o *vend.Order) error { out = append(out, o.Ref); return nil })
				})
				return out
			}
			if got := page(store.OrderQuery{Limit: 2}); !reflect.DeepEqual(got, []string{"R3", "R2"}) {
				t.Errorf("a page of 2: %v", got)
			}
			if got := page(store.OrderQuery{Limit: 2, Before: ids[2]}); !reflect.DeepEqual(got, []string{"R1", "R0"}) {
				t.Errorf("the next page: %v", got)
			}
			for _, tt := range []struct {
				name string
				q    store.OrderQuery
				want []string
			}{
				{"everything, newest first", store.OrderQuery{}, []string{"R3: ebook", "R2: course course", "R1: ebook course (deleted)", "R0: ebook"}},
				{"in pages of 1", store.OrderQuery{Limit: 1}, []string{"R3: ebook", "R2: course course", "R1: ebook course (deleted)", "R0: ebook"}},
				{"a product: an order with two of its items comes once", store.OrderQuery{Product: "course", Limit: 1},
					[]string{"R2: course course", "R1: ebook course (deleted)"}},
				{"a product and a status", store.OrderQuery{Product: "ebook", Status: vend.OrderPaid, Limit: 2},
					[]string{"R3: ebook", "R1: ebook course (deleted)", "R0: ebook"}},
				{"a text", store.OrderQuery{Text: "R1"}, []string{"R1: ebook course (deleted)"}},
				{"a text and a product", store.OrderQuery{Text: "b@example.com", Product: "course"}, []string{"R2: course course", "R1: ebook course (deleted)"}},
				{"created within the hour", store.OrderQuery{From: time.Now().Add(-time.Hour), To: time.Now().Add(time.Hour), Limit: 3},
					[]string{"R3: ebook", "R2: course course", "R1: ebook course (deleted)", "R0: ebook"}},
				{"created before", store.OrderQuery{To: time.Now().Add(-time.Hour), Limit: 1}, nil},
				{"created after", store.OrderQuery{From: time.Now().Add(time.Hour)}, nil},
				{"nothing", store.OrderQuery{Text: "nobody"}, nil},
			} {
				if got := export(tt.q); !reflect.DeepEqual(got, tt.want) {
					t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
				}
			}
		},
		"ExportTransactions pages by creation time and id, ties of one millisecond included, within the window": func(t *testing.T, db store.DB) {
			f := mustFixture(t, db, "p")
			mk := func(prefix string, n int) time.Time {
				var at time.Time
				update(t, db, func(tx store.Tx) error {
					at = tx.Now() // every row of one transaction has the same time
					for i := range n {
						t := &vend.Transaction{OrderID: f.Order.ID, Provider: "paypal", TxnID: fmt.Sprintf("%s%d", prefix, i), Kind: vend.TxnPayment,
							Status: vend.TxnCompleted, Amount: 100, Currency: "USD"}
						if err := tx.CreateTransaction(ctx, t); err != nil {
							return err
						}
					}
					return nil
				})
				time.Sleep(3 * time.Millisecond)
				return at
			}
			first := mk("A", 7)
			second := mk("B", 2)
			all := []string{"A0", "A1", "A2", "A3", "A4", "A5", "A6", "B0", "B1"}
			for _, tt := range []struct {
				name string
				q    store.ExportQuery
				want []string
			}{
				{"pages of 2", store.ExportQuery{Limit: 2}, all},
				{"pages of 3", store.ExportQuery{Limit: 3}, all},
				{"one page", store.ExportQuery{Limit: 100}, all},
				{"from the second", store.ExportQuery{From: second, Limit: 2}, all[7:]},
				{"to the second (excluded)", store.ExportQuery{From: first, To: second, Limit: 4}, all[:7]},
				{"after the window", store.ExportQuery{From: second.Add(time.Millisecond), Limit: 2}, nil},
			} {
				if got := exportTxns(t, db, tt.q); !reflect.DeepEqual(got, tt.want) {
					t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
				}
			}
		},
		"ExportAttempts pages by time and id, every field, within [From, To)": func(t *testing.T, db store.DB) {
			f := mustFixture(t, db, "p")
			base := time.Date(2025, 3, 3, 10, 0, 0, 0, time.UTC)
			// Written out of time order, with ties: the export is by (at, id).
			offsets := []int{5, 1, 1, 3, 1, 0, 9, 3, 7, 1}
			var made []*vend.Attempt
			for i, off := range offsets {
				made = append(made, &vend.Attempt{GrantID: f.Grant.ID, FileID: f.File.ID, At: base.Add(time.Duration(off) * time.Second),
					IP: "192.0.2.1", UserAgent: fmt.Sprintf("agent %d", i), Method: "GET", Range: "bytes=0-", Status: 206,
					BytesSent: int64(i), Counted: i == 3, Refused: ""})
			}
			createAttempts(t, db, made...)
			all := exportAttempts(t, db, store.ExportQuery{Limit: 3})
			if len(all) != len(made) {
				t.Fatalf("%d attempts exported, want %d", len(all), len(made))
			}
			for i, a := range all {
				if i > 0 && (a.At.Before(all[i-1].At) || a.At.Equal(all[i-1].At) && a.ID <= all[i-1].ID) {
					t.Errorf("attempt %d (%v, %d) after (%v, %d)", i, a.At, a.ID, all[i-1].At, all[i-1].ID)
				}
				var n int
				fmt.Sscanf(a.UserAgent, "agent %d", &n)
				want := *made[n]
				want.ID = a.ID
				if !reflect.DeepEqual(a, &want) {
					t.Errorf("exported %+v, want %+v", a, &want)
				}
			}
			for _, tt := range []struct {
				name     string
				from, to int
				want     int
			}{
				{"from a tie", 1, 0, 9},
				{"to a tie, excluded", 0, 3, 5},
				{"one second", 3, 4, 2},
				{"nothing", 10, 0, 0},
			} {
				q := store.ExportQuery{From: base.Add(time.Duration(tt.from) * time.Second), Limit: 2}
				if tt.to > 0 {
					q.To = base.Add(time.Duration(tt.to) * time.Second)
				}
				got := exportAttempts(t, db, q)
				if len(got) != tt.want {
					t.Errorf("%s: %d attempts, want %d", tt.name, len(got), tt.want)
				}
				for _, a := range got {
					if a.At.Before(q.From) || !q.To.IsZero() && !a.At.Before(q.To) {
						t.Errorf("%s: an attempt at %v", tt.name, a.At)
					}
				}
			}
		},
		"AttemptsPerBuyer counts each buyer's attempts over all their orders, in the window, in each order": func(t *testing.T, db store.DB) {
			p := mustProduct(t, db, "p")
			ann1 := buyerGrant(t, db, "A1", "Ann@Example.com", "Ann", p)
			ann2 := buyerGrant(t, db, "A2", "ann@example.com", "Ann B.", p)
			bob := buyerGrant(t, db, "B1", "bob@example.com", "Bob", p)
			carl := buyerGrant(t, db, "C1", "carl@example.com", `=HYPERLINK("x")`, p)
			base := time.Date(2025, 3, 3, 10, 0, 0, 0, time.UTC)
			at := func(min int) time.Time { return base.Add(time.Duration(min) * time.Minute) }
			attempt := func(g *vend.Grant, min int, counted bool) *vend.Attempt {
				return &vend.Attempt{GrantID: g.ID, FileID: p.Files[0].ID, At: at(min), IP: "192.0.2.1", Method: "GET", Status: 200, Counted: counted}
			}
			createAttempts(t, db,
				attempt(ann1, 1, true), attempt(ann1, 2, false), attempt(ann1, 3, false),
				attempt(ann2, 4, true), attempt(ann2, 5, false),
				attempt(bob, 10, false), attempt(bob, 11, false), attempt(bob, 12, false), attempt(bob, 30, false),
				attempt(carl, 20, true),
				attempt(carl, -24*60, true), attempt(bob, 24*60, true), // the days before and after
			)
			window := store.BuyerQuery{From: at(0), To: at(60)} // whole days: 3 March
			ann := store.BuyerAttempts{Email: "ann@example.com", Name: "Ann B.", Attempts: 5, Downloads: 2, LastAttempt: at(5)}
			bobs := store.BuyerAttempts{Email: "bob@example.com", Name: "Bob", Attempts: 4, Downloads: 0, LastAttempt: at(30)}
			carls := store.BuyerAttempts{Email: "carl@example.com", Name: `=HYPERLINK("x")`, Attempts: 1, Downloads: 1, LastAttempt: at(20)}
			for _, tt := range []struct {
				sort  string
				limit int
				want  []store.BuyerAttempts
			}{
				{"", 0, []store.BuyerAttempts{ann, bobs, carls}},
				{store.SortAttempts, 0, []store.BuyerAttempts{ann, bobs, carls}},
				{store.SortDownloads, 0, []store.BuyerAttempts{ann, carls, bobs}},
				{store.SortLast, 0, []store.BuyerAttempts{bobs, carls, ann}},
				{store.SortEmail, 0, []store.BuyerAttempts{ann, bobs, carls}},
				{store.SortDownloads, 2, []store.BuyerAttempts{ann, carls}},
			} {
				q := window
				q.Sort, q.Limit = tt.sort, tt.limit
				if got := buyersBy(t, db, q); !reflect.DeepEqual(got, tt.want) {
					t.Errorf("sort %q, limit %d:\n got %+v\nwant %+v", tt.sort, tt.limit, got, tt.want)
				}
			}
			everything := buyersBy(t, db, store.BuyerQuery{Sort: store.SortEmail})
			if len(everything) != 3 || everything[1].Attempts != 5 || everything[1].Downloads != 1 || !everything[1].LastAttempt.Equal(at(24*60)) ||
				everything[2].Attempts != 2 {
				t.Errorf("without a window: %+v", everything)
			}
			if got := buyersBy(t, db, store.BuyerQuery{From: at(2 * 24 * 60)}); len(got) != 0 {
				t.Errorf("an empty window: %+v", got)
			}
			view(t, db, func(tx store.Tx) error {
				if _, err := tx.AttemptsPerBuyer(ctx, store.BuyerQuery{Sort: "name; DROP TABLE attempts"}); vend.ErrorCode(err) != vend.EINVALID {
					t.Errorf("an unknown sort: %v, want EINVALID", err)
				}
				return nil
			})
		},
		"AttemptsPerBuyer breaks ties by email address, also where the limit cuts through them": func(t *testing.T, db store.DB) {
			p := mustProduct(t, db, "p")
			at := time.Date(2025, 3, 3, 10, 0, 0, 0, time.UTC)
			var as []*vend.Attempt
			add := func(g *vend.Grant, n int) {
				for range n {
					as = append(as, &vend.Attempt{GrantID: g.ID, FileID: p.Files[0].ID, At: at, IP: "192.0.2.1", Method: "GET", Status: 200})
				}
			}
			for _, email := range []string{"e@example.com", "d@example.com", "c@example.com", "b@example.com", "a@example.com"} {
				add(buyerGrant(t, db, email, email, "", p), 1)
			}
			add(buyerGrant(t, db, "Z", "z@example.com", "", p), 3)
			add(buyerGrant(t, db, "none", "", "", p), 2) // an order without an email address
			createAttempts(t, db, as...)
			emails := func(q store.BuyerQuery) string {
				var out []string
				for _, b := range buyersBy(t, db, q) {
					out = append(out, fmt.Sprintf("%s:%d", b.Email, b.Attempts))
				}
				return strings.Join(out, " ")
			}
			for _, tt := range []struct {
				q    store.BuyerQuery
				want string
			}{
				{store.BuyerQuery{Limit: 4}, "z@example.com:3 :2 a@example.com:1 b@example.com:1"},
				{store.BuyerQuery{Limit: 1}, "z@example.com:3"},
				{store.BuyerQuery{Sort: store.SortLast, Limit: 2}, ":2 a@example.com:1"},
				{store.BuyerQuery{Sort: store.SortEmail, Limit: 3}, ":2 a@example.com:1 b@example.com:1"},
				{store.BuyerQuery{Sort: store.SortDownloads}, ":2 a@example.com:1 b@example.com:1 c@example.com:1 d@example.com:1 e@example.com:1 z@example.com:3"},
			} {
				if got := emails(tt.q); got != tt.want {
					t.Errorf("%+v: %s, want %s", tt.q, got, tt.want)
				}
			}
		},
		"The day counters agree with the attempts they count, for every window of days": func(t *testing.T, db store.DB) {
			p, q := mustProduct(t, db, "p"), mustProduct(t, db, "q")
			grants := []*vend.Grant{
				buyerGrant(t, db, "A1", "ann@example.com", "Ann", p), buyerGrant(t, db, "A2", "ANN@example.com", "Ann", q),
				buyerGrant(t, db, "B1", "bob@example.com", "Bob", p), buyerGrant(t, db, "N1", "", "", q), buyerGrant(t, db, "N2", "", "", p),
			}
			emails := []string{"ann@example.com", "ann@example.com", "bob@example.com", "", ""}
			products := []string{"p", "q", "p", "q", "p"}
			files := map[string]int64{"p": p.Files[0].ID, "q": q.Files[0].ID}
			base := time.Date(2025, 3, 3, 0, 0, 0, 0, time.UTC)
			r := rand.New(rand.NewPCG(16, 21))
			var all []*vend.Attempt
			for len(all) < 400 {
				batch := make([]*vend.Attempt, 1+r.IntN(40))
				for i := range batch {
					k := r.IntN(len(grants))
					at := base.Add(time.Duration(r.Int64N(int64(5 * 24 * time.Hour)))).Truncate(time.Millisecond)
					batch[i] = &vend.Attempt{GrantID: grants[k].ID, FileID: files[products[k]], At: at, IP: "192.0.2.1", Method: "GET",
						Status: 200, Counted: r.IntN(3) == 0}
				}
				if len(batch) == 1 {
					update(t, db, func(tx store.Tx) error { return tx.CreateAttempt(ctx, batch[0]) })
				} else {
					createAttempts(t, db, batch...)
				}
				all = append(all, batch...)
			}
			day := func(d int) time.Time {
				if d < 0 || d > 4 {
					return time.Time{} // open
				}
				return base.AddDate(0, 0, d).Add(time.Duration(d) * time.Hour) // any time of the day
			}
			for from := -1; from <= 4; from++ {
				for to := max(from, 0); to <= 5; to++ {
					lo, hi := day(from), day(to)
					buyers := map[string]*store.BuyerAttempts{}
					attempts := map[string]int{}
					for _, a := range all {
						d := int(a.At.Sub(base) / (24 * time.Hour))
						if from >= 0 && d < from || to <= 4 && d > to {
							continue
						}
						k := slices.IndexFunc(grants, func(g *vend.Grant) bool { return g.ID == a.GrantID })
						b := buyers[emails[k]]
						if b == nil {
							b = &store.BuyerAttempts{Email: emails[k]}
							buyers[emails[k]] = b
						}
						b.Attempts++
						if a.Counted {
							b.Downloads++
						}
						if a.At.After(b.LastAttempt) {
							b.LastAttempt = a.At
						}
						attempts[products[k]]++
					}
					got := buyersBy(t, db, store.BuyerQuery{From: lo, To: hi, Sort: store.SortEmail})
					if len(got) != len(buyers) {
						t.Errorf("days %d to %d: %d buyers, want %d: %+v", from, to, len(got), len(buyers), got)
					}
					for _, b := range got {
						w := buyers[strings.ToLower(b.Email)]
						if w == nil || b.Attempts != w.Attempts || b.Downloads != w.Downloads || !b.LastAttempt.Equal(w.LastAttempt) {
							t.Errorf("days %d to %d: %+v, want %+v", from, to, b, w)
						}
					}
					var ps []store.ProductDownloads
					view(t, db, func(tx store.Tx) error {
						var err error
						ps, err = tx.DownloadsPerProduct(ctx, lo, hi)
						return err
					})
					for _, p := range ps {
						if p.Attempts != attempts[p.ProductID] {
							t.Errorf("days %d to %d: product %s has %d attempts, want %d", from, to, p.ProductID, p.Attempts, attempts[p.ProductID])
						}
					}
				}
			}
		},
		"DownloadsPerProduct counts completed and charged sessions and attempts of every product": func(t *testing.T, db store.DB) {
			f := mustFixture(t, db, "p")
			g := mustFixture(t, db, "q")
			mustProduct(t, db, "r") // nothing downloaded
			for i, s := range []struct {
				f                   fixture
				charged, givenBack  bool
				completed, inWindow bool
			}{
				{f, true, false, true, true},
				{f, true, false, true, true},
				{f, true, true, false, true},  // given back: not charged
				{f, false, false, true, true}, // not charged, yet completed
				{g, true, false, true, true},
				{g, true, false, false, true},
			} {
				sess := &vend.Session{GrantID: s.f.Grant.ID, FileID: s.f.File.ID, ProductID: s.f.Product.ID, ClientIP: fmt.Sprintf("192.0.2.%d", i),
					Size: s.f.File.Size, Charged: s.charged}
				update(t, db, func(tx store.Tx) error { return tx.CreateSession(ctx, sess) })
				if s.completed {
					progress(t, db, sess.ID, s.f.File.Size, sess.StartedAt)
					progress(t, db, sess.ID, 1, sess.StartedAt) // completed once, counted once
				}
				if s.givenBack {
					closeSession(t, db, sess.ID, true)
				} else {
					closeSession(t, db, sess.ID, false)
				}
			}
			now := time.Now()
			attempt := func(f fixture, at time.Time) *vend.Attempt {
				return &vend.Attempt{GrantID: f.Grant.ID, FileID: f.File.ID, At: at, IP: "192.0.2.1", Method: "GET", Status: 200}
			}
			createAttempts(t, db, attempt(f, now), attempt(f, now), attempt(f, now), attempt(g, now), attempt(g, now.Add(-48*time.Hour)))
			count := func(from, to time.Time) []store.ProductDownloads {
				var out []store.ProductDownloads
				view(t, db, func(tx store.Tx) error {
					var err error
					out, err = tx.DownloadsPerProduct(ctx, from, to)
					return err
				})
				return out
			}
			want := []store.ProductDownloads{
				{ProductID: "p", Name: "Product p", Completed: 3, Charged: 2, Attempts: 3},
				{ProductID: "q", Name: "Product q", Completed: 1, Charged: 2, Attempts: 1},
				{ProductID: "r", Name: "Product r"},
			}
			if got := count(now, now); !reflect.DeepEqual(got, want) {
				t.Errorf("today:\n got %+v\nwant %+v", got, want)
			}
			want[1].Attempts = 2
			if got := count(time.Time{}, time.Time{}); !reflect.DeepEqual(got, want) {
				t.Errorf("all time:\n got %+v\nwant %+v", got, want)
			}
			before := count(time.Time{}, now.Add(-24*time.Hour))
			if len(before) != 3 || before[0] != (store.ProductDownloads{ProductID: "p", Name: "Product p"}) || before[1].Attempts != 1 || before[1].Completed != 0 {
				t.Errorf("before today: %+v", before)
			}
		},
	})
}
