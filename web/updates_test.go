package web

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/catalog"
	"github.com/vend-shop/vend/ledger"
)

// newVersion stores content as a new version of EBOOK-001, at the clock's
// time, and returns its file.
func newVersion(t *testing.T, e *testEnv, name, content string) *vend.File {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := catalog.Store(ctx, e.Blobs, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := catalog.AddFile(ctx, e.DB, "user:alice", "EBOOK-001", f, true); err != nil {
		t.Fatal(err)
	}
	return f
}

// release runs a release of EBOOK-001 to its end.
func release(t *testing.T, e *testEnv, version string) {
	t.Helper()
	r, err := e.Ledger.StartRelease(context.Background(), "user:alice", "EBOOK-001",
		ledger.ReleaseOptions{Version: version, Notify: true, Reset: true, Renewal: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Ledger.RunRelease(context.Background(), r.ID, nil); err != nil {
		t.Fatal(err)
	}
}

// TestUpdatesUntil: EBOOK-001 gives updates for 30 days. Alex buys on day 0,
// Kim on day 35. Version 2 comes on day 10, version 3 on day 40. Alex keeps
// version 2, sees version 3 listed with the renewal page but cannot fetch
// it, and is mailed a renewal note for it; Kim gets version 3 and its mail.
func TestUpdatesUntil(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, withMail)
	_, err := catalog.EditProduct(context.Background(), e.DB, "user:alice", "EBOOK-001",
		catalog.Fields{UpdatesFor: "30d", RenewURL: "https://books.test/renew"})
	if err != nil {
		t.Fatal(err)
	}
	day := 24 * time.Hour
	alexSim := ebookSim("Completed", "ALEX000000000001")
	alexSim.PayerEmail = "alex@example.com"
	e.MustPostIPN(simBody(alexSim))
	alex := e.Order("ALEX000000000001").grant("EBOOK-001")
	if want := testEpoch.Add(30 * day); !alex.UpdatesUntil.Equal(want) {
		t.Fatalf("Alex's updates until %v, want %v", alex.UpdatesUntil, want)
	}

	e.Clock.Add(10 * day)
	v2 := newVersion(t, e, "go-patterns-2.pdf", "second edition")
	release(t, e, "2nd edition")
	e.Clock.Add(25 * day) // day 35
	kimSim := ebookSim("Completed", "KIM0000000000001")
	kimSim.PayerEmail = "kim@example.com"
	e.MustPostIPN(simBody(kimSim))
	kim := e.Order("KIM0000000000001").grant("EBOOK-001")
	e.Clock.Add(5 * day) // day 40
	v3 := newVersion(t, e, "go-patterns-3.pdf", "third edition")
	release(t, e, "3rd edition")

	// The mails: Alex a new-version for version 2 and a renewal note for
	// version 3; Kim a new-version for version 3.
	got := map[string][]string{}
	for _, m := range e.mails() {
		if m.Kind == vend.MailNewVersion || m.Kind == vend.MailRenewal {
			got[m.To] = append(got[m.To], string(m.Kind)+" "+m.Data[vend.MailDataVersion])
		}
	}
	for _, list := range got {
		sort.Strings(list)
	}
	if strings.Join(got["alex@example.com"], ", ") != "new-version 2nd edition, renewal 3rd edition" ||
		strings.Join(got["kim@example.com"], ", ") != "new-version 3rd edition" {
		t.Errorf("release mails %v", got)
	}

	// Alex's page: version 2 to download, version 3 listed with the renewal page.
	page := e.Get(e.PagePath(alex))
	files := links(page.Body, "/d/")
	if len(files) != 1 || !strings.Contains(files[0], "go-patterns-2.pdf") || !strings.Contains(page.Body, "Newer versions") ||
		!strings.Contains(page.Body, "go-patterns-3.pdf") || !strings.Contains(page.Body, `href="https://books.test/renew"`) ||
		!strings.Contains(page.Body, "Your updates for this purchase ended on April 2, 2025.") {
		t.Errorf("Alex's page: links %v\n%s", files, page.Body)
	}
	if f := e.Get(files[0]); f.Status != http.StatusOK || f.Body != "second edition" {
		t.Errorf("Alex fetching version 2: %d %q", f.Status, f.Body)
	}
	refused := e.Get(fileURL(e.Delivery.Token(alex.PublicID), v3))
	mustSay(t, refused, http.StatusForbidden, "This version came out after your updates for this purchase ended on April 2, 2025.",
		`href="https://books.test/renew"`, "Renew your updates")
	mustSay(t, e.getAs(fileURL(e.Delivery.Token(alex.PublicID), v3), "de"), http.StatusForbidden, "Updates verlängern")

	// Kim's page: version 3, nothing later.
	kimPage := e.Get(e.PagePath(kim))
	if kf := links(kimPage.Body, "/d/"); len(kf) != 1 || !strings.Contains(kf[0], "go-patterns-3.pdf") || strings.Contains(kimPage.Body, "Newer versions") {
		t.Errorf("Kim's page: %v", kf)
	}
	if f := e.Get(fileURL(e.Delivery.Token(kim.PublicID), v2)); f.Status != http.StatusNotFound {
		t.Errorf("Kim fetching the replaced version 2: %d", f.Status)
	}
	// The licence API's meta and the signed licence carry the date: see
	// TestLicenses_EndToEnd; here the grant's date is on Alex's JSON order.
	if o := e.Order("ALEX000000000001"); !o.grant("EBOOK-001").UpdatesUntil.Equal(testEpoch.Add(30 * day)) {
		t.Error("Alex's grant lost its updates date")
	}
}
