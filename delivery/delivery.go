// Package delivery decides and serves downloads: links, download sessions, counting
// against limits, and the bytes themselves.
//
// Counting honestly: every request is an attempt. A GET opens (or joins) a download
// session for (grant, client address); opening one charges one download against
// the grant's limit, inside one write transaction, so no number of parallel
// requests can charge more than the limit allows. Every request of that client for
// any file of the product while the session is open — the other files of a course,
// resumes, parallel connections of a download manager — joins it and costs nothing
// more. A session closes after SessionTimeout without activity (a request, or a
// transfer still running) or SessionMax after it started; if by then it delivered
// less than GiveBackPercent of the product's files (counting what earlier
// given-back sessions of the grant delivered, so slicing a download into small
// sessions gains nothing), its download is given back. A session that delivered
// all of the product's bytes is a completed download. HEAD requests and the
// download page never count.
//
// Who sends the bytes is Config.Mode: vend itself (ModeDirect), nginx after an
// X-Accel-Redirect (ModeXAccel), or the object store behind a presigned URL
// (ModeRedirect). Admission and charging are the same in every mode; what differs
// is what vend can see of the transfer (see offload.go).
package delivery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/blob"
	"github.com/vend-shop/vend/store"
)

// Defaults for a zero Config.
const (
	DefaultSessionTimeout  = 30 * time.Minute
	DefaultSessionMax      = 24 * time.Hour
	DefaultGiveBackPercent = 50
	DefaultMode            = ModeDirect
	DefaultXAccelPrefix    = "/_vend_files/"
	DefaultRedirectTTL     = 5 * time.Minute
)

// Modes: how a file's bytes go out once a request is admitted and counted.
const (
	// ModeDirect: vend sends the bytes itself (http.ServeContent; sendfile for
	// local files).
	ModeDirect = "direct"
	// ModeXAccel: vend answers X-Accel-Redirect: <XAccelPrefix><key> and no body;
	// nginx, in front, sends the file from an internal location aliased to the
	// storage directory.
	ModeXAccel = "x-accel"
	// ModeRedirect: vend answers 302 to a short-lived presigned URL of the object
	// store (a blob.Store that is a Presigner); stores that cannot presign are
	// served directly.
	ModeRedirect = "redirect"
)

// Config tunes counting and serving. A zero field means its default.
type Config struct {
	SessionTimeout  time.Duration
	SessionMax      time.Duration
	GiveBackPercent int
	Mode            string        // ModeDirect, ModeXAccel or ModeRedirect
	XAccelPrefix    string        // the internal nginx location, for ModeXAccel: "/…/"
	RedirectTTL     time.Duration // how long a presigned URL lives, for ModeRedirect
}

func (c Config) withDefaults() Config {
	if c.SessionTimeout <= 0 {
		c.SessionTimeout = DefaultSessionTimeout
	}
	if c.SessionMax <= 0 {
		c.SessionMax = DefaultSessionMax
	}
	if c.GiveBackPercent <= 0 {
		c.GiveBackPercent = DefaultGiveBackPercent
	}
	if c.Mode == "" {
		c.Mode = DefaultMode
	}
	if c.XAccelPrefix == "" {
		c.XAccelPrefix = DefaultXAccelPrefix
	}
	if c.RedirectTTL <= 0 {
		c.RedirectTTL = DefaultRedirectTTL
	}
	return c
}

// Validate reports what New would not use as given, one problem per line: an
// unknown mode or a malformed X-Accel prefix (New then serves directly), or a
// give-back percentage over 100. Zero fields are their defaults.
func (c Config) Validate() error {
	var errs []error
	if err := c.withDefaults().checkMode(); err != nil {
		errs = append(errs, err)
	}
	if c.GiveBackPercent > 100 {
		errs = append(errs, fmt.Errorf("delivery: give-back percent must be at most 100 (got %d)", c.GiveBackPercent))
	}
	return errors.Join(errs...)
}

// checkMode checks the mode and what it needs of the rest of c.
func (c Config) checkMode() error {
	switch c.Mode {
	case ModeDirect, ModeRedirect:
		return nil
	case ModeXAccel:
		if !validXAccelPrefix(c.XAccelPrefix) {
			return fmt.Errorf("delivery: the X-Accel prefix must be a path that starts and ends with / (got %q)", c.XAccelPrefix)
		}
		return nil
	}
	return fmt.Errorf("delivery: unknown mode %q (want %s, %s or %s)", c.Mode, ModeDirect, ModeXAccel, ModeRedirect)
}

