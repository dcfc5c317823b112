package web

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/catalog"
	"github.com/vend-shop/vend/provider/digistore24"
	"github.com/vend-shop/vend/provider/paypal"
	"github.com/vend-shop/vend/provider/websale"
	"github.com/vend-shop/vend/store"
)

// signedInEnv is a test env with a signed-in administrator, alice.
func signedInEnv(t *testing.T, opts ...envOption) (*testEnv, string) {
	t.Helper()
	e := newTestEnv(t, opts...)
	alice := e.addUser("alice", adminPW)
	return e, e.signIn(alice)
}

// notificationRows counts the rows of the notification list.
func notificationRows(page string) int {
	return strings.Count(page, `<td data-label="#"><a href="/admin/notifications/`)
}

func (e *testEnv) mustAdminGet(cookie, path string) string {
	e.tb.Helper()
	a := e.adminRequest(http.MethodGet, path, cookie, nil, nil)
	if a.Status != http.StatusOK {
		e.tb.Fatalf("GET %s: %d\n%s", path, a.Status, a.Body)
	}
	return a.Body
}

var replayLocation = regexp.MustCompile(`^/admin/notifications/([0-9]+)\?replay_of=([0-9]+)$`)

// replay presses notification id's replay button and returns the replay.
func (e *testEnv) replay(cookie string, id int64) *vend.Notification {
	e.tb.Helper()
	a := e.adminRequest(http.MethodPost, "/admin/notifications/"+strconv.FormatInt(id, 10)+"/replay", cookie, url.Values{}, sameOrigin)
	m := replayLocation.FindStringSubmatch(a.Header.Get("Location"))
	if a.Status != http.StatusSeeOther || m == nil || m[2] != strconv.FormatInt(id, 10) {
		e.tb.Fatalf("replay of %d: %d %q\n%s", id, a.Status, a.Header.Get("Location"), a.Body)
	}
	newID, _ := strconv.ParseInt(m[1], 10, 64)
	return e.Notification(newID)
}

// Notification reads a notification.
func (e *testEnv) Notification(id int64) *vend.Notification {
	e.tb.Helper()
	var n *vend.Notification
	e.view(func(ctx context.Context, tx store.Tx) (err error) {
		n, err = tx.FindNotificationByID(ctx, id)
		return err
	})
	return n
}

// Audit returns the audit entries about target, newest first.
func (e *testEnv) Audit(target string) []*vend.AuditEntry {
	e.tb.Helper()
	var out []*vend.AuditEntry
	e.view(func(ctx context.Context, tx store.Tx) (err error) {
		out, err = tx.FindAuditEntries(ctx, store.AuditFilter{Target: target, Limit: 100})
		return err
	})
	return out
}

// checkReplay fails unless r is a replay of orig by alice with verdict, stored
// as a new notification with the same message.
func checkReplay(t *testing.T, orig, r *vend.Notification, verdict vend.Verdict) {
	t.Helper()
	if r.ID <= orig.ID || r.Verdict != verdict {
		t.Errorf("replay %d of %d: %s %q, want a new notification with verdict %s", r.ID, orig.ID, r.Verdict, r.Reason, verdict)
	}
	if r.Provider != orig.Provider || string(r.Body) != string(orig.Body) || r.RemoteAddr != "replay by user:alice" {
		t.Errorf("replay %s %q from %q, want %s, the original body, from \"replay by user:alice\"", r.Provider, r.Body, r.RemoteAddr, orig.Provider)
	}
	if len(orig.Headers) > 0 && !maps.EqualFunc(r.Headers, orig.Headers, func(a, b []string) bool { return strings.Join(a, "\n") == strings.Join(b, "\n") }) {
		t.Errorf("replay headers %q, want the original's %q", r.Headers, orig.Headers)
	}
}

// checkReplayAudit fails unless the newest entry about target records alice's
// replay of orig as r.
func checkReplayAudit(t *testing.T, e *testEnv, target string, orig, r *vend.Notification) {
	t.Helper()
	entries := e.Audit(target)
	if len(entries) == 0 {
		t.Fatalf("no audit entry about %s", target)
	}
	a := entries[0]
	if a.Action != "notification.replay" || a.Actor != "user:alice" ||
		!strings.Contains(a.Before, fmt.Sprintf(`"notification":%d`, orig.ID)) || !strings.Contains(a.After, fmt.Sprintf(`"notification":%d`, r.ID)) ||
		!strings.Contains(a.After, string(r.Verdict)) {
		t.Errorf("audit entry %+v, want alice's notification.replay of %d as %d", a, orig.ID, r.ID)
	}
}

