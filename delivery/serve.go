package delivery

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/blob"
	"github.com/vend-shop/vend/store"
)

// Request is one request for a file, as delivery needs to know it.
type Request struct {
	Token  string
	FileID int64
}

// ServeFile serves one file of the grant behind token, after checking the grant
// and counting the download, in the Service's mode: the bytes themselves, an
// X-Accel-Redirect for nginx, or a redirect to a presigned URL. A refusal (a
// bad link, downloads used up, access ended, the file unreadable) is logged as
// an attempt and returned with nothing written, for the caller to answer in
// the buyer's words (WriteError answers in plain text). A client that went
// away is no refusal: there is no one to answer.
func (s *Service) ServeFile(w http.ResponseWriter, r *http.Request, token string, fileID int64) error {
	publicID, ok := s.parseToken(token)
	if !ok {
		return errNoLink
	}
	return s.serve(w, r, store.AdmissionQuery{PublicID: publicID, FileID: fileID})
}

// ServeGrant serves a file of grant g, as ServeFile does. It is also the end
// of the legacy download.cgi links, which find the grant another way.
func (s *Service) ServeGrant(w http.ResponseWriter, r *http.Request, g *vend.Grant, fileID int64) error {
	return s.serve(w, r, store.AdmissionQuery{GrantID: g.ID, FileID: fileID})
}

func (s *Service) serve(w http.ResponseWriter, r *http.Request, q store.AdmissionQuery) error {
	ctx := r.Context()
	s.noteOnce.Do(func() {
		if s.modeNote != "" {
			s.Logger.WarnContext(ctx, s.modeNote)
		}
	})
	a := &vend.Attempt{FileID: q.FileID, At: s.Now().UTC(), IP: ClientIP(r), UserAgent: r.UserAgent(),
		Method: r.Method, Range: r.Header.Get("Range")}
	file, sess, err := s.admit(ctx, q, a)
	if err != nil && ctx.Err() != nil {
		// The client hung up while it was being admitted: nothing failed, and there
		// is no one to answer.
		a.Refused, a.Status = "client went away", statusClientClosed
		if a.GrantID != 0 {
			s.rec.add(record{attempt: a})
		}
		return nil
	}
	if err != nil {
		a.Refused, a.Status = vend.ErrorMessage(err), vend.HTTPStatus(err)
		if a.GrantID != 0 { // attempts on links that lead nowhere have no grant to log them on
			s.rec.add(record{attempt: a})
		}
		return err
	}
	switch {
	case s.cfg.Mode == ModeXAccel:
		if s.serveXAccel(w, r, file, sess, a) {
			return nil
		}
	case s.cfg.Mode == ModeRedirect && r.Method != http.MethodHead:
		// A presigned URL is signed for GET: a HEAD is answered here.
		if s.serveRedirect(w, r, file, sess, a) {
			return nil
		}
	}
	return s.serveDirect(w, r, file, sess, a)
}

// serveDirect sends file itself, reporting the transfer's progress to its session.
func (s *Service) serveDirect(w http.ResponseWriter, r *http.Request, file *vend.File, sess *vend.Session, a *vend.Attempt) error {
	ctx := r.Context()
	obj, err := s.blobs.Open(ctx, file.Key)
	if err != nil && ctx.Err() != nil {
		// The client hung up while the file was opened (a request to the object
		// store): nothing is missing, and there is no one to answer.
		a.Refused, a.Status = "client went away", statusClientClosed
		s.rec.add(record{attempt: a, session: sess, at: a.At})
		return nil
	}
	if err != nil {
		reason, answer := openFailed(err)
		a.Refused, a.Status = reason, vend.HTTPStatus(answer)
		s.rec.add(record{attempt: a, session: sess, at: a.At})
		s.Logger.ErrorContext(ctx, "download: open file", "file", file.ID, "error", err)
		if errors.Is(answer, errBusy) {
			w.Header().Set("Retry-After", retryBusy)
		}
		return answer
	}
	defer obj.Reader.Close()

	// Set before ServeContent, so that If-Range resumes and If-None-Match are
	// checked against the ETag.
	s.setFileHeaders(w.Header(), file)
	cw := &countingWriter{ResponseWriter: w, status: http.StatusOK, bufs: &s.bufs}
	if s.Metrics != nil {
		done := s.Metrics.TransferStarted()
		defer func() { s.Metrics.BytesServed(ModeDirect, cw.n.Load()); done() }()
	}
	stop := s.keepAlive(sess, cw)
	defer stop() // also if ServeContent panics
	// No modification time: the strong ETag validates resumes, and a file id in a
	// link always names the same bytes (storage is content-addressed).
	http.ServeContent(cw, r, "", time.Time{}, obj.Reader)
	reported := stop()
	a.Status, a.BytesSent = cw.status, cw.n.Load()
	if r.Method == http.MethodHead {
		a.BytesSent = 0
	}
	s.rec.add(record{attempt: a, session: sess, bytes: a.BytesSent - reported, at: s.Now().UTC()})
	return nil
}

