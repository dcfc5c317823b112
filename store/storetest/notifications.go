package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/store"
)

func createNotification(tb testing.TB, db store.DB, n *vend.Notification) *vend.Notification {
	tb.Helper()
	update(tb, db, func(tx store.Tx) error { return tx.CreateNotification(ctx, n) })
	return n
}

func findNotification(tb testing.TB, db store.DB, id int64) *vend.Notification {
	tb.Helper()
	var n *vend.Notification
	view(tb, db, func(tx store.Tx) error {
		var err error
		n, err = tx.FindNotificationByID(ctx, id)
		return err
	})
	return n
}

// allBytes is every byte value once, then a windows-1252 IPN fragment ("Jörg").
func allBytes() []byte {
	b := make([]byte, 0, 300)
	for i := range 256 {
		b = append(b, byte(i))
	}
	return append(b, "&first_name=J\xf6rg&last_name=M\xfcller"...)
}

func sameHeaders(a, b map[string][]string) bool {
	if len(a) == 0 && len(b) == 0 {
		return true
	}
	return reflect.DeepEqual(a, b)
}

func testNotifications(t *testing.T, open Opener) {
	subtests(t, open, map[string]func(t *testing.T, db store.DB){
		"headers and body roundtrip byte-exact, non-UTF-8 bytes included": func(t *testing.T, db store.DB) {
			tests := []struct {
				name    string
				headers map[string][]string
				body    []byte
			}{
				{"every byte value in the body", map[string][]string{"Content-Type": {"application/x-www-form-urlencoded"}}, allBytes()},
				{"windows-1252 body", map[string][]string{"User-Agent": {"PayPal IPN ( https://www.paypal.com/ipn )"}},
					[]byte("mc_gross=19.95&first_name=J%F6rg&last_name=M\xfcller&charset=windows-1252")},
				{"non-UTF-8 header values", map[string][]string{"X-Name": {"J\xf6rg", "M\xfcller"}, "X-Plain": {"ok"}}, []byte("a=1")},
				{"non-UTF-8 header key", map[string][]string{"X-\xff": {"v"}}, []byte("a=1")},
				{"header values with NUL, quotes and newlines", map[string][]string{"X-Odd": {"a\x00b", `"q"`, "l1\nl2", ""}}, []byte("a=1")},
				{"several values keep their order", map[string][]string{"X-Multi": {"3", "1", "2"}, "Accept": {"*/*"}}, []byte("a=1")},
				{"empty body and no headers", nil, nil},
				{"body of NUL bytes", map[string][]string{}, []byte{0, 0, 0}},
				{"UTF-8 body", map[string][]string{"Content-Type": {"application/json; charset=utf-8"}}, []byte(`{"name":"Jörg ✓"}`)},
			}
			for _, tt := range tests {
				n := createNotification(t, db, &vend.Notification{Provider: "paypal", RemoteAddr: "192.0.2.1:5555",
					Headers: tt.headers, Body: tt.body})
				got := findNotification(t, db, n.ID)
				if !bytes.Equal(got.Body, tt.body) {
					t.Errorf("%s: body = %q, want %q", tt.name, got.Body, tt.body)
				}
				if !sameHeaders(got.Headers, tt.headers) {
					t.Errorf("%s: headers = %q, want %q", tt.name, got.Headers, tt.headers)
				}
				if got.Provider != "paypal" || got.RemoteAddr != "192.0.2.1:5555" {
					t.Errorf("%s: provider %q remote %q", tt.name, got.Provider, got.RemoteAddr)
				}
			}
		},
		"a body's size and hash are kept, also once only its first part is": func(t *testing.T, db store.DB) {
			body := bytes.Repeat([]byte("forged="), 1000)
			n := createNotification(t, db, &vend.Notification{Provider: "stripe", Body: body,
				Headers: map[string][]string{"X-Long": {string(bytes.Repeat([]byte("h"), 9000))}}})
			if got := findNotification(t, db, n.ID); got.Size != int64(len(body)) || len(got.SHA256) != 64 || got.Trimmed() {
				t.Errorf("stored: size %d hash %q trimmed %v, want %d bytes whole", got.Size, got.SHA256, got.Trimmed(), len(body))
			}
			sum := n.SHA256
			n.Trim()
			update(t, db, func(tx store.Tx) error { return tx.TrimNotification(ctx, n) })
			got := findNotification(t, db, n.ID)
			if len(got.Body) != vend.KeptBodyBytes || got.Size != int64(len(body)) || got.SHA256 != sum || !got.Trimmed() ||
				len(got.Headers["X-Long"][0]) > vend.KeptHeaderBytes {
				t.Errorf("trimmed: %d bytes of %d, hash %q (was %q), header of %d bytes", len(got.Body), got.Size, got.SHA256, sum, len(got.Headers["X-Long"][0]))
			}
			err := db.Update(ctx, func(tx store.Tx) error { return tx.TrimNotification(ctx, &vend.Notification{ID: n.ID + 1000}) })
			if vend.ErrorCode(err) != vend.ENOTFOUND {
				t.Errorf("TrimNotification of no notification: %v, want ENOTFOUND", err)
			}
		},
		"DeleteRefusedNotifications deletes old refusals of no order, in batches": func(t *testing.T, db store.DB) {
			f := mustFixture(t, db, "p")
			old := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
			cut := old.Add(24 * time.Hour)
			var gone, kept []int64
			for _, v := range []vend.Verdict{vend.VerdictInvalid, vend.VerdictRejected, vend.VerdictError} {
				gone = append(gone, createNotification(t, db, &vend.Notification{Provider: "stripe", ReceivedAt: old, Verdict: v}).ID)
				// newer than the cut, or about an order: kept
				kept = append(kept, createNotification(t, db, &vend.Notification{Provider: "stripe", ReceivedAt: cut, Verdict: v}).ID)
				kept = append(kept, createNotification(t, db, &vend.Notification{Provider: "stripe", ReceivedAt: old, Verdict: v, OrderID: f.Order.ID}).ID)
			}
			for _, v := range []vend.Verdict{vend.VerdictApplied, vend.VerdictDuplicate, vend.VerdictIgnored, vend.VerdictReceived} {
				kept = append(kept, createNotification(t, db, &vend.Notification{Provider: "stripe", ReceivedAt: old, Verdict: v}).ID)
			}
			var deleted []int
			for range 3 {
				update(t, db, func(tx store.Tx) error {
					n, err := tx.DeleteRefusedNotifications(ctx, cut, 2)
					deleted = append(deleted, n)
					return err
				})
			}
			if deleted[0] != 2 || deleted[1] != 1 || deleted[2] != 0 {
				t.Errorf("deleted %v in batches of 2, want [2 1 0]", deleted)
			}
			for _, id := range gone {
				err := db.View(ctx, func(tx store.Tx) error { _, err := tx.FindNotificationByID(ctx, id); return err })
				if vend.ErrorCode(err) != vend.ENOTFOUND {
					t.Errorf("refused notification %d: %v, want deleted", id, err)
				}
			}
			for _, id := range kept {
				findNotification(t, db, id)
			}
		},
		"CreateNotification defaults the verdict to received and the time to Now": func(t *testing.T, db store.DB) {
			n := &vend.Notification{Provider: "paypal", Body: []byte("a=1")}
			var at time.Time
			update(t, db, func(tx store.Tx) error { at = tx.Now(); return tx.CreateNotification(ctx, n) })
			if n.ID == 0 {
				t.Fatal("no id")
			}
			got := findNotification(t, db, n.ID)
			if got.Verdict != vend.VerdictReceived || !got.ReceivedAt.Equal(at) || n.Verdict != vend.VerdictReceived || !n.ReceivedAt.Equal(at) {
				t.Errorf("verdict %q at %v (struct %q at %v), want %q at %v", got.Verdict, got.ReceivedAt, n.Verdict, n.ReceivedAt, vend.VerdictReceived, at)
			}
		},
		"CreateNotification keeps a given time and verdict": func(t *testing.T, db store.DB) {
			at := time.Date(2025, 3, 3, 10, 15, 2, 123_000_000, time.UTC)
			n := createNotification(t, db, &vend.Notification{Provider: "paypal", ReceivedAt: at, Verdict: vend.VerdictInvalid, Reason: "forged"})
			got := findNotification(t, db, n.ID)
			if !got.ReceivedAt.Equal(at) || got.Verdict != vend.VerdictInvalid || got.Reason != "forged" {
				t.Errorf("got %v %q %q", got.ReceivedAt, got.Verdict, got.Reason)
			}
		},
		"NextNotificationID is an id CreateNotification stores under, after every other": func(t *testing.T, db store.DB) {
			first := createNotification(t, db, &vend.Notification{Provider: "paypal"})
			var reserved *vend.Notification
			update(t, db, func(tx store.Tx) error {
				id, err := tx.NextNotificationID(ctx)
				if err != nil {
					return err
				}
				if id <= first.ID {
					t.Errorf("next id %d, after notification %d", id, first.ID)
				}
				reserved = &vend.Notification{ID: id, Provider: "digistore24", Verdict: vend.VerdictApplied, Changes: "order 1 created"}
				if err := tx.CreateNotification(ctx, reserved); err != nil {
					return err
				}
				if reserved.ID != id {
					t.Errorf("stored as %d, reserved %d", reserved.ID, id)
				}
				return nil
			})
			got := findNotification(t, db, reserved.ID)
			if got.Provider != "digistore24" || got.Verdict != vend.VerdictApplied || got.Changes != "order 1 created" {
				t.Errorf("got %+v", got)
			}
			if next := createNotification(t, db, &vend.Notification{Provider: "paypal"}); next.ID <= reserved.ID {
				t.Errorf("the next notification got id %d, after %d", next.ID, reserved.ID)
			}
		},
		"UpdateNotification records the outcome and never the message": func(t *testing.T, db store.DB) {
			f := mustFixture(t, db, "p")
			n := createNotification(t, db, &vend.Notification{Provider: "paypal", Headers: map[string][]string{"A": {"1"}}, Body: []byte("raw")})
			received := n.ReceivedAt
			n.Verdict, n.Reason, n.Changes, n.Key, n.OrderID = vend.VerdictApplied, "why", "order 1 created; access granted", "T1/Completed", f.Order.ID
			n.Dismissed = true
			n.Body, n.Headers, n.Provider = []byte("tampered"), nil, "other"
			update(t, db, func(tx store.Tx) error { return tx.UpdateNotification(ctx, n) })
			got := findNotification(t, db, n.ID)
			if got.Verdict != vend.VerdictApplied || got.Reason != "why" || got.Changes != "order 1 created; access granted" ||
				got.Key != "T1/Completed" || got.OrderID != f.Order.ID || !got.Dismissed {
				t.Errorf("outcome not recorded: %+v", got)
			}
			if string(got.Body) != "raw" || got.Headers["A"][0] != "1" || got.Provider != "paypal" || !got.ReceivedAt.Equal(received) {
				t.Errorf("the stored message changed: %+v", got)
			}
		},
		"FindNotifications lists newest first, by order, within the limit": func(t *testing.T, db store.DB) {
			f := mustFixture(t, db, "p")
			var ids []int64
			for i := range 5 {
				n := &vend.Notification{Provider: "paypal", Body: fmt.Appendf(nil, "n=%d", i)}
				if i%2 == 0 {
					n.OrderID = f.Order.ID
				}
				ids = append(ids, createNotification(t, db, n).ID)
			}
			var all, byOrder, limited, none []*vend.Notification
			view(t, db, func(tx store.Tx) error {
				var err error
				if all, err = tx.FindNotifications(ctx, store.NotificationFilter{}); err != nil {
					return err
				}
				if byOrder, err = tx.FindNotifications(ctx, store.NotificationFilter{OrderID: &f.Order.ID}); err != nil {
					return err
				}
				if limited, err = tx.FindNotifications(ctx, store.NotificationFilter{Limit: 2}); err != nil {
					return err
				}
				none, err = tx.FindNotifications(ctx, store.NotificationFilter{OrderID: ptr(f.Order.ID + 1000)})
				return err
			})
			if got := notificationIDs(all); !reflect.DeepEqual(got, []int64{ids[4], ids[3], ids[2], ids[1], ids[0]}) {
				t.Errorf("all = %v, want newest first of %v", got, ids)
			}
			if got := notificationIDs(byOrder); !reflect.DeepEqual(got, []int64{ids[4], ids[2], ids[0]}) {
				t.Errorf("by order = %v", got)
			}
			if got := notificationIDs(limited); !reflect.DeepEqual(got, []int64{ids[4], ids[3]}) {
				t.Errorf("limit 2 = %v", got)
			}
			if len(none) != 0 {
				t.Errorf("other order: %d notifications", len(none))
			}
			if string(all[0].Body) != "n=4" {
				t.Errorf("listed body = %q", all[0].Body)
			}
		},
		"FindNotifications filters by provider and verdict and pages by id": func(t *testing.T, db store.DB) {
			f := mustFixture(t, db, "p")
			type row struct {
				provider string
				verdict  vend.Verdict
				order    bool
			}
			rows := []row{
				{"paypal", vend.VerdictApplied, true}, {"digistore24", vend.VerdictRejected, false}, {"paypal", vend.VerdictInvalid, false},
				{"stripe", vend.VerdictApplied, false}, {"paypal", vend.VerdictApplied, true}, {"digistore24", vend.VerdictApplied, false},
				{"paypal", vend.VerdictInvalid, false},
			}
			var ids []int64
			for i, r := range rows {
				n := &vend.Notification{Provider: r.provider, Verdict: r.verdict, Body: fmt.Appendf(nil, "n=%d", i)}
				if r.order {
					n.OrderID = f.Order.ID
				}
				ids = append(ids, createNotification(t, db, n).ID)
				if i == 5 { // dismissed by the seller: settled
					n.Dismissed = true
					update(t, db, func(tx store.Tx) error { return tx.UpdateNotification(ctx, n) })
				}
			}
			paypal, invalid, applied := "paypal", vend.VerdictInvalid, vend.VerdictApplied
			tests := []struct {
				name   string
				filter store.NotificationFilter
				want   []int64
			}{
				{"a provider", store.NotificationFilter{Provider: &paypal}, []int64{ids[6], ids[4], ids[2], ids[0]}},
				{"a verdict", store.NotificationFilter{Verdict: &invalid}, []int64{ids[6], ids[2]}},
				{"a provider and a verdict", store.NotificationFilter{Provider: &paypal, Verdict: &applied}, []int64{ids[4], ids[0]}},
				{"a provider, first page", store.NotificationFilter{Provider: &paypal, Limit: 2}, []int64{ids[6], ids[4]}},
				{"a provider, next page", store.NotificationFilter{Provider: &paypal, Limit: 2, Before: ids[4]}, []int64{ids[2], ids[0]}},
				{"everything, next page", store.NotificationFilter{Before: ids[3]}, []int64{ids[2], ids[1], ids[0]}},
				{"an order, next page", store.NotificationFilter{OrderID: &f.Order.ID, Before: ids[4]}, []int64{ids[0]}},
				{"before the first", store.NotificationFilter{Before: ids[0]}, nil},
				{"a provider nobody sent", store.NotificationFilter{Provider: ptr("websale")}, nil},
				{"a verdict nothing got", store.NotificationFilter{Verdict: ptr(vend.VerdictError)}, nil},
				{"unsettled: no order, not dismissed", store.NotificationFilter{Unsettled: true}, []int64{ids[6], ids[3], ids[2], ids[1]}},
				{"unsettled refusals", store.NotificationFilter{Unsettled: true, Verdict: ptr(vend.VerdictRejected)}, []int64{ids[1]}},
				{"received since now", store.NotificationFilter{Since: time.Now().Add(time.Minute)}, nil},
				{"received since a minute ago", store.NotificationFilter{Since: time.Now().Add(-time.Minute), Limit: 2}, []int64{ids[6], ids[5]}},
			}
			for _, tt := range tests {
				var got []*vend.Notification
				view(t, db, func(tx store.Tx) error {
					var err error
					got, err = tx.FindNotifications(ctx, tt.filter)
					return err
				})
				if ids := notificationIDs(got); !reflect.DeepEqual(ids, tt.want) && (len(ids) != 0 || len(tt.want) != 0) {
					t.Errorf("%s: %v, want %v", tt.name, ids, tt.want)
				}
			}
		},
	})
}

