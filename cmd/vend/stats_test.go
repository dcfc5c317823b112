package main

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/store"
)

func TestStatsCLI(t *testing.T) {
	t.Parallel()
	env := seededEnv(t, "300", "2000")
	stats := func(args ...string) statsReport {
		t.Helper()
		var r statsReport
		out := mustVend(t, env, append([]string{"stats", "--json"}, args...)...)
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		return r
	}
	// One sandbox sale of 10.00 USD today: a test order, counted only with --test.
	db := openLedger(t, dirOf(env))
	ctx := context.Background()
	err := db.Update(ctx, func(tx store.Tx) error {
		o := &vend.Order{Provider: "paypal", Ref: "SANDBOX1", Currency: "USD", Total: 1000, Status: vend.OrderPaid, Test: true}
		if err := tx.CreateOrder(ctx, o); err != nil {
			return err
		}
		return tx.CreateTransaction(ctx, &vend.Transaction{OrderID: o.ID, Provider: "paypal", TxnID: "SANDBOX1", OrderRef: "SANDBOX1",
			Kind: vend.TxnPayment, Status: vend.TxnCompleted, Amount: 1000, Currency: "USD", RawStatus: "Completed"})
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}

	r := stats("--days", "30", "--top", "3")
	if r.Days != 30 || len(r.Buyers) != 3 || len(r.Products) != 3 {
		t.Fatalf("report %+v", r)
	}
	if y, m, d := time.Now().UTC().AddDate(0, 0, -29).Date(); !r.Since.Equal(time.Date(y, m, d, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("since %s", r.Since)
	}

	// The numbers are the store's, over the same days, without test orders.
	db = openLedger(t, dirOf(env))
	var want statsReport
	want.Revenue = map[string]vend.Amount{}
	err = db.View(ctx, func(tx store.Tx) error {
		days, err := tx.DailyStats(ctx, r.Since, time.Now(), false)
		for _, d := range days {
			want.Sales, want.Refunds, want.Downloads = want.Sales+d.Sales, want.Refunds+d.Refunds, want.Downloads+d.Downloads
			for c, a := range d.Revenue {
				want.Revenue[c] += a
			}
		}
		if err != nil {
			return err
		}
		want.Buyers, err = tx.AttemptsPerBuyer(ctx, store.BuyerQuery{From: r.Since, Limit: 3})
		return err
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	if r.Sales != want.Sales || r.Sales == 0 || r.Refunds != want.Refunds || r.Downloads != want.Downloads || !reflect.DeepEqual(r.Revenue, want.Revenue) {
		t.Errorf("sums %d %v %d %d, want %d %v %d %d", r.Sales, r.Revenue, r.Refunds, r.Downloads, want.Sales, want.Revenue, want.Refunds, want.Downloads)
	}
	if r.Test {
		t.Error("the report says test orders are counted; --test was not given")
	}
	withTest := stats("--days", "30", "--top", "3", "--test")
	if !withTest.Test || withTest.Sales != r.Sales+1 || withTest.Revenue["USD"] != r.Revenue["USD"]+1000 {
		t.Errorf("--test: %d sales, %s USD; want %d, %s", withTest.Sales, withTest.Revenue["USD"], r.Sales+1, r.Revenue["USD"]+1000)
	}
	for i := range want.Buyers {
		if !reflect.DeepEqual(r.Buyers[i], want.Buyers[i]) {
			t.Errorf("buyer %d: %+v, want %+v", i, r.Buyers[i], want.Buyers[i])
		}
	}
	for i := 1; i < len(r.Products); i++ {
		if r.Products[i].Completed > r.Products[i-1].Completed {
			t.Errorf("products not by completed downloads: %+v", r.Products)
		}
	}
	var attempts int
	for _, p := range stats("--days", "30", "--top", "10").Products {
		attempts += p.Attempts
	}
	if attempts == 0 || attempts > 2000 {
		t.Errorf("%d attempts in 30 days of 20", attempts)
	}

	last := stats("--sort", "last", "--top", "5").Buyers
	for i := 1; i < len(last); i++ {
		if last[i].LastAttempt.After(last[i-1].LastAttempt) {
			t.Errorf("--sort last: %+v", last)
		}
	}
	if stats("--days", "1").Days != 1 {
		t.Error("--days 1")
	}

	text := mustVend(t, env, "stats", "--top", "2")
	for _, s := range []string{"Last 30 days, since", "without test orders (--test counts them)", "Sales", "Refunds", "Downloads", "BUYER", "ATTEMPTS", "PRODUCT", "COMPLETED",
		r.Buyers[0].Email, "SEED-00"} {
		if !strings.Contains(text, s) {
			t.Errorf("stats lacks %q:\n%s", s, text)
		}
	}
	for _, bad := range [][]string{{"--days", "0"}, {"--top", "0"}, {"--sort", "name"}} {
		if _, errOut, code := runMain(t, env, append([]string{"stats"}, bad...)...); code == 0 || errOut == "" {
			t.Errorf("stats %v: exit %d", bad, code)
		}
	}
}
