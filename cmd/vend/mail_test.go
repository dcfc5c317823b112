package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/mailer/smtptest"
	"github.com/vend-shop/vend/provider/paypal"
)

// verifiedStub plays PayPal's postback endpoint: everything is VERIFIED.
func verifiedStub(t *testing.T) string {
	t.Helper()
	v := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, "VERIFIED")
	}))
	t.Cleanup(v.Close)
	return v.URL
}

func mailEnv(dataDir, addr, verifyURL, smtpAddr string) []string {
	return append(vendEnv(dataDir, addr, verifyURL), "VEND_SMTP_URL=smtp://"+smtpAddr, "VEND_SMTP_FROM=Shop <shop@example.com>",
		"VEND_SMTP_STARTTLS=none", "VEND_SMTP_RETRY_AFTER=200ms", "VEND_OWNER_EMAIL=owner@example.com")
}

func buyIPN(txn, email string) []byte {
	return paypal.Sim{TxnID: txn, ProductID: "ebook", ProductName: "E-Book", Amount: 1995, Receiver: "seller@example.com",
		PayerEmail: email, FirstName: "Jörg", LastName: "Müller", Test: true}.Body([]byte("mail-test"))
}

// waitAllSent waits until the outbox holds no mail still to send (every message
// sent, failed or skipped) and returns what the SMTP server received by then. A
// message is marked sent only after the server took it, and nothing is sent
// once nothing is queued: these are all the messages vend will ever send for
// the payments so far, so a count that is right now stays right.
func waitAllSent(t *testing.T, bin string, env []string, srv *smtptest.Server) []smtptest.Received {
	t.Helper()
	mails := func(args ...string) int {
		var ms []vend.Mail
		if err := json.Unmarshal(runVend(t, bin, env, append([]string{"mail", "list", "--json", "--limit", "1"}, args...)...), &ms); err != nil {
			t.Fatal(err)
		}
		return len(ms)
	}
	if mails() == 0 {
		t.Fatal("the outbox is empty: nothing was ever queued")
	}
	waitFor(t, 30*time.Second, "the outbox to empty", func() bool { return mails("--status", "queued") == 0 })
	return srv.Messages()
}

// waitFor polls cond until it holds, and fails the test after timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(timeout); !cond(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s", timeout, what)
		}
	}
}

func recipients(msgs []smtptest.Received) []string {
	var out []string
	for _, m := range msgs {
		out = append(out, strings.Join(m.To, ","))
	}
	return out
}

