package web

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/mailer"
)

// withMailbox keeps mail in a mailbox in the test's directory.
func withMailbox(tb testing.TB) envOption {
	mb := mailer.NewMailbox(filepath.Join(tb.TempDir(), "mailbox"))
	return func(s *Server) { s.Mailbox = mb }
}

// evilMail is a message whose every part a buyer could have filled with markup.
func evilMail() *mailer.Message {
	return &mailer.Message{
		From: "Shop <shop@example.com>", To: "very.long.address.of.a.buyer.who.types.a.lot@subdomain.example.com",
		Subject: `Your download <script>document.title="ran"</script>`,
		Text:    "Hello <b>buyer</b>,\n" + strings.Repeat("a-long-word-without-spaces-", 20) + "\n",
		HTML: `<h1 id="greeting">Hello <img src=x onerror="document.body.textContent='ran'"></h1>` +
			`<script>document.body.textContent='ran'</script><p>Thanks.</p>`,
		MessageID: "evil@example.com", Date: testEpoch, Kind: vend.MailReceipt,
	}
}

func sendTo(tb testing.TB, mb *mailer.Mailbox, m *mailer.Message) {
	tb.Helper()
	if err := mb.Send(context.Background(), m); err != nil {
		tb.Fatal(err)
	}
}

var mailboxLink = regexp.MustCompile(`href="/admin/mailbox/([^"/]+)"`)

func TestMailboxAdmin(t *testing.T) {
	t.Parallel()
	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		e, cookie := signedInEnv(t, withMailbox(t))
		mb := e.Server.Mailbox
		if page := e.mustAdminGet(cookie, "/admin/mailbox"); !strings.Contains(page, "No mail yet") {
			t.Errorf("an empty mailbox:\n%s", page)
		}
		plain := evilMail()
		plain.Subject, plain.HTML, plain.Kind = "Your links", "", vend.MailLinks
		sendTo(t, mb, plain)
		sendTo(t, mb, evilMail())

		list := e.mustAdminGet(cookie, "/admin/mailbox")
		if !strings.Contains(list, `<a href="/admin/mailbox" aria-current="page">Mailbox</a>`) {
			t.Errorf("the menu has no current Mailbox entry:\n%s", list)
		}
		links := mailboxLink.FindAllStringSubmatch(list, -1)
		if len(links) != 2 {
			t.Fatalf("%d messages listed, want 2:\n%s", len(links), list)
		}
		for _, want := range []string{"2025-03-03 18:15:02", "very.long.address.of.a.buyer", ">receipt<", ">links<",
			`Your download &lt;script&gt;document.title=&#34;ran&#34;&lt;/script&gt;`} {
			if !strings.Contains(list, want) {
				t.Errorf("the list lacks %q", want)
			}
		}
		if strings.Index(list, "receipt") > strings.Index(list, "Your links") {
			t.Error("the list is not newest first")
		}

		a := e.adminRequest(http.MethodGet, "/admin/mailbox/"+links[0][1], cookie, nil, nil)
		if a.Status != http.StatusOK {
			t.Fatalf("message: %d\n%s", a.Status, a.Body)
		}
		for _, want := range []string{
			`<iframe sandbox="" title="The HTML part" srcdoc="&lt;h1 id=&#34;greeting&#34;&gt;Hello &lt;img src=x onerror=&#34;document.body.textContent=&#39;ran&#39;&#34;&gt;`,
			`<pre>&lt;h1 id=&#34;greeting&#34;&gt;`, // the source, as text
			`<pre>Hello &lt;b&gt;buyer&lt;/b&gt;,`,  // the plain part, as text
			`<th>Message-Id</th><td>&lt;evil@example.com&gt;</td>`,
			`<h1>Your download &lt;script&gt;`,
			`href="/admin/mailbox/` + links[0][1] + `/raw"`,
		} {
			if !strings.Contains(a.Body, want) {
				t.Errorf("the message page lacks %q", want)
			}
		}
		for _, tag := range []string{"<script", "<img", "<b>", "<h1 id"} {
			if strings.Contains(a.Body, tag) {
				t.Errorf("the message page has markup of the mail: %s", tag)
			}
		}
		if csp := a.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
			t.Errorf("CSP %q lets scripts run", csp)
		}

		plainPage := e.mustAdminGet(cookie, "/admin/mailbox/"+links[1][1])
		if strings.Contains(plainPage, "<iframe") || !strings.Contains(plainPage, "<h1>Your links</h1>") {
			t.Errorf("a plain-text message shows a frame:\n%s", plainPage)
		}

		raw := e.adminRequest(http.MethodGet, "/admin/mailbox/"+links[0][1]+"/raw", cookie, nil, nil)
		if raw.Status != http.StatusOK || raw.Header.Get("Content-Type") != "message/rfc822" ||
			!strings.HasPrefix(raw.Header.Get("Content-Disposition"), "attachment") ||
			!strings.Contains(raw.Body, "Message-ID: <evil@example.com>") {
			t.Errorf("raw: %d %v\n%s", raw.Status, raw.Header, raw.Body)
		}
	})
	t.Run("pages", func(t *testing.T) {
		t.Parallel()
		e, cookie := signedInEnv(t, withMailbox(t))
		for i := range mailboxPerPage + 2 {
			m := evilMail()
			m.Subject = fmt.Sprintf("message %03d", i)
			sendTo(t, e.Server.Mailbox, m)
		}
		first := e.mustAdminGet(cookie, "/admin/mailbox")
		older := regexp.MustCompile(`href="(/admin/mailbox\?before=[^"]+)">Older messages`).FindStringSubmatch(first)
		if n := len(mailboxLink.FindAllString(first, -1)); n != mailboxPerPage || older == nil {
			t.Fatalf("the first page lists %d messages and links older ones: %v", n, older != nil)
		}
		second := e.mustAdminGet(cookie, html.UnescapeString(older[1]))
		if n := len(mailboxLink.FindAllString(second, -1)); n != 2 || !strings.Contains(second, "message 001") ||
			!strings.Contains(second, "message 000") || strings.Contains(second, "Older messages") {
			t.Errorf("the second page lists %d messages:\n%s", n, second)
		}
		if a := e.adminRequest(http.MethodGet, "/admin/mailbox?before=x", cookie, nil, nil); a.Status != http.StatusBadRequest {
			t.Errorf("a cursor that is no message id: %d, want 400", a.Status)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		t.Parallel()
		e, cookie := signedInEnv(t, withMailbox(t))
		for _, path := range []string{"/admin/mailbox/20250303T181502.000000000Z-00000000", "/admin/mailbox/..%2Fvend.db",
			"/admin/mailbox/x/raw"} {
			if a := e.adminRequest(http.MethodGet, path, cookie, nil, nil); a.Status != http.StatusNotFound {
				t.Errorf("%s: %d, want 404", path, a.Status)
			}
		}
	})
	t.Run("off", func(t *testing.T) {
		t.Parallel()
		e, cookie := signedInEnv(t)
		if page := e.mustAdminGet(cookie, "/admin"); strings.Contains(page, "/admin/mailbox") {
			t.Error("the menu offers a mailbox that is off")
		}
		if a := e.adminRequest(http.MethodGet, "/admin/mailbox", cookie, nil, nil); a.Status != http.StatusNotFound ||
			!strings.Contains(a.Body, `smtp.url = &#34;mailbox:&#34;`) {
			t.Errorf("mailbox off: %d\n%s", a.Status, a.Body)
		}
	})
}

