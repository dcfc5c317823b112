package delivery

import (
	"context"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/store"
)

// Request is one request for a file, as delivery needs to know it.
type Request struct {
	Token  string
	FileID int64
}

// ServeFile serves one file of the grant behind token, after checking the grant
// and counting the download. Errors are written as plain-text pages.
func (s *Service) ServeFile(w http.ResponseWriter, r *http.Request, token string, fileID int64) {
	publicID, ok := s.parseToken(token)
	if !ok {
		s.fail(w, r, errNoLink)
		return
	}
	var g *vend.Grant
	err := s.db.View(r.Context(), func(tx store.Tx) error {
		var err error
		g, err = tx.FindGrantByPublicID(r.Context(), publicID)
		return err
	})
	if vend.ErrorCode(err) == vend.ENOTFOUND {
		err = errNoLink
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.ServeGrant(w, r, g, fileID)
}

// ServeGrant serves a file of grant g. It is also the end of the legacy
// download.cgi links, which find the grant another way.
func (s *Service) ServeGrant(w http.ResponseWriter, r *http.Request, g *vend.Grant, fileID int64) {
	ctx := r.Context()
	a := &vend.Attempt{GrantID: g.ID, FileID: fileID, At: s.Now().UTC(), IP: clientIP(r), UserAgent: r.UserAgent(),
		Method: r.Method, Range: r.Header.Get("Range")}
	file, sess, err := s.admit(ctx, g, fileID, a)
	if err != nil {
		a.Refused, a.Status = vend.ErrorMessage(err), statusOf(err)
		s.rec.add(record{attempt: a})
		s.fail(w, r, err)
		return
	}
	obj, err := s.blobs.Open(ctx, file.Key)
	if err != nil {
		a.Refused, a.Status = "file missing from storage", http.StatusInternalServerError
		s.rec.add(record{attempt: a, session: sess})
		s.Logger.ErrorContext(ctx, "download: open file", "file", file.ID, "error", err)
		s.fail(w, r, vend.Errorf(vend.EINTERNAL, "This file is not available right now. Please try again later."))
		return
	}
	defer obj.Reader.Close()

	h := w.Header()
	// A strong validator: the content hash. Set before ServeContent so that If-Range
	// resumes and If-None-Match are checked against it.
	h.Set("ETag", `"`+file.SHA256+`"`)
	h.Set("Content-Disposition", attachment(file.Name))
	h.Set("Content-Type", contentType(file.Name))
	h.Set("Cache-Control", "private, no-transform")
	h.Set("X-Content-Type-Options", "nosniff")
	cw := &countingWriter{ResponseWriter: w, status: http.StatusOK}
	http.ServeContent(cw, r, "", obj.ModTime, obj.Reader)
	a.Status, a.BytesSent = cw.status, cw.n
	if r.Method == http.MethodHead {
		a.BytesSent = 0
	}
	s.rec.add(record{attempt: a, session: sess})
}

// admit checks the grant and the file and, for a GET, opens or joins the download
// session that counts it. HEAD gets no session.
func (s *Service) admit(ctx context.Context, g *vend.Grant, fileID int64, a *vend.Attempt) (*vend.File, *vend.Session, error) {
	now := s.Now()
	var file *vend.File
	var sess *vend.Session
	// Fast path: a read transaction finds an open session (a resume, another
	// connection of the same download) and needs no write.
	err := s.db.View(ctx, func(tx store.Tx) error {
		var err error
		if g, err = tx.FindGrantByID(ctx, g.ID); err != nil {
			return err
		}
		if file, err = findCurrentFile(ctx, tx, g, fileID); err != nil {
			return err
		}
		if err := s.usable(g); err != nil {
			return err
		}
		if a.Method == http.MethodHead {
			return nil
		}
		sess, err = tx.FindOpenSession(ctx, g.ID, file.ID, a.IP, now.Add(-s.cfg.SessionTimeout), now.Add(-s.cfg.SessionMax))
		if vend.ErrorCode(err) == vend.ENOTFOUND {
			return nil
		}
		return err
	})
	if err != nil || sess != nil || a.Method == http.MethodHead {
		return file, sess, err
	}
	// Slow path: open a session, charging one download, in the single write
	// transaction, where parallel requests are serialized and re-check everything.
	err = s.db.Update(ctx, func(tx store.Tx) error {
		var err error
		if g, err = tx.FindGrantByID(ctx, g.ID); err != nil {
			return err
		}
		if err := s.usable(g); err != nil {
			return err
		}
		sess, err = tx.FindOpenSession(ctx, g.ID, file.ID, a.IP, now.Add(-s.cfg.SessionTimeout), now.Add(-s.cfg.SessionMax))
		if err == nil || vend.ErrorCode(err) != vend.ENOTFOUND {
			return err
		}
		if g.DownloadLimit != vend.Unlimited && g.DownloadsUsed >= g.DownloadLimit {
			return errLimit
		}
		if err := tx.AddDownloadsUsed(ctx, g.ID, 1); err != nil {
			return err
		}
		sess = &vend.Session{GrantID: g.ID, FileID: file.ID, ProductID: g.ProductID, ClientIP: a.IP, Size: file.Size, Charged: true}
		a.Counted = true
		return tx.CreateSession(ctx, sess)
	})
	return file, sess, err
}

var errLimit = vend.Errorf(vend.EFORBIDDEN, "You have used all downloads of this purchase. Please contact the seller if you need another one.")

// usable checks what the grant itself allows; the limit is checked only when a new
// session would be charged, so a download in progress can finish.
func (s *Service) usable(g *vend.Grant) error {
	switch {
	case g.State != vend.GrantActive:
		return vend.Errorf(vend.EGONE, "Access to this download has ended.")
	case g.Expired(s.Now()):
		return vend.Errorf(vend.EGONE, "This download link has expired.")
	}
	return nil
}

func findCurrentFile(ctx context.Context, tx store.Tx, g *vend.Grant, fileID int64) (*vend.File, error) {
	p, err := tx.FindProductByID(ctx, g.ProductID)
	if err != nil {
		return nil, err
	}
	for _, f := range p.Files {
		if f.ID == fileID {
			return f, nil
		}
	}
	return nil, vend.Errorf(vend.ENOTFOUND, "This purchase has no such file.")
}

func statusOf(err error) int {
	switch vend.ErrorCode(err) {
	case vend.ENOTFOUND:
		return http.StatusNotFound
	case vend.EFORBIDDEN:
		return http.StatusForbidden
	case vend.EGONE:
		return http.StatusGone
	case vend.EINVALID:
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

func (s *Service) fail(w http.ResponseWriter, r *http.Request, err error) {
	status := statusOf(err)
	if status == http.StatusInternalServerError {
		s.Logger.ErrorContext(r.Context(), "download failed", "path", r.URL.Path, "error", err)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		fmt.Fprintln(w, vend.ErrorMessage(err))
	}
}

// clientIP is the address a download session is keyed on: the connection's peer.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// attachment builds a Content-Disposition that every browser saves under the right
// name: an ASCII fallback plus the RFC 6266 / RFC 5987 UTF-8 form.
func attachment(name string) string {
	name = path.Base(strings.ReplaceAll(name, "\\", "/"))
	var ascii strings.Builder
	for _, r := range name {
		switch {
		case r < 0x20 || r == 0x7f || r == '"' || r == '\\' || r == '%':
			ascii.WriteByte('_')
		case r < 0x80:
			ascii.WriteRune(r)
		default:
			ascii.WriteByte('_')
		}
	}
	v := `attachment; filename="` + ascii.String() + `"`
	if ascii.String() != name {
		v += "; filename*=UTF-8''" + strings.ReplaceAll(url.PathEscape(name), "+", "%2B")
	}
	return v
}

func contentType(name string) string {
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return "application/octet-stream"
}

// countingWriter counts body bytes. It forwards ReadFrom so that a file body still
// goes out through sendfile.
type countingWriter struct {
	http.ResponseWriter
	status int
	n      int64
}

func (w *countingWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *countingWriter) Write(p []byte) (int, error) {
	n, err := w.ResponseWriter.Write(p)
	w.n += int64(n)
	return n, err
}

func (w *countingWriter) ReadFrom(r io.Reader) (int64, error) {
	var n int64
	var err error
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(r)
	} else {
		n, err = io.Copy(struct{ io.Writer }{w.ResponseWriter}, r)
	}
	w.n += n
	return n, err
}

func (w *countingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
