package web

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/vend-shop/vend"
)

// TestBrowser_AdminActions presses the admin's one-click actions in Chromium,
// at a phone's width and at a desktop's: the dashboard's switch that counts
// test orders, "Grant anyway" and "Dismiss" on refused payments, and a revoke
// that asks first. Each action ends on a page that says what it did.
func TestBrowser_AdminActions(t *testing.T) {
	t.Parallel()
	ctx := browser(t)
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	text := func(what, sel string) string {
		t.Helper()
		return run(t, ctx, what, chromedp.Evaluate[string](fmt.Sprintf(`(document.querySelector(%q) || {}).innerText || ""`, sel)))
	}
	for _, width := range []int64{phoneWidth, 1280} {
		// The sample payments are sandbox ones: test orders. Two genuine
		// payments below the price are refused, and wait on the dashboard.
		e, _ := adminEnv(t)
		e.MustPostIPN(edit(simBody(ebookSim("Completed", "LOWPRICE000000001")), "mc_gross", "1.95"))
		granted := e.LastNotification()
		e.MustPostIPN(edit(simBody(ebookSim("Completed", "LOWPRICE000000002")), "mc_gross", "1.95"))
		dismissed := e.LastNotification()
		base := e.HTTP.URL

		do(t, ctx, "resize", chromedp.EmulateViewport(width, 900))
		signInBrowser(t, ctx, base+"/admin")

		// Test orders are left out until the switch counts them.
		today := "main .cards .card"
		if got := text("today", today); !strings.Contains(got, "0 sales") {
			t.Errorf("%d px: today without test orders says %q, want 0 sales", width, got)
		}
		navigating(t, ctx, "count test orders", chromedp.Click(css(`a[href="/admin?test=1"]`)))
		if got := text("today", today); !strings.Contains(got, "2 sales · 39.90 USD") {
			t.Errorf("%d px: today with test orders says %q, want the 2 sandbox sales and their revenue", width, got)
		}

		// Grant anyway: the new-order form comes filled from the message.
		navigating(t, ctx, "grant anyway",
			chromedp.Click(css(fmt.Sprintf(`a[href="/admin/orders/new?notification=%d"]`, granted.ID))))
		email := run(t, ctx, "email", chromedp.Evaluate[string](`document.querySelector("#email").value`))
		checked := run(t, ctx, "checked", chromedp.Evaluate[bool](`document.querySelector('input[name=product][value="EBOOK-001"]').checked`))
		if email != "sim@example.com" || !checked {
			t.Errorf("%d px: the form is filled with %q, e-book checked %v", width, email, checked)
		}
		navigating(t, ctx, "create the order", chromedp.Submit(css("#email")))
		if got := text("flash", "main p[role=status]"); got != flashes["order"] {
			t.Errorf("%d px: after granting, the page says %q", width, got)
		}
		heading := text("heading", "h1")
		orderID, _ := strconv.ParseInt(strings.TrimPrefix(heading, "Order "), 10, 64)
		if n := e.Notification(granted.ID); orderID == 0 || n.OrderID != orderID {
			t.Errorf("%d px: the refused message belongs to order %d, the new order is %q", width, n.OrderID, heading)
		}

		// Dismiss the other: the dashboard no longer lists refused messages.
		do(t, ctx, "dashboard", chromedp.Navigate(base+"/admin"), chromedp.WaitReady(css("main")))
		navigating(t, ctx, "dismiss",
			chromedp.Click(css(fmt.Sprintf(`form[action="/admin/notifications/%d/dismiss"] button`, dismissed.ID))))
		if n := e.Notification(dismissed.ID); !n.Dismissed {
			t.Errorf("%d px: the message is not dismissed", width)
		}
		do(t, ctx, "dashboard", chromedp.Navigate(base+"/admin"), chromedp.WaitReady(css("main")))
		if got := text("dashboard", "main"); strings.Contains(got, "Refused messages to look at") {
			t.Errorf("%d px: the dashboard still lists refused messages:\n%s", width, got)
		}

		// Revoke asks first: unticked, the browser does not send the form.
		g := e.Order("EVIL0000000000001").grant("EBOOK-001")
		do(t, ctx, "order", chromedp.Navigate(fmt.Sprintf("%s/admin/orders/%d", base, g.OrderID)), chromedp.WaitReady(css("main")))
		revoke := fmt.Sprintf(`form[action="/admin/grants/%d/revoke"]`, g.ID)
		if ok := run(t, ctx, "validity", chromedp.Evaluate[bool](`document.querySelector('`+revoke+`').checkValidity()`)); ok {
			t.Errorf("%d px: the revoke form would go without its box ticked", width)
		}
		navigating(t, ctx, "revoke",
			chromedp.Click(css(revoke+` input[name=confirm]`)),
			chromedp.Click(css(revoke+` button`)))
		if got := text("flash", "main p[role=status]"); got != flashes["revoke"] {
			t.Errorf("%d px: after revoking, the page says %q", width, got)
		}
		if got := e.Grant(g.ID).State; got != vend.GrantRevoked {
			t.Errorf("%d px: the grant is %s after the revoke", width, got)
		}
	}
}