// setFileHeaders sets the headers of a response that carries file, whoever sends
// its bytes. The values are made once per file (fileHeaders) and shared by its
// responses, which only read them; the keys are written in canonical form.
func (s *Service) setFileHeaders(h http.Header, file *vend.File) {
	fh := s.headers.of(file)
	h["Etag"] = fh.etag // a strong validator: the content hash
	h["Content-Disposition"] = fh.disposition
	h["Content-Type"] = fh.contentType
	h["Cache-Control"] = privateNoTransform
	h["X-Content-Type-Options"] = nosniff
}

var (
	privateNoTransform = []string{"private, no-transform"}
	nosniff            = []string{"nosniff"}
)

// fileHeaders are the header values of one file's responses.
type fileHeaders struct {
	name, sha                      string // of the file they were made for
	etag, disposition, contentType []string
}

// headerCache keeps each file's header values, so that a download of a small
// file does not build them again (the disposition's encoding, the type's
// lookup): a few allocations per request.
type headerCache struct {
	mu sync.Mutex
	m  map[int64]*fileHeaders
}

// maxHeaderFiles bounds the files headerCache remembers; when full, it starts
// over.
const maxHeaderFiles = 4096

func (c *headerCache) of(file *vend.File) *fileHeaders {
	c.mu.Lock()
	defer c.mu.Unlock()
	if fh := c.m[file.ID]; fh != nil && fh.name == file.Name && fh.sha == file.SHA256 {
		return fh
	}
	fh := &fileHeaders{name: file.Name, sha: file.SHA256, etag: []string{`"` + file.SHA256 + `"`},
		disposition: []string{blob.Attachment(file.Name)}, contentType: []string{blob.ContentType(file.Name)}}
	if c.m == nil || len(c.m) >= maxHeaderFiles {
		c.m = map[int64]*fileHeaders{}
	}
	c.m[file.ID] = fh
	return fh
}

// admit checks the grant and the file and, for a GET, opens or joins the download
// session that counts it. HEAD gets no session.
func (s *Service) admit(ctx context.Context, q store.AdmissionQuery, a *vend.Attempt) (*vend.File, *vend.Session, error) {
	now := s.Now()
	q.ClientIP, q.IdleSince, q.StartedSince = a.IP, now.Add(-s.cfg.SessionTimeout), now.Add(-s.cfg.SessionMax)
	// Fast path: one read finds the grant as it is now (a refund ends access at
	// once), the file, and an open session (a resume, another connection of the
	// same download) that needs no write.
	adm, err := s.findAdmission(ctx, q, now)
	if err != nil {
		return nil, nil, err
	}
	g, file := adm.Grant, adm.File
	a.GrantID = g.ID
	switch {
	case file == nil:
		return nil, nil, s.noFile(ctx, g, q.FileID)
	case s.usable(g) != nil:
		return nil, nil, s.usable(g)
	case a.Method == http.MethodHead:
		return file, nil, nil
	case adm.SessionID != 0:
		return file, &vend.Session{ID: adm.SessionID, GrantID: g.ID, FileID: file.ID}, nil
	}
	// Slow path: open a session, charging one download, in a write transaction
	// (charge); it finds the grant again by id.
	q.PublicID, q.GrantID = "", g.ID
	var sess *vend.Session
	var counted bool // set only from the run that commits: a store may run fn again
	err = s.db.Update(ctx, func(tx store.Tx) error {
		var err error
		sess, counted, err = s.charge(ctx, tx, q, file)
		return err
	})
	a.Counted = err == nil && counted
	if a.Counted && s.Metrics != nil {
		s.Metrics.DownloadStarted()
	}
	return file, sess, err
}