// validXAccelPrefix reports whether p can start an X-Accel-Redirect URI: an
// absolute path ending in a slash, of printable ASCII without a query, fragment,
// space or ".." segment.
func validXAccelPrefix(p string) bool {
	if !strings.HasPrefix(p, "/") || !strings.HasSuffix(p, "/") || strings.Contains(p, "/../") || strings.HasSuffix(p, "/..") {
		return false
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; c <= ' ' || c >= 0x7f || c == '?' || c == '#' || c == '%' || c == '\\' {
			return false
		}
	}
	return true
}

// Service serves downloads.
type Service struct {
	db        store.DB
	blobs     blob.Store
	presigner Presigner // for ModeRedirect; nil when serving directly
	secret    []byte
	cfg       Config // cfg.Mode is the mode in use: ModeDirect if the configured one cannot be
	rec       *recorder
	cache     *admissionCache
	canary    canaryKey // where SelfTest stored its file

	// modeNote, when not empty, is why the configured mode is not the one in use;
	// the first download logs it, once (Logger is set after New).
	modeNote string
	noteOnce sync.Once

	Now    func() time.Time
	Logger *slog.Logger
	// Metrics counts downloads (package metrics); nil counts nothing.
	Metrics Metrics
	visits  visits // download page views already logged (RecordVisit)
	// bufs holds the buffers a body kept in memory (a small file) is copied
	// through: without them, each such download allocated its file's size again.
	bufs    sync.Pool
	macs    sync.Pool // of hash.Hash: HMAC-SHA256 under secret, for parseToken
	headers headerCache
}

// Metrics is what delivery reports: a download counted against a limit
// (started), a session the sweep closed (completed, or given back), the
// bytes sent or handed off (to nginx or the object store) in a mode, and
// each transfer vend sends itself while it runs.
type Metrics interface {
	DownloadStarted()
	DownloadClosed(completed, givenBack bool)
	BytesServed(mode string, n int64)
	TransferStarted() (done func())
}

// New returns a Service. secret signs download links; keep it stable, or every link
// already sent stops working. A Config that Validate refuses is not fatal: an
// unusable mode falls back to ModeDirect, and the first download logs why, as does
// ModeRedirect on a blob store that is not a Presigner.
func New(db store.DB, blobs blob.Store, secret []byte, cfg Config) *Service {
	cfg = cfg.withDefaults()
	s := &Service{db: db, blobs: blobs, secret: secret, Now: time.Now,
		Logger: slog.New(slog.DiscardHandler)}
	if err := cfg.checkMode(); err != nil {
		s.modeNote = err.Error() + "; serving files directly"
		cfg.Mode = ModeDirect
	}
	if cfg.Mode == ModeRedirect {
		p, ok := blobs.(Presigner)
		if ok {
			s.presigner = p
		} else {
			s.modeNote = "delivery: mode is redirect, but the file storage cannot presign URLs; serving files directly"
			cfg.Mode = ModeDirect
		}
	}
	s.cfg = cfg
	s.rec = newRecorder(db, s)
	s.cache = newAdmissionCache(db)
	return s
}

// Mode returns the mode in use: the configured one, or ModeDirect if that cannot
// be used (see New).
func (s *Service) Mode() string { return s.cfg.Mode }

// Page is what the buyer's download page shows.
type Page struct {
	Token   string
	Grant   *vend.Grant
	Order   *vend.Order
	Product *vend.Product
	// Files are what the grant downloads: the product's current files, or,
	// once its updates ended (Grant.UpdatesUntil), the files current then.
	// Later are the versions released after its updates ended: listed, not
	// served (the product's RenewURL renews).
	Files, Later []*vend.File
	// Problem is empty when the files can be downloaded, else why not; the
	// page says it in the buyer's language.
	Problem Problem
	// Session is the client's open download session, or nil. With the last
	// download used, the files stay downloadable while it lasts (a broken
	// transfer resumed, the product's other files), until SessionEnds.
	Session     *vend.Session
	SessionEnds time.Time
}

// Problem is why a grant cannot download now.
type Problem string

