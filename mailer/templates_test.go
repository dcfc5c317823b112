package mailer_test

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/mailer"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func mustLoad(tb testing.TB, dir string) *mailer.Templates {
	tb.Helper()
	tm, err := mailer.Load(dir)
	if err != nil {
		tb.Fatal(err)
	}
	return tm
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./mailer -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (run go test ./mailer -update and review the diff):\n--- got\n%s", path, got)
	}
}

func TestTemplates_Golden(t *testing.T) {
	t.Parallel()
	tm := mustLoad(t, "")
	for _, lang := range []string{"en", "de"} {
		t.Run(lang, func(t *testing.T) {
			m, err := tm.Preview(vend.MailReceipt, lang)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, "receipt."+lang+".txt.golden", "Subject: "+m.Subject+"\n\n"+m.Text)
			golden(t, "receipt."+lang+".html.golden", m.HTML)
		})
	}
}

func TestTemplates_Preview(t *testing.T) {
	t.Parallel()
	tm := mustLoad(t, "")
	for _, kind := range tm.Kinds() {
		for _, lang := range []string{"en", "de"} {
			m, err := tm.Preview(kind, lang)
			if err != nil {
				t.Errorf("%s %s: %v", kind, lang, err)
				continue
			}
			if m.Subject == "" || m.Text == "" || !strings.Contains(m.HTML, `<html lang="`+lang+`">`) || m.Language != lang {
				t.Errorf("%s %s: %+v", kind, lang, m)
			}
		}
	}
	if _, err := tm.Preview("invoice", "en"); vend.ErrorCode(err) != vend.EINVALID {
		t.Errorf("an unknown kind: %v", err)
	}
}

