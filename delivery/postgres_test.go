package delivery_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/delivery"
	"github.com/vend-shop/vend/store"
	"github.com/vend-shop/vend/store/postgres/pgtest"
)

// mustOpenPostgres opens a migrated PostgreSQL store in a schema of its own
// (skipped without VEND_TEST_POSTGRES, failed under CI).
func mustOpenPostgres(tb testing.TB, now func() time.Time) store.DB {
	tb.Helper()
	db := pgtest.MustOpenDB(tb)
	db.Now = now
	return db
}

// TestPostgres_TwoInstances counts downloads served by two instances on one
// PostgreSQL, where no single writer serializes them: charges and give-backs of a
// grant take turns on its row lock.
func TestPostgres_TwoInstances(t *testing.T) {
	t.Parallel()
	e := MustOpenEnvWith(t, delivery.Config{}, nil, EnvOptions{DB: mustOpenPostgres, Second: true})
	instance := func(i int) string { return fmt.Sprint(i%2 + 1) }

	t.Run("64 clients at once on the last download, split between the instances: one is served", func(t *testing.T) {
		g := e.MustCreateGrant(e.Book, func(g *vend.Grant) { g.DownloadLimit, g.DownloadsUsed = 3, 2 })
		const n = 64
		statuses := make([]int, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				statuses[i] = e.Get(e.URL(g, e.Small), "X-Test-Client", fmt.Sprintf("203.0.113.%d", i+1), "X-Test-Instance", instance(i)).Status
			})
		}
		close(start)
		wg.Wait()
		e.Settle()
		served := 0
		for _, s := range statuses {
			if s == http.StatusOK {
				served++
			} else if s != http.StatusForbidden {
				t.Errorf("unexpected status %d", s)
			}
		}
		if served != 1 {
			t.Errorf("%d served, want 1", served)
		}
		if used := e.Grant(g).DownloadsUsed; used != 3 {
			t.Errorf("downloads_used = %d, want 3", used)
		}
		if c := charged(e.Sessions(g)); c != 1 {
			t.Errorf("%d sessions charged, want 1", c)
		}
	})

	t.Run("one client's 64 requests at once, split between the instances, are one download", func(t *testing.T) {
		g := e.MustCreateGrant(e.Book, nil)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range 64 {
			wg.Go(func() {
				<-start
				if s := e.Get(e.URL(g, e.Small), "X-Test-Instance", instance(i)).Status; s != http.StatusOK {
					t.Errorf("request %d: status %d", i, s)
				}
			})
		}
		close(start)
		wg.Wait()
		e.Settle()
		if used, ss := e.Grant(g).DownloadsUsed, e.Sessions(g); used != 1 || len(ss) != 1 {
			t.Errorf("downloads_used = %d, %d sessions; want 1 and 1", used, len(ss))
		}
	})

	t.Run("both instances sweeping at once give each download back once", func(t *testing.T) {
		e := MustOpenEnvWith(t, delivery.Config{}, nil, EnvOptions{DB: mustOpenPostgres, Second: true}) // its sessions alone
		const clients = 8
		g := e.MustCreateGrant(e.Solo, func(g *vend.Grant) { g.DownloadLimit, g.DownloadsUsed = 100, 50 })
		for i := range clients {
			// 1% each: every session is to be given back.
			resp := e.Get(e.URL(g, e.SoloFile), "Range", "bytes=0-40000", "X-Test-Client", fmt.Sprintf("198.51.100.%d", i+1),
				"X-Test-Instance", instance(i))
			if resp.Status != http.StatusPartialContent {
				t.Fatalf("client %d: status %d", i, resp.Status)
			}
		}
		e.Settle()
		if used := e.Grant(g).DownloadsUsed; used != 50+clients {
			t.Fatalf("downloads_used = %d, want %d", used, 50+clients)
		}
		e.Clock.Add(delivery.DefaultSessionTimeout + time.Second)
		var wg sync.WaitGroup
		var mu sync.Mutex
		closed := 0
		for i := range 8 {
			wg.Go(func() {
				svc := e.Service
				if i%2 == 1 {
					svc = e.Second
				}
				n, err := svc.Sweep(t.Context())
				if err != nil {
					t.Errorf("sweep: %v", err)
				}
				mu.Lock()
				closed += n
				mu.Unlock()
			})
		}
		wg.Wait()
		if closed != clients {
			t.Errorf("the sweeps closed %d sessions together, want %d", closed, clients)
		}
		if used := e.Grant(g).DownloadsUsed; used != 50 {
			t.Errorf("downloads_used = %d, want 50: each of the %d downloads given back once", used, clients)
		}
		for _, s := range e.Sessions(g) {
			if !s.Closed || !s.GivenBack {
				t.Errorf("session %+v, want closed and given back", s)
			}
		}
	})
}
