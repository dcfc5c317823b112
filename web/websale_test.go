package web

import (
	"bytes"
	"encoding/hex"
	"html"
	"io"
	"maps"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/delivery"
	"github.com/vend-shop/vend/provider/websale"
)

// The test shop's links (protocols.md §3.1). newTestWebsale maps wsEbook to
// EBOOK-001; withWebsaleAudio maps wsAudio to AUDIO-002.
const (
	wsOrder    = "1000123"
	wsEbook    = "1234567890"
	wsAudio    = "2000000002"
	wsEmail    = "kunde@example.de"
	wsCustomer = "K4711"
)

// wsVectorWC is vector W-C of protocols.md §3.4: the test password and
// settings, but made in 2016.
const wsVectorWC = "000102030405060708090a0b0c0d0e0fd23acdcf366fe45e84080a040d38da8780dc2a8c40e276810f1b61d5c4c9af7e872a9fec509af6cc50654fbde9ff52038f9e7e64928c1fda79c89dd0cfab0e83fd4b3b293ea085a94c95d11728542c22dac0be778cb5a5d74c469dc2569eac90bdbf2c1a11d7d70479bd6a117d2da8247d6fbfe214d46d0f449373635f3701d4"

// listPrice is the catalog price of a test product.
func listPrice(id string) vend.Amount {
	for _, p := range catalogProducts {
		if p.ID == id {
			return p.Price
		}
	}
	panic("no test product " + id)
}

// wsRoutes are the two ways a WEBSALE link reaches vend.
var wsRoutes = []string{"/", "/websale"}

// withWebsaleAudio maps a second WEBSALE product number to AUDIO-002.
func withWebsaleAudio(s *Server) {
	m := maps.Clone(websaleOf(s).Config.Products)
	m[wsAudio] = "AUDIO-002"
	websaleOf(s).Config.Products = m
}

// withoutWebsale switches WEBSALE links off.
func withoutWebsale(s *Server) { websaleOf(s).Decoder = nil }

// wsLink is the test shop's link for one product of an order, made at t.
func wsLink(t time.Time, order, product string) websale.Link {
	return websale.Link{Time: t, ShopID: "myshop", SubshopID: "1", OrderID: order, Email: wsEmail,
		CustomerNumber: wsCustomer, ProductNumber: product}
}

// wsData encrypts a link the way the test shop does: the test password, the
// settings of vector W-C and a fresh random IV.
func wsData(tb testing.TB, l websale.Link) string {
	tb.Helper()
	return wsEncrypt(tb, l.Plaintext(), websalePassword, websaleSettings)
}

