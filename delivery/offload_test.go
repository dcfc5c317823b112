package delivery_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/blob"
	"github.com/vend-shop/vend/blob/local"
	"github.com/vend-shop/vend/delivery"
)

func TestConfig_Validate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cfg     delivery.Config
		wantErr string // a word of the error; "" for none
	}{
		{name: "the zero Config is valid: direct", cfg: delivery.Config{}},
		{name: "x-accel with the default prefix", cfg: delivery.Config{Mode: delivery.ModeXAccel}},
		{name: "x-accel with a prefix of its own", cfg: delivery.Config{Mode: delivery.ModeXAccel, XAccelPrefix: "/protected/files/"}},
		{name: "redirect", cfg: delivery.Config{Mode: delivery.ModeRedirect, RedirectTTL: time.Minute}},
		{name: "an unknown mode", cfg: delivery.Config{Mode: "sendfile"}, wantErr: "unknown mode"},
		{name: "a prefix without its trailing slash", cfg: delivery.Config{Mode: delivery.ModeXAccel, XAccelPrefix: "/files"}, wantErr: "X-Accel prefix"},
		{name: "a relative prefix", cfg: delivery.Config{Mode: delivery.ModeXAccel, XAccelPrefix: "files/"}, wantErr: "X-Accel prefix"},
		{name: "a prefix with a query", cfg: delivery.Config{Mode: delivery.ModeXAccel, XAccelPrefix: "/f?x=/"}, wantErr: "X-Accel prefix"},
		{name: "a prefix with a line break", cfg: delivery.Config{Mode: delivery.ModeXAccel, XAccelPrefix: "/f\r\nX: y/"}, wantErr: "X-Accel prefix"},
		{name: "a prefix that climbs", cfg: delivery.Config{Mode: delivery.ModeXAccel, XAccelPrefix: "/f/../"}, wantErr: "X-Accel prefix"},
		{name: "a bad prefix does not matter in direct mode", cfg: delivery.Config{XAccelPrefix: "files"}},
		{name: "a give-back percentage over 100", cfg: delivery.Config{GiveBackPercent: 101}, wantErr: "at most 100"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("Validate() = %v, want an error with %q", err, tt.wantErr)
			}
		})
	}
}

func TestNew_UnusableModeServesDirectly(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cfg     delivery.Config
		blobs   func(*local.Store) blob.Store
		wantLog string
	}{
		{name: "an unknown mode", cfg: delivery.Config{Mode: "sendfile"}, wantLog: `unknown mode \"sendfile\"`},
		{name: "x-accel with a bad prefix", cfg: delivery.Config{Mode: delivery.ModeXAccel, XAccelPrefix: "files"}, wantLog: "X-Accel prefix"},
		{name: "redirect on a store that cannot presign", cfg: delivery.Config{Mode: delivery.ModeRedirect}, wantLog: "cannot presign"},
	}
	for _, tt := range tests {
		t.Run(tt.name+" serves directly and says so once", func(t *testing.T) {
			e := MustOpenEnvWith(t, tt.cfg, nil, EnvOptions{Blobs: tt.blobs})
			var log bytes.Buffer
			e.Service.Logger = slog.New(slog.NewTextHandler(&log, nil))
			if m := e.Service.Mode(); m != delivery.ModeDirect {
				t.Errorf("Mode() = %q, want direct", m)
			}
			g := e.MustCreateGrant(e.Book, nil)
			for range 3 {
				resp := e.Get(e.URL(g, e.Small))
				if resp.Status != http.StatusOK || !bytes.Equal(resp.Body, e.SmallData) || resp.Header.Get("X-Accel-Redirect") != "" {
					t.Fatalf("status %d, headers %v; want the file from vend", resp.Status, resp.Header)
				}
			}
			e.Settle()
			if n := strings.Count(log.String(), "level=WARN"); n != 1 || !strings.Contains(log.String(), tt.wantLog) {
				t.Errorf("log:\n%s\nwant one warning with %q", log.String(), tt.wantLog)
			}
			if used := e.Grant(g).DownloadsUsed; used != 1 {
				t.Errorf("downloads_used = %d, want 1", used)
			}
		})
	}
}

