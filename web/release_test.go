package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/vend-shop/vend"
)

func TestAdminRelease(t *testing.T) {
	t.Parallel()
	e, cookie := adminEnv(t)
	e.Server.Ledger.Mail = true
	g := e.Order(p1Txn).grant("EBOOK-001")
	e.Get(e.FilePath(g))
	e.Flush()

	form := e.adminRequest(http.MethodGet, "/admin/products/EBOOK-001/release", cookie, nil, nil)
	if form.Status != http.StatusOK || !strings.Contains(form.Body, "<strong>2</strong> buyers") {
		t.Fatalf("preview: %d\n%s", form.Status, form.Body)
	}
	a := e.adminRequest(http.MethodPost, "/admin/products/EBOOK-001/release", cookie,
		url.Values{"version": {"2nd edition"}, "notify": {"1"}, "reset": {"1"}}, sameOrigin)
	if a.Status != http.StatusSeeOther || !strings.HasPrefix(a.Header.Get("Location"), "/admin/releases/") {
		t.Fatalf("start: %d %q\n%s", a.Status, a.Header.Get("Location"), a.Body)
	}
	var page answer
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if page = e.adminRequest(http.MethodGet, a.Header.Get("Location"), cookie, nil, nil); strings.Contains(page.Body, "Done.") {
			break
		}
	}
	if !strings.Contains(page.Body, "2 of 2 buyers handled") || strings.Contains(page.Body, `http-equiv="refresh"`) {
		t.Fatalf("progress:\n%s", page.Body)
	}
	if got := e.Grant(g.ID).DownloadsUsed; got != 0 {
		t.Errorf("downloads used after the release: %d", got)
	}
	var notified []string
	for _, m := range e.mails() {
		if m.Kind == vend.MailNewVersion {
			notified = append(notified, m.To)
		}
	}
	if len(notified) != 2 {
		t.Errorf("new-version mail to %v, want both buyers", notified)
	}
	if bad := e.adminRequest(http.MethodPost, "/admin/products/EBOOK-001/release", cookie, url.Values{}, sameOrigin); bad.Status != http.StatusBadRequest {
		t.Errorf("a release that does nothing: %d", bad.Status)
	}
}
