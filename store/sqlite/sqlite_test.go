package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/internal/testclock"
	"github.com/vend-shop/vend/store"
	"github.com/vend-shop/vend/store/sqlite"
	"github.com/vend-shop/vend/store/sqlite/sqlitetest"
	"github.com/vend-shop/vend/store/storetest"
)

var ctx = context.Background()

// MustOpenDB opens a new, migrated database in a file under tb.TempDir() and
// closes it when the test ends.
func MustOpenDB(tb testing.TB) *sqlite.DB {
	tb.Helper()
	return mustOpen(tb, filepath.Join(tb.TempDir(), "vend.db"))
}

func mustOpen(tb testing.TB, path string) *sqlite.DB {
	tb.Helper()
	db := sqlite.NewDB(path)
	if err := db.Open(ctx); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Error(err)
		}
	})
	return db
}

// TestDB runs the conformance suite, each case on a copy of one migrated store
// (sqlitetest); the tests below migrate from empty.
func TestDB(t *testing.T) {
	storetest.Run(t, func(tb testing.TB) store.DB { return sqlitetest.MustOpenDB(tb) })
}

// rawOpen opens the file with database/sql directly, outside the store.
func rawOpen(tb testing.TB, path string) *sql.DB {
	tb.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

func queryString(tb testing.TB, db *sql.DB, q string) string {
	tb.Helper()
	var s string
	if err := db.QueryRowContext(ctx, q).Scan(&s); err != nil {
		tb.Fatalf("%s: %v", q, err)
	}
	return s
}

func TestDB_Open(t *testing.T) {
	t.Run("WAL and synchronous=FULL are in effect on every connection", func(t *testing.T) {
		db := MustOpenDB(t)
		tests := []struct {
			pragma string
			read   bool
			want   string
		}{
			{"journal_mode", false, "wal"},
			{"journal_mode", true, "wal"},
			{"synchronous", false, "2"}, // FULL: a commit survives a power cut
			{"synchronous", true, "2"},
			{"busy_timeout", false, "10000"},
			{"busy_timeout", true, "10000"},
			{"foreign_keys", false, "1"},
			{"temp_store", false, "2"}, // MEMORY: savepoint sub-journals stay off the disk
			{"cache_size", false, "-65536"},
			{"cache_size", true, "-16384"},
			{"query_only", false, "0"},
			{"query_only", true, "1"},
		}
		for _, tt := range tests {
			pool := "write"
			if tt.read {
				pool = "read"
			}
			got, err := db.Pragma(ctx, tt.pragma, tt.read)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("%s pool: PRAGMA %s = %s, want %s", pool, tt.pragma, got, tt.want)
			}
		}
		// WAL is a property of the file: another client sees it too.
		if got := queryString(t, rawOpen(t, db.Path), "PRAGMA journal_mode"); got != "wal" {
			t.Errorf("file journal_mode = %s, want wal", got)
		}
	})

	t.Run("migrations run at Open and are idempotent", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "sub", "dir", "vend.db") // Open creates the directory
		db := sqlite.NewDB(path)
		if err := db.Open(ctx); err != nil {
			t.Fatal(err)
		}
		n := &vend.Notification{Provider: "paypal", Body: []byte("kept")}
		if err := db.Update(ctx, func(tx store.Tx) error { return tx.CreateNotification(ctx, n) }); err != nil {
			t.Fatal(err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		raw := rawOpen(t, path)
		before := queryString(t, raw, "SELECT COUNT(*) || '/' || MAX(version_id) FROM goose_db_version")

		// Open again, and a second store on the same file while the first is open
		// (vend backup or vend orders beside vend serve).
		again := mustOpen(t, path)
		beside := mustOpen(t, path)
		if after := queryString(t, raw, "SELECT COUNT(*) || '/' || MAX(version_id) FROM goose_db_version"); after != before {
			t.Errorf("migration table went from %s to %s rows/version", before, after)
		}
		for _, db := range []*sqlite.DB{again, beside} {
			err := db.View(ctx, func(tx store.Tx) error {
				got, err := tx.FindNotificationByID(ctx, n.ID)
				if err == nil && string(got.Body) != "kept" {
					t.Errorf("body = %q", got.Body)
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		if err := beside.Update(ctx, func(tx store.Tx) error { return tx.CreateNotification(ctx, &vend.Notification{Provider: "p"}) }); err != nil {
			t.Errorf("write through the second store: %v", err)
		}
	})

	t.Run("a file that is not a database is refused", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "vend.db")
		if err := os.WriteFile(path, []byte("this is not an SQLite database, just some text that is long enough."), 0o600); err != nil {
			t.Fatal(err)
		}
		db := sqlite.NewDB(path)
		err := db.Open(ctx)
		db.Close()
		if err == nil {
			t.Error("Open succeeded on a text file")
		}
	})
}

func TestDB_Backup(t *testing.T) {
	t.Run("a readable, consistent copy while a writer is active", func(t *testing.T) {
		db := MustOpenDB(t)
		stop := make(chan struct{})
		var written atomic.Int64
		var wg sync.WaitGroup
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				// Each step writes an order and its notification together: a copy
				// holds both or neither.
				err := db.Update(ctx, func(tx store.Tx) error {
					o := &vend.Order{Provider: "paypal", Ref: fmt.Sprintf("T%d", i), Currency: "USD", Status: vend.OrderPaid}
					if err := tx.CreateOrder(ctx, o); err != nil {
						return err
					}
					return tx.CreateNotification(ctx, &vend.Notification{Provider: "paypal", OrderID: o.ID, Body: fmt.Appendf(nil, "txn_id=T%d", i)})
				})
				if err != nil {
					t.Errorf("writer: %v", err)
					return
				}
				written.Add(1)
			}
		})
		for written.Load() < 20 {
			time.Sleep(time.Millisecond)
		}
		path := filepath.Join(t.TempDir(), "backup.db")
		err := db.Backup(ctx, path)
		for written.Load() < 40 { // the writer kept going during and after the backup
			time.Sleep(time.Millisecond)
		}
		close(stop)
		wg.Wait()
		if err != nil {
			t.Fatalf("Backup: %v", err)
		}

		raw := rawOpen(t, path)
		if got := queryString(t, raw, "PRAGMA integrity_check"); got != "ok" {
			t.Errorf("integrity_check: %s", got)
		}
		copied := mustOpen(t, path)
		var orders, notes int
		err = copied.View(ctx, func(tx store.Tx) error {
			os, err := tx.FindOrders(ctx, store.OrderFilter{Limit: 1_000_000})
			if err != nil {
				return err
			}
			ns, err := tx.FindNotifications(ctx, store.NotificationFilter{Limit: 1_000_000})
			if err != nil {
				return err
			}
			orders, notes = len(os), len(ns)
			for _, o := range os {
				if got, err := tx.FindNotifications(ctx, store.NotificationFilter{OrderID: &o.ID}); err != nil || len(got) != 1 {
					t.Errorf("order %d has %d notifications in the copy (%v)", o.ID, len(got), err)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if orders < 20 || orders != notes || int64(orders) > written.Load() {
			t.Errorf("copy holds %d orders and %d notifications; %d were written, at least 20 before the backup", orders, notes, written.Load())
		}
	})

	t.Run("an existing file is never overwritten", func(t *testing.T) {
		db := MustOpenDB(t)
		path := filepath.Join(t.TempDir(), "backup.db")
		if err := os.WriteFile(path, []byte("precious"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := db.Backup(ctx, path); err == nil {
			t.Error("Backup overwrote an existing file")
		}
		if b, _ := os.ReadFile(path); string(b) != "precious" {
			t.Errorf("file now holds %q", b)
		}
	})
}

// TestDB_FileModes checks that the ledger and its backups, which hold buyers'
// email addresses, are readable by vend's user alone: SQLite on its own makes
// them 0644.
func TestDB_FileModes(t *testing.T) {
	t.Parallel()
	write := func(t *testing.T, db *sqlite.DB) {
		t.Helper()
		err := db.Update(ctx, func(tx store.Tx) error {
			return tx.CreateOrder(ctx, &vend.Order{Provider: "paypal", Ref: "T1", Currency: "USD", Status: vend.OrderPaid,
				Buyer: vend.Buyer{Email: "buyer@example.com"}})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	wantPrivate := func(t *testing.T, paths ...string) {
		t.Helper()
		for _, p := range paths {
			st, err := os.Stat(p)
			if err != nil {
				t.Errorf("%s: %v", filepath.Base(p), err)
				continue
			}
			if got := st.Mode().Perm(); got != 0o600 {
				t.Errorf("%s has mode %#o, want 0600", filepath.Base(p), got)
			}
		}
	}
	t.Run("OK a new database, its WAL and shared memory", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "vend.db")
		write(t, mustOpen(t, path))
		wantPrivate(t, path, path+"-wal", path+"-shm")
	})
	t.Run("OK an older vend's readable database is made private", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "vend.db")
		for _, p := range []string{path, path + "-wal", path + "-shm"} {
			if err := os.WriteFile(p, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(p, 0o644); err != nil { // whatever the umask
				t.Fatal(err)
			}
		}
		write(t, mustOpen(t, path))
		wantPrivate(t, path, path+"-wal", path+"-shm")
	})
	t.Run("OK a backup", func(t *testing.T) {
		t.Parallel()
		db := MustOpenDB(t)
		write(t, db)
		path := filepath.Join(t.TempDir(), "backup.db")
		if err := db.Backup(ctx, path); err != nil {
			t.Fatal(err)
		}
		wantPrivate(t, path)
	})
}

// TestDB_CounterWindows: the buyers' windows move on with the days.
func TestDB_CounterWindows(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "vend.db")
	clock := testclock.New(time.Time{})
	db := sqlite.NewDB(path)
	db.Now = clock.Now
	if err := db.Open(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	storetest.RunCounterWindows(t, db, clock, rawOpen(t, path))
}

// TestDB_CounterMigration: migration 00021 counts the attempts and sessions
// a ledger already holds.
func TestDB_CounterMigration(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vend.db")
	db := sqlite.NewDB(path)
	if err := db.Open(ctx); err != nil {
		t.Fatal(err)
	}
	storetest.RunCounterMigration(t, db, func(t *testing.T) store.DB {
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		raw := rawOpen(t, path)
		for _, q := range append([]string{`DROP TRIGGER download_sessions_days_insert`, `DROP TRIGGER download_sessions_days_update`,
			`DROP TRIGGER transactions_days_insert`, `DROP TRIGGER transactions_days_update`, `DROP TRIGGER orders_days_test`},
			storetest.UndoCounterDays...) {
			if _, err := raw.ExecContext(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		raw.Close()
		return mustOpen(t, path)
	})
}

// BenchmarkCreateAttempts is the download log's write on the one writer, per
// attempt, in batches as delivery's recorder writes them.
func BenchmarkCreateAttempts(b *testing.B) {
	storetest.BenchCreateAttempts(b, sqlitetest.MustOpenDB(b), 256)
}
