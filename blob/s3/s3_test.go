package s3_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/blob"
	"github.com/vend-shop/vend/blob/blobtest"
	"github.com/vend-shop/vend/blob/s3"
)

func TestStore(t *testing.T) {
	srv := MustStartServer(t)
	blobtest.Run(t, func(tb testing.TB) blob.Store {
		st, _ := srv.MustOpenStore(tb)
		return st
	})
}

func TestStore_Put(t *testing.T) {
	srv := MustStartServer(t)
	ctx := context.Background()

	t.Run("a small file goes up in one request, straight to its key", func(t *testing.T) {
		st, bucket := srv.MustOpenStore(t)
		srv.Requests(isAny)
		data := blobtest.Data(10, 1<<20)
		info := blobtest.MustPut(t, st, data)
		if reqs := srv.Requests(isAny); len(reqs) != 1 || reqs[0].Method != http.MethodPut || isCopy(reqs[0]) {
			t.Errorf("requests:%s\nwant one PUT", describe(reqs))
		}
		if keys := srv.Keys(t, bucket); !slices.Equal(keys, []string{"files/" + info.Key}) {
			t.Errorf("objects %q, want only files/%s", keys, info.Key)
		}
	})

	t.Run("40 MiB goes up in parts, is copied to its key, reads back the same", func(t *testing.T) {
		st, bucket := srv.MustOpenStore(t)
		st.PartSize = 5 << 20
		st.Concurrency = 3
		data := blobtest.Data(11, 40<<20)
		srv.Requests(isAny)
		info := blobtest.MustPut(t, st, data)
		reqs := srv.Requests(isAny)
		if parts := filter(reqs, isPart); len(parts) != 8 {
			t.Errorf("%d parts uploaded, want 8:%s", len(parts), describe(reqs))
		}
		if copies := filter(reqs, isCopy); len(copies) != 1 {
			t.Errorf("%d copies, want 1:%s", len(copies), describe(reqs))
		}
		if dels := filter(reqs, isDelete); len(dels) != 1 || !strings.Contains(dels[0].URL.Path, "/files/tmp/") {
			t.Errorf("deletes:%s\nwant one of files/tmp/…", describe(dels))
		}
		if got := blobtest.MustRead(t, st, info.Key); !bytes.Equal(got, data) {
			t.Fatal("read back other bytes")
		}
		if keys := srv.Keys(t, bucket); !slices.Equal(keys, []string{"files/" + info.Key}) {
			t.Errorf("objects %q, want only files/%s", keys, info.Key)
		}
		if ups := srv.Uploads(t, bucket); len(ups) != 0 {
			t.Errorf("uploads left in progress: %q", ups)
		}

		// The same file again: uploaded (its hash is not known before), not copied.
		srv.Requests(isAny)
		if again := blobtest.MustPut(t, st, data); again != info {
			t.Errorf("second Put = %+v, want %+v", again, info)
		}
		if reqs := srv.Requests(isAny); len(filter(reqs, isCopy)) != 0 || len(filter(reqs, isDelete)) != 1 {
			t.Errorf("second Put of the same bytes:%s\nwant no copy and one delete", describe(reqs))
		}
		if keys := srv.Keys(t, bucket); !slices.Equal(keys, []string{"files/" + info.Key}) {
			t.Errorf("objects %q, want only files/%s", keys, info.Key)
		}
	})

	t.Run("beyond the single-copy limit the copy goes in parts", func(t *testing.T) {
		st, bucket := srv.MustOpenStore(t)
		st.PartSize = 5 << 20
		st.SetCopyLimits(12<<20, 5<<20)
		data := blobtest.Data(12, 12<<20+1)
		srv.Requests(isAny)
		info := blobtest.MustPut(t, st, data)
		reqs := srv.Requests(isAny)
		if n := len(filter(reqs, isPartCopy)); n != 3 {
			t.Errorf("%d part copies, want 3:%s", n, describe(reqs))
		}
		if n := len(filter(reqs, isCopy)); n != 0 {
			t.Errorf("%d whole copies, want 0", n)
		}
		if got := blobtest.MustRead(t, st, info.Key); !bytes.Equal(got, data) {
			t.Fatal("read back other bytes")
		}
		if keys := srv.Keys(t, bucket); !slices.Equal(keys, []string{"files/" + info.Key}) {
			t.Errorf("objects %q, want only files/%s", keys, info.Key)
		}
	})

	t.Run("a file of exactly one part", func(t *testing.T) {
		st, _ := srv.MustOpenStore(t)
		st.PartSize = 5 << 20
		data := blobtest.Data(13, 5<<20)
		info := blobtest.MustPut(t, st, data)
		if got := blobtest.MustRead(t, st, info.Key); !bytes.Equal(got, data) {
			t.Fatal("read back other bytes")
		}
	})

	// Failures in the middle of a multipart upload leave nothing behind: no object
	// under any key, temporary or final, and no upload in progress.
	for _, tt := range []struct {
		name string
		put  func(st *s3.Store, data []byte) error
		want error
	}{
		{
			name: "a reader error after two parts stores nothing",
			put: func(st *s3.Store, data []byte) error {
				_, err := st.Put(ctx, io.MultiReader(bytes.NewReader(data[:12<<20]), errReader{errBroken}))
				return err
			},
			want: errBroken,
		},
		{
			name: "a cancelled context after two parts stores nothing",
			put: func(st *s3.Store, data []byte) error {
				ctx, cancel := context.WithCancel(ctx)
				defer cancel()
				_, err := st.Put(ctx, io.MultiReader(bytes.NewReader(data[:12<<20]), cancelReader{cancel}, bytes.NewReader(data[12<<20:])))
				return err
			},
			want: context.Canceled,
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st, bucket := srv.MustOpenStore(t)
			st.PartSize = 5 << 20
			data := blobtest.Data(14, 20<<20)
			if err := tt.put(st, data); !errors.Is(err, tt.want) {
				t.Fatalf("Put = %v, want %v", err, tt.want)
			}
			if keys := srv.Keys(t, bucket); len(keys) != 0 {
				t.Errorf("objects left: %q", keys)
			}
			if ups := srv.Uploads(t, bucket); len(ups) != 0 {
				t.Errorf("uploads left in progress: %q", ups)
			}
			blobtest.MustNotFind(t, st, blobtest.Key(data))
		})
	}
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

