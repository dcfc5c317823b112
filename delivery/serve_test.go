package delivery_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/delivery"
	"github.com/vend-shop/vend/store"
	"github.com/vend-shop/vend/store/sqlite"
)

func TestServeFile_FullDownload(t *testing.T) {
	t.Parallel()
	e := MustOpenEnv(t, delivery.Config{}, nil)
	g := e.MustCreateGrant(e.Solo, nil)

	resp := e.Get(e.URL(g, e.SoloFile), "User-Agent", "test-browser/1.0")
	e.Settle()

	if resp.Status != http.StatusOK {
		t.Fatalf("status = %d, want 200: %s", resp.Status, resp.Body)
	}
	if !bytes.Equal(resp.Body, e.BigData) {
		t.Fatalf("body: got %d bytes, not the file's %d", len(resp.Body), len(e.BigData))
	}
	for _, h := range []struct{ name, want string }{
		{"ETag", `"` + e.Big.SHA256 + `"`},
		{"Content-Type", "application/pdf"},
		{"Content-Length", strconv.Itoa(bigSize)},
		{"Accept-Ranges", "bytes"},
		{"Content-Disposition", `attachment; filename="M_ller _ Buch.pdf"; filename*=UTF-8''M%C3%BCller%20%E2%80%93%20Buch.pdf`},
		{"X-Content-Type-Options", "nosniff"},
	} {
		if got := resp.Header.Get(h.name); got != h.want {
			t.Errorf("%s = %q, want %q", h.name, got, h.want)
		}
	}
	if _, params, err := mime.ParseMediaType(resp.Header.Get("Content-Disposition")); err != nil || params["filename"] != bigName {
		t.Errorf("Content-Disposition parses to %q (%v), want %q", params["filename"], err, bigName)
	}

	attempts := e.Attempts(g)
	if len(attempts) != 1 {
		t.Fatalf("%d attempts logged, want 1", len(attempts))
	}
	a := attempts[0]
	if a.BytesSent != bigSize || a.Status != 200 || !a.Counted || a.Method != "GET" || a.UserAgent != "test-browser/1.0" ||
		a.IP != "127.0.0.1" || a.SessionID == 0 || a.FileID != e.SoloFile.ID {
		t.Errorf("attempt = %+v", a)
	}
	if got := e.Grant(g).DownloadsUsed; got != 1 {
		t.Errorf("downloads_used = %d, want 1", got)
	}
	ss := e.Sessions(g)
	if len(ss) != 1 || !ss[0].Completed || ss[0].BytesSent != bigSize || !ss[0].Charged {
		t.Errorf("sessions = %+v, want one completed and charged", ss)
	}
	if got := e.Completed(); got["solo"] != 1 || len(got) != 1 {
		t.Errorf("completed downloads = %v, want solo: 1", got)
	}
}

func TestServeFile_Resume(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		header     func(etag string) []string // of the resuming request
		wantStatus int
	}{
		{
			name:       "Range with a matching If-Range sends the rest: 206",
			header:     func(etag string) []string { return []string{"If-Range", etag} },
			wantStatus: http.StatusPartialContent,
		},
		{
			name:       "Range alone (curl -C -) sends the rest: 206",
			header:     func(string) []string { return nil },
			wantStatus: http.StatusPartialContent,
		},
		{
			name:       "Range with a mismatching If-Range sends the whole file: 200",
			header:     func(string) []string { return []string{"If-Range", `"0000"`} },
			wantStatus: http.StatusOK,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := MustOpenEnv(t, delivery.Config{}, nil)
			// Solo: its one file is the whole product, so the resumed download is
			// completed whatever the aborted transfer left in socket buffers. (With
			// Book, completion would need those buffers to cover its small file.)
			g := e.MustCreateGrant(e.Solo, nil)
			u := e.URL(g, e.SoloFile)

			first := e.Abort(u, 1<<20)
			e.Settle()
			if s := e.Sessions(g); len(s) != 1 || s[0].Completed {
				t.Fatalf("after the abort: sessions = %+v, want one open, not completed", s)
			}
			n := len(first)
			hdr := append([]string{"Range", fmt.Sprintf("bytes=%d-", n)}, tt.header(`"`+e.SoloFile.SHA256+`"`)...)
			resp := e.Get(u, hdr...)
			e.Settle()

			if resp.Status != tt.wantStatus {
				t.Fatalf("status = %d, want %d", resp.Status, tt.wantStatus)
			}
			got := resp.Body
			if tt.wantStatus == http.StatusPartialContent {
				if want := fmt.Sprintf("bytes %d-%d/%d", n, bigSize-1, bigSize); resp.Header.Get("Content-Range") != want {
					t.Errorf("Content-Range = %q, want %q", resp.Header.Get("Content-Range"), want)
				}
				got = append(first, resp.Body...)
			}
			if !bytes.Equal(got, e.BigData) {
				t.Fatalf("resumed download differs from the file (%d bytes)", len(got))
			}
			if used := e.Grant(g).DownloadsUsed; used != 1 {
				t.Errorf("downloads_used = %d, want 1", used)
			}
			ss := e.Sessions(g)
			if len(ss) != 1 || !ss[0].Completed {
				t.Errorf("sessions = %+v, want one, completed", ss)
			}
			for _, a := range e.Attempts(g) {
				if a.SessionID != ss[0].ID {
					t.Errorf("attempt %d is in session %d, want %d", a.ID, a.SessionID, ss[0].ID)
				}
			}
		})
	}
}

