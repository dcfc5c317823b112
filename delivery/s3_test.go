package delivery_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/blob"
	"github.com/vend-shop/vend/blob/local"
	"github.com/vend-shop/vend/blob/s3"
	"github.com/vend-shop/vend/blob/s3/s3test"
	"github.com/vend-shop/vend/delivery"
	"github.com/vend-shop/vend/internal/servicetest"
)

// Downloads from S3-compatible storage, a real versitygw, in both ways vend serves
// from it: proxied (ModeDirect on the s3 store: vend reads the object with ranged
// GETs and sends it) and redirected (ModeRedirect: vend answers 302 to a presigned
// URL and the bucket sends the bytes).

// The versitygw of these tests: VEND_TEST_VERSITYGW or versitygw on PATH (pinned to
// v1.8.0 in .ci/run), with a posix backend in a temporary directory.
const (
	versitygwAccessKey = "vendtestaccess"
	versitygwSecretKey = "vendtestsecret0123456789"
)

// The S3 fixture: product "s3book" has a file larger than one upload part, so it
// goes up as a multipart upload and a copy, and a small one that goes up in one PUT.
const (
	s3BigSize     = 6<<20 + 12345
	s3SmallSize   = 20 << 10
	s3PartSize    = 5 << 20 // the smallest part S3 allows
	s3RedirectTTL = 90 * time.Second
)

// Versitygw is a versitygw started for one test, behind a proxy that records the
// object GETs it is sent and slows the responses to requests with X-Test-Slow: 1
// to about 1 MiB/s, so that a test can interrupt a transfer from the bucket.
type Versitygw struct {
	// URL is the proxy's address: the endpoint stores are opened with, so also
	// the host of their presigned URLs.
	URL    string
	Client *awss3.Client // for setting up

	mu      sync.Mutex
	gets    []StorageGet
	buckets int
}

// StorageGet is one GET of an object that the bucket was sent.
type StorageGet struct {
	Range     string
	Presigned bool // a client following a presigned URL, not vend's own read
}

// MustStartVersitygw starts a versitygw and stops it when the test ends. It sets
// the AWS credential variables that s3.Open's default chain reads. Without a
// versitygw the test skips, except under CI=true, where it fails.
func MustStartVersitygw(t *testing.T) *Versitygw {
	t.Helper()
	addr := s3test.Start(t, versitygwAccessKey, versitygwSecretKey)

	v := &Versitygw{}
	target := &url.URL{Scheme: "http", Host: addr}
	proxy := httptest.NewServer(&httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			if isObjectGet(r.In) {
				v.mu.Lock()
				v.gets = append(v.gets, StorageGet{Range: r.In.Header.Get("Range"), Presigned: r.In.URL.Query().Has("X-Amz-Signature")})
				v.mu.Unlock()
			}
			r.SetURL(target)
			r.Out.Host = r.In.Host // signatures cover the Host header
		},
		ModifyResponse: func(resp *http.Response) error {
			if resp.Request.Header.Get("X-Test-Slow") == "1" {
				resp.Body = slowBody{resp.Body}
			}
			return nil
		},
		FlushInterval: -1,
		ErrorLog:      log.New(io.Discard, "", 0), // clients that hang up on purpose
	})
	t.Cleanup(proxy.Close)
	v.URL = proxy.URL

	s3test.SetCredentials(t, versitygwAccessKey, versitygwSecretKey)
	v.Client = awss3.New(awss3.Options{
		BaseEndpoint: aws.String(v.URL),
		UsePathStyle: true,
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider(versitygwAccessKey, versitygwSecretKey, ""),
	})
	return v
}

// isObjectGet reports whether r GETs an object ("/bucket/key…"), not a bucket listing.
func isObjectGet(r *http.Request) bool {
	return r.Method == http.MethodGet && strings.Count(strings.Trim(r.URL.Path, "/"), "/") >= 1 && !r.URL.Query().Has("list-type")
}

// slowBody is a slow line: about 1 MiB/s.
type slowBody struct{ io.ReadCloser }

func (b slowBody) Read(p []byte) (int, error) {
	time.Sleep(16 * time.Millisecond)
	return b.ReadCloser.Read(p[:min(len(p), 16<<10)])
}