func TestServeFile_XAccel(t *testing.T) {
	t.Parallel()
	t.Run("a GET is counted, then answered with X-Accel-Redirect, the file's headers and no body", func(t *testing.T) {
		const prefix = "/protected/vend/"
		e := MustOpenEnv(t, delivery.Config{Mode: delivery.ModeXAccel, XAccelPrefix: prefix}, nil)
		g := e.MustCreateGrant(e.Solo, nil)
		resp := e.Get(e.URL(g, e.SoloFile))
		e.Settle()
		if resp.Status != http.StatusOK || len(resp.Body) != 0 {
			t.Fatalf("status %d, %d bytes of body; want 200 and none", resp.Status, len(resp.Body))
		}
		for _, h := range []struct{ name, want string }{
			{"X-Accel-Redirect", prefix + e.SoloFile.Key},
			{"ETag", `"` + e.SoloFile.SHA256 + `"`},
			{"Content-Type", "application/pdf"},
			{"Content-Disposition", `attachment; filename="M_ller _ Buch.pdf"; filename*=UTF-8''M%C3%BCller%20%E2%80%93%20Buch.pdf`},
			{"Cache-Control", "private, no-transform"},
			{"X-Content-Type-Options", "nosniff"},
		} {
			if got := resp.Header.Get(h.name); got != h.want {
				t.Errorf("%s = %q, want %q", h.name, got, h.want)
			}
		}
		if !strings.HasPrefix(e.SoloFile.Key, e.SoloFile.SHA256[:2]+"/") {
			t.Errorf("key %q is not a content key", e.SoloFile.Key)
		}
		as := e.Attempts(g)
		if len(as) != 1 || as[0].Status != 200 || as[0].BytesSent != 0 || !as[0].Counted || as[0].SessionID == 0 {
			t.Errorf("attempts = %+v, want one counted 200 with bytes unknown (0)", as)
		}
		ss := e.Sessions(g)
		if len(ss) != 1 || !ss[0].Charged || ss[0].BytesSent != bigSize || !ss[0].Completed {
			t.Errorf("sessions = %+v, want one, charged, credited with the whole file, completed", ss)
		}
		if used := e.Grant(g).DownloadsUsed; used != 1 {
			t.Errorf("downloads_used = %d, want 1", used)
		}
		// Handed off whole, it is not given back when the session closes.
		e.Clock.Add(delivery.DefaultSessionTimeout + time.Second)
		e.Sweep()
		if ss := e.Sessions(g); len(ss) != 1 || !ss[0].Closed || ss[0].GivenBack {
			t.Errorf("after the sweep: sessions = %+v, want closed, not given back", ss)
		}
	})

	t.Run("HEAD is handed to nginx too, outside any session", func(t *testing.T) {
		e := MustOpenEnv(t, delivery.Config{Mode: delivery.ModeXAccel}, nil)
		g := e.MustCreateGrant(e.Book, nil)
		resp := e.Do(http.MethodHead, e.URL(g, e.Big))
		e.Settle()
		if resp.Status != http.StatusOK || resp.Header.Get("X-Accel-Redirect") != delivery.DefaultXAccelPrefix+e.Big.Key {
			t.Fatalf("status %d, headers %v", resp.Status, resp.Header)
		}
		if ss := e.Sessions(g); len(ss) != 0 {
			t.Errorf("%d sessions, want none", len(ss))
		}
		if as := e.Attempts(g); len(as) != 1 || as[0].Counted || as[0].SessionID != 0 || as[0].Method != "HEAD" {
			t.Errorf("attempts = %+v, want one uncounted HEAD", as)
		}
	})

	// What an offloaded request is credited with: what it asked for.
	tests := []struct {
		name string
		hdr  []string
		want int64
	}{
		{name: "no Range: the whole file", want: bigSize},
		{name: "an open range from 0: the whole file", hdr: []string{"Range", "bytes=0-"}, want: bigSize},
		{name: "the first MiB", hdr: []string{"Range", "bytes=0-1048575"}, want: 1 << 20},
		{name: "the rest from 3 MiB", hdr: []string{"Range", "bytes=3145728-"}, want: bigSize - 3<<20},
		{name: "a suffix", hdr: []string{"Range", "bytes=-100"}, want: 100},
		{name: "two ranges", hdr: []string{"Range", "bytes=0-9, 100-199"}, want: 110},
		{name: "a range past the end is cut at the end", hdr: []string{"Range", "bytes=4194000-9999999"}, want: bigSize - 4194000},
		{name: "overlapping ranges are at most the file", hdr: []string{"Range", "bytes=0-,0-"}, want: bigSize},
		{name: "a range beyond the file: nothing", hdr: []string{"Range", "bytes=5000000-"}, want: 0},
		{name: "a Range that does not parse: the whole file", hdr: []string{"Range", "bytes=x-y"}, want: bigSize},
		{name: "a matching If-Range: the range", hdr: []string{"Range", "bytes=0-99", "If-Range", "ETAG"}, want: 100},
		{name: "a stale If-Range: the whole file", hdr: []string{"Range", "bytes=0-99", "If-Range", `"0000"`}, want: bigSize},
	}
	e := MustOpenEnv(t, delivery.Config{Mode: delivery.ModeXAccel}, nil)
	for _, tt := range tests {
		t.Run("credited: "+tt.name, func(t *testing.T) {
			g := e.MustCreateGrant(e.Solo, nil)
			hdr := append([]string(nil), tt.hdr...)
			for i := range hdr {
				hdr[i] = strings.ReplaceAll(hdr[i], "ETAG", `"`+e.SoloFile.SHA256+`"`)
			}
			if resp := e.Get(e.URL(g, e.SoloFile), hdr...); resp.Status != http.StatusOK {
				t.Fatalf("status %d, want 200", resp.Status)
			}
			e.Settle()
			if ss := e.Sessions(g); len(ss) != 1 || ss[0].BytesSent != tt.want {
				t.Errorf("sessions = %+v, want one credited with %d bytes", ss, tt.want)
			}
		})
	}

	t.Run("a session credited with less than half is given back, as in direct mode", func(t *testing.T) {
		e := MustOpenEnv(t, delivery.Config{Mode: delivery.ModeXAccel}, nil)
		g := e.MustCreateGrant(e.Solo, nil)
		e.Get(e.URL(g, e.SoloFile), "Range", "bytes=0-1048575")
		e.Settle()
		e.Clock.Add(delivery.DefaultSessionTimeout + time.Second)
		e.Sweep()
		if ss := e.Sessions(g); len(ss) != 1 || !ss[0].GivenBack {
			t.Errorf("sessions = %+v, want one given back", ss)
		}
		if used := e.Grant(g).DownloadsUsed; used != 0 {
			t.Errorf("downloads_used = %d, want 0", used)
		}
	})
}

