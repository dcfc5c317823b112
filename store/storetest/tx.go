package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/store"
)

func testNotFound(t *testing.T, open Opener) {
	subtests(t, open, map[string]func(t *testing.T, db store.DB){
		"every Find on a missing row is ENOTFOUND": func(t *testing.T, db store.DB) {
			f := mustFixture(t, db, "p") // rows exist, just not the ones asked for
			const missing = 1_000_000
			tests := []struct {
				name string
				find func(tx store.Tx) (any, error)
			}{
				{"FindProductByID", func(tx store.Tx) (any, error) { return tx.FindProductByID(ctx, "nope") }},
				{"FindProductByID is case-sensitive", func(tx store.Tx) (any, error) { return tx.FindProductByID(ctx, "P") }},
				{"FindFileByID", func(tx store.Tx) (any, error) { return tx.FindFileByID(ctx, missing) }},
				{"FindNotificationByID", func(tx store.Tx) (any, error) { return tx.FindNotificationByID(ctx, missing) }},
				{"FindOrderByID", func(tx store.Tx) (any, error) { return tx.FindOrderByID(ctx, missing) }},
				{"FindOrderByRef", func(tx store.Tx) (any, error) { return tx.FindOrderByRef(ctx, "paypal", "nope") }},
				{"FindOrderByRef of another provider", func(tx store.Tx) (any, error) { return tx.FindOrderByRef(ctx, "digistore24", f.Order.Ref) }},
				{"FindTransaction", func(tx store.Tx) (any, error) { return tx.FindTransaction(ctx, "paypal", "nope") }},
				{"FindGrantByID", func(tx store.Tx) (any, error) { return tx.FindGrantByID(ctx, missing) }},
				{"FindGrantByPublicID", func(tx store.Tx) (any, error) { return tx.FindGrantByPublicID(ctx, "nope") }},
				{"FindOpenSession", func(tx store.Tx) (any, error) {
					return tx.FindOpenSession(ctx, f.Grant.ID, "192.0.2.1", time.Time{}, time.Time{})
				}},
			}
			for _, tt := range tests {
				for _, kind := range []string{"View", "Update"} {
					run := db.View
					if kind == "Update" {
						run = db.Update
					}
					err := run(ctx, func(tx store.Tx) error {
						_, err := tt.find(tx)
						return err
					})
					wantNotFound(t, kind+" "+tt.name, err)
					if code := vend.ErrorCode(err); code == vend.ENOTFOUND && vend.ErrorMessage(err) == "Internal error." {
						t.Errorf("%s: no public message", tt.name)
					}
				}
			}
		},
		"every change to a missing row is ENOTFOUND and changes nothing": func(t *testing.T, db store.DB) {
			f := mustFixture(t, db, "p")
			const missing = 1_000_000
			tests := []struct {
				name   string
				change func(tx store.Tx) error
			}{
				{"UpdateNotification", func(tx store.Tx) error {
					return tx.UpdateNotification(ctx, &vend.Notification{ID: missing, Verdict: vend.VerdictApplied})
				}},
				{"UpdateOrder", func(tx store.Tx) error {
					return tx.UpdateOrder(ctx, &vend.Order{ID: missing, Status: vend.OrderPaid})
				}},
				{"UpdateTransaction", func(tx store.Tx) error {
					return tx.UpdateTransaction(ctx, &vend.Transaction{ID: missing, Status: vend.TxnCompleted})
				}},
				{"UpdateGrant", func(tx store.Tx) error { return tx.UpdateGrant(ctx, &vend.Grant{ID: missing, State: vend.GrantActive}) }},
				{"AddDownloadsUsed", func(tx store.Tx) error { return tx.AddDownloadsUsed(ctx, missing, 1) }},
				{"RecordProgress", func(tx store.Tx) error { return tx.RecordProgress(ctx, missing, 1, time.Now()) }},
				{"CloseSession", func(tx store.Tx) error { return tx.CloseSession(ctx, missing, true) }},
			}
			for _, tt := range tests {
				wantNotFound(t, tt.name, db.Update(ctx, tt.change))
			}
			if g := findGrant(t, db, f.Grant.ID); g.DownloadsUsed != 0 || g.State != vend.GrantActive {
				t.Errorf("existing grant changed: %+v", g)
			}
		},
		"lists of nothing are empty, not errors": func(t *testing.T, db store.DB) {
			view(t, db, func(tx store.Tx) error {
				const missing = 1_000_000
				var errs []error
				add := func(n int, err error) {
					if n != 0 {
						errs = append(errs, fmt.Errorf("%d rows", n))
					}
					errs = append(errs, err)
				}
				ps, err := tx.FindProducts(ctx)
				add(len(ps), err)
				ns, err := tx.FindNotifications(ctx, store.NotificationFilter{})
				add(len(ns), err)
				os, err := tx.FindOrders(ctx, store.OrderFilter{})
				add(len(os), err)
				is, err := tx.FindItems(ctx, missing)
				add(len(is), err)
				ts, err := tx.FindTransactionsByOrder(ctx, missing)
				add(len(ts), err)
				gs, err := tx.FindGrantsByOrder(ctx, missing)
				add(len(gs), err)
				ss, err := tx.FindSessionsByGrant(ctx, missing)
				add(len(ss), err)
				st, err := tx.FindStaleSessions(ctx, time.Now().Add(time.Hour), time.Now().Add(time.Hour), 0)
				add(len(st), err)
				as, err := tx.FindAttempts(ctx, store.AttemptFilter{})
				add(len(as), err)
				cd, err := tx.CompletedDownloads(ctx)
				add(len(cd), err)
				n, err := tx.GivenBackBytes(ctx, missing)
				add(int(n), err)
				return errors.Join(errs...)
			})
		},
	})
}