// MustOpenStore opens an s3.Store on a new, empty bucket, under prefix "files/".
func (v *Versitygw) MustOpenStore(t *testing.T) *s3.Store {
	t.Helper()
	v.mu.Lock()
	v.buckets++
	bucket := fmt.Sprintf("vend-delivery-%d", v.buckets)
	v.mu.Unlock()
	ctx := context.Background()
	if _, err := v.Client.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: &bucket}); err != nil {
		t.Fatalf("create bucket %s: %v", bucket, err)
	}
	st, err := s3.Open(ctx, "s3://"+bucket+"/files?endpoint="+url.QueryEscape(v.URL)+"&region=us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	st.PartSize = s3PartSize
	return st
}

// Gets returns the object GETs sent since the last call.
func (v *Versitygw) Gets() []StorageGet {
	v.mu.Lock()
	defer v.mu.Unlock()
	gets := v.gets
	v.gets = nil
	return gets
}

// S3Env is an Env whose service reads files from an s3.Store, with product S3Book
// stored there.
type S3Env struct {
	*Env
	Storage *Versitygw
	Store   *s3.Store
	// Follow follows redirects; Env.Client does not, so that tests see vend's 302.
	Follow *http.Client

	S3Book                 *vend.Product
	S3Big, S3Small         *vend.File // files of S3Book
	S3BigData, S3SmallData []byte
}

// MustOpenS3Env returns an Env in cfg.Mode on a new bucket of v.
func MustOpenS3Env(t *testing.T, v *Versitygw, cfg delivery.Config) *S3Env {
	t.Helper()
	st := v.MustOpenStore(t)
	e := &S3Env{Storage: v, Store: st}
	e.Env = MustOpenEnvWith(t, cfg, nil, EnvOptions{Blobs: func(*local.Store) blob.Store { return st }})
	if m := e.Service.Mode(); m != cfg.Mode {
		t.Fatalf("Mode() = %q, want %q", m, cfg.Mode)
	}
	e.Follow = &http.Client{Transport: e.Client.Transport}
	e.Client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	e.S3BigData, e.S3SmallData = randomBytes(11, s3BigSize), randomBytes(12, s3SmallSize)
	e.S3Book = e.MustCreateS3Product("s3book", map[string][]byte{bigName: e.S3BigData, smallName: e.S3SmallData}, bigName, smallName)
	e.S3Big, e.S3Small = e.S3Book.Files[0], e.S3Book.Files[1]
	return e
}

// MustCreateS3Product stores the files with s3.Store.Put and creates the product
// with them in order.
func (e *S3Env) MustCreateS3Product(id string, data map[string][]byte, order ...string) *vend.Product {
	e.tb.Helper()
	return mustCreateProduct(e.tb, e.DB, e.Store, id, data, order...)
}

// Fetch GETs u as a buyer's browser does. In ModeRedirect it checks vend's answer,
// a 302 to a presigned URL that expires after s3RedirectTTL and may not be cached,
// and follows it with the same headers. It returns vend's answer and the final
// one (the same in ModeDirect).
func (e *S3Env) Fetch(t *testing.T, u string, hdr ...string) (first, final Response) {
	t.Helper()
	first = e.Get(u, hdr...)
	if e.Service.Mode() != delivery.ModeRedirect || first.Status != http.StatusFound {
		return first, first
	}
	loc := first.Header.Get("Location")
	checkPresigned(t, e.Storage, loc)
	for _, h := range []struct{ name, want string }{
		{"Cache-Control", "no-store"},
		{"Referrer-Policy", "no-referrer"},
		{"X-Content-Type-Options", "nosniff"},
	} {
		if got := first.Header.Get(h.name); got != h.want {
			t.Errorf("302: %s = %q, want %q", h.name, got, h.want)
		}
	}
	resp, body := get(t, e.Follow, loc, hdr...)
	return first, Response{Status: resp.StatusCode, Header: resp.Header, Body: body}
}

