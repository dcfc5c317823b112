package main

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestConfigCheck_Mailbox: vend config check accepts the development mailbox,
// and only as "mailbox:".
func TestConfigCheck_Mailbox(t *testing.T) {
	t.Parallel()
	env := []string{"VEND_DATA_DIR=" + t.TempDir(), "VEND_SMTP_URL=mailbox:", "VEND_SMTP_FROM=Shop <shop@example.com>"}
	if out := mustVend(t, env, "config", "check"); !strings.Contains(out, "ok") {
		t.Errorf("config check with the mailbox: %s", out)
	}
	env[1] = "VEND_SMTP_URL=mailbox:/var/mail"
	if _, errOut, code := runMain(t, env, "config", "check"); code == 0 || !strings.Contains(errOut, "smtp.url") {
		t.Errorf("mailbox with a path: exit %d %s", code, errOut)
	}
}

var mailboxMessageLink = regexp.MustCompile(`<a href="(/admin/mailbox/[^"/]+)">`)

// TestDemo_Mailbox: what a purchase in vend demo mails lands in the demo's
// mailbox, which the admin shows, and no mail leaves.
func TestDemo_Mailbox(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts a whole demo store")
	}
	base, env := startDemo(t)
	var dir string
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "VEND_DATA_DIR="); ok {
			dir = v
		}
	}
	out := mustVend(t, env, "simulate", "paypal", "--product", "EBOOK-001", "--email", "reader@example.com", "--url", base+"/ipn/paypal")
	if !strings.Contains(out, "200 OK") {
		t.Fatalf("simulate: %s", out)
	}
	// The receipt and the owner's sale notice, as files.
	var files []os.DirEntry
	for deadline := time.Now().Add(20 * time.Second); len(files) < 2; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the mailbox has %d messages, want the receipt and the sale notice", len(files))
		}
		files, _ = os.ReadDir(filepath.Join(dir, "mailbox"))
	}

	// The seller signs in and reads the receipt in the admin.
	if _, errOut, code := runStdin(t, env, "a long password for the demo\n", "user", "add", "seller", "--password-stdin"); code != 0 {
		t.Fatalf("user add: %s", errOut)
	}
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	resp, err := client.PostForm(base+"/admin/login", url.Values{"name": {"seller"}, "password": {"a long password for the demo"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	page := func(path string) string {
		t.Helper()
		resp, err := client.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %v\n%s", path, resp.StatusCode, err, b)
		}
		return string(b)
	}
	list := page("/admin/mailbox")
	var receipt string
	for _, row := range strings.Split(list, "<tr>") {
		if m := mailboxMessageLink.FindStringSubmatch(row); m != nil && strings.Contains(row, "reader@example.com") &&
			strings.Contains(row, ">receipt<") {
			receipt = m[1]
		}
	}
	if receipt == "" || !strings.Contains(list, ">receipt<") || !strings.Contains(list, ">owner-sale<") {
		t.Fatalf("the mailbox page shows no receipt to reader@example.com:\n%s", list)
	}
	if msg := page(receipt); !strings.Contains(msg, "reader@example.com") || !strings.Contains(msg, base+"/d/") ||
		!strings.Contains(msg, "<iframe sandbox") {
		t.Errorf("the receipt's page has no download link:\n%s", msg)
	}

	// The CLI, pointed at the demo's config, says where mail goes.
	cli := append(env, "VEND_CONFIG="+filepath.Join(dir, "vend.toml"))
	if _, errOut, code := runMain(t, cli, "mail", "retry", "--failed"); code != 0 || !strings.Contains(errOut, "not to buyers") {
		t.Errorf("mail retry with the mailbox: exit %d, log %q", code, errOut)
	}
}