func TestServeFile_MultiRange(t *testing.T) {
	t.Parallel()
	e := MustOpenEnv(t, delivery.Config{}, nil)
	g := e.MustCreateGrant(e.Book, nil)

	resp := e.Get(e.URL(g, e.Big), "Range", "bytes=0-9,100-199")
	e.Settle()

	if resp.Status != http.StatusPartialContent {
		t.Fatalf("status = %d, want 206", resp.Status)
	}
	checkByteRanges(t, resp, e.BigData, "application/pdf", [][2]int{{0, 9}, {100, 199}})
	// A second multi-range request of the same client joins the session.
	e.Get(e.URL(g, e.Big), "Range", "bytes=200-299,400-499")
	e.Settle()
	if used := e.Grant(g).DownloadsUsed; used != 1 {
		t.Errorf("downloads_used = %d, want 1", used)
	}
	if ss := e.Sessions(g); len(ss) != 1 || ss[0].Completed {
		t.Errorf("sessions = %+v, want one, not completed", ss)
	}
}

// checkByteRanges checks that resp is a multipart/byteranges body of the ranges
// want (first and last byte, inclusive) of data, each part of type ctype.
func checkByteRanges(t *testing.T, resp Response, data []byte, ctype string, want [][2]int) {
	t.Helper()
	mt, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/byteranges" {
		t.Fatalf("Content-Type = %q, want multipart/byteranges", resp.Header.Get("Content-Type"))
	}
	mr := multipart.NewReader(bytes.NewReader(resp.Body), params["boundary"])
	for i := 0; ; i++ {
		part, err := mr.NextPart()
		if err == io.EOF {
			if i != len(want) {
				t.Fatalf("%d parts, want %d", i, len(want))
			}
			return
		} else if err != nil {
			t.Fatal(err)
		}
		if i >= len(want) {
			t.Fatalf("more than %d parts", len(want))
		}
		body, _ := io.ReadAll(part)
		from, to := want[i][0], want[i][1]
		if cr := part.Header.Get("Content-Range"); cr != fmt.Sprintf("bytes %d-%d/%d", from, to, len(data)) {
			t.Errorf("part %d: Content-Range = %q", i, cr)
		}
		if part.Header.Get("Content-Type") != ctype {
			t.Errorf("part %d: Content-Type = %q, want %q", i, part.Header.Get("Content-Type"), ctype)
		}
		if !bytes.Equal(body, data[from:to+1]) {
			t.Errorf("part %d: wrong bytes", i)
		}
	}
}