// chargeTx is what charging a download and giving it back need: the grant,
// held while it is charged, and its download sessions.
type chargeTx interface {
	Now() time.Time
	store.Grants
	store.Downloads
	store.Webhooks
}

// charge joins the client's open session of the grant q names or opens one for
// file, charging one download; counted says it charged. It holds the grant
// first, so parallel requests (of this instance or of others on the same
// database) take turns, and re-checks everything under it.
func (s *Service) charge(ctx context.Context, tx chargeTx, q store.AdmissionQuery, file *vend.File) (sess *vend.Session, counted bool, err error) {
	if err := tx.LockGrant(ctx, q.GrantID); err != nil {
		return nil, false, err
	}
	adm, err := tx.FindAdmission(ctx, q)
	if err != nil {
		return nil, false, err
	}
	g := adm.Grant
	if err := s.usable(g); err != nil {
		return nil, false, err
	}
	if adm.SessionID != 0 {
		return &vend.Session{ID: adm.SessionID, GrantID: g.ID, FileID: file.ID}, false, nil
	}
	if g.DownloadLimit != vend.Unlimited && g.DownloadsUsed >= g.DownloadLimit {
		return nil, false, errLimit
	}
	if err := tx.AddDownloadsUsed(ctx, g.ID, 1); err != nil {
		return nil, false, err
	}
	// One session covers every file of the product: downloading a course of
	// twelve files is one download, not twelve.
	sess = &vend.Session{GrantID: g.ID, FileID: file.ID, ProductID: g.ProductID, ClientIP: q.ClientIP, Size: adm.ProductSize, Charged: true}
	return sess, true, tx.CreateSession(ctx, sess)
}

// findAdmission reads what serving needs, from the admission cache when nothing
// was written since it was read.
func (s *Service) findAdmission(ctx context.Context, q store.AdmissionQuery, now time.Time) (*store.Admission, error) {
	k := keyOf(q)
	if adm, ok := s.cache.get(k, now); ok {
		return adm, nil
	}
	gen := s.cache.generation()
	var adm *store.Admission
	err := s.db.View(ctx, func(tx store.Tx) error {
		var err error
		adm, err = tx.FindAdmission(ctx, q)
		return err
	})
	if vend.ErrorCode(err) == vend.ENOTFOUND {
		return nil, errNoLink
	} else if err != nil {
		return nil, err
	}
	if adm.SessionID != 0 { // only joins of open sessions: everything else writes anyway
		s.cache.put(k, adm, gen, now)
	}
	return adm, nil
}

// errUnreadable is the buyer's word for a file storage cannot open; the
// cause is in the log.
var errUnreadable = vend.Errorf(vend.EINTERNAL, "This file is not available right now. Please try again later.")

// errBusy answers a download while the process has no file descriptor to
// spare (each download in progress holds its socket and its file): a 503
// with Retry-After, which download managers wait for and retry.
var errBusy = vend.Errorf(vend.EUNAVAILABLE, "Too many downloads are in progress right now. Please try again in a minute.")

// retryBusy is errBusy's Retry-After, in seconds.
const retryBusy = "30"

// openFailed is the reason the attempt log gives for a failed open of a
// stored file, and what it answers: a file that is not there is missing; a process out
// of file descriptors is busy, and nothing is missing.
func openFailed(err error) (reason string, answer error) {
	switch {
	case vend.ErrorCode(err) == vend.ENOTFOUND:
		return "file missing from storage", errUnreadable
	case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE):
		return "server out of open files", errBusy
	}
	return "storage could not open the file", errUnreadable
}

