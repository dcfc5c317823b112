// Package pgtest gives tests a PostgreSQL database of their own: a fresh schema in
// the server that VEND_TEST_POSTGRES names (a postgres:// URL). Without it, tests
// skip with a message; under CI (CI=true) they fail, because a suite that did not
// run must not look green.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"net/url"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/vend-shop/vend/internal/servicetest"
	"github.com/vend-shop/vend/store/postgres"
)

// Env is the variable naming the test server.
const Env = "VEND_TEST_POSTGRES"

// URL creates an empty schema for tb, dropped when tb ends, and returns a URL
// whose connections use it.
func URL(tb testing.TB) string {
	tb.Helper()
	base := servicetest.Postgres.Need(tb)
	admin, err := sql.Open("pgx", base)
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	defer admin.Close()
	schema := "t_" + strings.ToLower(rand.Text()[:16])
	if _, err := admin.ExecContext(context.Background(), "CREATE SCHEMA "+schema); err != nil {
		tb.Fatalf("pgtest: create schema: %v", err)
	}
	tb.Cleanup(func() {
		admin, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer admin.Close()
		admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
	})
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatalf("pgtest: %s: %v", Env, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// MustOpenDB opens a migrated store in a fresh schema, closed when tb ends.
func MustOpenDB(tb testing.TB) *postgres.DB {
	tb.Helper()
	db := postgres.NewDB(URL(tb))
	db.MaxConns = 8
	if err := db.Open(context.Background()); err != nil {
		tb.Fatal(fmt.Errorf("pgtest: %w", err))
	}
	tb.Cleanup(func() { db.Close() })
	return db
}
