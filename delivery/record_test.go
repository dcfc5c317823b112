package delivery_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/delivery"
	"github.com/vend-shop/vend/store"
)

// goneSessionDB is the store with one download session gone (as if its order had
// been deleted by an admin): RecordProgress of it reports not found, as the store
// contract says.
type goneSessionDB struct {
	store.DB
	gone atomic.Int64
}

func (db *goneSessionDB) Update(ctx context.Context, fn func(tx store.Tx) error) error {
	return db.DB.Update(ctx, func(tx store.Tx) error { return fn(goneSessionTx{tx, db}) })
}

type goneSessionTx struct {
	store.Tx
	db *goneSessionDB
}

func (tx goneSessionTx) RecordProgress(ctx context.Context, id int64, bytes int64, at time.Time) error {
	if id == tx.db.gone.Load() {
		return vend.Errorf(vend.ENOTFOUND, "No such download session: %d.", id)
	}
	return tx.Tx.RecordProgress(ctx, id, bytes, at)
}

func TestRecorder_SessionGone(t *testing.T) {
	t.Parallel()
	e := MustOpenEnv(t, delivery.Config{}, nil)
	db := &goneSessionDB{DB: e.DB}
	e.Service = delivery.New(db, e.Blobs, testSecret, delivery.Config{})
	e.Service.Now = e.Clock.Now
	t.Cleanup(e.Service.Close)
	gone, kept := e.MustCreateGrant(e.Book, nil), e.MustCreateGrant(e.Book, nil)

	if resp := e.Get(e.URL(gone, e.Small), "X-Test-Client", "192.0.2.0"); resp.Status != http.StatusOK {
		t.Fatalf("status %d", resp.Status)
	}
	e.Settle()
	db.gone.Store(e.Sessions(gone)[0].ID)

	// Requests of both grants at once, so that they share batches.
	const n = 20
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			g := kept
			if i%2 == 0 {
				g = gone
			}
			if resp := e.Get(e.URL(g, e.Small), "X-Test-Client", fmt.Sprint("192.0.2.", i%2)); resp.Status != http.StatusOK {
				t.Errorf("request %d: status %d", i, resp.Status)
			}
		})
	}
	wg.Wait()
	e.Settle()

	if as := e.Attempts(kept); len(as) != n/2 {
		t.Errorf("the other grant has %d attempts logged, want %d: a record of a gone session lost its batch", len(as), n/2)
	}
	if as := e.Attempts(gone); len(as) != 1+n/2 {
		t.Errorf("the gone session's grant has %d attempts logged, want %d", len(as), 1+n/2)
	}
}

// TestRecordVisit_OncePerMinute: reloads of a download page from one
// address are one visit a minute, so a loop on a leaked link cannot grow
// the log without bound; other addresses and later minutes count.
func TestRecordVisit_OncePerMinute(t *testing.T) {
	t.Parallel()
	e := MustOpenEnv(t, delivery.Config{}, nil)
	g := e.MustCreateGrant(e.Solo, nil)
	for range 50 {
		e.Service.RecordVisit(g.ID, "203.0.113.7", "reloading")
	}
	e.Service.RecordVisit(g.ID, "198.51.100.1", "another address")
	e.Clock.Add(2 * time.Minute)
	e.Service.RecordVisit(g.ID, "203.0.113.7", strings.Repeat("x", 2000))
	e.Settle()
	var vs []*vend.PageVisit
	e.view(func(ctx context.Context, tx store.Tx) error {
		var err error
		vs, err = tx.FindPageVisits(ctx, g.ID, 0)
		return err
	})
	if len(vs) != 3 || vs[0].IP != "203.0.113.7" || vs[1].IP != "198.51.100.1" || len(vs[2].UserAgent) != 512 {
		t.Errorf("visits: %d %+v", len(vs), vs)
	}
}