// Presigning is a blob store that presigns URLs of Storage, a test object store
// that serves the bytes of its local store with Range support to requests whose
// signature holds and whose URL has not expired.
type Presigning struct {
	*local.Store
	Storage *httptest.Server
	Err     error // what PresignGet returns, if not nil

	mu    sync.Mutex
	Calls []PresignCall
}

type PresignCall struct {
	Key, Filename string
	TTL           time.Duration
}

var _ delivery.Presigner = (*Presigning)(nil)

var storageSecret = []byte("storage-secret")

func presignSig(key, filename, expires string) string {
	h := hmac.New(sha256.New, storageSecret)
	fmt.Fprintf(h, "%s\x00%s\x00%s", key, filename, expires)
	return hex.EncodeToString(h.Sum(nil))
}

// MustOpenPresigning wraps store in a Presigning whose storage server stops with tb.
func MustOpenPresigning(tb testing.TB, store *local.Store) *Presigning {
	p := &Presigning{Store: store}
	p.Storage = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, q := strings.TrimPrefix(r.URL.Path, "/"), r.URL.Query()
		exp, err := strconv.ParseInt(q.Get("expires"), 10, 64)
		if r.Method != http.MethodGet || err != nil || time.Now().UnixMilli() > exp ||
			!hmac.Equal([]byte(q.Get("sig")), []byte(presignSig(key, q.Get("filename"), q.Get("expires")))) {
			http.Error(w, "signature does not match", http.StatusForbidden)
			return
		}
		obj, err := store.Open(r.Context(), key)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		defer obj.Reader.Close()
		w.Header().Set("Content-Disposition", blob.Attachment(q.Get("filename")))
		w.Header().Set("ETag", `"`+key[3:]+`"`)
		http.ServeContent(w, r, q.Get("filename"), time.Time{}, obj.Reader)
	}))
	tb.Cleanup(p.Storage.Close)
	return p
}

