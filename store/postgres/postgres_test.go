package postgres_test

import (
	"context"
	"database/sql"
	"sync"
	"testing"
	"time"

	"github.com/vend-shop/vend/internal/testclock"
	"github.com/vend-shop/vend/store"
	"github.com/vend-shop/vend/store/postgres"
	"github.com/vend-shop/vend/store/postgres/pgtest"
	"github.com/vend-shop/vend/store/storetest"
)

func TestDB(t *testing.T) {
	storetest.Run(t, func(tb testing.TB) store.DB { return pgtest.MustOpenDB(tb) })
}

// TestDB_Migrate_Concurrent: instances that start at once on an empty database
// migrate it once, and all of them come up.
func TestDB_Migrate_Concurrent(t *testing.T) {
	url := pgtest.URL(t)
	var wg sync.WaitGroup
	errs := make([]error, 5)
	for i := range errs {
		wg.Go(func() {
			db := postgres.NewDB(url)
			db.MaxConns = 2
			errs[i] = db.Open(context.Background())
			db.Close()
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("instance %d: %v", i, err)
		}
	}
}

// TestDB_CounterWindows: the buyers' windows move on with the days.
func TestDB_CounterWindows(t *testing.T) {
	url := pgtest.URL(t)
	clock := testclock.New(time.Time{})
	storetest.RunCounterWindows(t, openAt(t, url, clock), clock, openRaw(t, url))
}

// TestDB_CounterWindows_Instances: instances that write attempts at once as
// the day changes count each once in the windows, and none waits forever.
func TestDB_CounterWindows_Instances(t *testing.T) {
	url := pgtest.URL(t)
	clock, behind := testclock.New(time.Time{}), testclock.New(time.Time{})
	dbs := []store.DB{openAt(t, url, clock), openAt(t, url, clock), openAt(t, url, behind)}
	storetest.RunCounterWindowsConcurrent(t, dbs, clock, behind, openRaw(t, url))
}

// openAt opens an instance on url whose time is clock's.
func openAt(t *testing.T, url string, clock *testclock.Clock) *postgres.DB {
	db := postgres.NewDB(url)
	db.Now = clock.Now
	if err := db.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// openRaw opens url with database/sql alone, for what the store does not say.
func openRaw(t *testing.T, url string) *sql.DB {
	raw, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	return raw
}

// TestDB_CounterMigration: migration 00021 counts the attempts and sessions
// a ledger already holds.
func TestDB_CounterMigration(t *testing.T) {
	url := pgtest.URL(t)
	db := postgres.NewDB(url)
	if err := db.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	storetest.RunCounterMigration(t, db, func(t *testing.T) store.DB {
		db.Close()
		raw, err := sql.Open("pgx", url)
		if err != nil {
			t.Fatal(err)
		}
		defer raw.Close()
		for _, q := range storetest.UndoCounterDays {
			if _, err := raw.Exec(q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		db := postgres.NewDB(url)
		if err := db.Open(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	})
}

// BenchmarkCreateAttempts is the download log's write, per attempt, in
// batches as delivery's recorder writes them.
func BenchmarkCreateAttempts(b *testing.B) {
	storetest.BenchCreateAttempts(b, pgtest.MustOpenDB(b), 256)
}
