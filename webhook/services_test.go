package webhook_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/internal/servicetest"
	"github.com/vend-shop/vend/store/postgres"
	"github.com/vend-shop/vend/store/postgres/pgtest"
	"github.com/vend-shop/vend/store/sqlite/sqlitetest"
	"github.com/vend-shop/vend/webhook"
)

// TestDispatcher_NodeReceiver: the example receiver in docs/examples, run by
// node, accepts what vend sends (node's crypto, not Go's) and refuses a
// message whose body was changed after signing.
func TestDispatcher_NodeReceiver(t *testing.T) {
	t.Parallel()
	node := servicetest.Node.Need(t)
	db := sqlitetest.MustOpenDB(t)
	e := mustEndpoint(t, db, "http://127.0.0.1:1/", "order.paid", "order.refunded")
	script, err := filepath.Abs(filepath.Join("..", "docs", "examples", "webhook-receiver.mjs"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, node, script, "0")
	cmd.Env = append(os.Environ(), "WEBHOOK_SECRET="+e.Secret)
	stdout, _ := cmd.StdoutPipe()
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); cmd.Wait() })
	var port int
	if _, err := fmt.Fscanf(stderr, "listening on %d\n", &port); err != nil {
		t.Fatalf("the receiver did not start: %v", err)
	}
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	if _, err := webhook.Change(ctx, db, "user:alice", e.ID, "", &webhook.Fields{URL: url}, time.Now()); err != nil {
		t.Fatal(err)
	}
	enqueue(t, db, vend.HookOrderPaid, 0, 2)
	enqueue(t, db, vend.HookOrderRefunded, 2, 1)
	if n, err := (&webhook.Dispatcher{AllowPrivate: true, DB: db}).RunOnce(ctx); n != 3 || err != nil {
		t.Fatalf("sent %d, %v; want 3 accepted", n, err)
	}
	lines := bufio.NewScanner(stdout)
	var types []string
	for range 3 {
		if !lines.Scan() {
			t.Fatalf("the receiver printed %v, then stopped: %v", types, lines.Err())
		}
		var ev struct {
			ID   string
			Type string
			Data struct{ N int }
		}
		if err := json.Unmarshal(lines.Bytes(), &ev); err != nil || !strings.HasPrefix(ev.ID, "msg_") {
			t.Fatalf("line %q: %v", lines.Text(), err)
		}
		types = append(types, fmt.Sprintf("%s %d", ev.Type, ev.Data.N))
	}
	if want := []string{"order.paid 0", "order.paid 1", "order.refunded 2"}; !slices.Equal(types, want) {
		t.Errorf("the node receiver got %v, want %v", types, want)
	}

	// A body changed after signing is refused.
	d := deliveries(t, db)[0]
	now := time.Now()
	sigs, _ := webhook.Signatures(e, d.MessageID, now, d.Payload, now)
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(bytes.Replace(d.Payload, []byte(`"n":0`), []byte(`"n":9`), 1)))
	req.Header.Set("webhook-id", d.MessageID)
	req.Header.Set("webhook-timestamp", fmt.Sprint(now.Unix()))
	req.Header.Set("webhook-signature", sigs)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a changed body: %d, want 400", resp.StatusCode)
	}
}

// TestDispatcher_TwoInstancesOnPostgres: two vend instances (two
// dispatchers, each with its own connection pool) on one PostgreSQL send
// 120 deliveries to four endpoints at once: each is accepted exactly once,
// and each endpoint gets its messages in order.
func TestDispatcher_TwoInstancesOnPostgres(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	var dbs []*postgres.DB
	for range 2 {
		db := postgres.NewDB(url)
		db.MaxConns = 4
		if err := db.Open(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		dbs = append(dbs, db)
	}
	var receivers []*receiver
	for range 4 {
		r := newReceiver(t, "")
		e := mustEndpoint(t, dbs[0], r.URL, "order.paid")
		r.set(e.Secret, nil)
		receivers = append(receivers, r)
	}
	const per = 30
	enqueue(t, dbs[0], vend.HookOrderPaid, 0, per)
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for _, db := range dbs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := &webhook.Dispatcher{AllowPrivate: true, DB: db, Batch: 2}
			for range 1000 {
				if _, err := d.RunOnce(ctx); err != nil {
					errs <- err
					return
				}
				total := 0
				for _, r := range receivers {
					total += len(r.accepted())
				}
				if total == 4*per {
					return
				}
			}
			errs <- fmt.Errorf("gave up")
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for i, r := range receivers {
		got := r.accepted()
		if nums := numbers(t, got); !slices.Equal(nums, upTo(per)) {
			t.Errorf("endpoint %d accepted %v, want 0…%d in order, each once", i, nums, per-1)
		}
		ids := map[string]bool{}
		for _, m := range got {
			if ids[m.ID] {
				t.Errorf("endpoint %d got %s twice", i, m.ID)
			}
			ids[m.ID] = true
		}
		if requests, _ := r.count(); requests != per {
			t.Errorf("endpoint %d had %d requests, want %d", i, requests, per)
		}
	}
}