func wsEncrypt(tb testing.TB, plaintext, password string, s websale.Settings) string {
	tb.Helper()
	data, err := websale.Encrypt(plaintext, s, password, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

// routeName names a route for a subtest, where '/' would nest.
func routeName(route string) string {
	if route == "/" {
		return "the root"
	}
	return "the websale path"
}

func wsPath(route, data string) string { return route + "?dldata=" + data }

func wsRef(order string) string { return "myshop/1/" + order }

// wsWrongKey is the answer to a link encrypted under another password, from a
// vend of its own, so that getting it spends nothing of the caller's vend. It
// is what every refusal must look like, byte for byte.
func wsWrongKey(t *testing.T) answer {
	t.Helper()
	e := newTestEnv(t)
	data := wsEncrypt(t, wsLink(e.Clock.Now(), wsOrder, wsEbook).Plaintext(), "another-password-websale-0123456", websaleSettings)
	a := e.Get(wsPath("/", data))
	if a.Status != http.StatusNotFound || !strings.Contains(a.Body, html.EscapeString(websale.PublicMessage)) ||
		!strings.HasPrefix(a.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("a link under another password: %d %s\n%s, want 404 and the public message", a.Status, a.Header.Get("Content-Type"), a.Body)
	}
	return a
}

// checkRefusal fails unless got is the refusal page want, byte for byte.
func checkRefusal(t *testing.T, what string, got, want answer) {
	t.Helper()
	if got.Status != want.Status || got.Body != want.Body || got.Header.Get("Location") != "" {
		t.Errorf("%s: %d (Location %q), want the refusal page, %d:\n%s", what, got.Status, got.Header.Get("Location"), want.Status, got.Body)
		return
	}
	for _, h := range headerNames(got.Header, want.Header) {
		if h != "Date" && !slices.Equal(got.Header.Values(h), want.Header.Values(h)) {
			t.Errorf("%s: header %s %q, the refusal page has %q", what, h, got.Header.Values(h), want.Header.Values(h))
		}
	}
}

// headerNames lists the names of every header in any of hs.
func headerNames(hs ...http.Header) []string {
	var names []string
	for _, h := range hs {
		for k := range h {
			if !slices.Contains(names, k) {
				names = append(names, k)
			}
		}
	}
	return names
}

// checkGranted fails unless a is the redirect to a download page, and returns its path.
func checkGranted(t *testing.T, what string, a answer) string {
	t.Helper()
	loc := a.Header.Get("Location")
	if a.Status != http.StatusSeeOther || !strings.HasPrefix(loc, "/d/") {
		t.Fatalf("%s: %d (Location %q), want 303 to a download page:\n%s", what, a.Status, loc, a.Body)
	}
	return loc
}

// useUp downloads a grant's file until its limit is reached, each download in
// a session of its own.
func useUp(t *testing.T, e *testEnv, g *vend.Grant) {
	t.Helper()
	for i := range g.DownloadLimit {
		if f := e.Get(e.FilePath(g)); f.Status != http.StatusOK {
			t.Fatalf("download %d of %d: %d", i+1, g.DownloadLimit, f.Status)
		}
		e.Flush()
		e.Clock.Add(delivery.DefaultSessionTimeout + time.Minute)
	}
	if used := e.Grant(g.ID).DownloadsUsed; used != g.DownloadLimit {
		t.Fatalf("%d downloads used, want the limit %d", used, g.DownloadLimit)
	}
}

// clientFrom is an HTTP client of the test server whose requests come from
// another loopback address, so that they count against another budget.
func clientFrom(t *testing.T, ip string) *http.Client {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	tr := &http.Transport{DialContext: d.DialContext}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func getWith(t *testing.T, c *http.Client, url string) answer {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{Status: resp.StatusCode, Header: resp.Header, Body: string(body)}
}

func TestWebsale_Link(t *testing.T) {
	t.Parallel()
	for _, route := range wsRoutes {
		t.Run("a valid link at "+routeName(route)+" grants the product and leads to its download page", func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t)
			data := wsData(t, wsLink(e.Clock.Now(), wsOrder, wsEbook))
			loc := checkGranted(t, "GET "+route, e.Get(wsPath(route, data)))

			o := e.ProviderOrder(websale.Provider, wsRef(wsOrder))
			if o == nil {
				t.Fatalf("no websale order %s", wsRef(wsOrder))
			}
			if o.Status != vend.OrderPaid || o.Currency != "USD" || o.Total != listPrice("EBOOK-001") || o.Buyer.Email != wsEmail || o.Custom != wsCustomer {
				t.Errorf("order %s %s %s, buyer %q, custom %q; want paid, %s USD (the catalog price), %s, %s",
					o.Status, o.Total, o.Currency, o.Buyer.Email, o.Custom, listPrice("EBOOK-001"), wsEmail, wsCustomer)
			}
			if len(o.Items) != 1 || o.Items[0].ProductID != "EBOOK-001" || o.Items[0].Amount != listPrice("EBOOK-001") || o.Items[0].Quantity != 1 {
				t.Errorf("items %+v, want one EBOOK-001 at the catalog price", o.Items)
			}
			g := o.grant("EBOOK-001")
			if len(o.Grants) != 1 || g == nil || g.State != vend.GrantActive {
				t.Fatalf("grants %+v, want one active grant for EBOOK-001", o.Grants)
			}
			if loc != e.PagePath(g) {
				t.Errorf("redirected to %s, want the grant's page %s", loc, e.PagePath(g))
			}
			checkDownload(t, e, o, g)

			ns := e.Notifications()
			if len(ns) != 1 {
				t.Fatalf("%d notifications, want 1", len(ns))
			}
			if n := ns[0]; n.Provider != websale.Provider || string(n.Body) != "dldata="+data || n.Verdict != vend.VerdictApplied || n.OrderID != o.ID {
				t.Errorf("notification %s %q %s order %d, want websale, the raw query, applied, order %d",
					n.Provider, n.Body, n.Verdict, n.OrderID, o.ID)
			}
		})
	}
	t.Run("upper-case hex is the same link", func(t *testing.T) {
		t.Parallel()
		e := newTestEnv(t)
		data := wsData(t, wsLink(e.Clock.Now(), wsOrder, wsEbook))
		lower := checkGranted(t, "lower case", e.Get(wsPath("/", data)))
		if upper := checkGranted(t, "upper case", e.Get(wsPath("/", strings.ToUpper(data)))); upper != lower {
			t.Errorf("upper case leads to %s, lower case to %s", upper, lower)
		}
	})
}

func TestWebsale_LaterLinks(t *testing.T) {
	t.Parallel()
	t.Run("a fresh link for the same product reaches the same grant and stores nothing", func(t *testing.T) {
		t.Parallel()
		e := newTestEnv(t)
		first := wsData(t, wsLink(e.Clock.Now(), wsOrder, wsEbook))
		page := checkGranted(t, "first link", e.Get(wsPath("/", first)))
		e.Clock.Add(24 * time.Hour)
		second := wsData(t, wsLink(e.Clock.Now(), wsOrder, wsEbook))
		if first[:32] == second[:32] || first == second {
			t.Fatalf("the second link has the first one's IV")
		}
		if again := checkGranted(t, "second link", e.Get(wsPath("/websale", second))); again != page {
			t.Errorf("second link leads to %s, the first to %s", again, page)
		}
		if ns := e.Notifications(); len(ns) != 1 {
			t.Errorf("%d notifications, want only the first link's", len(ns))
		}
		if orders := e.Orders(); len(orders) != 1 || len(orders[0].Items) != 1 || len(orders[0].Grants) != 1 {
			t.Errorf("%d orders, want one with one item and one grant", len(orders))
		}
	})

	t.Run("the download limit holds across links", func(t *testing.T) {
		t.Parallel()
		e := newTestEnv(t)
		page := checkGranted(t, "first link", e.Get(wsPath("/", wsData(t, wsLink(e.Clock.Now(), wsOrder, wsEbook)))))
		g := e.ProviderOrder(websale.Provider, wsRef(wsOrder)).grant("EBOOK-001")
		useUp(t, e, g)
		if f := e.Get(e.FilePath(g)); f.Status != http.StatusForbidden {
			t.Errorf("a download past the limit: %d, want 403", f.Status)
		}
		again := checkGranted(t, "second link", e.Get(wsPath("/", wsData(t, wsLink(e.Clock.Now(), wsOrder, wsEbook)))))
		if again != page {
			t.Fatalf("second link leads to %s, the first to %s", again, page)
		}
		p := e.Get(again)
		if !strings.Contains(p.Body, "You have used all downloads") || len(links(p.Body, "/d/")) != 0 {
			t.Errorf("the page the second link leads to does not say the downloads are used up, or links files:\n%s", p.Body)
		}
		if f := e.Get(e.FilePath(g)); f.Status != http.StatusForbidden {
			t.Errorf("a download after the second link: %d, want 403", f.Status)
		}
		if used := e.Grant(g.ID).DownloadsUsed; used != g.DownloadLimit {
			t.Errorf("%d downloads used, want %d", used, g.DownloadLimit)
		}
	})

	t.Run("the shop's fresh link works after the e-mail's link expired", func(t *testing.T) {
		t.Parallel()
		want := wsWrongKey(t)
		e := newTestEnv(t)
		old := wsPath("/", wsData(t, wsLink(e.Clock.Now(), wsOrder, wsEbook)))
		page := checkGranted(t, "the e-mail's link", e.Get(old))
		e.Clock.Add(websaleOf(e.Server).Config.MaxAge + time.Hour)
		checkRefusal(t, "the e-mail's link after max_age", e.Get(old), want)
		fresh := checkGranted(t, "the order history's link", e.Get(wsPath("/", wsData(t, wsLink(e.Clock.Now(), wsOrder, wsEbook)))))
		if fresh != page {
			t.Errorf("fresh link leads to %s, the old one led to %s", fresh, page)
		}
		o := e.ProviderOrder(websale.Provider, wsRef(wsOrder))
		checkDownload(t, e, o, o.grant("EBOOK-001"))
	})

	t.Run("an expired link redated through its IV reaches the same used-up grant", func(t *testing.T) {
		// cbc-ivprefix lets whoever holds a link rewrite its first block, the
		// timestamp, without the key (package websale's documentation). The
		// grant's counter, not the link's date, bounds what that gains.
		t.Parallel()
		want := wsWrongKey(t)
		e := newTestEnv(t)
		page := checkGranted(t, "current link", e.Get(wsPath("/", wsData(t, wsLink(e.Clock.Now(), wsOrder, wsEbook)))))
		g := e.ProviderOrder(websale.Provider, wsRef(wsOrder)).grant("EBOOK-001")
		useUp(t, e, g)

		made, now := e.Clock.Now().Add(-40*24*time.Hour), e.Clock.Now()
		old := wsData(t, wsLink(made, wsOrder, wsEbook))
		checkRefusal(t, "a link made 40 days ago", e.Get(wsPath("/", old)), want)
		redated := redate(t, old, made, now)
		if got := checkGranted(t, "the redated link", e.Get(wsPath("/", redated))); got != page {
			t.Errorf("the redated link leads to %s, the grant's page is %s", got, page)
		}
		if f := e.Get(e.FilePath(g)); f.Status != http.StatusForbidden {
			t.Errorf("a download after the redated link: %d, want 403", f.Status)
		}
		if ns := e.Notifications(); len(ns) != 1 {
			t.Errorf("%d notifications, want only the first link's", len(ns))
		}
	})
}

// redate changes the timestamp of a cbc-ivprefix link from made to now by
// editing the IV, which XORs into the first plaintext block "<1>ddddddddddd</1".
func redate(t *testing.T, data string, made, now time.Time) string {
	t.Helper()
	b, err := hex.DecodeString(data)
	if err != nil {
		t.Fatal(err)
	}
	from, to := strconv.FormatInt(made.Unix(), 10), strconv.FormatInt(now.Unix(), 10)
	if len(from) != len(to) {
		t.Fatalf("timestamps %s and %s differ in length", from, to)
	}
	for i := range len(from) {
		b[len("<1>")+i] ^= from[i] ^ to[i]
	}
	return hex.EncodeToString(b)
}

func TestWebsale_SecondProduct(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, withWebsaleAudio)
	ebookPage := checkGranted(t, "e-book link", e.Get(wsPath("/", wsData(t, wsLink(e.Clock.Now(), wsOrder, wsEbook)))))
	audioPage := checkGranted(t, "audio link", e.Get(wsPath("/websale", wsData(t, wsLink(e.Clock.Now(), wsOrder, wsAudio)))))
	if ebookPage == audioPage {
		t.Fatalf("both products lead to %s", ebookPage)
	}
	orders := e.Orders()
	if len(orders) != 1 {
		t.Fatalf("%d orders, want the one order %s", len(orders), wsRef(wsOrder))
	}
	o := orders[0]
	if o.Ref != wsRef(wsOrder) || o.Status != vend.OrderPaid || o.Total != listPrice("EBOOK-001")+listPrice("AUDIO-002") || len(o.Items) != 2 || len(o.Grants) != 2 {
		t.Fatalf("order %s %s total %s with %d items and %d grants; want %s paid at the two catalog prices with 2 and 2",
			o.Ref, o.Status, o.Total, len(o.Items), len(o.Grants), wsRef(wsOrder))
	}
	for _, it := range o.Items {
		if price := listPrice(it.ProductID); it.Amount != price {
			t.Errorf("item %s at %s, want the catalog price %s", it.ProductID, it.Amount, price)
		}
	}
	for product, page := range map[string]string{"EBOOK-001": ebookPage, "AUDIO-002": audioPage} {
		g := o.grant(product)
		if g == nil || e.PagePath(g) != page {
			t.Fatalf("grant of %s: %+v, want the one behind %s", product, g, page)
		}
		checkDownload(t, e, o, g)
	}
	if again := checkGranted(t, "audio link again", e.Get(wsPath("/", wsData(t, wsLink(e.Clock.Now(), wsOrder, wsAudio))))); again != audioPage {
		t.Errorf("a fresh audio link leads to %s, want %s", again, audioPage)
	}
	checkVerdictCounts(t, e, map[vend.Verdict]int{vend.VerdictApplied: 2})
}