func testTx(t *testing.T, open Opener) {
	subtests(t, open, map[string]func(t *testing.T, db store.DB){
		"Now is fixed for the whole transaction and every row written carries it": func(t *testing.T, db store.DB) {
			p := mustProduct(t, db, "p")
			var at time.Time
			var o *vend.Order
			var it *vend.Item
			var tr *vend.Transaction
			var g *vend.Grant
			var n *vend.Notification
			var s *vend.Session
			pause := func() { time.Sleep(3 * time.Millisecond) }
			update(t, db, func(tx store.Tx) error {
				at = tx.Now()
				pause()
				if !tx.Now().Equal(at) {
					t.Errorf("Now moved within one transaction: %v then %v", at, tx.Now())
				}
				o = &vend.Order{Provider: "paypal", Ref: "T1", Currency: "USD", Status: vend.OrderPaid}
				if err := tx.CreateOrder(ctx, o); err != nil {
					return err
				}
				pause()
				it = &vend.Item{OrderID: o.ID, ProductID: p.ID, Quantity: 1}
				if err := tx.CreateItem(ctx, it); err != nil {
					return err
				}
				tr = &vend.Transaction{OrderID: o.ID, Provider: "paypal", TxnID: "T1", Kind: vend.TxnPayment, Status: vend.TxnCompleted, Currency: "USD"}
				if err := tx.CreateTransaction(ctx, tr); err != nil {
					return err
				}
				pause()
				g = &vend.Grant{ItemID: it.ID, OrderID: o.ID, ProductID: p.ID, PublicID: "pub", State: vend.GrantActive}
				if err := tx.CreateGrant(ctx, g); err != nil {
					return err
				}
				n = &vend.Notification{Provider: "paypal"}
				if err := tx.CreateNotification(ctx, n); err != nil {
					return err
				}
				pause()
				s = &vend.Session{GrantID: g.ID, FileID: p.Files[0].ID, ProductID: p.ID, ClientIP: "192.0.2.1"}
				if err := tx.CreateSession(ctx, s); err != nil {
					return err
				}
				return tx.AddDownloadsUsed(ctx, g.ID, 1)
			})
			view(t, db, func(tx store.Tx) error {
				o2, err := tx.FindOrderByID(ctx, o.ID)
				if err != nil {
					return err
				}
				tr2, err := tx.FindTransaction(ctx, "paypal", "T1")
				if err != nil {
					return err
				}
				g2, err := tx.FindGrantByID(ctx, g.ID)
				if err != nil {
					return err
				}
				n2, err := tx.FindNotificationByID(ctx, n.ID)
				if err != nil {
					return err
				}
				ss, err := tx.FindSessionsByGrant(ctx, g.ID)
				if err != nil || len(ss) != 1 {
					return fmt.Errorf("sessions %v: %w", ss, err)
				}
				for name, ts := range map[string]time.Time{
					"order created": o2.CreatedAt, "order updated": o2.UpdatedAt, "transaction created": tr2.CreatedAt,
					"transaction updated": tr2.UpdatedAt, "grant created": g2.CreatedAt, "grant updated": g2.UpdatedAt,
					"notification received": n2.ReceivedAt, "session started": ss[0].StartedAt, "session last seen": ss[0].LastSeen,
				} {
					if !ts.Equal(at) {
						t.Errorf("%s at %v, want the transaction's Now %v", name, ts, at)
					}
				}
				return nil
			})
		},
		"Now moves on between transactions": func(t *testing.T, db store.DB) {
			a := now(t, db)
			time.Sleep(5 * time.Millisecond)
			b := now(t, db)
			if !b.After(a) {
				t.Errorf("second transaction's Now %v not after first %v", b, a)
			}
			if d := time.Since(b); d < 0 || d > time.Minute {
				t.Errorf("Now %v is %v away from the clock", b, d)
			}
		},
		"a rolled-back Update leaves nothing": func(t *testing.T, db store.DB) {
			errBoom := errors.New("boom")
			err := db.Update(ctx, func(tx store.Tx) error {
				p := &vend.Product{ID: "p", Name: "P", Currency: "USD"}
				if err := tx.SaveProduct(ctx, p); err != nil {
					return err
				}
				f := &vend.File{Name: "p.pdf", Key: "k", Size: 1, SHA256: sha("p")}
				if err := tx.SetFiles(ctx, "p", []*vend.File{f}); err != nil {
					return err
				}
				o := &vend.Order{Provider: "paypal", Ref: "T1", Buyer: vend.Buyer{Email: "b@example.com"}, Currency: "USD", Status: vend.OrderPaid}
				if err := tx.CreateOrder(ctx, o); err != nil {
					return err
				}
				it := &vend.Item{OrderID: o.ID, ProductID: "p", Quantity: 1}
				if err := tx.CreateItem(ctx, it); err != nil {
					return err
				}
				if err := tx.CreateTransaction(ctx, &vend.Transaction{OrderID: o.ID, Provider: "paypal", TxnID: "T1", Kind: vend.TxnPayment, Status: vend.TxnCompleted}); err != nil {
					return err
				}
				g := &vend.Grant{ItemID: it.ID, OrderID: o.ID, ProductID: "p", PublicID: "pub", State: vend.GrantActive}
				if err := tx.CreateGrant(ctx, g); err != nil {
					return err
				}
				n := &vend.Notification{Provider: "paypal", Body: []byte("x")}
				if err := tx.CreateNotification(ctx, n); err != nil {
					return err
				}
				if _, err := tx.ClaimKey(ctx, "paypal", "T1/Completed", n.ID); err != nil {
					return err
				}
				s := &vend.Session{GrantID: g.ID, FileID: f.ID, ProductID: "p", ClientIP: "192.0.2.1", Size: 1}
				if err := tx.CreateSession(ctx, s); err != nil {
					return err
				}
				if err := tx.CreateAttempt(ctx, &vend.Attempt{GrantID: g.ID, FileID: f.ID, SessionID: s.ID, At: tx.Now(), Method: "GET"}); err != nil {
					return err
				}
				if err := tx.RecordProgress(ctx, s.ID, 1, tx.Now()); err != nil {
					return err
				}
				return errBoom
			})
			if !errors.Is(err, errBoom) {
				t.Fatalf("Update = %v, want %v", err, errBoom)
			}
			assertEmpty(t, db)
			// The key is free again, the (provider, ref) too.
			n := createNotification(t, db, &vend.Notification{Provider: "paypal"})
			if !claim(t, db, "paypal", "T1/Completed", n.ID) {
				t.Error("the rolled-back claim still holds the key")
			}
			createOrder(t, db, &vend.Order{Provider: "paypal", Ref: "T1", Currency: "USD", Status: vend.OrderPaid})
		},
		"Update and View return fn's error as it was": func(t *testing.T, db store.DB) {
			want := vend.Errorf(vend.ECONFLICT, "Already there.")
			for name, run := range map[string]func(context.Context, func(store.Tx) error) error{"Update": db.Update, "View": db.View} {
				err := run(ctx, func(tx store.Tx) error { return fmt.Errorf("wrapped: %w", want) })
				if !errors.Is(err, want) || vend.ErrorCode(err) != vend.ECONFLICT || vend.ErrorMessage(err) != "Already there." {
					t.Errorf("%s returned %v, want it to wrap %v", name, err, want)
				}
			}
		},
		"a panic in Update rolls back and the store stays usable": func(t *testing.T, db store.DB) {
			func() {
				defer func() {
					if p := recover(); p != "boom" {
						t.Errorf("recovered %v, want the panic to pass through", p)
					}
				}()
				_ = db.Update(ctx, func(tx store.Tx) error {
					if err := tx.CreateNotification(ctx, &vend.Notification{Provider: "paypal"}); err != nil {
						return err
					}
					panic("boom")
				})
			}()
			done := make(chan error, 1)
			go func() {
				done <- db.Update(ctx, func(tx store.Tx) error {
					return tx.CreateNotification(ctx, &vend.Notification{Provider: "after"})
				})
			}()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("Update after a panic: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Update after a panic hangs: the panicking transaction was never rolled back")
			}
			view(t, db, func(tx store.Tx) error {
				ns, err := tx.FindNotifications(ctx, store.NotificationFilter{})
				if len(ns) != 1 || ns[0].Provider != "after" {
					t.Errorf("notifications after the panic: %d, want only the later one", len(ns))
				}
				return err
			})
		},
		"a context cancelled before commit fails the Update and leaves nothing": func(t *testing.T, db store.DB) {
			cctx, cancel := context.WithCancel(ctx)
			err := db.Update(cctx, func(tx store.Tx) error {
				if err := tx.CreateNotification(cctx, &vend.Notification{Provider: "paypal"}); err != nil {
					return err
				}
				cancel()
				return nil
			})
			if err == nil {
				t.Error("Update with a cancelled context succeeded")
			}
			assertEmpty(t, db)
			createNotification(t, db, &vend.Notification{Provider: "paypal"}) // still usable
		},
		"View sees committed writes and cannot write": func(t *testing.T, db store.DB) {
			mustProduct(t, db, "p")
			findProduct(t, db, "p")
			err := db.View(ctx, func(tx store.Tx) error {
				return tx.CreateNotification(ctx, &vend.Notification{Provider: "paypal"})
			})
			if err == nil {
				t.Error("a write in View succeeded")
			}
			view(t, db, func(tx store.Tx) error {
				ns, err := tx.FindNotifications(ctx, store.NotificationFilter{})
				if len(ns) != 0 {
					t.Errorf("View wrote %d notifications", len(ns))
				}
				return err
			})
		},
		// store.DB's rerun contract: a store that lets writers run at once
		// (PostgreSQL) breaks their deadlock by running one Update's fn again,
		// and that must charge nothing twice; a store with one writer (SQLite)
		// never gets there and runs each fn once.
		"two Updates that lock two grants in opposite orders: one may run again, each counts once": func(t *testing.T, db store.DB) {
			a, b := mustFixture(t, db, "a").Grant, mustFixture(t, db, "b").Grant
			var runs [2]atomic.Int32
			var seen [2]int // set afresh by each run, as the contract asks
			held := [2]chan struct{}{make(chan struct{}), make(chan struct{})}
			var met [2]atomic.Bool // run i saw the other hold its first grant in time
			charge := func(i int, first, second int64) func(tx store.Tx) error {
				return func(tx store.Tx) error {
					seen[i] = 0
					if err := tx.LockGrant(ctx, first); err != nil {
						return err
					}
					if runs[i].Add(1) == 1 {
						// Wait, on the first run only, until the other holds its
						// first grant too: then each waits for the other's. A
						// store with one writer cannot start the other meanwhile.
						close(held[i])
						select {
						case <-held[1-i]:
							met[i].Store(true)
						case <-time.After(2 * time.Second):
						}
					}
					if err := tx.LockGrant(ctx, second); err != nil {
						return err
					}
					for _, id := range []int64{a.ID, b.ID} {
						if err := tx.AddDownloadsUsed(ctx, id, 1); err != nil {
							return err
						}
					}
					g, err := tx.FindGrantByID(ctx, a.ID)
					if err != nil {
						return err
					}
					seen[i] = g.DownloadsUsed
					return nil
				}
			}
			var wg sync.WaitGroup
			var errs [2]error
			wg.Go(func() { errs[0] = db.Update(ctx, charge(0, a.ID, b.ID)) })
			wg.Go(func() { errs[1] = db.Update(ctx, charge(1, b.ID, a.ID)) })
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Fatalf("Update %d: %v", i, err)
				}
			}
			// Both held their first grant at once only if each saw the other's
			// in time; with one writer, the second starts after the first
			// gave up waiting.
			atOnce := met[0].Load() && met[1].Load()
			got := []int{int(runs[0].Load()), int(runs[1].Load())}
			slices.Sort(got)
			want := []int{1, 1}
			if atOnce {
				want = []int{1, 2} // the deadlock's victim ran again
			}
			if !slices.Equal(got, want) {
				t.Errorf("fn ran %v times (sorted; both at once: %v), want %v", got, atOnce, want)
			}
			t.Logf("fn runs %v, both at once: %v", got, atOnce)
			for _, g := range []*vend.Grant{a, b} {
				if used := findGrant(t, db, g.ID).DownloadsUsed; used != 2 {
					t.Errorf("grant %d: %d downloads used, want 2 (one per Update, however often it ran)", g.ID, used)
				}
			}
			slices.Sort(seen[:])
			if seen != [2]int{1, 2} {
				t.Errorf("the Updates saw %v downloads used when they committed, want 1 and 2", seen)
			}
		},
		"among 40 concurrent Updates, the failing ones roll back alone": func(t *testing.T, db store.DB) {
			// A store may commit concurrent Updates together (SQLite's group commit);
			// each must still succeed or fail on its own.
			errFail := errors.New("fail on purpose")
			var wg sync.WaitGroup
			for i := range 40 {
				wg.Go(func() {
					err := db.Update(ctx, func(tx store.Tx) error {
						if err := tx.CreateNotification(ctx, &vend.Notification{Provider: "paypal", Body: fmt.Appendf(nil, "n=%d", i)}); err != nil {
							return err
						}
						if i%2 == 1 {
							return errFail
						}
						return nil
					})
					if i%2 == 1 && !errors.Is(err, errFail) || i%2 == 0 && err != nil {
						t.Errorf("update %d: %v", i, err)
					}
				})
			}
			wg.Wait()
			view(t, db, func(tx store.Tx) error {
				ns, err := tx.FindNotifications(ctx, store.NotificationFilter{Limit: 100})
				if len(ns) != 20 {
					t.Errorf("%d notifications stored, want the 20 of the succeeding updates", len(ns))
				}
				for _, n := range ns {
					var i int
					fmt.Sscanf(string(n.Body), "n=%d", &i)
					if i%2 == 1 {
						t.Errorf("failed update %d left its notification", i)
					}
				}
				return err
			})
		},
		"20 writers and 20 readers at once all succeed": func(t *testing.T, db store.DB) {
			f := mustFixture(t, db, "p")
			var wg sync.WaitGroup
			for i := range 20 {
				wg.Go(func() {
					err := db.Update(ctx, func(tx store.Tx) error {
						if err := tx.CreateNotification(ctx, &vend.Notification{Provider: "paypal", Body: fmt.Appendf(nil, "n=%d", i)}); err != nil {
							return err
						}
						return tx.AddDownloadsUsed(ctx, f.Grant.ID, 1)
					})
					if err != nil {
						t.Errorf("writer %d: %v", i, err)
					}
				})
				wg.Go(func() {
					err := db.View(ctx, func(tx store.Tx) error {
						if _, err := tx.FindGrantByID(ctx, f.Grant.ID); err != nil {
							return err
						}
						_, err := tx.FindNotifications(ctx, store.NotificationFilter{})
						return err
					})
					if err != nil {
						t.Errorf("reader %d: %v", i, err)
					}
				})
			}
			wg.Wait()
			if got := findGrant(t, db, f.Grant.ID).DownloadsUsed; got != 20 {
				t.Errorf("downloads used %d, want 20", got)
			}
		},
	})
}

