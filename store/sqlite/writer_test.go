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
func openCounted(tb testing.TB) (*sqlite.DB, *atomic.Int64) {
	tb.Helper()
	db := sqlite.NewDB(filepath.Join(tb.TempDir(), "vend.db"))
	var commits atomic.Int64
	db.ObserveCommit = func(time.Duration) { commits.Add(1) }
	if err := db.Open(ctx); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db, &commits
}

// shareCommit sends first a function that holds the writer until each of then
// has been started in turn, and then runs held. It returns how many commits
// they all took, and first's error. Each of then should send an Update that
// joins first's batch; one that reached the writer's queue too late takes a
// commit of its own.
func shareCommit(tb testing.TB, commits *atomic.Int64, first func(context.Context, func(store.Tx) error) error, held func(store.Tx) error, then ...func()) (int64, error) {
	tb.Helper()
	c0 := commits.Load()
	release, holding := make(chan struct{}), make(chan struct{})
	firstDone := make(chan error, 1)
	go func() {
		firstDone <- first(ctx, func(tx store.Tx) error {
			close(holding)
			<-release
			return held(tx)
		})
	}()
	select {
	case <-holding:
	case err := <-firstDone:
		tb.Fatalf("the first Update returned before its function ran: %v", err)
	}
	var wg sync.WaitGroup
	for _, update := range then {
		started := make(chan struct{})
		wg.Go(func() {
			close(started)
			update()
		})
		<-started
		for range 100 { // let it reach the writer's queue
			runtime.Gosched()
		}
	}
	close(release)
	err := <-firstDone
	allDone := make(chan struct{})
	go func() { wg.Wait(); close(allDone) }()
	select {
	case <-allDone:
	case <-time.After(time.Minute): // a failure detector, not a wait for the writer
		tb.Fatal("an Update sent while the batch ran was never answered")
	}
	return commits.Load() - c0, err
}

// putSetting is a function for Update that writes name.
func putSetting(name string) func(store.Tx) error {
	return func(tx store.Tx) error { return tx.PutSetting(ctx, name, "v") }
}

// hasSetting reports whether name was written and committed.
func hasSetting(tb testing.TB, db *sqlite.DB, name string) bool {
	tb.Helper()
	var found bool
	err := db.View(ctx, func(tx store.Tx) error {
		_, err := tx.FindSetting(ctx, name)
		if vend.ErrorCode(err) == vend.ENOTFOUND {
			return nil
		}
		found = err == nil
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	return found
}

// Updates sent while a batch runs join it: one commit for all of them, and
// each finds its write committed when its Update returns.
func TestDB_Update_JoinsRunningBatch(t *testing.T) {
	t.Parallel()
	db, commits := openCounted(t)
	write := func(name string) func() {
		return func() {
			if err := db.Update(ctx, putSetting(name)); err != nil {
				t.Error(err)
			} else if !hasSetting(t, db, name) {
				t.Errorf("setting %s missing after its Update returned nil", name)
			}
		}
	}
	for try := range 100 {
		n, err := shareCommit(t, commits, db.Update, putSetting("held"), write(fmt.Sprintf("a%d", try)), write(fmt.Sprintf("b%d", try)))
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

// An Update whose function exits the writer's goroutine (t.Fatal inside an
// Update, in a test) fails its batch: the Update it joined is answered with an
// error, its write rolled back, and the writer goes on.
func TestDB_Update_ExitFailsItsBatch(t *testing.T) {
	t.Parallel()
	db, commits := openCounted(t)
	exit := func(store.Tx) error { runtime.Goexit(); return nil }
	for try := range 100 {
		held := fmt.Sprintf("held%d", try)
		var exitErr error
		n, err := shareCommit(t, commits, db.Update, putSetting(held), func() { exitErr = db.Update(ctx, exit) })
		if exitErr == nil {
			t.Fatal("the Update that exited the writer's goroutine returned nil")
		}
		if err == nil { // the exit came too late to join, and failed alone
			if n != 1 || !hasSetting(t, db, held) {
				t.Fatalf("an Update that returned nil: %d commits, its setting there: %v", n, hasSetting(t, db, held))
			}
			continue
		}
		if n != 0 || hasSetting(t, db, held) {
			t.Fatalf("the Update the exit joined answered %q: %d commits, its setting there: %v", err, n, hasSetting(t, db, held))
		}
		if err := db.Update(ctx, putSetting("after")); err != nil || !hasSetting(t, db, "after") {
			t.Fatalf("the writer after the exit: %v", err)
		}
		t.Logf("the exit joined the batch at try %d: %v", try+1, err)
		return
	}
	t.Fatal("an exiting Update never joined a batch in 100 tries")
}

// A commit of the download log's writes with another write moves the
// generation: a refund that shares a commit with the log must still end
// access. The log's write holds the writer, so it is the commit's first job,
// and an Update joins it.
func TestDB_Generation_SharedCommit(t *testing.T) {
	t.Parallel()
	db, commits := openCounted(t)
	update := func() {
		if err := db.Update(ctx, putSetting("k")); err != nil {
			t.Error(err)
		}
	}
	for try := range 100 {
		g0 := db.Generation()
		n, err := shareCommit(t, commits, db.UpdateLog, putSetting("held"), update)
		if err != nil {
			t.Fatal(err)
		}
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