func (p *Presigning) PresignGet(ctx context.Context, key, filename string, ttl time.Duration) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.Calls = append(p.Calls, PresignCall{Key: key, Filename: filename, TTL: ttl})
	if p.Err != nil {
		return "", p.Err
	}
	exp := strconv.FormatInt(time.Now().Add(ttl).UnixMilli(), 10)
	q := url.Values{"filename": {filename}, "expires": {exp}, "sig": {presignSig(key, filename, exp)}}
	return p.Storage.URL + "/" + key + "?" + q.Encode(), nil
}

func (p *Presigning) calls() []PresignCall {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]PresignCall(nil), p.Calls...)
}

// mustOpenRedirectEnv returns an Env in ModeRedirect on a Presigning store.
// e.Client does not follow redirects; follow does.
func mustOpenRedirectEnv(t *testing.T, cfg delivery.Config) (e *Env, p *Presigning, follow *http.Client) {
	t.Helper()
	cfg.Mode = delivery.ModeRedirect
	e = MustOpenEnvWith(t, cfg, nil, EnvOptions{Blobs: func(s *local.Store) blob.Store {
		p = MustOpenPresigning(t, s)
		return p
	}})
	follow = &http.Client{Transport: e.Client.Transport}
	e.Client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return e, p, follow
}