func TestServeFile_MultiConnection(t *testing.T) {
	t.Parallel()
	e := MustOpenEnv(t, delivery.Config{}, nil)
	g := e.MustCreateGrant(e.Solo, nil)
	u := e.URL(g, e.SoloFile)

	// A download manager (aria2c -x4): four connections, each one quarter.
	const conns = 4
	parts := make([][]byte, conns)
	statuses := make([]int, conns)
	var wg sync.WaitGroup
	for i := range conns {
		wg.Go(func() {
			from, to := i*bigSize/conns, (i+1)*bigSize/conns-1
			resp := e.Get(u, "Range", fmt.Sprintf("bytes=%d-%d", from, to))
			parts[i], statuses[i] = resp.Body, resp.Status
		})
	}
	wg.Wait()
	e.Settle()

	for i, s := range statuses {
		if s != http.StatusPartialContent {
			t.Errorf("connection %d: status %d, want 206", i, s)
		}
	}
	if !bytes.Equal(bytes.Join(parts, nil), e.BigData) {
		t.Fatal("the four parts do not make the file")
	}
	if used := e.Grant(g).DownloadsUsed; used != 1 {
		t.Errorf("downloads_used = %d, want 1", used)
	}
	ss := e.Sessions(g)
	if len(ss) != 1 || !ss[0].Completed || ss[0].BytesSent != bigSize {
		t.Errorf("sessions = %+v, want one, completed with %d bytes", ss, bigSize)
	}
	if got := e.Completed()["solo"]; got != 1 {
		t.Errorf("completed downloads of solo = %d, want 1", got)
	}
}

func TestServeFile_Parallel(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		client      func(i int) string // X-Test-Client of request i
		wantOK      int                // exactly this many 200s (-1: all)
		wantRefused int
	}{
		{
			name:   "64 parallel requests of one client on the last download charge one download",
			client: func(int) string { return "203.0.113.7" },
			wantOK: 64,
		},
		{
			name:        "64 parallel requests of 64 clients on the last download: one is served, 63 get 403",
			client:      func(i int) string { return fmt.Sprintf("203.0.113.%d", i+1) },
			wantOK:      1,
			wantRefused: 63,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := MustOpenEnv(t, delivery.Config{}, nil)
			g := e.MustCreateGrant(e.Book, func(g *vend.Grant) { g.DownloadLimit, g.DownloadsUsed = 3, 2 })
			u := e.URL(g, e.Small)

			const n = 64
			statuses := make([]int, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				wg.Go(func() {
					<-start
					resp := e.Get(u, "X-Test-Client", tt.client(i))
					statuses[i] = resp.Status
					if resp.Status == http.StatusOK && !bytes.Equal(resp.Body, e.SmallData) {
						t.Errorf("request %d: wrong bytes", i)
					}
				})
			}
			close(start)
			wg.Wait()
			e.Settle()

			ok, refused := 0, 0
			for _, s := range statuses {
				switch s {
				case http.StatusOK:
					ok++
				case http.StatusForbidden:
					refused++
				default:
					t.Errorf("unexpected status %d", s)
				}
			}
			if ok != tt.wantOK || refused != tt.wantRefused {
				t.Errorf("%d served and %d refused, want %d and %d", ok, refused, tt.wantOK, tt.wantRefused)
			}
			if used := e.Grant(g).DownloadsUsed; used != 3 {
				t.Errorf("downloads_used = %d, want 3", used)
			}
			if c := charged(e.Sessions(g)); c != 1 {
				t.Errorf("%d sessions charged, want 1", c)
			}
			if as := e.Attempts(g); len(as) != n {
				t.Errorf("%d attempts logged, want %d", len(as), n)
			}
		})
	}
}

func TestServeFile_HeadNeverCounts(t *testing.T) {
	t.Parallel()
	e := MustOpenEnv(t, delivery.Config{}, nil)
	g := e.MustCreateGrant(e.Book, func(g *vend.Grant) { g.DownloadLimit = 1 })

	for range 3 {
		resp := e.Do(http.MethodHead, e.URL(g, e.Big))
		if resp.Status != http.StatusOK || resp.Header.Get("Content-Length") != strconv.Itoa(bigSize) ||
			resp.Header.Get("ETag") != `"`+e.Big.SHA256+`"` {
			t.Fatalf("HEAD: status %d, headers %v", resp.Status, resp.Header)
		}
	}
	e.Settle()

	if used := e.Grant(g).DownloadsUsed; used != 0 {
		t.Errorf("downloads_used = %d, want 0", used)
	}
	if ss := e.Sessions(g); len(ss) != 0 {
		t.Errorf("%d sessions, want none", len(ss))
	}
	as := e.Attempts(g)
	if len(as) != 3 {
		t.Fatalf("%d attempts logged, want 3", len(as))
	}
	for _, a := range as {
		if a.Method != "HEAD" || a.BytesSent != 0 || a.Counted || a.SessionID != 0 || a.Status != 200 {
			t.Errorf("attempt = %+v, want an uncounted HEAD with 0 bytes", a)
		}
	}
	// The one download is still there.
	if resp := e.Get(e.URL(g, e.Small)); resp.Status != http.StatusOK {
		t.Errorf("GET after HEADs: status %d, want 200", resp.Status)
	}
}

