package mailer_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/mailer"
)

// tickingClock returns a later time at every call, as messages sent one after
// another would see.
func tickingClock() func() time.Time {
	var mu sync.Mutex
	t := time.Date(2026, 3, 2, 14, 5, 0, 0, time.UTC)
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t = t.Add(time.Second)
		return t
	}
}

func newTestMailbox(t *testing.T, keep int) *mailer.Mailbox {
	t.Helper()
	b := mailer.NewMailbox(filepath.Join(t.TempDir(), "mailbox"))
	b.Keep, b.Now = keep, tickingClock()
	return b
}

func mustSend(t testing.TB, b *mailer.Mailbox, m *mailer.Message) {
	t.Helper()
	if err := b.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
}

func TestMailbox_Send(t *testing.T) {
	t.Parallel()
	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		b := newTestMailbox(t, 0)
		if list, err := b.List(context.Background()); err != nil || len(list) != 0 {
			t.Fatalf("a mailbox never written to: %v, %v", list, err)
		}
		first := testMessage()
		first.Kind = vend.MailReceipt
		mustSend(t, b, first)
		second := testMessage()
		second.Subject, second.Kind, second.To = `Ihr Download <script>alert(1)</script>`, vend.MailLinks, "käufer@example.com"
		second.Text = "Zeile eins\nlange Zeile " + strings.Repeat("ü", 100) + "\n"
		second.HTML = `<p onclick="x()">Grüße</p><script>alert(1)</script>` + "\n"
		mustSend(t, b, second)

		list, err := b.List(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 2 {
			t.Fatalf("%d messages listed, want 2", len(list))
		}
		newest, oldest := list[0], list[1]
		if newest.Subject != second.Subject || newest.Kind != vend.MailLinks || !strings.Contains(newest.To, "käufer@example.com") {
			t.Errorf("newest: %+v", newest)
		}
		if oldest.Subject != "Grüße" || oldest.Kind != vend.MailReceipt || !oldest.Date.Equal(first.Date) ||
			!strings.Contains(oldest.From, "shop@books.test") {
			t.Errorf("oldest: %+v", oldest)
		}

		m, err := b.Read(newest.ID)
		if err != nil {
			t.Fatal(err)
		}
		if m.Text != second.Text || m.HTML != second.HTML {
			t.Errorf("parts read back:\ntext %q\nhtml %q", m.Text, m.HTML)
		}
		headers := map[string]string{}
		for _, h := range m.Header {
			headers[h.Name] = h.Value
		}
		if headers["Subject"] != second.Subject || headers["Message-Id"] != "<abc@books.test>" || headers["Auto-Submitted"] != "auto-generated" {
			t.Errorf("headers: %v", headers)
		}
		raw, err := b.Raw(newest.ID)
		if err != nil || !strings.Contains(string(raw), "Message-ID: <abc@books.test>") {
			t.Errorf("raw: %v\n%s", err, raw)
		}
	})
	t.Run("plain text only", func(t *testing.T) {
		t.Parallel()
		b := newTestMailbox(t, 0)
		m := testMessage()
		m.HTML = ""
		mustSend(t, b, m)
		list, _ := b.List(context.Background())
		got, err := b.Read(list[0].ID)
		if err != nil || got.Text != m.Text || got.HTML != "" {
			t.Errorf("read: %+v, %v", got, err)
		}
	})
	t.Run("ErrAddress", func(t *testing.T) {
		t.Parallel()
		b := newTestMailbox(t, 0)
		m := testMessage()
		m.To = "not an address"
		var se *mailer.SendError
		if err := b.Send(context.Background(), m); !errors.As(err, &se) || !se.Permanent {
			t.Errorf("a bad recipient: %v, want a permanent SendError as over SMTP", err)
		}
	})
}

func TestMailbox_Keep(t *testing.T) {
	t.Parallel()
	b := newTestMailbox(t, 3)
	for i := range 5 {
		m := testMessage()
		m.Subject = fmt.Sprint("message ", i)
		mustSend(t, b, m)
	}
	list, err := b.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var subjects []string
	for _, e := range list {
		subjects = append(subjects, e.Subject)
	}
	if got := strings.Join(subjects, ", "); got != "message 4, message 3, message 2" {
		t.Errorf("kept %s, want the newest three, newest first", got)
	}
}

// TestMailbox_Concurrent: writers at once (the worker and `vend mail retry`)
// neither lose a message to a name clash nor leave more than Keep, nor
// half-written or temporary files.
func TestMailbox_Concurrent(t *testing.T) {
	t.Parallel()
	b := newTestMailbox(t, 10)
	b.Now = func() time.Time { return time.Date(2026, 3, 2, 14, 5, 0, 0, time.UTC) } // the same instant for all
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Go(func() {
			m := testMessage()
			m.Subject = fmt.Sprint("message ", i)
			if err := b.Send(context.Background(), m); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	files, err := os.ReadDir(b.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 10 {
		t.Errorf("%d files in the mailbox, want 10", len(files))
	}
	list, err := b.List(context.Background())
	if err != nil || len(list) != 10 {
		t.Fatalf("listed %d: %v", len(list), err)
	}
	for _, e := range list {
		if m, err := b.Read(e.ID); err != nil || m.Text != "Hello\n" {
			t.Errorf("%s: %v", e.ID, err)
		}
	}
}

func TestMailbox_Read(t *testing.T) {
	t.Parallel()
	b := newTestMailbox(t, 0)
	mustSend(t, b, testMessage())
	os.WriteFile(filepath.Join(filepath.Dir(b.Dir), "secret.eml"), []byte("Subject: secret\n\nsecret"), 0o600)
	for _, id := range []string{"", "../secret", "20260302T140501.000000000Z-00000000", "x/../../secret"} {
		if _, err := b.Read(id); vend.ErrorCode(err) != vend.ENOTFOUND {
			t.Errorf("Read(%q): %v, want not found", id, err)
		}
	}
}

func TestMailbox_ListPage(t *testing.T) {
	t.Parallel()
	b := newTestMailbox(t, 0)
	for i := range 7 {
		m := testMessage()
		m.Subject = fmt.Sprint("message ", i)
		mustSend(t, b, m)
	}
	var pages []string
	before := ""
	for range 10 {
		list, next, err := b.ListPage(context.Background(), before, 3)
		if err != nil {
			t.Fatal(err)
		}
		var subjects []string
		for _, e := range list {
			subjects = append(subjects, e.Subject)
		}
		pages = append(pages, strings.Join(subjects, ", "))
		if next == "" {
			break
		}
		before = next
	}
	want := []string{"message 6, message 5, message 4", "message 3, message 2, message 1", "message 0"}
	if !slices.Equal(pages, want) {
		t.Errorf("pages %q, want %q", pages, want)
	}
	if _, _, err := b.ListPage(context.Background(), "../../etc/passwd", 3); vend.ErrorCode(err) != vend.EINVALID {
		t.Errorf("a cursor that is no message id: %v, want EINVALID", err)
	}
}