func TestServeFile_Redirect(t *testing.T) {
	t.Parallel()
	t.Run("a GET is counted, then redirected to a presigned URL that expires", func(t *testing.T) {
		e, p, _ := mustOpenRedirectEnv(t, delivery.Config{RedirectTTL: 2 * time.Minute})
		if m := e.Service.Mode(); m != delivery.ModeRedirect {
			t.Fatalf("Mode() = %q, want redirect", m)
		}
		g := e.MustCreateGrant(e.Solo, nil)
		resp := e.Get(e.URL(g, e.SoloFile))
		e.Settle()
		if resp.Status != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), p.Storage.URL+"/"+e.SoloFile.Key+"?") {
			t.Fatalf("status %d, Location %q; want 302 to the storage", resp.Status, resp.Header.Get("Location"))
		}
		if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("Cache-Control = %q, want no-store", cc)
		}
		if bytes.Contains(resp.Body, e.BigData[:64]) {
			t.Error("file bytes in the redirect")
		}
		if c := p.calls(); len(c) != 1 || c[0] != (PresignCall{Key: e.SoloFile.Key, Filename: bigName, TTL: 2 * time.Minute}) {
			t.Errorf("presign calls = %+v", c)
		}
		as := e.Attempts(g)
		if len(as) != 1 || as[0].Status != http.StatusFound || as[0].BytesSent != 0 || !as[0].Counted || as[0].SessionID == 0 {
			t.Errorf("attempts = %+v, want one counted 302 with bytes unknown (0)", as)
		}
		if ss := e.Sessions(g); len(ss) != 1 || !ss[0].Charged || !ss[0].Completed || ss[0].BytesSent != bigSize {
			t.Errorf("sessions = %+v, want one, charged, credited with the whole file", ss)
		}
		if used := e.Grant(g).DownloadsUsed; used != 1 {
			t.Errorf("downloads_used = %d, want 1", used)
		}
	})

	t.Run("a one-byte Range is credited with the whole file: the URL fetches all of it", func(t *testing.T) {
		// Otherwise: ask vend for bytes=0-0, fetch the whole object from the
		// bucket, and have the download given back when the session closes.
		e, _, _ := mustOpenRedirectEnv(t, delivery.Config{})
		g := e.MustCreateGrant(e.Solo, nil)
		if resp := e.Get(e.URL(g, e.SoloFile), "Range", "bytes=0-0"); resp.Status != http.StatusFound {
			t.Fatalf("status %d, want 302", resp.Status)
		}
		e.Settle()
		if ss := e.Sessions(g); len(ss) != 1 || ss[0].BytesSent != bigSize || !ss[0].Completed {
			t.Errorf("sessions = %+v, want one credited with the whole file", ss)
		}
		e.Clock.Add(time.Hour)
		e.Sweep()
		if used := e.Grant(g).DownloadsUsed; used != 1 {
			t.Errorf("downloads_used after the session closed = %d, want 1 (not given back)", used)
		}
	})

	t.Run("a client that follows gets the file byte-identical, under its name", func(t *testing.T) {
		e, _, follow := mustOpenRedirectEnv(t, delivery.Config{})
		g := e.MustCreateGrant(e.Book, nil)
		resp, body := get(t, follow, e.URL(g, e.Big))
		if resp.StatusCode != http.StatusOK || !bytes.Equal(body, e.BigData) {
			t.Fatalf("status %d, %d bytes; want 200 and the file", resp.StatusCode, len(body))
		}
		if cd := resp.Header.Get("Content-Disposition"); cd != blob.Attachment(bigName) {
			t.Errorf("Content-Disposition = %q, want %q", cd, blob.Attachment(bigName))
		}
	})

	t.Run("a resume and four parallel ranges through the redirect are one download", func(t *testing.T) {
		e, p, follow := mustOpenRedirectEnv(t, delivery.Config{})
		g := e.MustCreateGrant(e.Solo, nil)
		u := e.URL(g, e.SoloFile)
		resp, first := get(t, follow, u, "Range", "bytes=0-1048575")
		if resp.StatusCode != http.StatusPartialContent {
			t.Fatalf("first range: status %d, want 206", resp.StatusCode)
		}
		resp, rest := get(t, follow, u, "Range", "bytes=1048576-")
		if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(append(first, rest...), e.BigData) {
			t.Fatalf("resume: status %d; want 206 and the rest", resp.StatusCode)
		}
		parts := make([][]byte, 4)
		var wg sync.WaitGroup
		for i := range parts {
			wg.Go(func() {
				_, parts[i] = get(t, follow, u, "Range", fmt.Sprintf("bytes=%d-%d", i*bigSize/4, (i+1)*bigSize/4-1))
			})
		}
		wg.Wait()
		e.Settle()
		if !bytes.Equal(bytes.Join(parts, nil), e.BigData) {
			t.Error("the four parts do not make the file")
		}
		if used := e.Grant(g).DownloadsUsed; used != 1 {
			t.Errorf("downloads_used = %d, want 1", used)
		}
		if ss := e.Sessions(g); len(ss) != 1 || !ss[0].Completed {
			t.Errorf("sessions = %+v, want one, completed", ss)
		}
		if n := len(p.calls()); n != 6 {
			t.Errorf("%d URLs presigned, want 6: one per request", n)
		}
	})

	t.Run("HEAD is answered by vend, not redirected, and never counts", func(t *testing.T) {
		e, p, _ := mustOpenRedirectEnv(t, delivery.Config{})
		g := e.MustCreateGrant(e.Book, nil)
		resp := e.Do(http.MethodHead, e.URL(g, e.Big))
		e.Settle()
		if resp.Status != http.StatusOK || resp.Header.Get("Location") != "" || resp.Header.Get("Content-Length") != strconv.Itoa(bigSize) {
			t.Fatalf("HEAD: status %d, headers %v", resp.Status, resp.Header)
		}
		if n := len(p.calls()); n != 0 {
			t.Errorf("%d URLs presigned, want none", n)
		}
		if used, ss := e.Grant(g).DownloadsUsed, e.Sessions(g); used != 0 || len(ss) != 0 {
			t.Errorf("downloads_used = %d, %d sessions; want none", used, len(ss))
		}
	})

	t.Run("when presigning fails the file is served directly, counted once", func(t *testing.T) {
		e, p, _ := mustOpenRedirectEnv(t, delivery.Config{})
		var log bytes.Buffer
		e.Service.Logger = slog.New(slog.NewTextHandler(&log, nil))
		p.Err = errors.New("storage unreachable")
		g := e.MustCreateGrant(e.Book, nil)
		resp := e.Get(e.URL(g, e.Big))
		e.Settle()
		if resp.Status != http.StatusOK || !bytes.Equal(resp.Body, e.BigData) {
			t.Fatalf("status %d, %d bytes; want 200 and the file", resp.Status, len(resp.Body))
		}
		if !strings.Contains(log.String(), "storage unreachable") {
			t.Errorf("log:\n%s\nwant the presign error", log.String())
		}
		if ss := e.Sessions(g); len(ss) != 1 || ss[0].BytesSent != bigSize {
			t.Errorf("sessions = %+v, want one with the bytes vend sent", ss)
		}
		if used := e.Grant(g).DownloadsUsed; used != 1 {
			t.Errorf("downloads_used = %d, want 1", used)
		}
	})

	t.Run("the URL stops working when it expires", func(t *testing.T) {
		e, _, _ := mustOpenRedirectEnv(t, delivery.Config{RedirectTTL: time.Millisecond})
		g := e.MustCreateGrant(e.Book, nil)
		loc := e.Get(e.URL(g, e.Small)).Header.Get("Location")
		time.Sleep(5 * time.Millisecond)
		if resp := e.Get(loc); resp.Status != http.StatusForbidden {
			t.Errorf("expired URL: status %d, want 403", resp.Status)
		}
	})
}