// TestService_FindPage_LastDownload checks that the page keeps its files for
// the client whose session used the last download, while that session is
// open, and for nobody else.
func TestService_FindPage_LastDownload(t *testing.T) {
	t.Parallel()
	e := MustOpenEnv(t, delivery.Config{SessionTimeout: 30 * time.Minute}, nil)
	ctx := context.Background()
	g := e.MustCreateGrant(e.Book, func(g *vend.Grant) { g.DownloadLimit = 1 })
	if resp := e.Get(e.URL(g, e.Small)); resp.Status != http.StatusOK {
		t.Fatalf("GET: status %d", resp.Status)
	}
	e.Settle()
	tok := e.Service.Token(g.PublicID)
	page := func(client string) *delivery.Page {
		p, err := e.Service.FindPage(ctx, tok, client)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	p := page("127.0.0.1")
	if p.Problem != delivery.ProblemNone || p.Session == nil {
		t.Fatalf("in the session: Problem %q, session %v; want none and the session", p.Problem, p.Session)
	}
	if want := p.Session.LastSeen.Add(30 * time.Minute); !p.SessionEnds.Equal(want) {
		t.Errorf("SessionEnds = %v, want %v", p.SessionEnds, want)
	}
	if p := page("203.0.113.9"); p.Problem != delivery.ProblemUsedUp || p.Session != nil {
		t.Errorf("another client: Problem %q, session %v; want used-up and none", p.Problem, p.Session)
	}
	e.Clock.Add(31 * time.Minute)
	if p := page("127.0.0.1"); p.Problem != delivery.ProblemUsedUp || p.Session != nil {
		t.Errorf("after the session: Problem %q, session %v; want used-up and none", p.Problem, p.Session)
	}
}

func TestService_FindPage(t *testing.T) {
	t.Parallel()
	e := MustOpenEnv(t, delivery.Config{}, nil)
	ctx := context.Background()
	tests := []struct {
		name        string
		grant       func(g *vend.Grant)
		wantProblem delivery.Problem
	}{
		{name: "an active grant has no problem", grant: nil},
		{name: "a grant at its limit says so", grant: func(g *vend.Grant) { g.DownloadLimit, g.DownloadsUsed = 2, 2 }, wantProblem: delivery.ProblemUsedUp},
		{name: "an expired grant says so", grant: func(g *vend.Grant) { g.ExpiresAt = e.Clock.Now().Add(-time.Hour) }, wantProblem: delivery.ProblemExpired},
		{name: "a refunded grant says so", grant: func(g *vend.Grant) { g.State, g.Reason = vend.GrantRevoked, "refunded" }, wantProblem: delivery.ProblemRefunded},
		{name: "a reversed grant says so", grant: func(g *vend.Grant) { g.State, g.Reason = vend.GrantRevoked, "reversed" }, wantProblem: delivery.ProblemReversed},
	}
	for _, tt := range tests {
		t.Run(tt.name+", and opening the page never counts", func(t *testing.T) {
			g := e.MustCreateGrant(e.Book, tt.grant)
			before := e.Grant(g).DownloadsUsed
			for range 5 {
				p, err := e.Service.FindPage(ctx, strings.ToLower(e.Service.Token(g.PublicID)), "127.0.0.1")
				if err != nil {
					t.Fatal(err)
				}
				if p.Problem != tt.wantProblem {
					t.Fatalf("Problem = %q, want %q", p.Problem, tt.wantProblem)
				}
				if p.Product.ID != "book" || len(p.Product.Files) != 2 || p.Grant.ID != g.ID {
					t.Fatalf("page = %+v", p)
				}
			}
			e.Settle()
			if used := e.Grant(g).DownloadsUsed; used != before {
				t.Errorf("downloads_used = %d, want %d", used, before)
			}
			if n := len(e.Sessions(g)) + len(e.Attempts(g)); n != 0 {
				t.Errorf("%d sessions and attempts, want none", n)
			}
		})
	}
	t.Run("a link with a wrong MAC is not found", func(t *testing.T) {
		g := e.MustCreateGrant(e.Book, nil)
		tok := e.Service.Token(g.PublicID)
		_, err := e.Service.FindPage(ctx, tok[:len(tok)-1]+flip(tok[len(tok)-1]), "127.0.0.1")
		if vend.ErrorCode(err) != vend.ENOTFOUND {
			t.Errorf("err = %v, want not found", err)
		}
	})
}

func TestServeFile_Limits(t *testing.T) {
	t.Parallel()
	t.Run("a grant at its limit refuses a new session with 403 but its open session can resume", func(t *testing.T) {
		e := MustOpenEnv(t, delivery.Config{}, nil)
		g := e.MustCreateGrant(e.Book, func(g *vend.Grant) { g.DownloadLimit = 1 })
		u := e.URL(g, e.Big)
		first := e.Abort(u, 1<<20)
		e.Settle()

		if resp := e.Get(u, "X-Test-Client", "198.51.100.9"); resp.Status != http.StatusForbidden {
			t.Errorf("another client: status %d, want 403", resp.Status)
		}
		if resp := e.Get(e.URL(g, e.Small)); resp.Status != http.StatusOK {
			t.Errorf("another file of the product: status %d, want 200 (the same download session)", resp.Status)
		}
		resp := e.Get(u, "Range", fmt.Sprintf("bytes=%d-", len(first)))
		if resp.Status != http.StatusPartialContent || !bytes.Equal(append(first, resp.Body...), e.BigData) {
			t.Errorf("resume: status %d, want 206 and the rest of the file", resp.Status)
		}
		e.Settle()
		if used := e.Grant(g).DownloadsUsed; used != 1 {
			t.Errorf("downloads_used = %d, want 1", used)
		}
		var refused int
		for _, a := range e.Attempts(g) {
			if a.Status == http.StatusForbidden && a.Refused != "" && a.BytesSent == 0 && !a.Counted {
				refused++
			}
		}
		if refused != 1 {
			t.Errorf("%d refused attempts logged, want 1", refused)
		}
	})

	tests := []struct {
		name   string
		grant  func(g *vend.Grant, now time.Time)
		status int
	}{
		{
			name:   "an expired grant gets 410",
			grant:  func(g *vend.Grant, now time.Time) { g.ExpiresAt = now.Add(-time.Second) },
			status: http.StatusGone,
		},
		{
			name:   "a grant expiring exactly now gets 410",
			grant:  func(g *vend.Grant, now time.Time) { g.ExpiresAt = now },
			status: http.StatusGone,
		},
		{
			name:   "a grant expiring in a minute is served",
			grant:  func(g *vend.Grant, now time.Time) { g.ExpiresAt = now.Add(time.Minute) },
			status: http.StatusOK,
		},
		{
			name:   "a revoked grant gets 410",
			grant:  func(g *vend.Grant, now time.Time) { g.State, g.Reason = vend.GrantRevoked, "refunded" },
			status: http.StatusGone,
		},
		{
			name:   "an unlimited grant is served however much it was used",
			grant:  func(g *vend.Grant, now time.Time) { g.DownloadLimit, g.DownloadsUsed = vend.Unlimited, 1000 },
			status: http.StatusOK,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := MustOpenEnv(t, delivery.Config{}, nil)
			g := e.MustCreateGrant(e.Book, func(g *vend.Grant) { tt.grant(g, e.Clock.Now()) })
			before := e.Grant(g).DownloadsUsed
			resp := e.Get(e.URL(g, e.Small))
			e.Settle()
			if resp.Status != tt.status {
				t.Fatalf("status = %d, want %d", resp.Status, tt.status)
			}
			wantUsed := before
			if tt.status == http.StatusOK {
				wantUsed++
			} else if len(e.Sessions(g)) != 0 || bytes.Contains(resp.Body, e.SmallData[:64]) {
				t.Errorf("refused, yet a session was opened or bytes went out")
			}
			if used := e.Grant(g).DownloadsUsed; used != wantUsed {
				t.Errorf("downloads_used = %d, want %d", used, wantUsed)
			}
		})
	}

	t.Run("the clock moving past the expiry ends a download in progress with 410", func(t *testing.T) {
		e := MustOpenEnv(t, delivery.Config{}, nil)
		g := e.MustCreateGrant(e.Book, func(g *vend.Grant) { g.ExpiresAt = e.Clock.Now().Add(time.Hour) })
		u := e.URL(g, e.Big)
		if resp := e.Get(u, "Range", "bytes=0-99"); resp.Status != http.StatusPartialContent {
			t.Fatalf("before expiry: status %d, want 206", resp.Status)
		}
		e.Clock.Add(time.Hour)
		if resp := e.Get(u, "Range", "bytes=100-"); resp.Status != http.StatusGone {
			t.Fatalf("after expiry: status %d, want 410", resp.Status)
		}
	})

	t.Run("revoking a grant ends a download in progress with 410 on its next request", func(t *testing.T) {
		e := MustOpenEnv(t, delivery.Config{}, nil)
		g := e.MustCreateGrant(e.Book, nil)
		u := e.URL(g, e.Big)
		if resp := e.Get(u, "Range", "bytes=0-1048575"); resp.Status != http.StatusPartialContent {
			t.Fatalf("first range: status %d, want 206", resp.Status)
		}
		e.UpdateGrant(g, func(g *vend.Grant) { g.State, g.Reason = vend.GrantRevoked, "refunded" })
		resp := e.Get(u, "Range", "bytes=1048576-")
		if resp.Status != http.StatusGone || bytes.Contains(resp.Body, e.BigData[1048576:1048576+64]) {
			t.Fatalf("after revoke: status %d, want 410 and no file bytes", resp.Status)
		}
		if resp := e.Do(http.MethodHead, u); resp.Status != http.StatusGone {
			t.Errorf("HEAD after revoke: status %d, want 410", resp.Status)
		}
	})

	t.Run("the download log's writes leave an admission cached: the next request reads nothing, and a revocation still ends the download", func(t *testing.T) {
		var db *admissionReads
		e := MustOpenEnvWith(t, delivery.Config{}, nil, EnvOptions{DB: func(tb testing.TB, now func() time.Time) store.DB {
			db = &admissionReads{DB: mustOpenSQLite(tb, now).(*sqlite.DB)}
			return db
		}})
		g := e.MustCreateGrant(e.Book, nil)
		u := e.URL(g, e.Big)
		for _, r := range []string{"bytes=0-99", "bytes=100-199"} { // opens the session, then reads and caches it
			if resp := e.Get(u, "Range", r); resp.Status != http.StatusPartialContent {
				t.Fatalf("%s: status %d, want 206", r, resp.Status)
			}
		}
		e.Settle() // the download log of both, written
		reads := db.n.Load()
		if resp := e.Get(u, "Range", "bytes=200-299"); resp.Status != http.StatusPartialContent {
			t.Fatalf("third range: status %d, want 206", resp.Status)
		}
		if n := db.n.Load() - reads; n != 0 {
			t.Errorf("the third request read its admission %d times, want 0: the download log's write emptied the cache", n)
		}
		e.Settle()
		if n := len(e.Attempts(g)); n != 3 {
			t.Errorf("%d attempts logged, want 3", n)
		}
		e.UpdateGrant(g, func(g *vend.Grant) { g.State, g.Reason = vend.GrantRevoked, "refunded" })
		if resp := e.Get(u, "Range", "bytes=300-"); resp.Status != http.StatusGone {
			t.Fatalf("after revoke: status %d, want 410", resp.Status)
		}
	})
}

