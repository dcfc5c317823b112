package ledger_test

import (
	"fmt"
	"testing"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/ledger"
	"github.com/vend-shop/vend/store"
)

func testRelease(t *testing.T, open opener) {
	db := open(t)
	const batch = 20 // DefaultReleaseBatch is 200: the same steps, a tenth of the rows
	led := ledger.New(db)
	led.Mail, led.ReleaseBatch = true, batch
	// 45 buyers of the e-book (more than two batches), one of them twice, one
	// refunded; and a buyer of another product.
	for i := range 45 {
		ev := paid(fmt.Sprintf("T%03d", i))
		ev.Buyer.Email = fmt.Sprintf("b%d@example.com", i)
		if i == 44 {
			ev.Buyer.Email = "b0@example.com"
		}
		if i == 5 {
			ev.Language = "de" // and the new-version mail is German too
		}
		apply(t, led, ev)
	}
	apply(t, led, refundEv("R1", "T001", 1995))
	apply(t, led, with(paid("C1"), func(ev *vend.Event) {
		ev.Items = []vend.EventItem{{ProductID: "course", Quantity: 1, Amount: 990}}
		ev.Total, ev.Buyer.Email = 990, "course@example.com"
	}))
	err := db.Update(ctx, func(tx store.Tx) error {
		for _, id := range []int64{1, 2, 3} {
			if err := tx.AddDownloadsUsed(ctx, id, 2); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	before := len(mailsOf(t, db))

	if _, err := led.StartRelease(ctx, "user:alice", "ebook", ledger.ReleaseOptions{Version: "2nd edition"}); vend.ErrorCode(err) != vend.EINVALID {
		t.Errorf("a release that does nothing: %v", err)
	}
	r, err := led.StartRelease(ctx, "user:alice", "ebook", ledger.ReleaseOptions{Version: "2nd edition", Notify: true, Reset: true})
	if err != nil {
		t.Fatal(err)
	}
	if r.Total != 44 || r.Status != vend.ReleaseRunning {
		t.Errorf("started %+v, want 44 active grants", r)
	}
	if _, err := led.StartRelease(ctx, "user:bob", "ebook", ledger.ReleaseOptions{Version: "again", Notify: true}); vend.ErrorCode(err) != vend.ECONFLICT {
		t.Errorf("a second release while one runs: %v, want ECONFLICT", err)
	}
	// One step, then the process "dies"; a fresh ledger resumes.
	if r, err = led.StepRelease(ctx, r.ID); err != nil || r.Done != batch {
		t.Fatalf("first step: %+v %v", r, err)
	}
	var steps []int
	again := ledger.New(db)
	again.Mail, again.ReleaseBatch = true, batch
	if err := again.ResumeReleases(ctx); err != nil {
		t.Fatal(err)
	}
	if err := again.RunRelease(ctx, r.ID, func(r *vend.Release) { steps = append(steps, r.Done) }); err != nil {
		t.Fatal(err)
	}
	err = db.View(ctx, func(tx store.Tx) error {
		got, err := tx.FindRelease(ctx, r.ID)
		if err != nil {
			return err
		}
		if got.Status != vend.ReleaseDone || got.Done != 44 {
			t.Errorf("finished %+v", got)
		}
		for _, id := range []int64{1, 3} {
			if g, err := tx.FindGrantByID(ctx, id); err != nil || g.DownloadsUsed != 0 {
				t.Errorf("grant %d after the release: %+v %v", id, g, err)
			}
		}
		if g, err := tx.FindGrantByID(ctx, 2); err != nil || g.DownloadsUsed != 2 {
			t.Errorf("the refunded grant was touched: %+v %v", g, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	newVersion := 0
	for _, m := range mailsOf(t, db) {
		if len(m) > 11 && m[:11] == "new-version" {
			newVersion++
		}
	}
	// 44 active grants, one buyer with two: 43 addresses; the refunded buyer
	// and the course's buyer get nothing.
	if newVersion != 43 {
		t.Errorf("%d new-version messages, want 43 (outbox had %d before)", newVersion, before)
	}
	err = db.View(ctx, func(tx store.Tx) error {
		ms, err := tx.FindMails(ctx, store.MailFilter{Limit: 1000})
		for _, m := range ms {
			if m.Kind == vend.MailNewVersion && (m.Language == "de") != (m.To == "b5@example.com") {
				t.Errorf("new-version mail to %s in %q; only b5's order is German", m.To, m.Language)
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(steps) != 1 || steps[0] != 44 {
		t.Errorf("running a finished release again: progress %v, want one report of 44", steps)
	}
}

func TestLedger_Release(t *testing.T) { onEveryStore(t, testRelease) }