// TestServe_MailSurvivesAKill: a payment commits its receipt; vend is killed
// with SIGKILL while its worker is in the middle of sending it (the SMTP server
// has taken the connection and not yet answered); after a restart, with a
// working server, the receipt and the owner's notice go out, once each, at
// once rather than after the dead worker's lease.
func TestServe_MailSurvivesAKill(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds and runs the vend binary")
	}
	bin := buildVend(t)
	dataDir := t.TempDir()
	hang, err := net.Listen("tcp", "127.0.0.1:0") // takes connections, never speaks
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan net.Conn, 4)
	go func() {
		for {
			c, err := hang.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	smtpAddr := hang.Addr().String()
	env := mailEnv(dataDir, anyPort, verifiedStub(t), smtpAddr)
	importProduct(t, bin, env, "ebook|E-Book|ebook.pdf|19.95|USD|5|unlimited")

	srv := startServe(t, bin, env)
	client := &http.Client{Timeout: 20 * time.Second}
	if code, err := postIPN(client, srv.url, buyIPN("MAILKILL000000001", "kunde@example.de")); err != nil || code != 200 {
		t.Fatalf("IPN: %d %v", code, err)
	}
	select {
	case c := <-accepted: // the worker is sending: the message is claimed
		defer c.Close()
	case <-time.After(20 * time.Second):
		t.Fatal("vend never connected to the SMTP server")
	}
	srv.kill(t)
	srv.wait()
	hang.Close()

	out := string(runVend(t, bin, env, "mail", "list"))
	if strings.Count(out, "queued") != 2 || !strings.Contains(out, "receipt") || !strings.Contains(out, "owner-sale") {
		t.Fatalf("outbox after the kill:\n%s", out)
	}

	smtp := smtptest.Start(t, smtpAddr, nil, false)
	startServe(t, bin, env)
	msgs := waitAllSent(t, bin, env, smtp)
	if got := recipients(msgs); len(got) != 2 || !contains(got, "kunde@example.de") || !contains(got, "owner@example.com") {
		t.Fatalf("sent %v, want one receipt and one owner notice", got)
	}
	for _, m := range msgs {
		if strings.Contains(strings.Join(m.To, ""), "kunde") && !strings.Contains(string(m.Data), "/d/") {
			t.Errorf("the receipt has no download page link:\n%s", m.Data)
		}
	}
	if out := string(runVend(t, bin, env, "mail", "list", "--status", "sent")); strings.Count(out, "sent") < 2 {
		t.Errorf("mail list --status sent:\n%s", out)
	}
}

// TestServe_MailOncePerPayment: 100 concurrent copies of one payment, over
// HTTP, make one receipt; an SMTP server that is down for a while loses
// nothing and doubles nothing.
func TestServe_MailOncePerPayment(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds and runs the vend binary")
	}
	bin := buildVend(t)
	dataDir, smtpAddr := t.TempDir(), freeAddr(t)
	env := mailEnv(dataDir, anyPort, verifiedStub(t), smtpAddr)
	importProduct(t, bin, env, "ebook|E-Book|ebook.pdf|19.95|USD|5|unlimited")
	srv := startServe(t, bin, env)
	client := &http.Client{Timeout: 30 * time.Second}

	var wg sync.WaitGroup
	body := buyIPN("MAILONCE000000001", "kunde@example.de")
	for range 100 {
		wg.Go(func() {
			if code, err := postIPN(client, srv.url, body); err != nil || code != 200 {
				t.Errorf("IPN copy: %d %v", code, err)
			}
		})
	}
	// Five more buyers while the server is still down.
	for i := range 5 {
		postIPN(client, srv.url, buyIPN(fmt.Sprintf("MAILDOWN00000000%d", i), fmt.Sprintf("b%d@example.com", i)))
	}
	wg.Wait()
	// The worker tries at once, and fails: the server is down.
	failed := func() bool {
		var ms []*vend.Mail
		if err := json.Unmarshal(runVend(t, bin, env, "mail", "list", "--status", "queued", "--json"), &ms); err != nil {
			t.Fatal(err)
		}
		return slices.ContainsFunc(ms, func(m *vend.Mail) bool { return m.LastError != "" })
	}
	waitFor(t, 20*time.Second, "a queued message with a failed attempt", failed)
	smtp := smtptest.Start(t, smtpAddr, nil, false)
	msgs := waitAllSent(t, bin, env, smtp)
	got := recipients(msgs)
	count := func(addr string) (n int) {
		for _, g := range got {
			if g == addr {
				n++
			}
		}
		return n
	}
	if count("kunde@example.de") != 1 || count("owner@example.com") != 6 || len(got) != 12 {
		t.Errorf("sent %v: want one receipt for each of 6 buyers and 6 owner notices", got)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestMailPreviewAndOverrides(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := []string{"VEND_DATA_DIR=" + dir}
	out := mustVend(t, env, "mail", "preview", "receipt", "--lang", "de")
	if !strings.HasPrefix(out, "Subject: ") || !strings.Contains(out, "/d/") {
		t.Errorf("preview receipt de:\n%s", out)
	}
	// A seller's template in data_dir/templates replaces the embedded one.
	os.MkdirAll(filepath.Join(dir, "templates"), 0o700)
	os.WriteFile(filepath.Join(dir, "templates", "receipt.en.txt"), []byte("Subject: Your order at Books\n\nHello {{.Buyer.Name}}!\n"), 0o600)
	if out := mustVend(t, env, "mail", "preview", "receipt"); !strings.Contains(out, "Subject: Your order at Books") {
		t.Errorf("override not used:\n%s", out)
	}
	// A broken one stops vend at start, naming the file.
	os.WriteFile(filepath.Join(dir, "templates", "receipt.en.txt"), []byte("Subject: x\n\n{{.Nope}}\n"), 0o600)
	_, errOut, code := runMain(t, append(env, "VEND_LISTEN="+freeAddr(t)), "serve")
	if code == 0 || !strings.Contains(errOut, "receipt.en.txt") {
		t.Errorf("serve with a broken template: exit %d\n%s", code, errOut)
	}
}