func TestWebsale_ConcurrentClicks(t *testing.T) {
	t.Parallel()
	// A buyer who clicks the e-mail's link again and again before the first
	// page loads: every click lands on the one grant. (As many clicks at once
	// as one address's budget of refused links: each link holds one of it until
	// it has decoded.)
	e := newTestEnv(t, liftAddrBudget)
	path := e.HTTP.URL + wsPath("/", wsData(t, wsLink(e.Clock.Now(), wsOrder, wsEbook)))
	const clicks = linkFailureBurst
	pages := make([]answer, clicks)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range pages {
		wg.Go(func() {
			<-start
			resp, err := e.client.Get(path)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			pages[i] = answer{Status: resp.StatusCode, Header: resp.Header}
		})
	}
	close(start)
	wg.Wait()
	o := e.ProviderOrder(websale.Provider, wsRef(wsOrder))
	if o == nil || len(e.Orders()) != 1 || len(o.Items) != 1 || len(o.Grants) != 1 {
		t.Fatalf("%d orders, want one with one item and one grant", len(e.Orders()))
	}
	for i, a := range pages {
		if got := checkGranted(t, "click "+strconv.Itoa(i+1), a); got != e.PagePath(o.Grants[0]) {
			t.Errorf("click %d leads to %s, want the grant's page %s", i+1, got, e.PagePath(o.Grants[0]))
		}
	}
	verdicts := map[vend.Verdict]int{}
	for _, v := range e.Verdicts() {
		verdicts[v]++
	}
	if verdicts[vend.VerdictApplied] != 1 || len(verdicts) > 2 || len(verdicts) == 2 && verdicts[vend.VerdictDuplicate] == 0 {
		t.Errorf("verdicts %v, want one applied and otherwise only duplicates", verdicts)
	}
}