// The problems, from the most to the least final.
const (
	ProblemNone      Problem = ""
	ProblemRefunded  Problem = "refunded"
	ProblemReversed  Problem = "reversed"
	ProblemSuspended Problem = "suspended" // a recurring payment is missing
	ProblemEnded     Problem = "ended"     // the paid period is over
	ProblemRevoked   Problem = "revoked"   // by the seller, or for another reason
	ProblemExpired   Problem = "expired"
	ProblemUsedUp    Problem = "used-up" // every download used, no session open
)

// FindPage resolves a link token for the download page, for the client at
// clientIP (ClientIP of the request). Opening the page never counts.
func (s *Service) FindPage(ctx context.Context, token, clientIP string) (*Page, error) {
	publicID, ok := s.parseToken(token)
	if !ok {
		return nil, errNoLink
	}
	now := s.Now()
	p := &Page{Token: token}
	err := s.db.View(ctx, func(tx store.Tx) error {
		var err error
		if p.Grant, err = tx.FindGrantByPublicID(ctx, publicID); err != nil {
			return err
		}
		if p.Order, err = tx.FindOrderByID(ctx, p.Grant.OrderID); err != nil {
			return err
		}
		if p.Product, err = tx.FindProductByID(ctx, p.Grant.ProductID); err != nil {
			return err
		}
		if p.Files, p.Later, err = entitledFiles(ctx, tx, p.Grant, p.Product, now); err != nil {
			return err
		}
		p.Session, err = tx.FindOpenSession(ctx, p.Grant.ID, clientIP, now.Add(-s.cfg.SessionTimeout), now.Add(-s.cfg.SessionMax))
		if vend.ErrorCode(err) == vend.ENOTFOUND {
			p.Session, err = nil, nil
		}
		return err
	})
	if vend.ErrorCode(err) == vend.ENOTFOUND {
		return nil, errNoLink
	} else if err != nil {
		return nil, err
	}
	if p.Session != nil {
		// It closes when it goes quiet or reaches its longest, whichever is first.
		p.SessionEnds = p.Session.LastSeen.Add(s.cfg.SessionTimeout)
		if end := p.Session.StartedAt.Add(s.cfg.SessionMax); end.Before(p.SessionEnds) {
			p.SessionEnds = end
		}
	}
	p.Problem = s.problem(p.Grant, p.Order, p.Session != nil)
	return p, nil
}

// entitledFiles splits a product's files for grant g at now: those it
// downloads and the later versions it does not (see Page).
func entitledFiles(ctx context.Context, tx store.Products, g *vend.Grant, p *vend.Product, now time.Time) (files, later []*vend.File, err error) {
	if g.UpdatesUntil.IsZero() || now.Before(g.UpdatesUntil) {
		return p.Files, nil, nil
	}
	if files, err = tx.FindFilesAt(ctx, p.ID, g.UpdatesUntil); err != nil {
		return nil, nil, err
	}
	for _, f := range p.Files {
		if f.CreatedAt.After(g.UpdatesUntil) {
			later = append(later, f)
		}
	}
	return files, later, nil
}

var errNoLink = vend.Errorf(vend.ENOTFOUND, "This download link is not valid. Please check that you copied all of it.")

// problem says why a grant cannot download now. A grant at its limit can while
// the client's session is open (inSession), as admission allows: the limit is
// checked only when a new session would be charged.
func (s *Service) problem(g *vend.Grant, o *vend.Order, inSession bool) Problem {
	switch {
	case g.State == vend.GrantRevoked && (o.Status == vend.OrderRefunded || g.Reason == string(vend.OrderRefunded)):
		return ProblemRefunded
	case g.State == vend.GrantRevoked && (o.Status == vend.OrderReversed || g.Reason == string(vend.OrderReversed)):
		return ProblemReversed
	case g.State == vend.GrantRevoked && g.Reason == string(vend.OrderSuspended):
		return ProblemSuspended
	case g.State == vend.GrantRevoked && g.Reason == string(vend.OrderEnded):
		return ProblemEnded
	case g.State != vend.GrantActive:
		return ProblemRevoked
	case g.Expired(s.Now()):
		return ProblemExpired
	case g.DownloadLimit != vend.Unlimited && g.DownloadsUsed >= g.DownloadLimit && !inSession:
		return ProblemUsedUp
	}
	return ProblemNone
}