func TestAdminNotifications_List(t *testing.T) {
	t.Parallel()
	e, cookie := adminEnv(t)
	forged := setField(ds24Body(ds24Pay(ds24PayTxn)), "amount", "0.01")
	if a := ds24Post(e, forged); a.Status != http.StatusUnauthorized {
		t.Fatalf("forged IPN: %d", a.Status)
	}
	unknown := ds24Pay(ds24PayTxn)
	unknown.ProductID = "999999"
	if a := ds24Post(e, ds24Body(unknown)); a.Status != http.StatusUnprocessableEntity {
		t.Fatalf("unknown product: %d", a.Status)
	}
	order := e.Order(p1Txn).ID

	all := e.mustAdminGet(cookie, "/admin/notifications")
	if n := notificationRows(all); n != 4 {
		t.Errorf("the list has %d rows, want 4", n)
	}
	if n := strings.Count(all, `<tr class="bad">`); n != 2 {
		t.Errorf("%d rows highlighted, want the 2 refused ones", n)
	}
	for _, want := range []string{"sha_sign does not match", `unknown product &#34;999999&#34;`, "invalid", "rejected", "applied",
		`href="/admin/orders/` + strconv.FormatInt(order, 10) + `"`} {
		if !strings.Contains(all, want) {
			t.Errorf("the list lacks %q", want)
		}
	}
	for _, tt := range []struct {
		query string
		rows  int
		want  string
	}{
		{"?provider=digistore24", 2, "digistore24"},
		{"?provider=paypal", 2, "paypal"},
		{"?verdict=invalid", 1, "sha_sign does not match"},
		{"?verdict=rejected&provider=digistore24", 1, "999999"},
		{"?verdict=applied&provider=digistore24", 0, "No notifications match"},
		{"?order=" + strconv.FormatInt(order, 10), 1, "applied"},
		{"?provider=websale", 0, "No notifications match"},
	} {
		body := e.mustAdminGet(cookie, "/admin/notifications"+tt.query)
		if n := notificationRows(body); n != tt.rows || !strings.Contains(body, tt.want) {
			t.Errorf("%s: %d rows, want %d with %q", tt.query, n, tt.rows, tt.want)
		}
	}
	for _, bad := range []string{"?verdict=nonsense", "?order=x", "?before=-1"} {
		if a := e.adminRequest(http.MethodGet, "/admin/notifications"+bad, cookie, nil, nil); a.Status != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", bad, a.Status)
		}
	}
	for _, path := range []string{"/admin/notifications", "/admin/notifications/1"} {
		if a := e.adminRequest(http.MethodGet, path, "", nil, nil); a.Status != http.StatusSeeOther ||
			!strings.HasPrefix(a.Header.Get("Location"), "/admin/login") {
			t.Errorf("%s without a session: %d %q", path, a.Status, a.Header.Get("Location"))
		}
	}
}

func TestAdminNotifications_Pages(t *testing.T) {
	t.Parallel()
	e, cookie := adminEnv(t) // two PayPal notifications
	e.update(func(ctx context.Context, tx store.Tx) error {
		for i := range notificationsPerPage + 7 {
			n := &vend.Notification{Provider: "stripe", Verdict: vend.VerdictIgnored, Body: fmt.Appendf(nil, `{"n":%d}`, i)}
			if err := tx.CreateNotification(ctx, n); err != nil {
				return err
			}
		}
		return nil
	})
	first := e.mustAdminGet(cookie, "/admin/notifications?provider=stripe")
	if n := notificationRows(first); n != notificationsPerPage {
		t.Errorf("first page: %d rows, want %d", n, notificationsPerPage)
	}
	next := links(first, "/admin/notifications?before=")
	if len(next) != 1 || !strings.Contains(next[0], "provider=stripe") {
		t.Fatalf("link to the next page: %q, want one that keeps the filter", next)
	}
	second := e.mustAdminGet(cookie, next[0])
	if n := notificationRows(second); n != 7 {
		t.Errorf("second page: %d rows, want 7", n)
	}
	if strings.Contains(second, `<td data-label="Provider">paypal</td>`) {
		t.Error("the second page of stripe's notifications shows PayPal's")
	}
	if len(links(second, "/admin/notifications?before=")) != 0 {
		t.Error("the last page links a next one")
	}
	// The pages overlap nowhere and miss nothing.
	seen := map[string]bool{}
	for _, page := range []string{first, second} {
		for _, l := range links(page, "/admin/notifications/") {
			if seen[l] {
				t.Errorf("%s on both pages", l)
			}
			seen[l] = true
		}
	}
	if len(seen) != notificationsPerPage+7 {
		t.Errorf("%d notifications over both pages, want %d", len(seen), notificationsPerPage+7)
	}
}