func TestWebsale_LinkTime(t *testing.T) {
	t.Parallel()
	want := wsWrongKey(t)
	e := newTestEnv(t)
	maxAge := websaleOf(e.Server).Config.MaxAge
	tests := []struct {
		name string
		made time.Duration // relative to now
		ok   bool
	}{
		{"made now", 0, true},
		{"made exactly max_age ago", -maxAge, true},
		{"made a second more than max_age ago", -maxAge - time.Second, false},
		{"made the allowed clock skew ahead", websale.DefaultFutureSkew, true},
		{"made a second more than the allowed skew ahead", websale.DefaultFutureSkew + time.Second, false},
		{"made a day ahead", 24 * time.Hour, false},
	}
	for i, tt := range tests {
		order := strconv.Itoa(2000 + i)
		a := e.Get(wsPath("/", wsData(t, wsLink(e.Clock.Now().Add(tt.made), order, wsEbook))))
		if tt.ok {
			checkGranted(t, tt.name, a)
			continue
		}
		checkRefusal(t, tt.name, a, want)
		if o := e.ProviderOrder(websale.Provider, wsRef(order)); o != nil {
			t.Errorf("%s: order %s created", tt.name, o.Ref)
		}
	}
}

func TestWebsale_RefusalsLookAlike(t *testing.T) {
	t.Parallel()
	// Whatever is wrong, the buyer gets the status and page of a link under a
	// wrong key: telling a bad padding from a bad grammar (or a wrong shop)
	// would be an oracle. Before each request the test clock moves on by what
	// refills one refused link, so the address's budget never runs out: each
	// refusal here is the decoder's or the checks', not the budget's.
	want := wsWrongKey(t)

	t.Run("every kind of bad link", func(t *testing.T) {
		t.Parallel()
		e := newTestEnv(t)
		link := func(edit func(*websale.Link)) func(now time.Time) string {
			return func(now time.Time) string {
				l := wsLink(now, wsOrder, wsEbook)
				edit(&l)
				return wsData(t, l)
			}
		}
		settings := func(password string, s websale.Settings) func(now time.Time) string {
			return func(now time.Time) string {
				return wsEncrypt(t, wsLink(now, wsOrder, wsEbook).Plaintext(), password, s)
			}
		}
		valid := func(now time.Time) string { return wsData(t, wsLink(now, wsOrder, wsEbook)) }
		tests := []struct {
			name   string
			dldata func(now time.Time) string
		}{
			{"another password", settings("another-password-websale-0123456", websaleSettings)},
			{"key derivation sha256hex32 (vector W-D's)", settings(websalePassword,
				websale.Settings{KDF: websale.KDFSHA256Hex32, Mode: websale.ModeCBCIVPrefix, Padding: websale.PaddingPKCS7})},
			{"mode ecb with the raw password (vector W-A's)", settings(websalePassword,
				websale.Settings{KDF: websale.KDFRaw, Mode: websale.ModeECB, Padding: websale.PaddingPKCS7})},
			{"zero padding", settings(websalePassword,
				websale.Settings{KDF: websale.KDFSHA256, Mode: websale.ModeCBCIVPrefix, Padding: websale.PaddingZero})},
			{"not hex", func(now time.Time) string { return "zz" + valid(now)[2:] }},
			{"an odd number of hex digits", func(now time.Time) string { d := valid(now); return d[:len(d)-1] }},
			{"longer than websale.MaxDataLen", func(time.Time) string { return strings.Repeat("00", websale.MaxDataLen/2+1) }},
			{"the IV alone", func(now time.Time) string { return valid(now)[:32] }},
			{"the last block cut off", func(now time.Time) string { d := valid(now); return d[:len(d)-32] }},
			{"a block appended", func(now time.Time) string { d := valid(now); return d + d[32:64] }},
			{"half a block cut off", func(now time.Time) string { d := valid(now); return d[:len(d)-16] }},
			{"a plaintext that is not a link", func(time.Time) string { return wsEncrypt(t, "hello world", websalePassword, websaleSettings) }},
			{"no e-mail address in <5>", link(func(l *websale.Link) { l.Email = "kunde" })},
			{"another shop", link(func(l *websale.Link) { l.ShopID = "othershop" })},
			{"another subshop", link(func(l *websale.Link) { l.SubshopID = "2" })},
			{"expired: made max_age and a day ago", link(func(l *websale.Link) { l.Time = l.Time.Add(-31 * 24 * time.Hour) })},
			{"from the future: made an hour ahead", link(func(l *websale.Link) { l.Time = l.Time.Add(time.Hour) })},
			{"an unknown product number", link(func(l *websale.Link) { l.ProductNumber = "9999999999" })},
			{"protocols.md vector W-C: right key and settings, made in 2016", func(time.Time) string { return wsVectorWC }},
		}
		for _, tt := range tests {
			for _, route := range wsRoutes {
				e.Clock.Add(linkFailureEvery)
				checkRefusal(t, tt.name+" on "+route, e.Get(wsPath(route, tt.dldata(e.Clock.Now()))), want)
			}
		}
		for _, path := range []string{"/?dldata=", "/websale", "/websale?dldata=", "/websale?data=" + valid(e.Clock.Now())} {
			e.Clock.Add(linkFailureEvery)
			checkRefusal(t, "GET "+path, e.Get(path), want)
		}
		if orders := e.Orders(); len(orders) != 0 {
			t.Errorf("refused links created %d orders, e.g. %s", len(orders), orders[0].Ref)
		}
		for _, n := range e.Notifications() {
			if n.Verdict != vend.VerdictRejected {
				t.Errorf("a refused link left a notification with verdict %s: %s", n.Verdict, n.Body)
			}
		}
		// The same vend, same address, takes a good link.
		checkGranted(t, "a valid link after the refusals", e.Get(wsPath("/", valid(e.Clock.Now()))))
	})

	t.Run("every bit flip after the IV", func(t *testing.T) {
		// In cbc-ivprefix only the IV is malleable without garbling a block;
		// a flip anywhere after it must be refused, and look like the rest.
		t.Parallel()
		e := newTestEnv(t)
		data := wsData(t, wsLink(e.Clock.Now(), wsOrder, wsEbook))
		ct, err := hex.DecodeString(data)
		if err != nil {
			t.Fatal(err)
		}
		for i := 16; i < len(ct); i++ {
			for bit := range 8 {
				flipped := bytes.Clone(ct)
				flipped[i] ^= 1 << bit
				e.Clock.Add(linkFailureEvery)
				route := wsRoutes[(i*8+bit)%len(wsRoutes)]
				checkRefusal(t, "byte "+strconv.Itoa(i)+" bit "+strconv.Itoa(bit)+" flipped, on "+route,
					e.Get(wsPath(route, hex.EncodeToString(flipped))), want)
				if t.Failed() {
					t.FailNow()
				}
			}
		}
		if orders := e.Orders(); len(orders) != 0 {
			t.Fatalf("flipped links created %d orders", len(orders))
		}
		// The unflipped link is still good at the clock the flips ended at.
		checkGranted(t, "the link itself", e.Get(wsPath("/", data)))
	})
}