func TestServeFile_Tokens(t *testing.T) {
	t.Parallel()
	e := MustOpenEnv(t, delivery.Config{}, nil)
	g := e.MustCreateGrant(e.Book, func(g *vend.Grant) { g.DownloadLimit = 1 })
	tok := e.Service.Token(g.PublicID)
	otherGrant := e.MustCreateGrant(e.Other, nil)

	tests := []struct {
		name   string
		url    string
		status int
	}{
		{name: "a token with its last character changed is not found", url: e.TokenURL(tok[:len(tok)-1]+flip(tok[len(tok)-1]), e.Small), status: 404},
		{name: "a token with its first character changed is not found", url: e.TokenURL(flip(tok[0])+tok[1:], e.Small), status: 404},
		{name: "a token with a character of its MAC changed is not found", url: e.TokenURL(tok[:30]+flip(tok[30])+tok[31:], e.Small), status: 404},
		{name: "a truncated token is not found", url: e.TokenURL(tok[:len(tok)-1], e.Small), status: 404},
		{name: "the public id alone is not found", url: e.TokenURL(g.PublicID, e.Small), status: 404},
		{name: "an empty-looking token is not found", url: e.TokenURL("x", e.Small), status: 404},
		{name: "a token made with another secret is not found", url: e.TokenURL(delivery.Token([]byte("other"), g.PublicID), e.Small), status: 404},
		{name: "a valid token for a file of another product is not found", url: e.TokenURL(tok, e.OtherFile), status: 404},
		{name: "another grant's valid token does not reach this product's file", url: e.TokenURL(e.Service.Token(otherGrant.PublicID), e.Small), status: 404},
		{name: "a file id that does not exist is not found", url: e.TokenURL(tok, &vend.File{ID: 99999, Name: "x"}), status: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name+", and nothing is charged", func(t *testing.T) {
			resp := e.Get(tt.url)
			e.Settle()
			if resp.Status != tt.status {
				t.Errorf("status = %d, want %d", resp.Status, tt.status)
			}
			if bytes.Contains(resp.Body, e.SmallData[:64]) {
				t.Errorf("file bytes in a refusal")
			}
			for _, gg := range []*vend.Grant{g, otherGrant} {
				if used := e.Grant(gg).DownloadsUsed; used != 0 {
					t.Errorf("grant %d: downloads_used = %d, want 0", gg.ID, used)
				}
				if ss := e.Sessions(gg); len(ss) != 0 {
					t.Errorf("grant %d: %d sessions, want none", gg.ID, len(ss))
				}
			}
		})
	}
	t.Run("a lower-case token works", func(t *testing.T) {
		resp := e.Get(e.TokenURL(strings.ToLower(tok), e.Small))
		e.Settle()
		if resp.Status != http.StatusOK || !bytes.Equal(resp.Body, e.SmallData) {
			t.Fatalf("status = %d, want 200 and the file", resp.Status)
		}
		if used := e.Grant(g).DownloadsUsed; used != 1 {
			t.Errorf("downloads_used = %d, want 1", used)
		}
	})
}