type cancelReader struct{ cancel func() }

func (r cancelReader) Read([]byte) (int, error) { r.cancel(); return 0, io.EOF }

func filter(reqs []*http.Request, match func(*http.Request) bool) []*http.Request {
	var out []*http.Request
	for _, r := range reqs {
		if match(r) {
			out = append(out, r)
		}
	}
	return out
}

func TestStore_Open(t *testing.T) {
	srv := MustStartServer(t)
	st, _ := srv.MustOpenStore(t)
	data := blobtest.Data(20, 3<<20)
	info := blobtest.MustPut(t, st, data)
	ctx := context.Background()

	t.Run("size and time come from one HEAD; Seek sends nothing; sequential reads share one GET", func(t *testing.T) {
		srv.Requests(isAny)
		obj, err := st.Open(ctx, info.Key)
		if err != nil {
			t.Fatal(err)
		}
		defer obj.Reader.Close()
		if obj.Size != int64(len(data)) || time.Since(obj.ModTime) > time.Hour {
			t.Errorf("Size %d, ModTime %v", obj.Size, obj.ModTime)
		}
		if reqs := srv.Requests(isAny); len(reqs) != 1 || reqs[0].Method != http.MethodHead {
			t.Errorf("Open sent:%s\nwant one HEAD", describe(reqs))
		}
		if end, err := obj.Reader.Seek(0, io.SeekEnd); end != obj.Size || err != nil {
			t.Errorf("Seek to end = %d, %v", end, err)
		}
		if _, err := obj.Reader.Seek(1000, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		if reqs := srv.Requests(isAny); len(reqs) != 0 {
			t.Errorf("Seek sent:%s", describe(reqs))
		}
		got, err := io.ReadAll(obj.Reader)
		if err != nil || !bytes.Equal(got, data[1000:]) {
			t.Fatalf("read from 1000: %v, %d bytes, equal %v", err, len(got), bytes.Equal(got, data[1000:]))
		}
		if reqs := srv.Requests(isGet); len(reqs) != 1 || reqs[0].Header.Get("Range") != "bytes=1000-" {
			t.Errorf("reading on sent:%s\nwant one GET of bytes=1000-", describe(reqs))
		}
	})

	t.Run("Read and Seek in every direction", func(t *testing.T) {
		obj, err := st.Open(ctx, info.Key)
		if err != nil {
			t.Fatal(err)
		}
		defer obj.Reader.Close()
		r, size := obj.Reader, obj.Size
		steps := []struct {
			offset int64
			whence int
			want   int64 // position after the Seek
			n      int   // bytes to read then
		}{
			{0, io.SeekStart, 0, 10},
			{100, io.SeekCurrent, 110, 1000},              // a short skip ahead
			{-500, io.SeekCurrent, 610, 100},              // back
			{2 << 20, io.SeekStart, 2 << 20, 64 << 10},    // far ahead
			{-10, io.SeekEnd, size - 10, 10},              // the last bytes
			{0, io.SeekStart, 0, 5},                       // back to the start
			{1<<20 + 3, io.SeekStart, 1<<20 + 3, 1 << 20}, // across a megabyte
		}
		for _, s := range steps {
			pos, err := r.Seek(s.offset, s.whence)
			if err != nil || pos != s.want {
				t.Fatalf("Seek(%d, %d) = %d, %v; want %d", s.offset, s.whence, pos, err, s.want)
			}
			buf := make([]byte, s.n)
			if _, err := io.ReadFull(r, buf); err != nil || !bytes.Equal(buf, data[pos:pos+int64(s.n)]) {
				t.Fatalf("after Seek(%d, %d): %v, equal %v", s.offset, s.whence, err, bytes.Equal(buf, data[pos:pos+int64(s.n)]))
			}
		}
		if _, err := r.Seek(0, io.SeekEnd); err != nil {
			t.Fatal(err)
		}
		if n, err := r.Read(make([]byte, 10)); n != 0 || err != io.EOF {
			t.Errorf("Read at the end = %d, %v; want 0, EOF", n, err)
		}
		if _, err := r.Seek(size+100, io.SeekStart); err != nil {
			t.Errorf("Seek past the end: %v", err)
		}
		if n, err := r.Read(make([]byte, 10)); n != 0 || err != io.EOF {
			t.Errorf("Read past the end = %d, %v; want 0, EOF", n, err)
		}
		if _, err := r.Seek(-1, io.SeekStart); err == nil {
			t.Error("Seek to -1 succeeded")
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Read(make([]byte, 10)); err == nil {
			t.Error("Read after Close succeeded")
		}
	})

	// A response that breaks off is resumed with a new GET from where it broke, as
	// long as each one brings bytes; a Read fails after three in a row bring none.
	for _, tt := range []struct {
		name       string
		breakAfter int64
		breaks     int32
		gets       int
		fail       bool
	}{
		{"a response that breaks off twice is resumed twice", 1 << 20, 2, 3, false},
		{"responses that break off every 100 KiB still get there", 100 << 10, 1000, 31, false},
		{"responses that bring nothing fail the Read after three retries", 0, 1000, 4, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			obj, err := st.Open(ctx, info.Key)
			if err != nil {
				t.Fatal(err)
			}
			defer obj.Reader.Close()
			srv.BreakAfter.Store(tt.breakAfter)
			srv.BreakGets.Store(tt.breaks)
			defer srv.BreakGets.Store(0)
			srv.Requests(isAny)
			got, err := io.ReadAll(obj.Reader)
			if tt.fail {
				if !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Errorf("read = %v, want unexpected EOF", err)
				}
			} else if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("read: %v, %d bytes, equal %v", err, len(got), bytes.Equal(got, data))
			}
			gets := srv.Requests(isGet)
			if len(gets) != tt.gets {
				t.Fatalf("%d GETs, want %d:%s", len(gets), tt.gets, describe(gets))
			}
			for i, g := range gets {
				if want := fmt.Sprintf("bytes=%d-", min(int64(i)*tt.breakAfter, int64(len(data)))); g.Header.Get("Range") != want {
					t.Errorf("GET %d: Range %q, want %q", i, g.Header.Get("Range"), want)
				}
			}
		})
	}

	t.Run("keys that are not content keys send no request", func(t *testing.T) {
		srv.Requests(isAny)
		for _, key := range []string{"", "../" + info.Key, "files/" + info.Key, "tmp/" + info.Key[3:], strings.ToUpper(info.Key)} {
			blobtest.MustNotFind(t, st, key)
			if _, err := st.PresignGet(ctx, key, "a.zip", time.Minute); vend.ErrorCode(err) != vend.ENOTFOUND {
				t.Errorf("PresignGet(%q) = %v, want not found", key, err)
			}
		}
		if reqs := srv.Requests(isAny); len(reqs) != 0 {
			t.Errorf("requests sent:%s", describe(reqs))
		}
	})

	t.Run("http.ServeContent answers whole, ranged and multi-range requests", func(t *testing.T) {
		web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			obj, err := st.Open(r.Context(), info.Key)
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			defer obj.Reader.Close()
			w.Header().Set("ETag", `"`+info.SHA256+`"`)
			http.ServeContent(w, r, "", time.Time{}, obj.Reader)
		}))
		defer web.Close()
		ranges := [][2]int64{{0, 99}, {1 << 20, 1<<20 + 65535}, {int64(len(data)) - 7, int64(len(data)) - 1}}
		tests := []struct {
			name   string
			header string
			status int
			want   [][2]int64
		}{
			{"whole", "", http.StatusOK, [][2]int64{{0, int64(len(data)) - 1}}},
			{"one range", "bytes=1048576-1114111", http.StatusPartialContent, ranges[1:2]},
			{"a suffix", "bytes=-7", http.StatusPartialContent, ranges[2:3]},
			{"an open end (curl -C -)", "bytes=3000000-", http.StatusPartialContent, [][2]int64{{3000000, int64(len(data)) - 1}}},
			{"three ranges", "bytes=0-99,1048576-1114111,-7", http.StatusPartialContent, ranges},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				req, _ := http.NewRequest(http.MethodGet, web.URL, nil)
				if tt.header != "" {
					req.Header.Set("Range", tt.header)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				if resp.StatusCode != tt.status {
					t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
				}
				got := readParts(t, resp)
				if len(got) != len(tt.want) {
					t.Fatalf("%d parts, want %d", len(got), len(tt.want))
				}
				for i, w := range tt.want {
					if !bytes.Equal(got[i], data[w[0]:w[1]+1]) {
						t.Errorf("part %d (%d-%d): other bytes", i, w[0], w[1])
					}
				}
			})
		}
	})
}