// checkPresigned checks that loc is a presigned GET of the storage server that
// expires after s3RedirectTTL, signed now.
func checkPresigned(t *testing.T, v *Versitygw, loc string) {
	t.Helper()
	u, err := url.Parse(loc)
	if err != nil || !strings.HasPrefix(loc, v.URL+"/") {
		t.Fatalf("Location %q, want a URL of the storage server %s", loc, v.URL)
	}
	q := u.Query()
	if got, want := q.Get("X-Amz-Expires"), strconv.Itoa(int(s3RedirectTTL/time.Second)); got != want {
		t.Errorf("X-Amz-Expires = %q, want %s (the configured RedirectTTL in seconds)", got, want)
	}
	signed, err := time.Parse("20060102T150405Z", q.Get("X-Amz-Date"))
	if d := time.Since(signed); err != nil || d < -time.Minute || d > time.Minute {
		t.Errorf("X-Amz-Date = %q, want now", q.Get("X-Amz-Date"))
	}
	if q.Get("X-Amz-Signature") == "" || q.Get("X-Amz-SignedHeaders") != "host" {
		t.Errorf("Location %q, want a presigned URL", loc)
	}
}

// TestS3_Downloads downloads files stored in a real S3-compatible server through
// vend proxying them and through presigned redirects: the same bytes, resumes and
// download managers working, and the same counting as local files in direct mode.
func TestS3_Downloads(t *testing.T) {
	v := MustStartVersitygw(t)
	for _, m := range []struct {
		name string
		mode string
		// served is vend's status for an admitted whole GET, served206 for a range.
		served, served206 int
	}{
		{"proxy", delivery.ModeDirect, http.StatusOK, http.StatusPartialContent},
		{"redirect", delivery.ModeRedirect, http.StatusFound, http.StatusFound},
	} {
		t.Run(m.name, func(t *testing.T) {
			e := MustOpenS3Env(t, v, delivery.Config{Mode: m.mode, RedirectTTL: s3RedirectTTL})
			redirect := m.mode == delivery.ModeRedirect

			// checkGets checks who read the bucket since the last call: in proxy
			// mode vend alone, with ranged GETs; in redirect mode only clients
			// following presigned URLs, vend never.
			checkGets := func(t *testing.T) {
				t.Helper()
				gets := v.Gets()
				if len(gets) == 0 {
					t.Error("the bucket was sent no GET")
				}
				for _, g := range gets {
					if redirect && !g.Presigned {
						t.Errorf("bucket GETs %+v: want only presigned ones", gets)
						return
					}
					if !redirect && (g.Presigned || !strings.HasPrefix(g.Range, "bytes=")) {
						t.Errorf("bucket GETs %+v: want only vend's, ranged", gets)
						return
					}
				}
			}

			t.Run("a full download of each file is byte-identical, under its name, and one download", func(t *testing.T) {
				g := e.MustCreateGrant(e.S3Book, nil)
				v.Gets()
				for _, f := range []struct {
					file        *vend.File
					data        []byte
					disposition string
					contentType string
				}{
					{e.S3Big, e.S3BigData, `attachment; filename="M_ller _ Buch.pdf"; filename*=UTF-8''M%C3%BCller%20%E2%80%93%20Buch.pdf`, "application/pdf"},
					{e.S3Small, e.S3SmallData, `attachment; filename="liesmich.txt"`, "text/plain; charset=utf-8"},
				} {
					first, resp := e.Fetch(t, e.URL(g, f.file))
					if first.Status != m.served || redirect && bytes.Contains(first.Body, f.data[:64]) {
						t.Errorf("%s: vend answered %d with %d bytes, want %d", f.file.Name, first.Status, len(first.Body), m.served)
					}
					if resp.Status != http.StatusOK || !bytes.Equal(resp.Body, f.data) {
						t.Fatalf("%s: status %d, %d bytes; want 200 and the file's %d", f.file.Name, resp.Status, len(resp.Body), len(f.data))
					}
					want := map[string]string{
						"Content-Disposition": f.disposition,
						"Content-Type":        f.contentType,
						"Content-Length":      strconv.Itoa(len(f.data)),
						"Accept-Ranges":       "bytes",
					}
					if !redirect { // vend's own headers; the bucket sends its own ETag
						want["ETag"] = `"` + f.file.SHA256 + `"`
						want["Cache-Control"] = "private, no-transform"
						want["X-Content-Type-Options"] = "nosniff"
					}
					for name, w := range want {
						if got := resp.Header.Get(name); got != w {
							t.Errorf("%s: %s = %q, want %q", f.file.Name, name, got, w)
						}
					}
				}
				e.Settle()
				checkGets(t)
				if used := e.Grant(g).DownloadsUsed; used != 1 {
					t.Errorf("downloads_used = %d, want 1", used)
				}
				if ss := e.Sessions(g); len(ss) != 1 || !ss[0].Charged || !ss[0].Completed || ss[0].BytesSent != s3BigSize+s3SmallSize {
					t.Errorf("sessions:%s\nwant one, charged, completed with all %d bytes", describeSessions(ss), s3BigSize+s3SmallSize)
				}
				as := e.Attempts(g)
				if len(as) != 2 || !as[0].Counted || as[1].Counted || as[0].Status != m.served || as[1].Status != m.served {
					t.Fatalf("attempts:%s\nwant two answered %d, the first counted", describeAttempts(as), m.served)
				}
				if !redirect && (as[0].BytesSent != s3BigSize || as[1].BytesSent != s3SmallSize) {
					t.Errorf("attempts sent %d and %d bytes, want the files' %d and %d", as[0].BytesSent, as[1].BytesSent, s3BigSize, s3SmallSize)
				}
			})

			t.Run("a full download, curl -C - after an interruption and aria2c -x4 of one client are one download", func(t *testing.T) {
				curl, aria2c := servicetest.Curl.Need(t), servicetest.Aria2c.Need(t)
				// Limit 1: a request charged again would get 403.
				g := e.MustCreateGrant(e.S3Book, func(g *vend.Grant) { g.DownloadLimit = 1 })
				u := e.URL(g, e.S3Big)
				v.Gets()
				if _, resp := e.Fetch(t, u); resp.Status != http.StatusOK || !bytes.Equal(resp.Body, e.S3BigData) {
					t.Fatalf("full download: status %d, %d bytes; want 200 and the file", resp.Status, len(resp.Body))
				}

				// Interrupted: a slow line (vend's writer, or in redirect mode the
				// bucket, throttles requests with X-Test-Slow) that gives up after a
				// second. -L follows vend's redirect; curl sends -H headers along.
				out := filepath.Join(t.TempDir(), "book.pdf")
				err := run(t, curl, "-sS", "-L", "-H", "X-Test-Slow: 1", "--max-time", "1", "-o", out, u)
				var exit *exec.ExitError
				if !errors.As(err, &exit) || exit.ExitCode() != 28 {
					t.Fatalf("first curl: %v, want exit code 28 (timed out)", err)
				}
				st, err := os.Stat(out)
				if err != nil || st.Size() == 0 || st.Size() >= s3BigSize {
					t.Fatalf("after the interruption: %v, want part of the file", err)
				}
				e.Settle()
				// curl -C - asks for the rest (Range: bytes=<size of out>-), in
				// redirect mode of vend and then of the presigned URL.
				if err := run(t, curl, "-sS", "-L", "--fail", "-C", "-", "-o", out, u); err != nil {
					t.Fatalf("curl -C -: %v", err)
				}
				if got := fileSHA256(t, out); got != e.S3Big.SHA256 {
					t.Fatalf("resumed file's sha256 = %s, want %s", got, e.S3Big.SHA256)
				}

				dir := t.TempDir()
				err = run(t, aria2c, "--no-conf", "--quiet", "--max-connection-per-server=4", "--split=4", "--min-split-size=1M",
					"--file-allocation=none", "--allow-overwrite=true", "--auto-file-renaming=false", "--max-tries=1",
					"--dir", dir, "--out", "book.pdf", u)
				if err != nil {
					t.Fatalf("aria2c: %v", err)
				}
				if got := fileSHA256(t, filepath.Join(dir, "book.pdf")); got != e.S3Big.SHA256 {
					t.Fatalf("aria2c's file's sha256 = %s, want %s", got, e.S3Big.SHA256)
				}
				e.Settle()
				checkGets(t)

				if used := e.Grant(g).DownloadsUsed; used != 1 {
					t.Errorf("downloads_used = %d, want 1", used)
				}
				if ss := e.Sessions(g); len(ss) != 1 || !ss[0].Charged {
					t.Errorf("sessions:%s\nwant one, charged", describeSessions(ss))
				}
				as := e.Attempts(g)
				counted, resumed := 0, false
				for _, a := range as {
					if a.Counted {
						counted++
					}
					// Not every attempt was served: aria2c hangs up on connections it
					// no longer needs, some before vend answers (in proxy mode such
					// an attempt is logged as a 500 "file missing from storage" for
					// now: see TestServeFile_ClientGoneWhileOpening). None was refused.
					if a.Status == http.StatusForbidden || a.Status == http.StatusGone {
						t.Errorf("attempt refused: %s", describeAttempts([]*vend.Attempt{a}))
					}
					resumed = resumed || a.Range == "bytes="+strconv.FormatInt(st.Size(), 10)+"-" && a.Status == m.served206
				}
				if counted != 1 || !resumed || len(as) < 5 {
					t.Errorf("attempts:%s\nwant 5 or more (full, interrupted, resumed from %d, aria2c's), one counted", describeAttempts(as), st.Size())
				}
			})

			if !redirect {
				t.Run("a multi-range request gets its ranges from ranged reads, in the session", func(t *testing.T) {
					g := e.MustCreateGrant(e.S3Book, nil)
					v.Gets()
					far := 5 << 20 // beyond what a read skips on an open response: a GET of its own
					resp := e.Get(e.URL(g, e.S3Big), "Range", fmt.Sprintf("bytes=0-9,100-199,%d-%d", far, far+99))
					if resp.Status != http.StatusPartialContent {
						t.Fatalf("status = %d, want 206", resp.Status)
					}
					checkByteRanges(t, resp, e.S3BigData, "application/pdf", [][2]int{{0, 9}, {100, 199}, {far, far + 99}})
					gets := v.Gets()
					if !hasGet(gets, "bytes=0-") || !hasGet(gets, fmt.Sprintf("bytes=%d-", far)) {
						t.Errorf("bucket GETs %+v, want ranged GETs from 0 and from %d", gets, far)
					}
					e.Get(e.URL(g, e.S3Big), "Range", "bytes=200-299,400-499")
					e.Settle()
					if used := e.Grant(g).DownloadsUsed; used != 1 {
						t.Errorf("downloads_used = %d, want 1", used)
					}
					if ss := e.Sessions(g); len(ss) != 1 || ss[0].Completed || ss[0].BytesSent < 410 {
						t.Errorf("sessions:%s\nwant one, not completed, with the ranges' bytes", describeSessions(ss))
					}
				})
			}

			t.Run("HEAD gets the file's headers from vend, never a redirect, and never counts", func(t *testing.T) {
				g := e.MustCreateGrant(e.S3Book, func(g *vend.Grant) { g.DownloadLimit = 1 })
				v.Gets()
				for range 3 {
					resp := e.Do(http.MethodHead, e.URL(g, e.S3Big))
					if resp.Status != http.StatusOK || resp.Header.Get("Location") != "" || len(resp.Body) != 0 ||
						resp.Header.Get("Content-Length") != strconv.Itoa(s3BigSize) ||
						resp.Header.Get("ETag") != `"`+e.S3Big.SHA256+`"` ||
						resp.Header.Get("Content-Disposition") != blob.Attachment(bigName) {
						t.Fatalf("HEAD: status %d, headers %v", resp.Status, resp.Header)
					}
				}
				e.Settle()
				if gets := v.Gets(); len(gets) != 0 {
					t.Errorf("bucket GETs %+v, want none for HEADs", gets)
				}
				if used, ss := e.Grant(g).DownloadsUsed, e.Sessions(g); used != 0 || len(ss) != 0 {
					t.Errorf("downloads_used = %d, %d sessions; want none", used, len(ss))
				}
				if as := e.Attempts(g); len(as) != 3 || as[0].Counted || as[0].Method != http.MethodHead {
					t.Errorf("attempts:%s\nwant three uncounted HEADs", describeAttempts(as))
				}
				if _, resp := e.Fetch(t, e.URL(g, e.S3Small)); resp.Status != http.StatusOK || !bytes.Equal(resp.Body, e.S3SmallData) {
					t.Errorf("GET after the HEADs: status %d, want 200 and the file", resp.Status)
				}
			})

			t.Run("at the limit another client gets 403 and nothing to fetch, the open download goes on", func(t *testing.T) {
				g := e.MustCreateGrant(e.S3Book, func(g *vend.Grant) { g.DownloadLimit = 1 })
				u := e.URL(g, e.S3Big)
				first, resp := e.Fetch(t, u, "Range", "bytes=0-1048575")
				if first.Status != m.served206 || resp.Status != http.StatusPartialContent || !bytes.Equal(resp.Body, e.S3BigData[:1<<20]) {
					t.Fatalf("first range: status %d then %d; want %d, then 206 and the range", first.Status, resp.Status, m.served206)
				}
				other := e.Get(u, "X-Test-Client", "198.51.100.9")
				if other.Status != http.StatusForbidden || other.Header.Get("Location") != "" || bytes.Contains(other.Body, e.S3BigData[:64]) {
					t.Errorf("another client: status %d, headers %v; want 403 and no file, no URL", other.Status, other.Header)
				} else if !strings.Contains(string(other.Body), "used all downloads") {
					t.Errorf("another client: body %q, want vend's message", other.Body)
				}
				if _, resp := e.Fetch(t, u, "Range", "bytes=1048576-"); resp.Status != http.StatusPartialContent || !bytes.Equal(resp.Body, e.S3BigData[1<<20:]) {
					t.Errorf("resume: status %d, want 206 and the rest", resp.Status)
				}
				e.Settle()
				if used := e.Grant(g).DownloadsUsed; used != 1 {
					t.Errorf("downloads_used = %d, want 1", used)
				}
				if ss := e.Sessions(g); len(ss) != 1 {
					t.Errorf("sessions:%s\nwant one", describeSessions(ss))
				}
			})

			t.Run("a refunded grant gets 410 on its next request; a URL issued before lives only RedirectTTL", func(t *testing.T) {
				g := e.MustCreateGrant(e.S3Book, nil)
				u := e.URL(g, e.S3Big)
				first, resp := e.Fetch(t, u, "Range", "bytes=0-1048575")
				if resp.Status != http.StatusPartialContent || !bytes.Equal(resp.Body, e.S3BigData[:1<<20]) {
					t.Fatalf("first range: status %d, want 206 and the range", resp.Status)
				}
				e.UpdateGrant(g, func(g *vend.Grant) { g.State, g.Reason = vend.GrantRevoked, "refunded" })
				after := e.Get(u, "Range", "bytes=1048576-")
				if after.Status != http.StatusGone || after.Header.Get("Location") != "" || bytes.Contains(after.Body, e.S3BigData[1<<20:1<<20+64]) {
					t.Fatalf("after the refund: status %d, headers %v; want 410 and nothing to fetch", after.Status, after.Header)
				}
				if !strings.Contains(string(after.Body), "ended") {
					t.Errorf("after the refund: body %q, want vend's message", after.Body)
				}
				if resp := e.Do(http.MethodHead, u); resp.Status != http.StatusGone {
					t.Errorf("HEAD after the refund: status %d, want 410", resp.Status)
				}
				if resp := e.Get(e.URL(g, e.S3Small)); resp.Status != http.StatusGone {
					t.Errorf("the other file after the refund: status %d, want 410", resp.Status)
				}
				if redirect {
					// vend cannot take back a URL it handed out: anyone who has it
					// can use it until it expires, RedirectTTL after it was signed.
					loc := first.Header.Get("Location")
					checkPresigned(t, v, loc)
					if resp, body := get(t, e.Follow, loc, "Range", "bytes=1048576-"); resp.StatusCode != http.StatusPartialContent ||
						!bytes.Equal(body, e.S3BigData[1<<20:]) {
						t.Errorf("the URL issued before the refund: status %d, want 206 until it expires", resp.StatusCode)
					}
				}
				e.Settle()
				if used := e.Grant(g).DownloadsUsed; used != 1 {
					t.Errorf("downloads_used = %d, want 1", used)
				}
				as := e.Attempts(g)
				if n := len(as); n != 4 || as[1].Status != http.StatusGone || as[1].Counted {
					t.Errorf("attempts:%s\nwant the first and three refused with 410", describeAttempts(as))
				}
			})
		})
	}
}

func hasGet(gets []StorageGet, rng string) bool {
	for _, g := range gets {
		if g.Range == rng {
			return true
		}
	}
	return false
}

func describeSessions(ss []*vend.Session) string {
	var b strings.Builder
	for _, s := range ss {
		fmt.Fprintf(&b, "\n  %+v", *s)
	}
	return b.String()
}

func describeAttempts(as []*vend.Attempt) string {
	var b strings.Builder
	for _, a := range as {
		fmt.Fprintf(&b, "\n  %s range=%q status=%d bytes=%d counted=%v session=%d refused=%q ua=%q",
			a.Method, a.Range, a.Status, a.BytesSent, a.Counted, a.SessionID, a.Refused, a.UserAgent)
	}
	return b.String()
}
