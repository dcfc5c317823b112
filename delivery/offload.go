package delivery

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/blob"
)

// Presigner is a blob store that can hand out a URL from which a client fetches an
// object directly, with Range support, until ttl has passed. filename is the name
// the client should save it under (sent back as Content-Disposition).
type Presigner interface {
	PresignGet(ctx context.Context, key, filename string, ttl time.Duration) (string, error)
}

// Offloaded transfers (ModeXAccel, ModeRedirect): vend admits and counts the
// request exactly as it does in ModeDirect, then hands the bytes to someone else
// and never sees them go out. The attempt is logged with the status vend answered
// and 0 bytes (unknown). The session is credited with the bytes the request asked
// for (handedOff): crediting nothing would make Sweep give back every offloaded
// download, however complete, and the limit would mean nothing. So an offloaded
// session is completed once all of the product was handed off, and is never given
// back, even when the buyer's transfer broke off.

// serveXAccel answers X-Accel-Redirect for file: nginx sends the bytes (Range,
// If-Range, sendfile) from its internal location. It reports whether it answered;
// it does not for a key that cannot go into a URI.
func (s *Service) serveXAccel(w http.ResponseWriter, r *http.Request, file *vend.File, sess *vend.Session, a *vend.Attempt) bool {
	if !safeKey(file.Key) {
		return false // ServeFile's direct path opens it or fails as for a missing file
	}
	h := w.Header()
	s.setFileHeaders(h, file)
	h.Set("X-Accel-Redirect", s.cfg.XAccelPrefix+file.Key)
	// No body: nginx replaces this response. Of the headers above nginx keeps
	// Content-Type, Content-Disposition and Cache-Control; docs/deploy.md shows how
	// it sends ETag and X-Content-Type-Options too.
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
	a.Status = http.StatusOK
	handed := handedOff(r, file, sess)
	s.rec.add(record{attempt: a, session: sess, bytes: handed, at: s.Now().UTC()})
	if s.Metrics != nil {
		s.Metrics.BytesServed(ModeXAccel, handed)
	}
	return true
}

// serveRedirect answers 302 to a presigned URL of file. It reports whether it
// answered: when presigning fails, the file is served directly instead.
func (s *Service) serveRedirect(w http.ResponseWriter, r *http.Request, file *vend.File, sess *vend.Session, a *vend.Attempt) bool {
	ctx := r.Context()
	u, err := s.presigner.PresignGet(ctx, file.Key, blob.DownloadName(file.Name), s.cfg.RedirectTTL)
	if err != nil {
		if ctx.Err() == nil {
			s.Logger.ErrorContext(ctx, "download: presign URL; serving directly", "file", file.ID, "error", err)
		}
		return false
	}
	h := w.Header()
	h.Set("Location", u)
	// The URL works for anyone until it expires: no cache may keep it, and the
	// page it leads from is not sent along.
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusFound)
	a.Status = http.StatusFound
	// Credit the whole file, whatever the Range asked: the URL fetches all of it,
	// and a client may ask vend for one byte and the bucket for the rest.
	var credit int64
	if sess != nil {
		credit = file.Size
	}
	s.rec.add(record{attempt: a, session: sess, bytes: credit, at: s.Now().UTC()})
	if s.Metrics != nil {
		s.Metrics.BytesServed(ModeRedirect, credit)
	}
	return true
}

// safeKey reports whether key can be appended to an X-Accel prefix as it is: a
// relative path of letters, digits, '-', '_' and '.', with no empty, "." or ".."
// segment. Content keys ("ab/ab12…") are.
func safeKey(key string) bool {
	if key == "" {
		return false
	}
	for seg := range strings.SplitSeq(key, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
		for i := 0; i < len(seg); i++ {
			c := seg[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
				return false
			}
		}
	}
	return true
}

// handedOff is what an offloaded GET asks for, in bytes: the whole file, or the sum
// of its ranges, at most the file's size. It is what the session is credited with
// (see above). Like the server it is handed to, it sends the whole file for a
// Range it cannot parse or an If-Range that does not match, and nothing for a
// Range that no byte of the file satisfies. A request outside any session (HEAD)
// adds nothing.
func handedOff(r *http.Request, file *vend.File, sess *vend.Session) int64 {
	if sess == nil {
		return 0
	}
	size := file.Size
	spec := r.Header.Get("Range")
	if spec == "" {
		return size
	}
	if ir := r.Header.Get("If-Range"); ir != "" && ir != `"`+file.SHA256+`"` {
		return size
	}
	n, ok := rangesLength(spec, size)
	if !ok {
		return size
	}
	return min(n, size)
}

// rangesLength sums the lengths of the byte ranges in a Range header value for a
// file of size bytes; ok is false when the value does not parse.
func rangesLength(spec string, size int64) (n int64, ok bool) {
	spec, ok = strings.CutPrefix(strings.TrimSpace(spec), "bytes=")
	if !ok {
		return 0, false
	}
	for ra := range strings.SplitSeq(spec, ",") {
		ra = strings.TrimSpace(ra)
		if ra == "" {
			continue
		}
		from, to, ok := strings.Cut(ra, "-")
		if !ok {
			return 0, false
		}
		from, to = strings.TrimSpace(from), strings.TrimSpace(to)
		if from == "" { // a suffix: the last <to> bytes
			k, err := strconv.ParseInt(to, 10, 64)
			if err != nil || k < 0 {
				return 0, false
			}
			n += min(k, size)
			continue
		}
		start, err := strconv.ParseInt(from, 10, 64)
		if err != nil || start < 0 {
			return 0, false
		}
		end := size - 1
		if to != "" {
			if end, err = strconv.ParseInt(to, 10, 64); err != nil || end < start {
				return 0, false
			}
			end = min(end, size-1)
		}
		if start < size {
			n += end - start + 1
		}
	}
	return n, true
}
