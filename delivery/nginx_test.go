package delivery_test

import (
	"bytes"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/delivery"
	"github.com/vend-shop/vend/internal/servicetest"
)

// TestNginx_XAccel downloads through a real nginx in front of a service in
// ModeXAccel: vend admits and counts, nginx sends the bytes.
func TestNginx_XAccel(t *testing.T) {
	t.Parallel()
	e := MustOpenEnv(t, delivery.Config{Mode: delivery.ModeXAccel}, nil)
	n := servicetest.MustStartNginx(t, e.Server.URL, delivery.DefaultXAccelPrefix, e.Blobs.Dir(), "")
	// through is the link of f under g as buyers reach it: through nginx.
	through := func(g *vend.Grant, f *vend.File) string {
		return n.URL + strings.TrimPrefix(e.URL(g, f), e.Server.URL)
	}

	t.Run("a full download is byte-identical, with the file's headers, and is one completed download", func(t *testing.T) {
		g := e.MustCreateGrant(e.Solo, nil)
		resp := e.Get(through(g, e.SoloFile))
		e.Settle()
		if resp.Status != http.StatusOK || !bytes.Equal(resp.Body, e.BigData) {
			t.Fatalf("status %d, %d bytes; want 200 and the file's %d", resp.Status, len(resp.Body), bigSize)
		}
		for _, h := range []struct{ name, want string }{
			{"Content-Disposition", `attachment; filename="M_ller _ Buch.pdf"; filename*=UTF-8''M%C3%BCller%20%E2%80%93%20Buch.pdf`},
			{"Content-Type", "application/pdf"},
			{"Content-Length", strconv.Itoa(bigSize)},
			{"ETag", `"` + e.SoloFile.SHA256 + `"`},
			{"Cache-Control", "private, no-transform"},
			{"X-Content-Type-Options", "nosniff"},
			{"Accept-Ranges", "bytes"},
			{"Server", "nginx/"}, // a prefix: nginx sent it
			{"X-Accel-Redirect", ""},
		} {
			if got := resp.Header.Get(h.name); got != h.want && !(h.name == "Server" && strings.HasPrefix(got, h.want)) {
				t.Errorf("%s = %q, want %q", h.name, got, h.want)
			}
		}
		if used := e.Grant(g).DownloadsUsed; used != 1 {
			t.Errorf("downloads_used = %d, want 1", used)
		}
		if ss := e.Sessions(g); len(ss) != 1 || !ss[0].Charged || !ss[0].Completed {
			t.Errorf("sessions = %+v, want one, charged and completed (all of it handed to nginx)", ss)
		}
		if as := e.Attempts(g); len(as) != 1 || as[0].Status != 200 || as[0].BytesSent != 0 || !as[0].Counted || as[0].SessionID == 0 {
			t.Errorf("attempts = %+v, want one counted 200 with bytes unknown (0)", as)
		}
	})

	t.Run("curl -C - resumes an interrupted transfer, in the same download", func(t *testing.T) {
		curl := servicetest.Curl.Need(t)
		g := e.MustCreateGrant(e.Book, nil)
		out := filepath.Join(t.TempDir(), "book.pdf")
		// X-Test-Slow: nginx sends this transfer at 1 MiB/s; curl gives up after 1 s.
		err := run(t, curl, "-sS", "-H", "X-Test-Slow: 1", "--max-time", "1", "-o", out, through(g, e.Big))
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 28 {
			t.Fatalf("first curl: %v, want exit code 28 (timed out)", err)
		}
		st, err := os.Stat(out)
		if err != nil || st.Size() == 0 || st.Size() >= bigSize {
			t.Fatalf("after the interruption: %v, want part of the file", err)
		}
		if err := run(t, curl, "-sS", "--fail", "-C", "-", "-o", out, through(g, e.Big)); err != nil {
			t.Fatalf("curl -C -: %v", err)
		}
		e.Settle()
		if got := fileSHA256(t, out); got != e.Big.SHA256 {
			t.Fatalf("resumed file's sha256 = %s, want %s", got, e.Big.SHA256)
		}
		if used := e.Grant(g).DownloadsUsed; used != 1 {
			t.Errorf("downloads_used = %d, want 1", used)
		}
		if ss := e.Sessions(g); len(ss) != 1 {
			t.Errorf("sessions = %+v, want one", ss)
		}
		as := e.Attempts(g)
		if len(as) != 2 || as[1].Range != "bytes="+strconv.FormatInt(st.Size(), 10)+"-" || as[1].Counted || as[1].SessionID != as[0].SessionID {
			t.Errorf("attempts = %+v, want a GET and an uncounted resume from %d in its session", as, st.Size())
		}
	})

	t.Run("aria2c -x4 -s4 gets a byte-identical file as one download", func(t *testing.T) {
		aria2c := servicetest.Aria2c.Need(t)
		g := e.MustCreateGrant(e.Solo, nil)
		dir := t.TempDir()
		// On a slow line (1 MiB/s a connection) aria2c always opens its other
		// connections: on loopback the first one may get the whole file first.
		err := run(t, aria2c, "--no-conf", "--quiet", "--header=X-Test-Slow: 1", "--max-connection-per-server=4", "--split=4", "--min-split-size=1M",
			"--file-allocation=none", "--allow-overwrite=true", "--auto-file-renaming=false", "--max-tries=1",
			"--dir", dir, "--out", "book.pdf", through(g, e.SoloFile))
		if err != nil {
			t.Fatalf("aria2c: %v", err)
		}
		e.Settle()
		if got := fileSHA256(t, filepath.Join(dir, "book.pdf")); got != e.SoloFile.SHA256 {
			t.Fatalf("downloaded file's sha256 = %s, want %s", got, e.SoloFile.SHA256)
		}
		if used := e.Grant(g).DownloadsUsed; used != 1 {
			t.Errorf("downloads_used = %d, want 1", used)
		}
		if ss := e.Sessions(g); len(ss) != 1 || !ss[0].Completed {
			t.Errorf("sessions = %+v, want one, completed", ss)
		}
		if as := e.Attempts(g); len(as) < 2 {
			t.Errorf("%d attempts, want several connections", len(as))
		}
	})

	t.Run("a multi-range request gets its ranges from nginx and joins the session", func(t *testing.T) {
		g := e.MustCreateGrant(e.Book, nil)
		resp := e.Get(through(g, e.Big), "Range", "bytes=0-9,100-199")
		e.Get(through(g, e.Big), "Range", "bytes=200-299,400-499")
		e.Settle()
		if resp.Status != http.StatusPartialContent {
			t.Fatalf("status = %d, want 206", resp.Status)
		}
		checkByteRanges(t, resp, e.BigData, "application/pdf", [][2]int{{0, 9}, {100, 199}})
		if used := e.Grant(g).DownloadsUsed; used != 1 {
			t.Errorf("downloads_used = %d, want 1", used)
		}
		if ss := e.Sessions(g); len(ss) != 1 || ss[0].Completed || ss[0].BytesSent != 310 {
			t.Errorf("sessions = %+v, want one, not completed, credited with the 310 bytes asked for", ss)
		}
	})

	t.Run("HEAD gets the file's headers from nginx and never counts", func(t *testing.T) {
		g := e.MustCreateGrant(e.Book, func(g *vend.Grant) { g.DownloadLimit = 1 })
		for range 3 {
			resp := e.Do(http.MethodHead, through(g, e.Big))
			if resp.Status != http.StatusOK || resp.Header.Get("Content-Length") != strconv.Itoa(bigSize) ||
				resp.Header.Get("ETag") != `"`+e.Big.SHA256+`"` || len(resp.Body) != 0 {
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
		if resp := e.Get(through(g, e.Small)); resp.Status != http.StatusOK || !bytes.Equal(resp.Body, e.SmallData) {
			t.Errorf("GET after HEADs: status %d, want 200 and the file", resp.Status)
		}
	})

	t.Run("at the limit another client gets 403 from vend, the open download goes on", func(t *testing.T) {
		g := e.MustCreateGrant(e.Book, func(g *vend.Grant) { g.DownloadLimit = 1 })
		if resp := e.Get(through(g, e.Big), "Range", "bytes=0-1048575"); resp.Status != http.StatusPartialContent {
			t.Fatalf("first range: status %d, want 206", resp.Status)
		}
		// Through nginx every buyer has nginx's address; X-Test-Client stands in
		// for what trusted-proxy support will read.
		if resp := e.Get(through(g, e.Big), "X-Test-Client", "198.51.100.9"); resp.Status != http.StatusForbidden ||
			bytes.Contains(resp.Body, e.BigData[:64]) {
			t.Errorf("another client: status %d, want 403 and no file bytes", resp.Status)
		}
		resp := e.Get(through(g, e.Big), "Range", "bytes=1048576-")
		if resp.Status != http.StatusPartialContent || !bytes.Equal(resp.Body, e.BigData[1048576:]) {
			t.Errorf("resume: status %d, want 206 and the rest", resp.Status)
		}
		e.Settle()
		if used := e.Grant(g).DownloadsUsed; used != 1 {
			t.Errorf("downloads_used = %d, want 1", used)
		}
	})

	t.Run("a refunded grant gets 410 on its next request, and no file bytes", func(t *testing.T) {
		g := e.MustCreateGrant(e.Book, nil)
		u := through(g, e.Big)
		if resp := e.Get(u, "Range", "bytes=0-1048575"); resp.Status != http.StatusPartialContent {
			t.Fatalf("first range: status %d, want 206", resp.Status)
		}
		e.UpdateGrant(g, func(g *vend.Grant) { g.State, g.Reason = vend.GrantRevoked, "refunded" })
		resp := e.Get(u, "Range", "bytes=1048576-")
		if resp.Status != http.StatusGone || bytes.Contains(resp.Body, e.BigData[1048576:1048576+64]) {
			t.Fatalf("after the refund: status %d, want 410 and no file bytes", resp.Status)
		}
		if !strings.Contains(string(resp.Body), "ended") {
			t.Errorf("body = %q, want vend's message", resp.Body)
		}
		if resp := e.Do(http.MethodHead, u); resp.Status != http.StatusGone {
			t.Errorf("HEAD after the refund: status %d, want 410", resp.Status)
		}
		e.Settle()
		if used := e.Grant(g).DownloadsUsed; used != 1 {
			t.Errorf("downloads_used = %d, want 1", used)
		}
	})

	t.Run("the access log has no download tokens", func(t *testing.T) {
		g := e.MustCreateGrant(e.Book, nil)
		e.Get(through(g, e.Small))
		tok := e.Service.Token(g.PublicID)
		var log []byte
		for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			log, _ = os.ReadFile(n.AccessLog())
			if bytes.Contains(log, []byte(e.Small.Key)) {
				break // nginx logged the request (under the file it sent)
			}
		}
		if !bytes.Contains(log, []byte(e.Small.Key)) || bytes.Contains(log, []byte(tok)) || bytes.Contains(log, []byte(g.PublicID)) {
			t.Errorf("access log:\n%s\nwant the request, without the token %s", log, tok)
		}
	})

	t.Run("the storage directory is reachable only through vend's answer", func(t *testing.T) {
		resp := e.Get(n.URL + delivery.DefaultXAccelPrefix + e.Big.Key)
		if resp.Status == http.StatusOK || bytes.Contains(resp.Body, e.BigData[:64]) {
			t.Errorf("GET of the internal location: status %d, want no file", resp.Status)
		}
	})
}