// TestServeFile_CountingInEveryMode runs the counting rules in each mode: they do
// not depend on who sends the bytes.
func TestServeFile_CountingInEveryMode(t *testing.T) {
	t.Parallel()
	modes := []struct {
		mode   string
		served int // the status of an admitted GET
	}{
		{delivery.ModeDirect, http.StatusOK},
		{delivery.ModeXAccel, http.StatusOK},
		{delivery.ModeRedirect, http.StatusFound},
	}
	open := func(t *testing.T, mode string) *Env {
		if mode == delivery.ModeRedirect {
			e, _, _ := mustOpenRedirectEnv(t, delivery.Config{})
			return e
		}
		return MustOpenEnv(t, delivery.Config{Mode: mode}, nil)
	}
	for _, m := range modes {
		t.Run(m.mode, func(t *testing.T) {
			e := open(t, m.mode) // each case on grants of its own
			t.Run("64 parallel requests of 64 clients on the last download: one is served, 63 get 403", func(t *testing.T) {
				g := e.MustCreateGrant(e.Book, func(g *vend.Grant) { g.DownloadLimit, g.DownloadsUsed = 3, 2 })
				const n = 64
				statuses := make([]int, n)
				var wg sync.WaitGroup
				start := make(chan struct{})
				for i := range n {
					wg.Go(func() {
						<-start
						statuses[i] = e.Get(e.URL(g, e.Small), "X-Test-Client", fmt.Sprintf("203.0.113.%d", i+1)).Status
					})
				}
				close(start)
				wg.Wait()
				e.Settle()
				served, refused := 0, 0
				for _, s := range statuses {
					switch s {
					case m.served:
						served++
					case http.StatusForbidden:
						refused++
					default:
						t.Errorf("unexpected status %d", s)
					}
				}
				if served != 1 || refused != n-1 {
					t.Errorf("%d served and %d refused, want 1 and %d", served, refused, n-1)
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

			t.Run("64 parallel requests of one client on the last download charge one", func(t *testing.T) {
				g := e.MustCreateGrant(e.Book, func(g *vend.Grant) { g.DownloadLimit, g.DownloadsUsed = 3, 2 })
				var wg sync.WaitGroup
				var mu sync.Mutex
				served := 0
				for range 64 {
					wg.Go(func() {
						if e.Get(e.URL(g, e.Small), "X-Test-Client", "203.0.113.7").Status == m.served {
							mu.Lock()
							served++
							mu.Unlock()
						}
					})
				}
				wg.Wait()
				e.Settle()
				if served != 64 {
					t.Errorf("%d served, want 64", served)
				}
				if used, c := e.Grant(g).DownloadsUsed, charged(e.Sessions(g)); used != 3 || c != 1 {
					t.Errorf("downloads_used = %d, %d sessions charged; want 3 and 1", used, c)
				}
			})

			t.Run("at the limit a new client gets 403, the open session goes on", func(t *testing.T) {
				g := e.MustCreateGrant(e.Book, func(g *vend.Grant) { g.DownloadLimit = 1 })
				if s := e.Get(e.URL(g, e.Big), "Range", "bytes=0-99").Status; s != m.served && s != http.StatusPartialContent {
					t.Fatalf("first request: status %d", s)
				}
				if s := e.Get(e.URL(g, e.Big), "X-Test-Client", "198.51.100.9").Status; s != http.StatusForbidden {
					t.Errorf("another client: status %d, want 403", s)
				}
				if s := e.Get(e.URL(g, e.Small)).Status; s != m.served {
					t.Errorf("another file in the open session: status %d, want %d", s, m.served)
				}
				e.Settle()
				if used := e.Grant(g).DownloadsUsed; used != 1 {
					t.Errorf("downloads_used = %d, want 1", used)
				}
			})

			t.Run("a refund ends a download in progress with 410 on its next request", func(t *testing.T) {
				g := e.MustCreateGrant(e.Book, nil)
				u := e.URL(g, e.Big)
				if s := e.Get(u, "Range", "bytes=0-99").Status; s != m.served && s != http.StatusPartialContent {
					t.Fatalf("first request: status %d", s)
				}
				e.UpdateGrant(g, func(g *vend.Grant) { g.State, g.Reason = vend.GrantRevoked, "refunded" })
				resp := e.Get(u, "Range", "bytes=100-")
				if resp.Status != http.StatusGone || resp.Header.Get("Location") != "" || resp.Header.Get("X-Accel-Redirect") != "" ||
					bytes.Contains(resp.Body, e.BigData[100:164]) {
					t.Errorf("after the refund: status %d, headers %v; want 410 and nothing to fetch", resp.Status, resp.Header)
				}
			})
		})
	}
}

// get GETs u with client; hdr holds header names and values in turn.
func get(t *testing.T, client *http.Client, u string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Error(err)
		return &http.Response{Header: http.Header{}}, nil
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Error(err)
		return &http.Response{Header: http.Header{}}, nil
	}
	defer resp.Body.Close()
	var body bytes.Buffer
	if _, err := body.ReadFrom(resp.Body); err != nil {
		t.Error(err)
	}
	return resp, body.Bytes()
}