// assertEmpty fails if the store holds any row a test could have written.
func assertEmpty(tb testing.TB, db store.DB) {
	tb.Helper()
	view(tb, db, func(tx store.Tx) error {
		ps, err := tx.FindProducts(ctx)
		if err != nil {
			return err
		}
		ns, err := tx.FindNotifications(ctx, store.NotificationFilter{})
		if err != nil {
			return err
		}
		os, err := tx.FindOrders(ctx, store.OrderFilter{})
		if err != nil {
			return err
		}
		as, err := tx.FindAttempts(ctx, store.AttemptFilter{})
		if err != nil {
			return err
		}
		cd, err := tx.CompletedDownloads(ctx)
		if err != nil {
			return err
		}
		_, terr := tx.FindTransaction(ctx, "paypal", "T1")
		_, gerr := tx.FindGrantByPublicID(ctx, "pub")
		if len(ps)+len(ns)+len(os)+len(as)+len(cd) != 0 || vend.ErrorCode(terr) != vend.ENOTFOUND || vend.ErrorCode(gerr) != vend.ENOTFOUND {
			tb.Errorf("store not empty: %d products, %d notifications, %d orders, %d attempts, completed %v, transaction %v, grant %v",
				len(ps), len(ns), len(os), len(as), cd, terr, gerr)
		}
		return nil
	})
}