func TestAdminNotification_Detail(t *testing.T) {
	t.Parallel()
	e, cookie := adminEnv(t)
	order := e.Order(p1Txn).ID
	n := &vend.Notification{Provider: "digistore24", RemoteAddr: "192.0.2.7:4444", Verdict: vend.VerdictRejected,
		Reason: `<img src=x onerror=alert(3)>`, Key: "KEY-<i>1</i>", OrderID: order, Changes: "nothing",
		Headers: map[string][]string{"Content-Type": {formType}, "X-Evil": {`<b>bold</b>`}},
		Body:    []byte("event=on_payment&first_name=<script>alert(1)</script>&last_name=M\xfcller&note=\"quoted\"")}
	e.update(func(ctx context.Context, tx store.Tx) error { return tx.CreateNotification(ctx, n) })

	page := e.mustAdminGet(cookie, "/admin/notifications/"+strconv.FormatInt(n.ID, 10))
	for _, bad := range []string{"<script>alert", "<b>bold", "<img src=x", "<i>1"} {
		if strings.Contains(page, bad) {
			t.Errorf("%q reached the page unescaped", bad)
		}
	}
	for _, want := range []string{
		"Notification " + strconv.FormatInt(n.ID, 10),
		"first_name=&lt;script&gt;alert(1)&lt;/script&gt;&amp;last_name=M\uFFFDller&amp;note=&#34;quoted&#34;", // the body, as text
		"&lt;b&gt;bold&lt;/b&gt;", "X-Evil", formType, // the headers
		"&lt;img src=x onerror=alert(3)&gt;", "rejected", "KEY-&lt;i&gt;1&lt;/i&gt;", "192.0.2.7:4444", "nothing", "digistore24",
		fmt.Sprintf("(%d bytes)", len(n.Body)),
		`href="/admin/orders/` + strconv.FormatInt(order, 10) + `"`,
		`action="/admin/notifications/` + strconv.FormatInt(n.ID, 10) + `/replay"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	for _, path := range []string{"/admin/notifications/999", "/admin/notifications/x"} {
		if a := e.adminRequest(http.MethodGet, path, cookie, nil, nil); a.Status != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", path, a.Status)
		}
	}
}

// withNewBook maps Digistore24 product 512399 to NEWBOOK-009, which is not in
// the catalog until addNewBook.
func withNewBook(s *Server) {
	m := maps.Clone(ds24Of(s).Config.Products)
	m["512399"] = "NEWBOOK-009"
	ds24Of(s).Config.Products = m
}

// addNewBook adds NEWBOOK-009 to the catalog, with EBOOK-001's file.
func addNewBook(e *testEnv) {
	e.update(func(ctx context.Context, tx store.Tx) error {
		ebook, err := tx.FindProductByID(ctx, "EBOOK-001")
		if err != nil {
			return err
		}
		p := vend.Product{ID: "NEWBOOK-009", Name: "New Book", Price: 1995, Currency: "USD", DownloadLimit: 3, Lifetime: vend.Forever}
		return catalog.Save(ctx, tx, &p, ebook.Files)
	})
}

func TestAdminNotification_Replay(t *testing.T) {
	t.Parallel()
	t.Run("a Digistore24 IPN refused for a product missing from the catalog applies once it is there", func(t *testing.T) {
		t.Parallel()
		e, cookie := signedInEnv(t, withNewBook)
		sim := ds24Pay(ds24PayTxn)
		sim.ProductID = "512399"
		if a := ds24Post(e, ds24Body(sim)); a.Status != http.StatusUnprocessableEntity {
			t.Fatalf("IPN for a product not in the catalog: %d %q", a.Status, a.Body)
		}
		orig := e.LastNotification()
		if orig.Verdict != vend.VerdictRejected {
			t.Fatalf("verdict %s %q, want rejected", orig.Verdict, orig.Reason)
		}
		// Replayed before the fix: refused again, nothing changes.
		if r := e.replay(cookie, orig.ID); r.Verdict != vend.VerdictRejected || len(e.Orders()) != 0 {
			t.Errorf("replay before the product exists: %s %q, %d orders", r.Verdict, r.Reason, len(e.Orders()))
		}
		addNewBook(e)
		r := e.replay(cookie, orig.ID)
		checkReplay(t, orig, r, vend.VerdictApplied)
		o := e.ProviderOrder(digistore24.Provider, ds24Order)
		if o == nil || o.Status != vend.OrderPaid || o.grant("NEWBOOK-009") == nil || o.grant("NEWBOOK-009").State != vend.GrantActive {
			t.Fatalf("after the replay: order %+v, want paid with an active grant for NEWBOOK-009", o)
		}
		if r.OrderID != o.ID || r.Key == "" || r.Changes == "" {
			t.Errorf("replay records order %d, key %q, changes %q", r.OrderID, r.Key, r.Changes)
		}
		if got := e.Notification(orig.ID); got.Verdict != vend.VerdictRejected || got.RemoteAddr != orig.RemoteAddr {
			t.Errorf("the original changed: %s from %q", got.Verdict, got.RemoteAddr)
		}
		checkReplayAudit(t, e, "order:"+strconv.FormatInt(o.ID, 10), orig, r)
		// The order page shows the replay among the administrators' changes.
		if page := e.mustAdminGet(cookie, "/admin/orders/"+strconv.FormatInt(o.ID, 10)); !strings.Contains(page, "notification.replay") {
			t.Error("the order page does not show the replay")
		}
		// The replay's page says what it replays.
		page := e.mustAdminGet(cookie, fmt.Sprintf("/admin/notifications/%d?replay_of=%d", r.ID, orig.ID))
		if !strings.Contains(page, fmt.Sprintf(`href="/admin/notifications/%d"`, orig.ID)) || !strings.Contains(page, "replay by user:alice") {
			t.Error("the replay's page does not link the original")
		}
	})

	t.Run("an applied Digistore24 IPN replays as a duplicate", func(t *testing.T) {
		t.Parallel()
		e, cookie := signedInEnv(t)
		ds24MustOK(t, e, ds24Body(ds24Pay(ds24PayTxn)))
		orig := e.LastNotification()
		before := e.ProviderOrder(digistore24.Provider, ds24Order)
		r := e.replay(cookie, orig.ID)
		checkReplay(t, orig, r, vend.VerdictDuplicate)
		after := e.ProviderOrder(digistore24.Provider, ds24Order)
		if len(e.Orders()) != 1 || len(after.Txns) != len(before.Txns) || len(after.Grants) != 1 || r.OrderID != after.ID {
			t.Errorf("the duplicate changed something: %d orders, %d transactions (were %d), %d grants, linked to %d",
				len(e.Orders()), len(after.Txns), len(before.Txns), len(after.Grants), r.OrderID)
		}
		checkReplayAudit(t, e, "order:"+strconv.FormatInt(after.ID, 10), orig, r)
	})

	t.Run("a forged Digistore24 IPN stays invalid", func(t *testing.T) {
		t.Parallel()
		e, cookie := signedInEnv(t)
		if a := ds24Post(e, setField(ds24Body(ds24Pay(ds24PayTxn)), "amount", "0.01")); a.Status != http.StatusUnauthorized {
			t.Fatalf("forged IPN: %d", a.Status)
		}
		orig := e.LastNotification()
		r := e.replay(cookie, orig.ID)
		checkReplay(t, orig, r, vend.VerdictInvalid)
		if !strings.Contains(r.Reason, "sha_sign does not match") || r.OrderID != 0 || len(e.Orders()) != 0 {
			t.Errorf("replay: %q, order %d, %d orders", r.Reason, r.OrderID, len(e.Orders()))
		}
		checkReplayAudit(t, e, "notification:"+strconv.FormatInt(orig.ID, 10), orig, r)
	})

	t.Run("a PayPal IPN is verified by PayPal again: INVALID stays invalid, VERIFIED applies", func(t *testing.T) {
		t.Parallel()
		e, cookie := signedInEnv(t)
		e.PayPal.Answer(answerWord("INVALID"))
		body := sample(t, "p1")
		e.MustPostIPN(body)
		orig := e.LastNotification()
		if orig.Verdict != vend.VerdictInvalid {
			t.Fatalf("verdict %s, want invalid", orig.Verdict)
		}
		r := e.replay(cookie, orig.ID)
		checkReplay(t, orig, r, vend.VerdictInvalid)
		pbs := e.PayPal.Postbacks()
		if len(pbs) != 2 {
			t.Fatalf("%d postbacks, want 2: the IPN's and the replay's", len(pbs))
		}
		checkPostback(t, pbs[1], body)
		if len(e.Orders()) != 0 {
			t.Error("an IPN PayPal calls INVALID made an order on replay")
		}
		checkReplayAudit(t, e, "notification:"+strconv.FormatInt(orig.ID, 10), orig, r)

		// PayPal says VERIFIED now (it was down, say): the replay applies.
		e.PayPal.Answer(answerWord("VERIFIED"))
		r = e.replay(cookie, orig.ID)
		checkReplay(t, orig, r, vend.VerdictApplied)
		if o := e.Order(p1Txn); o == nil || o.Status != vend.OrderPaid || r.OrderID != o.ID {
			t.Errorf("after a VERIFIED replay: order %+v, replay linked to %d", o, r.OrderID)
		}
		if n := len(e.PayPal.Postbacks()); n != 3 {
			t.Errorf("%d postbacks, want 3", n)
		}
		// And once more: PayPal verifies it, the ledger knows it.
		r = e.replay(cookie, r.ID)
		checkReplay(t, orig, r, vend.VerdictDuplicate)
	})

	for _, p := range []hookSender{stripeSender, genericSender} {
		t.Run(p.name+": the signature is checked again, its age is not", func(t *testing.T) {
			t.Parallel()
			e, _ := signedInEnv(t)
			checkReceived(t, "payment", p.post(e, p.message(t, e, hookEvent{kind: vend.EventPayment}, "T1")), vend.VerdictApplied)
			applied := e.LastNotification()

			// Signed 301 s before it arrived: refused then; its signature is genuine.
			at := e.Clock.Now().Add(-301 * time.Second)
			id, body := p.body(t, hookEvent{kind: vend.EventPayment}, "T2", at)
			checkHookRefusal(t, "stale", p.post(e, hookMessage{id: id, header: p.sign(t, p.secret, id, body, at), body: body}), http.StatusUnauthorized)
			stale := e.LastNotification()

			m := p.message(t, e, hookEvent{kind: vend.EventPayment}, "T3")
			p.flip(t, m.header, 7)
			checkHookRefusal(t, "forged", p.post(e, m), http.StatusUnauthorized)
			forged := e.LastNotification()

			e.Clock.Add(24 * time.Hour)             // every signature is long stale now
			cookie := e.mustLogin("alice", adminPW) // and the session has ended
			checkReplay(t, applied, e.replay(cookie, applied.ID), vend.VerdictDuplicate)
			checkReplay(t, stale, e.replay(cookie, stale.ID), vend.VerdictApplied)
			r := e.replay(cookie, forged.ID)
			checkReplay(t, forged, r, vend.VerdictInvalid)
			if o := e.ProviderOrder(p.name, p.ref("T3")); o != nil {
				t.Errorf("the forged message made order %d", o.ID)
			}
			if o := e.ProviderOrder(p.name, p.ref("T2")); o == nil || o.Status != vend.OrderPaid {
				t.Errorf("the genuine stale message did not apply on replay: %+v", o)
			}
		})
	}

	t.Run("a WEBSALE link is decrypted again, its age is not judged", func(t *testing.T) {
		t.Parallel()
		e, _ := signedInEnv(t)
		checkGranted(t, "link", e.Get(wsPath("/", wsData(t, wsLink(e.Clock.Now(), wsOrder, wsEbook)))))
		orig := e.LastNotification()
		e.Clock.Add(60 * 24 * time.Hour)        // past the test shop's max_age of 30 days
		cookie := e.mustLogin("alice", adminPW) // and the session has ended
		r := e.replay(cookie, orig.ID)
		checkReplay(t, orig, r, vend.VerdictDuplicate)
		if o := e.ProviderOrder(websale.Provider, wsRef(wsOrder)); o == nil || r.OrderID != o.ID || len(e.Orders()) != 1 {
			t.Errorf("replay linked to %d; orders %d", r.OrderID, len(e.Orders()))
		}
		// A link that does not decrypt (stored by hand here: vend stores none) stays invalid.
		bad := &vend.Notification{Provider: websale.Provider, Body: []byte("dldata=" + strings.Repeat("00", 48))}
		e.update(func(ctx context.Context, tx store.Tx) error { return tx.CreateNotification(ctx, bad) })
		if r := e.replay(cookie, bad.ID); r.Verdict != vend.VerdictInvalid || len(e.Orders()) != 1 {
			t.Errorf("an undecryptable link replays as %s %q", r.Verdict, r.Reason)
		}
	})

	t.Run("refused: another site's form, no session, a missing notification, an unknown provider", func(t *testing.T) {
		t.Parallel()
		e, cookie := signedInEnv(t)
		ds24MustOK(t, e, ds24Body(ds24Pay(ds24PayTxn)))
		orig := e.LastNotification()
		path := "/admin/notifications/" + strconv.FormatInt(orig.ID, 10) + "/replay"
		if a := e.adminRequest(http.MethodPost, path, cookie, url.Values{}, crossSite); a.Status != http.StatusForbidden {
			t.Errorf("a cross-site replay: %d, want 403", a.Status)
		}
		if a := e.adminRequest(http.MethodPost, path, "", url.Values{}, sameOrigin); a.Status != http.StatusSeeOther ||
			!strings.HasPrefix(a.Header.Get("Location"), "/admin/login") {
			t.Errorf("a replay without a session: %d %q", a.Status, a.Header.Get("Location"))
		}
		if a := e.adminRequest(http.MethodPost, "/admin/notifications/999/replay", cookie, url.Values{}, sameOrigin); a.Status != http.StatusNotFound {
			t.Errorf("replay of a missing notification: %d, want 404", a.Status)
		}
		odd := &vend.Notification{Provider: "carrier-pigeon", Body: []byte("coo")}
		e.update(func(ctx context.Context, tx store.Tx) error { return tx.CreateNotification(ctx, odd) })
		if a := e.adminRequest(http.MethodPost, "/admin/notifications/"+strconv.FormatInt(odd.ID, 10)+"/replay", cookie, url.Values{}, sameOrigin); a.Status != http.StatusBadRequest {
			t.Errorf("replay of an unknown provider's message: %d, want 400", a.Status)
		}
		if n := len(e.Notifications()); n != 2 {
			t.Errorf("%d notifications, want the 2 stored: nothing was replayed", n)
		}
		if entries := e.Audit("notification:" + strconv.FormatInt(orig.ID, 10)); len(entries) != 0 {
			t.Errorf("refused replays left %d audit entries", len(entries))
		}
	})

	t.Run("ErrNoActor", func(t *testing.T) {
		t.Parallel()
		e := newTestEnv(t)
		ds24MustOK(t, e, ds24Body(ds24Pay(ds24PayTxn)))
		if _, err := e.Server.Intake.Replay(context.Background(), e.LastNotification().ID, ""); err == nil {
			t.Error("a replay by nobody went through")
		}
		if n := len(e.Notifications()); n != 1 {
			t.Errorf("%d notifications, want 1", n)
		}
	})
}

// The replay goes through PayPal's real flow: the same ParseForm and the
// receiver check as the endpoint.
func TestAdminNotification_ReplayPayPalRefusal(t *testing.T) {
	t.Parallel()
	e, cookie := signedInEnv(t, func(s *Server) {
		paypalOf(s).Config = paypal.Config{ReceiverEmails: []string{"other@example.com"}, Sandbox: true}
	})
	e.MustPostIPN(sample(t, "p1"))
	orig := e.LastNotification()
	if orig.Verdict != vend.VerdictRejected {
		t.Fatalf("verdict %s, want rejected", orig.Verdict)
	}
	r := e.replay(cookie, orig.ID)
	checkReplay(t, orig, r, vend.VerdictRejected)
	if r.Reason != orig.Reason {
		t.Errorf("replay refused for %q, the original for %q", r.Reason, orig.Reason)
	}
}