// ErrUpdatesEnded refuses a version of the files released after the
// grant's updates ended: the buyer keeps the versions from before.
var ErrUpdatesEnded = vend.Errorf(vend.EFORBIDDEN, "This version was released after your updates for this purchase ended.")

// noFile says why grant g gets no file fileID: a version released after its
// updates ended, or none of its product's files at all.
func (s *Service) noFile(ctx context.Context, g *vend.Grant, fileID int64) error {
	if g.UpdatesUntil.IsZero() {
		return errNoFile
	}
	var f *vend.File
	err := s.db.View(ctx, func(tx store.Tx) error {
		var err error
		f, err = tx.FindFileByID(ctx, fileID)
		return err
	})
	switch {
	case vend.ErrorCode(err) == vend.ENOTFOUND:
		return errNoFile
	case err != nil:
		return err
	case f.ProductID == g.ProductID && f.CreatedAt.After(g.UpdatesUntil):
		return ErrUpdatesEnded
	}
	return errNoFile
}

var errNoFile = vend.Errorf(vend.ENOTFOUND, "This purchase has no such file.")

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

// statusClientClosed is what the attempt log says of a request whose client left
// before it was answered (nginx's 499).
const statusClientClosed = 499

// WriteError answers a refusal of ServeFile as a plain-text page, for callers
// that have no page of their own.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	status := vend.HTTPStatus(err)
	if r.Context().Err() != nil {
		return // the client went away; there is no one to answer
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		fmt.Fprintln(w, vend.ErrorMessage(err))
	}
}

// ClientIP is the address a download session is keyed on: the connection's
// peer (which the web layer sets from a trusted proxy's X-Forwarded-For).
func ClientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// countingWriter counts body bytes; atomically, because keepAlive reads the count
// while the transfer runs.
type countingWriter struct {
	http.ResponseWriter
	status int
	n      atomic.Int64
	bufs   *sync.Pool // of *[copyBufSize]byte
}

// copyBufSize is the buffer a body from memory goes out through: half the
// largest file kept in memory (blob.SmallFileSize), so such a body is two
// writes at most.
const copyBufSize = blob.SmallFileSize / 2

func (w *countingWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *countingWriter) Write(p []byte) (int, error) {
	n, err := w.ResponseWriter.Write(p)
	w.n.Add(int64(n))
	return n, err
}

// progressChunk is how much of a body goes out per call of the underlying ReadFrom,
// so that the count grows during a long transfer instead of once at its end.
const progressChunk = 16 << 20

// ReadFrom forwards to the underlying ReadFrom, so that a file body still goes out
// through sendfile, in chunks of progressChunk. sendfile takes a chunk only as an
// *io.LimitedReader directly around the *os.File, so the LimitedReader that
// ServeContent passes (through io.CopyN) is unwrapped rather than wrapped again.
func (w *countingWriter) ReadFrom(r io.Reader) (int64, error) {
	src, left := r, int64(math.MaxInt64)
	lr, limited := r.(*io.LimitedReader)
	if limited {
		src, left = lr.R, lr.N
	}
	rf, ok := w.ResponseWriter.(io.ReaderFrom)
	if _, file := src.(*os.File); !ok || !file {
		// Only a file gains from the response's ReadFrom (sendfile); for bytes in
		// memory it costs a separate write of the headers.
		buf, _ := w.bufs.Get().(*[copyBufSize]byte)
		if buf == nil {
			buf = new([copyBufSize]byte)
		}
		defer w.bufs.Put(buf)
		return io.CopyBuffer(struct{ io.Writer }{w}, r, buf[:]) // counted by w.Write
	}
	var total int64
	var err error
	for left > 0 {
		var n int64
		n, err = rf.ReadFrom(&io.LimitedReader{R: src, N: min(left, progressChunk)})
		total, left = total+n, left-n
		w.n.Add(n)
		if err != nil || n == 0 { // n == 0: the source is at its end
			break
		}
	}
	if limited {
		lr.N = left
	}
	return total, err
}

func (w *countingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