func TestWebsale_RefusedLinkBudget(t *testing.T) {
	t.Parallel()
	want := wsWrongKey(t)
	e := newTestEnv(t)
	bad := func() string {
		return wsPath("/", wsEncrypt(t, wsLink(e.Clock.Now(), wsOrder, wsEbook).Plaintext(), "another-password-websale-0123456", websaleSettings))
	}
	good := wsPath("/", wsData(t, wsLink(e.Clock.Now(), wsOrder, wsEbook)))

	var page string
	for range 5 { // valid links spend nothing
		page = checkGranted(t, "valid link", e.Get(good))
	}
	for i := range linkFailureBurst - 1 {
		checkRefusal(t, "refused link "+strconv.Itoa(i+1), e.Get(bad()), want)
	}
	checkGranted(t, "valid link after nine refusals", e.Get(good))
	checkRefusal(t, "the tenth refused link", e.Get(bad()), want)
	checkRefusal(t, "valid link after ten refusals", e.Get(good), want)
	newOrder := wsPath("/", wsData(t, wsLink(e.Clock.Now(), "1000999", wsEbook)))
	checkRefusal(t, "valid link of a new order after ten refusals", e.Get(newOrder), want)
	if o := e.ProviderOrder(websale.Provider, wsRef("1000999")); o != nil {
		t.Errorf("the refused link created order %s", o.Ref)
	}

	other := clientFrom(t, "127.0.0.2")
	if got := checkGranted(t, "valid link from another address", getWith(t, other, e.HTTP.URL+good)); got != page {
		t.Errorf("from another address the link leads to %s, want %s", got, page)
	}
	checkGranted(t, "new order's link from another address", getWith(t, other, e.HTTP.URL+newOrder))

	e.Clock.Add(linkFailureEvery - time.Second)
	checkRefusal(t, "valid link a second before the budget grows", e.Get(good), want)
	e.Clock.Add(time.Second)
	checkGranted(t, "valid link once the budget has grown by one", e.Get(good))
	checkRefusal(t, "the one refusal the budget grew by", e.Get(bad()), want)
	checkRefusal(t, "valid link after that refusal", e.Get(good), want)

	e.Clock.Add(linkFailureBurst * linkFailureEvery)
	checkGranted(t, "valid link once the budget is full again", e.Get(good))
}