// flip returns another base32 character than c.
func flip(c byte) string {
	if c == 'A' {
		return "B"
	}
	return "A"
}

func TestServeFile_AllFilesOfAProductAreOneDownload(t *testing.T) {
	t.Parallel()
	// A course of several files with a limit of one download: the buyer gets every
	// file, and that is one download, completed once all of them went out.
	e := MustOpenEnv(t, delivery.Config{}, nil)
	g := e.MustCreateGrant(e.Book, func(g *vend.Grant) { g.DownloadLimit = 1 })
	big := e.Get(e.URL(g, e.Big))
	e.Settle()
	if ss := e.Sessions(g); len(ss) != 1 || ss[0].Completed {
		t.Errorf("after one of two files: sessions %+v, want one, not completed", ss)
	}
	small := e.Get(e.URL(g, e.Small))
	e.Settle()
	if big.Status != http.StatusOK || !bytes.Equal(big.Body, e.BigData) || small.Status != http.StatusOK || !bytes.Equal(small.Body, e.SmallData) {
		t.Fatalf("statuses %d, %d; want both files", big.Status, small.Status)
	}
	if used := e.Grant(g).DownloadsUsed; used != 1 {
		t.Errorf("downloads_used = %d, want 1", used)
	}
	ss := e.Sessions(g)
	if len(ss) != 1 || !ss[0].Completed || ss[0].BytesSent != bigSize+smallSize || ss[0].Size != bigSize+smallSize {
		t.Errorf("sessions = %+v, want one completed session of both files", ss)
	}
	if got := e.Completed()["book"]; got != 1 {
		t.Errorf("completed downloads of book = %d, want 1", got)
	}
	if resp := e.Get(e.URL(g, e.Small), "X-Test-Client", "198.51.100.7"); resp.Status != http.StatusForbidden {
		t.Errorf("another client after the limit: status %d, want 403", resp.Status)
	}
}

// admissionReads is a SQLite store that counts the admissions read from it.
// Embedding the store itself keeps its generation and UpdateLog, and so
// delivery's cache.
type admissionReads struct {
	*sqlite.DB
	n atomic.Int64
}

func (db *admissionReads) View(ctx context.Context, fn func(tx store.Tx) error) error {
	return db.DB.View(ctx, func(tx store.Tx) error { return fn(admissionReadsTx{tx, &db.n}) })
}

type admissionReadsTx struct {
	store.Tx
	n *atomic.Int64
}

func (tx admissionReadsTx) FindAdmission(ctx context.Context, q store.AdmissionQuery) (*store.Admission, error) {
	tx.n.Add(1)
	return tx.Tx.FindAdmission(ctx, q)
}