func notificationIDs(ns []*vend.Notification) []int64 {
	ids := make([]int64, len(ns))
	for i, n := range ns {
		ids[i] = n.ID
	}
	return ids
}

func claim(tb testing.TB, db store.DB, provider, key string, notificationID int64) bool {
	tb.Helper()
	var ok bool
	update(tb, db, func(tx store.Tx) error {
		var err error
		ok, err = tx.ClaimKey(ctx, provider, key, notificationID)
		return err
	})
	return ok
}

func testClaimKey(t *testing.T, open Opener) {
	subtests(t, open, map[string]func(t *testing.T, db store.DB){
		"a key is claimed once only": func(t *testing.T, db store.DB) {
			n1 := createNotification(t, db, &vend.Notification{Provider: "paypal"})
			n2 := createNotification(t, db, &vend.Notification{Provider: "paypal"})
			if !claim(t, db, "paypal", "T1/Completed", n1.ID) {
				t.Error("first claim refused")
			}
			if claim(t, db, "paypal", "T1/Completed", n2.ID) {
				t.Error("second claim of the same key succeeded")
			}
			if claim(t, db, "paypal", "T1/Completed", n1.ID) {
				t.Error("claim by the same notification again succeeded")
			}
		},
		"keys are per provider and compared exactly": func(t *testing.T, db store.DB) {
			n := createNotification(t, db, &vend.Notification{Provider: "paypal"})
			for _, k := range []struct{ provider, key string }{
				{"paypal", "T1/Completed"}, {"digistore24", "T1/Completed"}, {"paypal", "T1/Pending"}, {"paypal", "t1/completed"}, {"paypal", "T1/Completed "},
			} {
				if !claim(t, db, k.provider, k.key, n.ID) {
					t.Errorf("claim %s %q refused", k.provider, k.key)
				}
			}
		},
		"a claim rolled back with its transaction can be claimed again": func(t *testing.T, db store.DB) {
			n := createNotification(t, db, &vend.Notification{Provider: "paypal"})
			errBoom := errors.New("boom")
			err := db.Update(ctx, func(tx store.Tx) error {
				if ok, err := tx.ClaimKey(ctx, "paypal", "K", n.ID); err != nil || !ok {
					t.Errorf("claim = %v, %v", ok, err)
				}
				return errBoom
			})
			if !errors.Is(err, errBoom) {
				t.Fatalf("Update = %v, want %v", err, errBoom)
			}
			if !claim(t, db, "paypal", "K", n.ID) {
				t.Error("the rolled-back claim still holds the key")
			}
		},
		"50 concurrent claims of one key: exactly one wins": func(t *testing.T, db store.DB) {
			const n = 50
			ids := make([]int64, n)
			for i := range ids {
				ids[i] = createNotification(t, db, &vend.Notification{Provider: "paypal"}).ID
			}
			var wg sync.WaitGroup
			var mu sync.Mutex
			won, errs := 0, 0
			for i := range n {
				wg.Go(func() {
					var ok bool
					err := db.Update(ctx, func(tx store.Tx) error {
						var err error
						ok, err = tx.ClaimKey(ctx, "paypal", "T1/Completed", ids[i])
						return err
					})
					mu.Lock()
					defer mu.Unlock()
					if err != nil {
						t.Errorf("claim %d: %v", i, err)
						errs++
					} else if ok {
						won++
					}
				})
			}
			wg.Wait()
			if won != 1 {
				t.Errorf("%d claims won (%d errors), want exactly 1", won, errs)
			}
		},
	})
}