func TestWebsale_LinksOff(t *testing.T) {
	t.Parallel()
	want := wsWrongKey(t)
	const home = "This server delivers digital downloads."
	tests := []struct {
		name string
		opts []envOption
		path func(data string) string
		home bool // the home page, else the refusal page
	}{
		{name: "links off: a valid link at the root gets the refusal page", opts: []envOption{withoutWebsale},
			path: func(data string) string { return wsPath("/", data) }},
		{name: "links off: a valid link at the websale path gets the refusal page", opts: []envOption{withoutWebsale},
			path: func(data string) string { return wsPath("/websale", data) }},
		{name: "links off: the root without dldata is the home page", opts: []envOption{withoutWebsale},
			path: func(string) string { return "/" }, home: true},
		{name: "links on: the root without dldata is the home page",
			path: func(string) string { return "/" }, home: true},
		{name: "links on: the root with another parameter is the home page",
			path: func(data string) string { return "/?data=" + data }, home: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t, tt.opts...)
			got := e.Get(tt.path(wsData(t, wsLink(e.Clock.Now(), wsOrder, wsEbook))))
			if tt.home {
				if got.Status != http.StatusOK || !strings.Contains(got.Body, home) || strings.Contains(got.Body, html.EscapeString(websale.PublicMessage)) {
					t.Errorf("%d, want the home page:\n%s", got.Status, got.Body)
				}
			} else {
				checkRefusal(t, "GET", got, want)
			}
			if orders := e.Orders(); len(orders) != 0 {
				t.Errorf("%d orders, want none", len(orders))
			}
			if ns := e.Notifications(); len(ns) != 0 {
				t.Errorf("%d notifications, want none", len(ns))
			}
		})
	}
}