// TestBrowser_Mailbox opens the mailbox and a message whose subject and HTML
// part are markup in Chromium, at desktop and at phone width: the HTML part is
// rendered, none of its scripts run, and nothing scrolls sideways at 390 px.
func TestBrowser_Mailbox(t *testing.T) {
	t.Parallel()
	ctx := browser(t)
	e, _ := signedInEnv(t, withMailbox(t))
	sendTo(t, e.Server.Mailbox, evilMail())
	base := e.HTTP.URL
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }

	signInBrowser(t, ctx, base+"/admin/mailbox")
	for _, width := range []int64{1280, 390} {
		do(t, ctx, "viewport", chromedp.EmulateViewport(width, 844))
		do(t, ctx, "mailbox", chromedp.Navigate(base+"/admin/mailbox"), chromedp.WaitVisible(css("table.mailbox tbody a")))
		navigating(t, ctx, "open the message", chromedp.Click(css("table.mailbox tbody a")))
		do(t, ctx, "frame", chromedp.WaitVisible(css("iframe[sandbox]")))

		title := run(t, ctx, "title", chromedp.Evaluate[string](`document.title`))
		heading := run(t, ctx, "heading", chromedp.Text(css("main h1")))
		if title == "ran" || !strings.Contains(heading, `<script>document.title="ran"</script>`) {
			t.Errorf("at %d px the subject is not text: title %q, heading %q", width, title, heading)
		}
		// The frame's document: rendered, and untouched by its scripts and
		// handlers. Chromium runs a sandboxed frame as a target of its own.
		var inside string
		for deadline := time.Now().Add(10 * time.Second); inside == "" && time.Now().Before(deadline); time.Sleep(30 * time.Millisecond) {
			inside = frameText(ctx, "about:srcdoc")
		}
		if !strings.Contains(inside, "Hello") || !strings.Contains(inside, "Thanks.") || strings.Contains(inside, "ran") {
			t.Errorf("at %d px the HTML part reads %q: not rendered, or its script ran", width, inside)
		}
		if width == 390 {
			for _, path := range []string{"/admin/mailbox", ""} {
				if path != "" {
					do(t, ctx, "mailbox", chromedp.Navigate(base+path), chromedp.WaitVisible(css("table.mailbox")))
				}
				if w := run(t, ctx, "width", chromedp.Evaluate[int](`document.documentElement.scrollWidth`)); w > 390 {
					t.Errorf("%s is %d px wide at 390 px", run(t, ctx, "url", chromedp.Evaluate[string](`location.pathname`)), w)
				}
			}
		}
	}
}

// frameText is the body text of the first frame target at url that has one.
func frameText(ctx context.Context, url string) string {
	infos, err := chromedp.Targets(ctx)
	if err != nil {
		return ""
	}
	for _, info := range infos {
		if info.Type != "iframe" || info.URL != url {
			continue
		}
		frameCtx, cancel := chromedp.NewContext(ctx, chromedp.WithTargetID(info.TargetID), chromedp.WithDetachOnCancel())
		text, err := chromedp.Run(frameCtx, chromedp.Text(chromedp.CSS("body")))
		cancel()
		if err == nil && text != "" {
			return text
		}
	}
	return ""
}
