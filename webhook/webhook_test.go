package webhook_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/provider/generic"
	"github.com/vend-shop/vend/store"
	"github.com/vend-shop/vend/store/sqlite/sqlitetest"
	"github.com/vend-shop/vend/webhook"
	"github.com/vend-shop/vend/webhook/webhooktest"
)

var ctx = context.Background()

// received is a message a receiver accepted.
type received struct {
	ID   string
	Type string
	Body []byte
}

// receiver is a seller's endpoint: it verifies every request with its
// secret, refuses a forged one with 400, answers what answer says (200
// when nil), and keeps what it accepted, in the order it accepted it.
type receiver struct {
	*httptest.Server
	secret string

	mu       sync.Mutex
	requests int
	got      []received
	bad      []string
	answer   func(n int) int // the status for the n-th request, from 1
	arrived  chan struct{}
}

func newReceiver(t *testing.T, secret string) *receiver {
	r := &receiver{secret: secret, arrived: make(chan struct{}, 1000)}
	r.Server = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer func() {
		r.mu.Unlock()
		r.arrived <- struct{}{}
	}()
	r.requests++
	if err := webhooktest.VerifyWebhook(r.secret, req.Header, body); err != nil {
		r.bad = append(r.bad, err.Error())
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	status := http.StatusOK
	if r.answer != nil {
		status = r.answer(r.requests)
	}
	if status >= 200 && status < 300 {
		var p struct{ Type string }
		json.Unmarshal(body, &p)
		r.got = append(r.got, received{ID: req.Header.Get("webhook-id"), Type: p.Type, Body: body})
	}
	w.WriteHeader(status)
	fmt.Fprintf(w, "answered %d", status)
}

func (r *receiver) set(secret string, answer func(n int) int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.secret, r.answer = secret, answer
}

func (r *receiver) count() (requests int, refused []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.requests, slices.Clone(r.bad)
}

func (r *receiver) accepted() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

// mustEndpoint adds an endpoint at url for events, as the admin does.
func mustEndpoint(t *testing.T, db store.DB, url string, events ...string) *vend.WebhookEndpoint {
	t.Helper()
	e, err := webhook.Create(ctx, db, "user:alice", webhook.Fields{URL: url, Events: events})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// enqueue writes n events of type event, numbered from first, as the ledger
// does in the transaction of a change.
func enqueue(t *testing.T, db store.DB, event vend.WebhookEvent, first, n int) {
	t.Helper()
	for i := first; i < first+n; i++ {
		err := db.Update(ctx, func(tx store.Tx) error {
			_, err := store.EnqueueWebhooks(ctx, tx, event, map[string]int{"n": i})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func deliveries(t *testing.T, db store.DB) []*vend.WebhookDelivery {
	t.Helper()
	var ds []*vend.WebhookDelivery
	err := db.View(ctx, func(tx store.Tx) error {
		var err error
		ds, err = tx.FindDeliveries(ctx, store.DeliveryFilter{Limit: 1000})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Reverse(ds)
	return ds
}

// numbers are the "n" of each accepted message's data, in order.
func numbers(t *testing.T, got []received) []int {
	t.Helper()
	var out []int
	for _, r := range got {
		var p struct{ Data struct{ N int } }
		if err := json.Unmarshal(r.Body, &p); err != nil {
			t.Fatal(err)
		}
		out = append(out, p.Data.N)
	}
	return out
}

func upTo(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

func TestDispatcher_DeliversSignedAndLogged(t *testing.T) {
	t.Parallel()
	db := sqlitetest.MustOpenDB(t)
	r := newReceiver(t, "")
	e := mustEndpoint(t, db, r.URL+"/hook", "order.paid")
	r.set(e.Secret, nil)
	enqueue(t, db, vend.HookOrderPaid, 0, 3)
	enqueue(t, db, vend.HookOrderRefunded, 3, 1) // not asked for

	d := &webhook.Dispatcher{AllowPrivate: true, DB: db}
	n, err := d.RunOnce(ctx)
	if err != nil || n != 3 {
		t.Fatalf("RunOnce = %d, %v; want 3", n, err)
	}
	got := r.accepted()
	if _, bad := r.count(); !slices.Equal(numbers(t, got), upTo(3)) || len(bad) != 0 {
		t.Fatalf("the receiver accepted %v (refused %v), want 0 1 2", numbers(t, got), bad)
	}
	ds := deliveries(t, db)
	for i, del := range ds {
		if del.Status != vend.WebhookDelivered || del.Attempts != 1 || del.LastStatus != 200 || got[i].ID != del.MessageID ||
			!strings.HasPrefix(del.MessageID, "msg_") || got[i].Type != "order.paid" {
			t.Errorf("delivery %d: %+v (received as %s)", i, del, got[i].ID)
		}
	}
	rec, err := webhook.FindRecord(ctx, db, ds[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Attempts) != 1 {
		t.Fatalf("%d attempts logged", len(rec.Attempts))
	}
	a := rec.Attempts[0]
	if a.Status != 200 || !strings.Contains(a.Request, "POST "+r.URL+"/hook") || !strings.Contains(a.Request, `"type":"order.paid"`) ||
		!strings.Contains(a.Response, "answered 200") || strings.Contains(a.Request, e.Secret) {
		t.Errorf("attempt logged as %+v", a)
	}
	if n, err := d.RunOnce(ctx); n != 0 || err != nil || len(r.accepted()) != 3 {
		t.Errorf("a second run sent %d more (%v)", n, err)
	}
}

// TestDispatcher_ReceiverDownForAWhile: an endpoint that fails for a while
// gets every message in order once it answers again, none twice, and a
// later message never before an earlier one; another endpoint is not held
// up meanwhile.
func TestDispatcher_ReceiverDownForAWhile(t *testing.T) {
	t.Parallel()
	db := sqlitetest.MustOpenDB(t)
	down := newReceiver(t, "")
	up := newReceiver(t, "")
	answer := func(n int) int {
		if n <= 7 {
			return []int{500, 503, 502, 404, 410, 429, 500}[n-1]
		}
		return 204
	}
	for _, r := range []*receiver{down, up} {
		e := mustEndpoint(t, db, r.URL, "order.paid")
		if r == down {
			r.set(e.Secret, answer)
		} else {
			r.set(e.Secret, nil)
		}
	}
	enqueue(t, db, vend.HookOrderPaid, 0, 5)
	d := &webhook.Dispatcher{AllowPrivate: true, DB: db, Backoff: []time.Duration{time.Millisecond}}
	for i := 0; len(down.accepted()) < 5; i++ {
		if i > 100 {
			t.Fatalf("after %d runs the receiver has %v", i, numbers(t, down.accepted()))
		}
		if _, err := d.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		if len(up.accepted()) != 5 && i > 0 {
			t.Fatalf("the healthy endpoint was held up: %d of 5 after run %d", len(up.accepted()), i)
		}
		time.Sleep(2 * time.Millisecond) // the backoff is 1 ms: the next run finds the retry due
	}
	if got := numbers(t, down.accepted()); !slices.Equal(got, upTo(5)) {
		t.Errorf("after the outage the receiver accepted %v, want 0…4 in order, each once", got)
	}
	if requests, _ := down.count(); requests != 12 {
		t.Errorf("%d requests; want 12 (7 failures, 5 accepted): a later message is never sent while an earlier one waits", requests)
	}
	var first *vend.WebhookDelivery
	for _, del := range deliveries(t, db) {
		if del.Status != vend.WebhookDelivered {
			t.Errorf("delivery %d: %s", del.ID, del.Status)
		}
		if del.EndpointID == 1 && first == nil {
			first = del
		}
	}
	rec, _ := webhook.FindRecord(ctx, db, first.ID)
	if first.Attempts != 8 || len(rec.Attempts) != 8 || rec.Attempts[0].Status != 500 || rec.Attempts[7].Status != 204 {
		t.Errorf("the first delivery: %d attempts, log %d", first.Attempts, len(rec.Attempts))
	}
}

// TestDispatcher_GivesUpAndDisables: a delivery that fails for the whole
// retry time is marked failed, its endpoint disabled with the reason, and
// the owner told once; a disabled endpoint is sent nothing more until it is
// enabled again.
func TestDispatcher_GivesUpAndDisables(t *testing.T) {
	t.Parallel()
	db := sqlitetest.MustOpenDB(t)
	r := newReceiver(t, "")
	e := mustEndpoint(t, db, r.URL, "order.paid")
	r.set(e.Secret, func(int) int { return http.StatusInternalServerError })
	enqueue(t, db, vend.HookOrderPaid, 0, 2)
	var told []string
	const retryFor = 50 * time.Millisecond
	d := &webhook.Dispatcher{AllowPrivate: true, DB: db, Backoff: []time.Duration{time.Hour}, RetryFor: retryFor,
		Disabled: func(_ context.Context, _ store.Tx, e *vend.WebhookEndpoint, reason string) error {
			told = append(told, reason)
			return nil
		}}
	if _, err := d.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	// Unless the first try already came at the end of the retry time (a
	// slow machine), the next one is not in an hour but when it ends.
	first := deliveries(t, db)[0]
	if first.Status == vend.WebhookPending && first.NextAttempt.After(first.FirstAttempt.Add(retryFor)) {
		t.Errorf("the next try at %v is after the retry time", first.NextAttempt)
	}
	time.Sleep(time.Until(first.FirstAttempt.Add(retryFor + 5*time.Millisecond)))
	if _, err := d.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	ds := deliveries(t, db)
	if ds[0].Status != vend.WebhookFailed || ds[0].Attempts < 1 || ds[0].Attempts > 2 || ds[1].Status != vend.WebhookPending || ds[1].Attempts != 0 {
		t.Errorf("deliveries: %+v, %+v", ds[0], ds[1])
	}
	cur, err := webhook.Change(ctx, db, "test", e.ID, "", &webhook.Fields{URL: r.URL}, time.Now()) // reads it back
	if err != nil || !cur.Disabled || !strings.Contains(cur.DisabledReason, "failed for 50ms") || !strings.Contains(cur.DisabledReason, "500") {
		t.Fatalf("endpoint: %+v, %v", cur, err)
	}
	if len(told) != 1 || told[0] != cur.DisabledReason {
		t.Errorf("the owner was told %q", told)
	}
	requests, _ := r.count()
	time.Sleep(2 * time.Millisecond)
	if _, err := d.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if now, _ := r.count(); now != requests {
		t.Errorf("a disabled endpoint got %d more requests", now-requests)
	}
	// An event while it is off waits too. Turned on again, the waiting
	// ones go out in order, each with all its tries: their retry time
	// starts at their first attempt, not when they were written.
	enqueue(t, db, vend.HookOrderPaid, 2, 1)
	time.Sleep(retryFor)
	r.set(e.Secret, nil)
	if _, err := webhook.Change(ctx, db, "user:alice", e.ID, webhook.Enable, nil, time.Now()); err != nil {
		t.Fatal(err)
	}
	if n, err := d.RunOnce(ctx); n != 2 || err != nil || !slices.Equal(numbers(t, r.accepted()), []int{1, 2}) {
		t.Errorf("after enabling: sent %d (%v), accepted %v", n, err, numbers(t, r.accepted()))
	}
}

// TestDispatcher_Rotation: after a rotation each message carries two
// signatures, so a receiver still on the old secret and one already on the
// new accept it; after the overlap only the new secret signs.
func TestDispatcher_Rotation(t *testing.T) {
	t.Parallel()
	db := sqlitetest.MustOpenDB(t)
	oldR, newR := newReceiver(t, ""), newReceiver(t, "")
	e := mustEndpoint(t, db, oldR.URL, "order.paid")
	oldSecret := e.Secret
	now := time.Now()
	e, err := webhook.Change(ctx, db, "user:alice", e.ID, webhook.Rotate, nil, now)
	if err != nil {
		t.Fatal(err)
	}
	if e.Secret == oldSecret || e.PreviousSecret != oldSecret || !e.PreviousUntil.Equal(now.Add(webhook.RotationOverlap)) {
		t.Fatalf("rotated: %+v", e)
	}
	oldR.set(oldSecret, nil)
	newR.set(e.Secret, nil)
	body := []byte(`{"type":"order.paid"}`)
	sigs, err := webhook.Signatures(e, "msg_1", now, body, now)
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	h.Set("webhook-id", "msg_1")
	h.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
	h.Set("webhook-signature", sigs)
	if len(strings.Fields(sigs)) != 2 || webhooktest.VerifyWebhook(oldSecret, h, body) != nil || webhooktest.VerifyWebhook(e.Secret, h, body) != nil {
		t.Errorf("during the overlap %q must verify with both secrets", sigs)
	}
	later := now.Add(webhook.RotationOverlap + time.Second)
	sigs, _ = webhook.Signatures(e, "msg_1", now, body, later)
	h.Set("webhook-signature", sigs)
	if len(strings.Fields(sigs)) != 1 || webhooktest.VerifyWebhook(oldSecret, h, body) == nil || webhooktest.VerifyWebhook(e.Secret, h, body) != nil {
		t.Errorf("after the overlap %q must verify with the new secret only", sigs)
	}

	// Through the dispatcher, both receivers accept the same message.
	enqueue(t, db, vend.HookOrderPaid, 0, 1)
	d := &webhook.Dispatcher{AllowPrivate: true, DB: db}
	if _, err := d.RunOnce(ctx); err != nil || len(oldR.accepted()) != 1 {
		t.Fatalf("the receiver on the old secret: %v", err)
	}
	if _, err := webhook.Change(ctx, db, "user:alice", e.ID, "", &webhook.Fields{URL: newR.URL}, time.Now()); err != nil {
		t.Fatal(err)
	}
	del := deliveries(t, db)[0]
	if _, err := webhook.Replay(ctx, db, "user:alice", del.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := d.RunOnce(ctx); err != nil || len(newR.accepted()) != 1 {
		t.Fatalf("the receiver on the new secret: %v", err)
	}
	if a, b := oldR.accepted()[0], newR.accepted()[0]; a.ID == b.ID || string(a.Body) != string(b.Body) {
		t.Errorf("a replay is the same event under a new webhook-id: %s %s", a.ID, b.ID)
	}
}

// TestAdmin_AuditKeepsNoSecrets: endpoint changes are in the audit trail,
// without the secret; a bad URL or event is refused with a clear message.
func TestAdmin_AuditKeepsNoSecrets(t *testing.T) {
	t.Parallel()
	db := sqlitetest.MustOpenDB(t)
	e := mustEndpoint(t, db, "https://crm.example/hook", "order.paid", "download.completed")
	if !strings.HasPrefix(e.Secret, "whsec_") {
		t.Errorf("secret %q", e.Secret)
	}
	for _, a := range []webhook.Action{webhook.Disable, webhook.Enable, webhook.Rotate} {
		if _, err := webhook.Change(ctx, db, "user:alice", e.ID, a, nil, time.Now()); err != nil {
			t.Fatalf("%s: %v", a, err)
		}
	}
	for _, f := range []webhook.Fields{
		{URL: "ftp://crm.example/"},
		{URL: "http://crm.example/hook"},
		{URL: "https://user:secret@crm.example/hook", Events: []string{"order.paid"}},
		{URL: "https://crm.example/", Events: []string{"order.exploded"}},
		{URL: "https://crm.example/", Events: []string{}},
	} {
		if _, err := webhook.Create(ctx, db, "user:alice", f); vend.ErrorCode(err) != vend.EINVALID {
			t.Errorf("Create(%+v) = %v, want EINVALID", f, err)
		}
	}
	if _, err := webhook.Change(ctx, db, "user:alice", e.ID, webhook.Delete, nil, time.Now()); err != nil {
		t.Fatal(err)
	}
	err := db.View(ctx, func(tx store.Tx) error {
		es, err := tx.FindAuditEntries(ctx, store.AuditFilter{Target: webhook.Target(e.ID)})
		if err != nil {
			return err
		}
		var actions []string
		for _, a := range es {
			actions = append(actions, a.Action)
			if strings.Contains(a.Before+a.After, "whsec_") {
				t.Errorf("the audit entry %s keeps a secret", a.Action)
			}
		}
		if want := []string{"webhook.delete", "webhook.rotate", "webhook.enable", "webhook.disable", "webhook.create"}; !slices.Equal(actions, want) {
			t.Errorf("audit %v, want %v", actions, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestSignatures_VendVerifiesItsOwn: vend's own Standard Webhooks check (of
// incoming messages, provider/generic) accepts what the dispatcher signs,
// with either secret during a rotation.
func TestSignatures_VendVerifiesItsOwn(t *testing.T) {
	now := time.Now()
	e := &vend.WebhookEndpoint{Secret: webhook.NewSecret(), PreviousSecret: webhook.NewSecret(), PreviousUntil: now.Add(time.Hour)}
	body := []byte(`{"type":"order.paid"}`)
	sigs, err := webhook.Signatures(e, "msg_1", now, body, now)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{e.Secret, e.PreviousSecret} {
		if err := generic.VerifyMessage("msg_1", strconv.FormatInt(now.Unix(), 10), sigs, body, secret, now); err != nil {
			t.Errorf("provider/generic refuses: %v", err)
		}
	}
	if _, err := webhook.Signatures(&vend.WebhookEndpoint{Secret: "whsec_not base64!"}, "msg_1", now, body, now); err == nil {
		t.Error("a broken secret signs")
	}
}

// TestDispatcher_RefusesPrivateNetworks: without AllowPrivate an endpoint on
// this machine gets no request; the attempt says why, and what to set.
func TestDispatcher_RefusesPrivateNetworks(t *testing.T) {
	t.Parallel()
	db := sqlitetest.MustOpenDB(t)
	r := newReceiver(t, "")
	e := mustEndpoint(t, db, r.URL, "order.paid")
	r.set(e.Secret, nil)
	enqueue(t, db, vend.HookOrderPaid, 0, 1)
	if _, err := (&webhook.Dispatcher{DB: db}).RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if requests, _ := r.count(); requests != 0 {
		t.Errorf("the receiver on 127.0.0.1 got %d requests", requests)
	}
	rec, err := webhook.FindRecord(ctx, db, deliveries(t, db)[0].ID)
	if err != nil || len(rec.Attempts) != 1 || !strings.Contains(rec.Attempts[0].Response, "127.0.0.1 is a private address; set webhooks.allow_private_networks") {
		t.Errorf("attempt: %+v %v", rec.Attempts, err)
	}
}

// TestDispatcher_FollowsNoRedirect: a redirect is a failed attempt, not a
// request to wherever it points.
func TestDispatcher_FollowsNoRedirect(t *testing.T) {
	t.Parallel()
	db := sqlitetest.MustOpenDB(t)
	target := newReceiver(t, "")
	redirect := httptest.NewServer(http.RedirectHandler(target.URL, http.StatusTemporaryRedirect))
	defer redirect.Close()
	e := mustEndpoint(t, db, redirect.URL, "order.paid")
	target.set(e.Secret, nil)
	enqueue(t, db, vend.HookOrderPaid, 0, 1)
	if n, err := (&webhook.Dispatcher{AllowPrivate: true, DB: db}).RunOnce(ctx); n != 0 || err != nil {
		t.Fatalf("sent %d, %v", n, err)
	}
	if requests, _ := target.count(); requests != 0 || deliveries(t, db)[0].LastStatus != http.StatusTemporaryRedirect {
		t.Errorf("the redirect was followed (%d requests) or not recorded (%+v)", requests, deliveries(t, db)[0])
	}
}
