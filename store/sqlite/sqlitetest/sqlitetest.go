// Package sqlitetest gives tests a migrated SQLite store of their own, fast.
//
// Migrating a new file is most of what opening a store costs, and under the race
// detector it costs about 200 ms (modernc.org/sqlite is C translated to Go, and
// every one of its memory accesses is instrumented). So each test binary
// migrates one store once, through the real migrations, and every test gets a
// byte copy of that file: the same fresh, empty, migrated database, for the
// price of a file write. The migrations themselves stay tested from empty by
// store/sqlite's own tests.
package sqlitetest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/vend-shop/vend/store/sqlite"
)

// Template is a migrated store file made once, optionally filled by Fill, and
// copied for each test.
type Template struct {
	// Fill, if set, runs on the freshly migrated store before it is saved (a
	// catalog every test of a package starts from, say).
	Fill func(ctx context.Context, db *sqlite.DB) error
	// Now, if set, is the store's clock while Fill runs.
	Now func() time.Time

	once sync.Once
	data []byte
	err  error
}

// empty is the template of an empty migrated store.
var empty Template

// Path writes a fresh, empty, migrated store to a file under tb.TempDir() and
// returns its path, for a test that sets fields of sqlite.DB before Open.
func Path(tb testing.TB) string {
	tb.Helper()
	return empty.Path(tb)
}

// MustOpenDB opens a fresh, empty, migrated store, closed when tb ends.
func MustOpenDB(tb testing.TB) *sqlite.DB {
	tb.Helper()
	return empty.MustOpenDB(tb)
}

// Path writes a copy of the template to a file under tb.TempDir() and returns
// its path.
func (t *Template) Path(tb testing.TB) string {
	tb.Helper()
	t.once.Do(func() { t.data, t.err = t.make() })
	if t.err != nil {
		tb.Fatal(t.err)
	}
	path := filepath.Join(tb.TempDir(), "vend.db")
	if err := os.WriteFile(path, t.data, 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}

// MustOpenDB opens a copy of the template, closed when tb ends.
func (t *Template) MustOpenDB(tb testing.TB) *sqlite.DB {
	tb.Helper()
	db := sqlite.NewDB(t.Path(tb))
	if err := db.Open(context.Background()); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Error(err)
		}
	})
	return db
}

// make migrates a new store, fills it, closes it (which folds the WAL into the
// file) and returns the file's bytes.
func (t *Template) make() ([]byte, error) {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "vend-sqlitetest-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "vend.db")
	db := sqlite.NewDB(path)
	if t.Now != nil {
		db.Now = t.Now
	}
	if err := db.Open(ctx); err != nil {
		return nil, fmt.Errorf("sqlitetest: %w", err)
	}
	if t.Fill != nil {
		err = t.Fill(ctx, db)
	}
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("sqlitetest: %w", err)
	}
	if _, err := os.Stat(path + "-wal"); err == nil {
		return nil, fmt.Errorf("sqlitetest: the template store left a WAL file behind")
	}
	return os.ReadFile(path)
}