func TestWebsale_RefusedLinkBudgetUnderConcurrency(t *testing.T) {
	t.Parallel()
	// The budget bounds tries also when they come at once, with the default
	// per-address limits. Links for product numbers the catalog does not have
	// get as far as the ledger, which stores each one (verdict rejected), so
	// the stored notifications count the tries that got past the budget.
	const burst = 50
	tests := []struct {
		name  string
		spend int // refused links sent one by one first
		after time.Duration
		want  int // tries the budget has left for the burst
	}{
		{name: "from a full budget", want: linkFailureBurst},
		{name: "from a spent budget, one period later", spend: linkFailureBurst, after: linkFailureEvery, want: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name+": at most the budget's tries of 50 simultaneous refused links", func(t *testing.T) {
			t.Parallel()
			want := wsWrongKey(t)
			e := newTestEnv(t)
			for range tt.spend {
				bad := wsEncrypt(t, wsLink(e.Clock.Now(), wsOrder, wsEbook).Plaintext(), "another-password-websale-0123456", websaleSettings)
				checkRefusal(t, "refused link", e.Get(wsPath("/", bad)), want)
			}
			e.Clock.Add(tt.after)
			paths := make([]string, burst)
			for i := range paths {
				paths[i] = e.HTTP.URL + wsPath("/", wsData(t, wsLink(e.Clock.Now(), wsOrder, strconv.Itoa(9000000000+i))))
			}
			start := make(chan struct{})
			var wg sync.WaitGroup
			for _, path := range paths {
				wg.Go(func() {
					<-start
					resp, err := e.client.Get(path)
					if err != nil {
						t.Error(err)
						return
					}
					resp.Body.Close()
					if resp.StatusCode != want.Status {
						t.Errorf("a link for an unknown product: %d, want %d", resp.StatusCode, want.Status)
					}
				})
			}
			close(start)
			wg.Wait()
			if n := len(e.Notifications()); n > tt.want {
				t.Errorf("%d of %d simultaneous refused links got past a budget of %d", n, burst, tt.want)
			}
		})
	}
}

// TestWebsale_German: a WEBSALE link carries no language, and WEBSALE shops
// sell in German (websale.language): the buyer's mail is German, and so is
// the download page, whatever language the browser asks for.
func TestWebsale_German(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, withMail, func(s *Server) { websaleOf(s).Config.Language = "" }) // the default
	loc := checkGranted(t, "link", e.Get(wsPath("/websale", wsData(t, wsLink(e.Clock.Now(), wsOrder, wsEbook)))))
	mails := e.mails()
	if len(mails) == 0 || mails[0].Language != "de" {
		t.Errorf("the receipt of a WEBSALE order: %+v, want German", mails)
	}
	page := e.Get(loc)
	if !strings.Contains(page.Body, "herunterladen") {
		t.Errorf("the download page of a WEBSALE order is not German:\n%s", page.Body)
	}
}
