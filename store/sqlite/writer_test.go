package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/store"
	"github.com/vend-shop/vend/store/sqlite"
)

// TestDB_Update_CancelledMidStatement: a caller that gives up while its statement
// runs must not take the Updates it shares a transaction with down with it, and
// every caller told nil must find its row, every caller told an error must not.
func TestDB_Update_CancelledMidStatement(t *testing.T) {
	db := MustOpenDB(t)
	// Enough rows that scanning them takes milliseconds: long enough to be
	// cancelled in the middle.
	err := db.Update(ctx, func(tx store.Tx) error {
		for i := range 1000 {
			if err := tx.CreateNotification(ctx, &vend.Notification{Provider: "filler", Body: fmt.Appendf(nil, "filler %d", i)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for round := range 5 {
		var wg sync.WaitGroup
		type outcome struct {
			body string
			err  error
		}
		outcomes := make([]outcome, 6)
		for i := range outcomes {
			wg.Go(func() {
				body := fmt.Sprintf("round %d job %d", round, i)
				jctx, cancel := context.WithCancel(ctx)
				defer cancel()
				if i%3 == 1 { // this one gives up while its slow statement runs
					time.AfterFunc(time.Duration(1+i)*time.Millisecond, cancel)
				}
				err := db.Update(jctx, func(tx store.Tx) error {
					if err := tx.CreateNotification(jctx, &vend.Notification{Provider: "test", Body: []byte(body)}); err != nil {
						return err
					}
					if i%3 == 1 {
						// A slow read inside the write: a long scan of the notifications.
						for range 3 {
							if _, err := tx.FindNotifications(jctx, store.NotificationFilter{Limit: 100000}); err != nil {
								return err
							}
						}
					}
					return nil
				})
				outcomes[i] = outcome{body, err}
			})
		}
		wg.Wait()
		stored := map[string]bool{}
		err = db.View(ctx, func(tx store.Tx) error {
			ns, err := tx.FindNotifications(ctx, store.NotificationFilter{Limit: 100000})
			for _, n := range ns {
				stored[string(n.Body)] = true
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		for i, o := range outcomes {
			if (o.err == nil) != stored[o.body] {
				t.Fatalf("round %d job %d: Update returned %v but stored = %v", round, i, o.err, stored[o.body])
			}
			if i%3 != 1 && o.err != nil {
				t.Errorf("round %d job %d (not cancelled) failed: %v", round, i, o.err)
			}
		}
	}
}

// TestDB_Generation: every commit moves the generation but one of the
// download log's writes alone (UpdateLog), which a cache of admissions
// outlives.
func TestDB_Generation(t *testing.T) {
	t.Parallel()
	db := MustOpenDB(t)
	write := func(tx store.Tx) error { return tx.PutSetting(ctx, "k", "v") }
	g0 := db.Generation()
	if err := db.Update(ctx, write); err != nil {
		t.Fatal(err)
	}
	g1 := db.Generation()
	if g1 == g0 {
		t.Errorf("Update left the generation at %d", g0)
	}
	if err := db.UpdateLog(ctx, write); err != nil {
		t.Fatal(err)
	}
	if g := db.Generation(); g != g1 {
		t.Errorf("UpdateLog moved the generation %d -> %d", g1, g)
	}
	if err := db.Update(ctx, write); err != nil {
		t.Fatal(err)
	}
	if g := db.Generation(); g == g1 {
		t.Errorf("Update after UpdateLog left the generation at %d", g)
	}
}

// openCounted opens a database that counts its commits.
func openCounted(t *testing.T) (*sqlite.DB, *atomic.Int64) {
	t.Helper()
	db := sqlite.NewDB(filepath.Join(t.TempDir(), "vend.db"))
	var commits atomic.Int64
	db.ObserveCommit = func(time.Duration) { commits.Add(1) }
	if err := db.Open(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, &commits
}

// shareCommit runs first, holding the writer inside its function, while each of
// then is sent to the writer in turn, and returns how many commits they all
// took. Each of then should join first's batch; one that reached the writer's
// queue too late takes a commit of its own.
func shareCommit(t *testing.T, commits *atomic.Int64, first func(func(store.Tx) error) error, then ...func() error) int64 {
	t.Helper()
	c0 := commits.Load()
	release, held := make(chan struct{}), make(chan struct{})
	hold := make(chan error, 1)
	go func() {
		hold <- first(func(tx store.Tx) error {
			close(held)
			<-release
			return tx.PutSetting(ctx, "k", "held")
		})
	}()
	<-held
	var wg sync.WaitGroup
	for _, update := range then {
		started := make(chan struct{})
		wg.Go(func() {
			close(started)
			if err := update(); err != nil {
				t.Error(err)
			}
		})
		<-started
		for range 100 { // let it reach the writer's queue
			runtime.Gosched()
		}
	}
	close(release)
	if err := <-hold; err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	return commits.Load() - c0
}

// Updates sent while a batch runs join it: one commit for all of them, and
// each finds its write committed when Update returns.
func TestDB_Update_JoinsRunningBatch(t *testing.T) {
	t.Parallel()
	db, commits := openCounted(t)
	write := func(key string) func() error {
		return func() error {
			return db.Update(ctx, func(tx store.Tx) error { return tx.PutSetting(ctx, key, "v") })
		}
	}
	for try := range 100 {
		keys := []string{fmt.Sprintf("a%d", try), fmt.Sprintf("b%d", try)}
		n := shareCommit(t, commits, func(fn func(store.Tx) error) error { return db.Update(ctx, fn) }, write(keys[0]), write(keys[1]))
		err := db.View(ctx, func(tx store.Tx) error {
			for _, k := range keys {
				if v, err := tx.FindSetting(ctx, k); err != nil || v != "v" {
					return fmt.Errorf("setting %s after its Update returned: %q, %v", k, v, err)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if n == 1 {
			t.Logf("one commit at try %d", try+1)
			return
		}
	}
	t.Fatal("Updates sent while a batch ran never joined it in 100 tries")
}

// A commit of the download log's writes with another write moves the
// generation: a refund that shares a commit with the log must still end
// access. The log's write holds the writer, so it is the commit's first job,
// and an Update joins it.
func TestDB_Generation_SharedCommit(t *testing.T) {
	t.Parallel()
	db, commits := openCounted(t)
	update := func() error {
		return db.Update(ctx, func(tx store.Tx) error { return tx.PutSetting(ctx, "k", "v") })
	}
	for try := range 100 {
		g0 := db.Generation()
		n := shareCommit(t, commits, func(fn func(store.Tx) error) error { return db.UpdateLog(ctx, fn) }, update)
		if n != 1 {
			continue // the Update came too late to join: try again
		}
		if g := db.Generation(); g != g0+1 {
			t.Fatalf("a commit of a log write and an Update moved the generation %d -> %d, want +1", g0, g)
		}
		t.Logf("shared a commit at try %d", try+1)
		return
	}
	t.Fatal("an UpdateLog and an Update never shared a commit in 100 tries")
}

// A batch moves the generation unless all of its jobs were UpdateLog's: a
// refund that shares a commit with the download log must still end access.
func TestOnlyLog(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		logs []bool
		want bool
	}{
		{[]bool{true}, true},
		{[]bool{true, true}, true},
		{[]bool{false}, false},
		{[]bool{true, false}, false},
		{[]bool{false, true}, false},
	} {
		if got := sqlite.OnlyLog(tt.logs...); got != tt.want {
			t.Errorf("OnlyLog(%v) = %v, want %v", tt.logs, got, tt.want)
		}
	}
}