func TestLanguage(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"de": "de", "de-DE": "de", "de_DE": "de", "DE": "de", "de-at": "de", " de ": "de",
		"": "en", "en": "en", "en-US": "en", "fr": "en", "deu": "en", "nl_NL": "en",
	} {
		if got := mailer.Language(in); got != want {
			t.Errorf("Language(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTemplates_Render(t *testing.T) {
	t.Parallel()
	tm := mustLoad(t, "")
	v := mailer.View{
		Shop:    mailer.Shop{Name: "Example Books", URL: "https://shop.test"},
		Buyer:   vend.Buyer{Name: "Eve\r\nBcc: victim@example.com", Email: "eve@example.com"},
		Order:   mailer.OrderView{ID: 7, Provider: "paypal", Total: 500, Currency: "EUR", Date: time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC)},
		Items:   []mailer.ItemView{{Name: "Book\u202Egnp.exe\x00", PageURL: "https://shop.test/d/X", DownloadLimit: 3, DownloadsLeft: 3}},
		Product: mailer.ProductView{ID: "book", Name: "Book\nSubject: forged"},
	}
	t.Run("control characters never reach a header or a line start", func(t *testing.T) {
		m, err := tm.Render(vend.MailNewVersion, "en", v)
		if err != nil {
			t.Fatal(err)
		}
		if strings.ContainsAny(m.Subject, "\r\n") || m.Subject != "New version of Book Subject: forged" {
			t.Errorf("Subject %q", m.Subject)
		}
		for line := range strings.Lines(m.Text) {
			if strings.HasPrefix(line, "Bcc:") || strings.HasPrefix(line, "Subject:") {
				t.Errorf("a buyer's value starts a line: %q", line)
			}
		}
		if strings.ContainsAny(m.Text+m.HTML, "\u202E\x00") {
			t.Error("a control character reached the message")
		}
	})
	t.Run("pending reason in plain words", func(t *testing.T) {
		v := v
		v.Reason = "echeck"
		m, err := tm.Render(vend.MailPending, "de-DE", v)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(m.Text, "eCheck (Lastschrift vom Bankkonto)") || m.Language != "de" {
			t.Errorf("German pending message:\n%s", m.Text)
		}
	})
	t.Run("the caller's View is not changed", func(t *testing.T) {
		if _, err := tm.Render(vend.MailReceipt, "en", v); err != nil {
			t.Fatal(err)
		}
		if v.Items[0].Name != "Book\u202Egnp.exe\x00" || v.Lang != "" {
			t.Errorf("Render changed its argument: %+v", v)
		}
	})
}

func TestLoad_Overrides(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write(t, dir, "receipt.en.txt", "Subject: Thanks, {{.Buyer.Name}}!\n\nYour files: {{range .Items}}{{.PageURL}} {{end}}\n")
	write(t, dir, "README.md", "not a template")
	write(t, dir, "download.html", "a web page override, not mail")
	tm := mustLoad(t, dir)
	if got := tm.Overrides(); len(got) != 1 || got[0] != filepath.Join(dir, "receipt.en.txt") {
		t.Errorf("Overrides() = %v", got)
	}
	m, err := tm.Preview(vend.MailReceipt, "en")
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != "Thanks, Alex Example!" || !strings.HasPrefix(m.Text, "Your files: https://shop.example.com/d/") {
		t.Errorf("the override was not used: %q\n%s", m.Subject, m.Text)
	}
	if !strings.Contains(m.HTML, "Open the download page") {
		t.Errorf("the HTML part should stay the embedded one:\n%s", m.HTML)
	}
	if m, _ := tm.Preview(vend.MailReceipt, "de"); !strings.Contains(m.Subject, "Ihre Downloads") {
		t.Errorf("the German receipt should stay the embedded one: %q", m.Subject)
	}

	t.Run("the worker sends it", func(t *testing.T) {
		e := newEnv(t)
		e.Worker = newWorker(t, e, e.SMTP.Addr, dir)
		saveProduct(t, e.DB, "go-handbook", "The Go Handbook")
		f := createOrder(t, e.DB, orderOpts{Name: "Sam"})
		enqueue(t, e.DB, receiptFor(f, "en"))
		e.runOnce(t)
		msgs := e.SMTP.Messages()
		if len(msgs) != 1 {
			t.Fatalf("server got %d messages", len(msgs))
		}
		if p := parse(t, msgs[0].Data); p.Subject(t) != "Thanks, Sam!" {
			t.Errorf("Subject %q", p.Subject(t))
		}
	})

	t.Run("a missing directory means no overrides", func(t *testing.T) {
		if tm := mustLoad(t, filepath.Join(dir, "nope")); len(tm.Overrides()) != 0 {
			t.Errorf("Overrides() = %v", tm.Overrides())
		}
	})
}

func TestLoad_Broken(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, file, content string
		want                []string
	}{
		{"syntax error", "receipt.en.txt", "Subject: x\n\nHello\n{{if}}{{end}}\nBye\n", []string{"receipt.en.txt:4", "missing value for if"}},
		{"unknown field", "receipt.de.txt", "Subject: x\n\n{{range .Items}}{{.Nmae}}{{end}}\n", []string{"receipt.de.txt:3", "Nmae"}},
		{"unknown field in HTML", "links.en.html", "<p>{{.Order.Customer}}</p>\n", []string{"links.en.html:1", "Customer"}},
		{"unknown field in a rarely taken branch", "receipt.en.txt", "Subject: x\n\n{{if .Order.Test}}{{.Order.Mode}}{{end}}\n", []string{"receipt.en.txt:3", "Mode"}},
		{"unknown function", "owner-sale.en.txt", "Subject: {{shout .Shop.Name}}\n", []string{"owner-sale.en.txt:1", "shout"}},
		{"no subject line", "pending.en.txt", "Hello {{.Buyer.Name}}\n", []string{"pending.en.txt", "Subject"}},
		{"misspelt name", "reciept.en.txt", "Subject: x\n", []string{"reciept.en.txt", "receipt"}},
		{"a language vend does not ship", "receipt.fr.txt", "Subject: x\n", []string{"receipt.fr.txt"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, dir, tc.file, tc.content)
			_, err := mailer.Load(dir)
			if err == nil {
				t.Fatal("Load accepted a broken template")
			}
			if !strings.Contains(err.Error(), filepath.Join(dir, tc.file)) {
				t.Errorf("the error does not name the file %s: %v", filepath.Join(dir, tc.file), err)
			}
			for _, want := range tc.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("the error lacks %q: %v", want, err)
				}
			}
		})
	}
}

func write(tb testing.TB, dir, name, content string) {
	tb.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		tb.Fatal(err)
	}
}
