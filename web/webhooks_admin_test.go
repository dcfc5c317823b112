package web

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/vend-shop/vend/webhook"
	"github.com/vend-shop/vend/webhook/webhooktest"
)

// hookSink is a seller's receiver: it answers 204 to what verifies with its
// secret and keeps the event types, in order.
type hookSink struct {
	*httptest.Server
	mu     sync.Mutex
	secret string
	types  []string
}

func newHookSink(t *testing.T) *hookSink {
	s := &hookSink{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		defer s.mu.Unlock()
		if err := webhooktest.VerifyWebhook(s.secret, r.Header, body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var p struct{ Type string }
		json.Unmarshal(body, &p)
		s.types = append(s.types, p.Type)
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *hookSink) got() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.types...)
}

var secretOnPage = regexp.MustCompile(`<code>(whsec_[^<]+)</code>`)

// TestWebhooksAdmin: a seller adds an endpoint in the admin, sees its
// secret, a purchase reaches the receiver signed, the delivery's log shows
// what was sent and what came back (the buyer's words escaped), and the
// seller sends it again, edits, rotates and deletes the endpoint; every
// change is in the audit trail.
func TestWebhooksAdmin(t *testing.T) {
	t.Parallel()
	e, cookie := adminEnv(t)
	sink := newHookSink(t)
	post := func(path string, form url.Values) answer {
		t.Helper()
		return e.adminRequest(http.MethodPost, path, cookie, form, sameOrigin)
	}
	if a := post("/admin/webhooks", url.Values{"url": {sink.URL}}); a.Status != http.StatusBadRequest || !strings.Contains(a.Body, "Choose at least one event") {
		t.Errorf("no event: %d %s", a.Status, a.Body)
	}
	if a := post("/admin/webhooks", url.Values{"url": {"http://crm.example.com/"}, "event": {"order.paid"}}); a.Status != http.StatusBadRequest ||
		!strings.Contains(a.Body, "use https") {
		t.Errorf("plain http to another host: %d", a.Status)
	}
	a := post("/admin/webhooks", url.Values{"url": {sink.URL}, "description": {"CRM"}, "event": {"order.paid", "access.revoked"}})
	loc := a.Header.Get("Location")
	if a.Status != http.StatusSeeOther || !strings.HasPrefix(loc, "/admin/webhooks/1?done=webhook-create") {
		t.Fatalf("add: %d %q %s", a.Status, loc, a.Body)
	}
	page := e.mustAdminGet(cookie, loc)
	m := secretOnPage.FindStringSubmatch(page)
	if m == nil || !strings.Contains(page, "The endpoint is added") || !strings.Contains(page, `value="order.paid" checked`) ||
		strings.Contains(page, `value="order.refunded" checked`) {
		t.Fatalf("the endpoint's page:\n%s", page)
	}
	secret := html.UnescapeString(m[1])
	sink.mu.Lock()
	sink.secret = secret
	sink.mu.Unlock()
	if list := e.mustAdminGet(cookie, "/admin/webhooks"); !strings.Contains(list, sink.URL) || strings.Contains(list, m[1][:12]) {
		t.Error("the list must show the endpoint but not its secret")
	}

	evil := ebookSim("Completed", "HOOKED0000000001")
	evil.FirstName = `<img src=x onerror=alert(3)>`
	e.MustPostIPN(simBody(evil))
	d := &webhook.Dispatcher{AllowPrivate: true, DB: e.DB}
	if n, err := d.RunOnce(context.Background()); n != 1 || err != nil {
		t.Fatalf("sent %d, %v", n, err)
	}
	if got := sink.got(); len(got) != 1 || got[0] != "order.paid" {
		t.Fatalf("the receiver got %v", got)
	}
	page = e.mustAdminGet(cookie, "/admin/webhooks/1")
	if !strings.Contains(page, `href="/admin/webhooks/1/deliveries/1"`) || !strings.Contains(page, "delivered") {
		t.Errorf("the endpoint's deliveries:\n%s", page)
	}
	dl := e.mustAdminGet(cookie, "/admin/webhooks/1/deliveries/1")
	for _, want := range []string{"POST " + sink.URL, "204 No Content", `\u003cimg src=x onerror=alert(3)\u003e`, "webhook-id"} {
		if !strings.Contains(dl, want) {
			t.Errorf("the delivery's page lacks %q", want)
		}
	}
	if strings.Contains(dl, "<img src=x") {
		t.Error("the delivery's page shows the buyer's markup unescaped")
	}
	if a := post("/admin/webhooks/1/deliveries/1/replay", nil); a.Status != http.StatusSeeOther ||
		a.Header.Get("Location") != "/admin/webhooks/1/deliveries/2?done=webhook-replay" {
		t.Errorf("replay: %d %q", a.Status, a.Header.Get("Location"))
	}
	if _, err := d.RunOnce(context.Background()); err != nil || len(sink.got()) != 2 {
		t.Errorf("the replay was not sent: %v %v", err, sink.got())
	}
	if a := e.adminRequest(http.MethodGet, "/admin/webhooks/2/deliveries/1", cookie, nil, nil); a.Status != http.StatusNotFound {
		t.Errorf("a delivery under another endpoint's path: %d", a.Status)
	}

	if a := post("/admin/webhooks/1", url.Values{"url": {sink.URL + "/v2"}, "description": {"CRM v2"}, "event": {"order.refunded"}}); a.Status != http.StatusSeeOther {
		t.Errorf("edit: %d %s", a.Status, a.Body)
	}
	if page := e.mustAdminGet(cookie, "/admin/webhooks/1"); !strings.Contains(page, "CRM v2") || !strings.Contains(page, `value="order.refunded" checked`) ||
		strings.Contains(page, `value="order.paid" checked`) {
		t.Error("the edit did not stick")
	}
	if a := post("/admin/webhooks/1/rotate", nil); a.Status != http.StatusBadRequest {
		t.Errorf("rotate without the box ticked: %d", a.Status)
	}
	post("/admin/webhooks/1/rotate", url.Values{"confirm": {"yes"}})
	page = e.mustAdminGet(cookie, "/admin/webhooks/1")
	if !strings.Contains(page, "The previous secret, <code>"+m[1]+"</code>, signs too until") {
		t.Error("after a rotation the page must show the previous secret and until when it signs")
	}
	post("/admin/webhooks/1/disable", nil)
	if page := e.mustAdminGet(cookie, "/admin/webhooks/1"); !strings.Contains(page, "disabled by user:alice") || !strings.Contains(page, "Turn on") {
		t.Error("a disabled endpoint's page")
	}
	if a := post("/admin/webhooks/1/explode", nil); a.Status != http.StatusNotFound {
		t.Errorf("an unknown action: %d", a.Status)
	}
	if a := post("/admin/webhooks/1/delete", url.Values{"confirm": {"yes"}}); a.Status != http.StatusSeeOther ||
		a.Header.Get("Location") != "/admin/webhooks?done=webhook-delete" {
		t.Errorf("delete: %d %q", a.Status, a.Header.Get("Location"))
	}
	if a := e.adminRequest(http.MethodGet, "/admin/webhooks/1", cookie, nil, nil); a.Status != http.StatusNotFound {
		t.Errorf("a deleted endpoint: %d", a.Status)
	}
	trail := e.mustAdminGet(cookie, "/admin/audit?target=webhook:1")
	for _, want := range []string{"webhook.create", "webhook.replay", "webhook.update", "webhook.rotate", "webhook.disable", "webhook.delete"} {
		if !strings.Contains(trail, want) {
			t.Errorf("the audit trail lacks %s", want)
		}
	}
	if strings.Contains(trail, "whsec_") {
		t.Error("the audit trail holds a secret")
	}
}