// readParts returns the body of resp, or the parts of a multipart/byteranges body.
func readParts(t *testing.T, resp *http.Response) [][]byte {
	t.Helper()
	mt, params, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if mt != "multipart/byteranges" {
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return [][]byte{b}
	}
	var parts [][]byte
	mr := multipart.NewReader(resp.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return parts
		} else if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(p)
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, b)
	}
}

func TestStore_PresignGet(t *testing.T) {
	srv := MustStartServer(t)
	st, _ := srv.MustOpenStore(t)
	data := blobtest.Data(30, 200_000)
	info := blobtest.MustPut(t, st, data)
	ctx := context.Background()

	for _, tt := range []struct {
		name, filename, disposition, contentType string
	}{
		{"ASCII", "guide.pdf", `attachment; filename="guide.pdf"`, "application/pdf"},
		{"UTF-8 with an ASCII fallback", "Überblick – Kapitel 1.zip", `attachment; filename="_berblick _ Kapitel 1.zip"; filename*=UTF-8''%C3%9Cberblick%20%E2%80%93%20Kapitel%201.zip`, "application/zip"},
		{"quotes and a path", `../a "b".bin`, `attachment; filename="a _b_.bin"; filename*=UTF-8''a%20%22b%22.bin`, "application/octet-stream"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			u, err := st.PresignGet(ctx, info.Key, tt.filename, 5*time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			if q := mustParse(t, u).Query(); q.Get("X-Amz-Expires") != "300" || q.Get("X-Amz-SignedHeaders") != "host" {
				t.Errorf("X-Amz-Expires %q, X-Amz-SignedHeaders %q; want 300, host", q.Get("X-Amz-Expires"), q.Get("X-Amz-SignedHeaders"))
			}
			resp, body := fetch(t, u, "")
			if resp.StatusCode != http.StatusOK || !bytes.Equal(body, data) {
				t.Fatalf("GET: status %d, %d bytes, equal %v", resp.StatusCode, len(body), bytes.Equal(body, data))
			}
			if got := resp.Header.Get("Content-Disposition"); got != tt.disposition {
				t.Errorf("Content-Disposition %q, want %q", got, tt.disposition)
			}
			if got := resp.Header.Get("Content-Type"); got != tt.contentType {
				t.Errorf("Content-Type %q, want %q", got, tt.contentType)
			}
			_, params, err := mime.ParseMediaType(resp.Header.Get("Content-Disposition"))
			if want := strings.ReplaceAll(tt.filename, "../", ""); err != nil || params["filename"] != want {
				t.Errorf("Content-Disposition parses to %q, %v; want %q", params["filename"], err, want)
			}

			resp, body = fetch(t, u, "bytes=100000-")
			if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(body, data[100000:]) {
				t.Errorf("Range: status %d, %d bytes, equal %v", resp.StatusCode, len(body), bytes.Equal(body, data[100000:]))
			}
			if got, want := resp.Header.Get("Content-Range"), "bytes 100000-199999/200000"; got != want {
				t.Errorf("Content-Range %q, want %q", got, want)
			}
		})
	}

	t.Run("the URL stops working when its time is up", func(t *testing.T) {
		u, err := st.PresignGet(ctx, info.Key, "a.zip", time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if got := mustParse(t, u).Query().Get("X-Amz-Expires"); got != "1" {
			t.Errorf("X-Amz-Expires %q, want 1", got)
		}
		time.Sleep(2100 * time.Millisecond)
		if resp, _ := fetch(t, u, ""); resp.StatusCode != http.StatusForbidden {
			t.Errorf("after expiry: status %d, want 403", resp.StatusCode)
		}
	})

	t.Run("a changed URL is refused", func(t *testing.T) {
		u, err := st.PresignGet(ctx, info.Key, "a.zip", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		forged := strings.Replace(u, "a.zip", "b.zip", 1)
		if resp, _ := fetch(t, forged, ""); resp.StatusCode != http.StatusForbidden {
			t.Errorf("forged URL: status %d, want 403", resp.StatusCode)
		}
	})

	t.Run("lifetimes outside 1s to 7 days are refused", func(t *testing.T) {
		for _, ttl := range []time.Duration{0, -time.Minute, 500 * time.Millisecond, s3.MaxPresignTTL + time.Second} {
			if _, err := st.PresignGet(ctx, info.Key, "a.zip", ttl); err == nil {
				t.Errorf("ttl %v accepted", ttl)
			}
		}
	})
}

func mustParse(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func fetch(t *testing.T, u, rangeHeader string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rangeHeader != "" {
		req.Header.Set("Range", rangeHeader)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func TestOpen(t *testing.T) {
	t.Run("errors name the part of the URL that is wrong", func(t *testing.T) {
		for _, tt := range []struct{ url, want string }{
			{"http://bucket/files", `scheme "http"`},
			{"bucket/files", `scheme ""`},
			{"s3:///files", "no bucket"},
			{"s3:bucket", "no bucket"},
			{"s3://Bucket", `bucket name "Bucket"`},
			{"s3://ab", `bucket name "ab"`},
			{"s3://bucket_1", `bucket name "bucket_1"`},
			{"s3://bucket:7070/files", "port"},
			{"s3://key:secret@bucket", "credentials"},
			{"s3://bucket/a//b", `prefix "/a//b"`},
			{"s3://bucket/a/../b", `prefix "/a/../b"`},
			{"s3://bucket?endpoint=127.0.0.1:7070", `endpoint "127.0.0.1:7070"`},
			{"s3://bucket?endpoint=ftp://host", `endpoint "ftp://host"`},
			{"s3://bucket?region=", `region ""`},
			{"s3://bucket?region=US%20East", `region "US East"`},
			{"s3://bucket?regoin=us-east-1", `unknown URL parameter "regoin"`},
			{"s3://bucket?region=a&region=b", `"region" given 2 times`},
			{"s3://bucket#x", "fragment"},
		} {
			_, err := s3.Open(context.Background(), tt.url)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Open(%q) = %v, want an error with %q", tt.url, err, tt.want)
			}
			if err != nil && strings.Contains(tt.url, "secret") && strings.Contains(err.Error(), "secret") {
				t.Errorf("Open(%q) repeats the secret: %v", tt.url, err)
			}
		}
	})

	srv := MustStartServer(t)
	bucket := srv.MustCreateBucket(t)
	endpoint := url.QueryEscape(srv.URL)

	t.Run("a missing bucket is named", func(t *testing.T) {
		_, err := s3.Open(context.Background(), "s3://no-such-bucket?endpoint="+endpoint)
		if err == nil || !strings.Contains(err.Error(), `bucket "no-such-bucket" does not exist`) {
			t.Errorf("Open = %v", err)
		}
	})

	t.Run("wrong credentials are named", func(t *testing.T) {
		t.Setenv("AWS_SECRET_ACCESS_KEY", "wrong")
		_, err := s3.Open(context.Background(), "s3://"+bucket+"?endpoint="+endpoint)
		if err == nil || !strings.Contains(err.Error(), "access denied") {
			t.Errorf("Open = %v", err)
		}
	})

	t.Run("no region without an endpoint is named", func(t *testing.T) {
		_, err := s3.Open(context.Background(), "s3://"+bucket)
		if err == nil || !strings.Contains(err.Error(), "region") {
			t.Errorf("Open = %v", err)
		}
	})

	t.Run("keys go under the prefix; without one, at the top", func(t *testing.T) {
		for _, tt := range []struct{ path, prefix string }{
			{"", ""},
			{"/", ""},
			{"/shop/files/", "shop/files/"},
			{"/shop/files", "shop/files/"},
		} {
			st, err := s3.Open(context.Background(), "s3://"+bucket+tt.path+"?region=us-east-1&endpoint="+endpoint)
			if err != nil {
				t.Fatal(err)
			}
			data := []byte("prefix " + tt.path)
			info := blobtest.MustPut(t, st, data)
			if keys := srv.Keys(t, bucket); !slices.Contains(keys, tt.prefix+info.Key) {
				t.Errorf("path %q: objects %q, want %s", tt.path, keys, tt.prefix+info.Key)
			}
			if got := blobtest.MustRead(t, st, info.Key); !bytes.Equal(got, data) {
				t.Errorf("path %q: read back %q", tt.path, got)
			}
		}
	})
}

func BenchmarkStore_Read(b *testing.B) {
	srv := MustStartServer(b)
	st, _ := srv.MustOpenDirectStore(b)
	data := blobtest.Data(40, 64<<20)
	info := blobtest.MustPut(b, st, data)
	buf := make([]byte, 32<<10) // what http.ServeContent reads with
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		obj, err := st.Open(context.Background(), info.Key)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{obj.Reader}, buf); err != nil {
			b.Fatal(err)
		}
		obj.Reader.Close()
	}
}

func BenchmarkStore_Put(b *testing.B) {
	srv := MustStartServer(b)
	st, _ := srv.MustOpenDirectStore(b)
	data := blobtest.Data(41, 64<<20)
	b.SetBytes(int64(len(data)))
	for i := 0; b.Loop(); i++ {
		data[0] = byte(i) // new content each time
		if _, err := st.Put(context.Background(), bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}