// TestWebhooksAPI: the same through the JSON API.
func TestWebhooksAPI(t *testing.T) {
	t.Parallel()
	e, _ := adminEnv(t)
	c := newAPIClient(e)
	a := c.call(http.MethodPost, "/api/v1/webhooks", `{"url": "https://crm.example.com/hook", "events": ["order.paid", "download.completed"]}`)
	var created struct {
		ID     int64    `json:"id"`
		Secret string   `json:"secret"`
		Events []string `json:"events"`
	}
	if err := json.Unmarshal([]byte(a.Body), &created); a.Status != http.StatusCreated || err != nil || !strings.HasPrefix(created.Secret, "whsec_") ||
		a.Header.Get("Location") != fmt.Sprintf("/api/v1/webhooks/%d", created.ID) {
		t.Fatalf("create: %d %s", a.Status, a.Body)
	}
	if list := c.call(http.MethodGet, "/api/v1/webhooks", ""); !strings.Contains(list.Body, "crm.example.com") || strings.Contains(list.Body, "whsec_") {
		t.Errorf("the list must not show secrets: %s", list.Body)
	}
	path := fmt.Sprintf("/api/v1/webhooks/%d", created.ID)
	var got struct {
		Secret         string   `json:"secret"`
		PreviousSecret string   `json:"previous_secret"`
		Events         []string `json:"events"`
		Description    string   `json:"description"`
		Disabled       bool     `json:"disabled"`
	}
	c.json(http.MethodPost, path, `{"events": ["order.refunded"], "description": "Books"}`, &got)
	if len(got.Events) != 1 || got.Events[0] != "order.refunded" || got.Description != "Books" || got.Secret != created.Secret {
		t.Errorf("edit: %+v", got)
	}
	c.json(http.MethodPost, path+"/rotate", "", &got)
	if got.PreviousSecret != created.Secret || got.Secret == created.Secret {
		t.Errorf("rotate: %+v", got)
	}
	c.json(http.MethodPost, path+"/disable", "", &got)
	if !got.Disabled {
		t.Error("disable")
	}

	e.MustPostIPN(simBody(ebookSim("Completed", "APIHOOK000000001"))) // off: nothing queued for it
	c.json(http.MethodPost, path+"/enable", "", &got)
	e.MustPostIPN(simBody(reversalSim("Refunded", "APIHOOK000000002", "APIHOOK000000001", -1995)))
	var ds struct {
		Deliveries []struct {
			ID      int64           `json:"id"`
			Event   string          `json:"event"`
			Status  string          `json:"status"`
			Payload json.RawMessage `json:"payload"`
		} `json:"deliveries"`
	}
	c.json(http.MethodGet, path+"/deliveries", "", &ds)
	if len(ds.Deliveries) != 1 || ds.Deliveries[0].Event != "order.refunded" || ds.Deliveries[0].Status != "pending" ||
		!strings.Contains(string(ds.Deliveries[0].Payload), `"type":"order.refunded"`) {
		t.Fatalf("deliveries: %+v", ds)
	}
	del := fmt.Sprintf("%s/deliveries/%d", path, ds.Deliveries[0].ID)
	var rec struct {
		MessageID string            `json:"message_id"`
		Log       []json.RawMessage `json:"attempts_log"`
	}
	c.json(http.MethodGet, del, "", &rec)
	if !strings.HasPrefix(rec.MessageID, "msg_") || len(rec.Log) != 0 {
		t.Errorf("delivery: %+v", rec)
	}
	if a := c.call(http.MethodPost, del+"/replay", ""); a.Status != http.StatusCreated || !strings.Contains(a.Body, `"status":"pending"`) {
		t.Errorf("replay: %d %s", a.Status, a.Body)
	}
	c.wantError(http.MethodPost, "/api/v1/webhooks", `{"url": "ftp://x", "events": ["order.paid"]}`, http.StatusBadRequest, "invalid")
	c.wantError(http.MethodPost, "/api/v1/webhooks", `{"url": "https://x.example", "events": ["order.exploded"]}`, http.StatusBadRequest, "invalid")
	c.wantError(http.MethodPost, "/api/v1/webhooks", `not json`, http.StatusBadRequest, "invalid")
	c.wantError(http.MethodGet, path+"/deliveries?status=lost", "", http.StatusBadRequest, "invalid")
	c.wantError(http.MethodPost, path+"/explode", "", http.StatusNotFound, "not_found")
	c.wantError(http.MethodGet, "/api/v1/webhooks/999/deliveries/1", "", http.StatusNotFound, "not_found")
	if a := c.call(http.MethodDelete, path, ""); a.Status != http.StatusNoContent {
		t.Errorf("delete: %d %s", a.Status, a.Body)
	}
	c.wantError(http.MethodGet, path, "", http.StatusNotFound, "not_found")
}
