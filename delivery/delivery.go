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
package delivery

import (
	"context"
	"log/slog"
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
)

// Config tunes counting.
type Config struct {
	SessionTimeout  time.Duration
	SessionMax      time.Duration
	GiveBackPercent int
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
	return c
}

// Service serves downloads.
type Service struct {
	db     store.DB
	blobs  blob.Store
	secret []byte
	cfg    Config
	rec    *recorder
	cache  *admissionCache

	Now    func() time.Time
	Logger *slog.Logger
}

// New returns a Service. secret signs download links; keep it stable, or every link
// already sent stops working.
func New(db store.DB, blobs blob.Store, secret []byte, cfg Config) *Service {
	s := &Service{db: db, blobs: blobs, secret: secret, cfg: cfg.withDefaults(), Now: time.Now,
		Logger: slog.New(slog.DiscardHandler)}
	s.rec = newRecorder(db, s)
	s.cache = newAdmissionCache(db)
	return s
}

// Page is what the buyer's download page shows.
type Page struct {
	Token   string
	Grant   *vend.Grant
	Order   *vend.Order
	Product *vend.Product
	// Problem is empty when the files can be downloaded, else why not, in plain words.
	Problem string
}

// FindPage resolves a link token for the download page. Opening the page never counts.
func (s *Service) FindPage(ctx context.Context, token string) (*Page, error) {
	publicID, ok := s.parseToken(token)
	if !ok {
		return nil, errNoLink
	}
	p := &Page{Token: token}
	err := s.db.View(ctx, func(tx store.Tx) error {
		var err error
		if p.Grant, err = tx.FindGrantByPublicID(ctx, publicID); err != nil {
			return err
		}
		if p.Order, err = tx.FindOrderByID(ctx, p.Grant.OrderID); err != nil {
			return err
		}
		p.Product, err = tx.FindProductByID(ctx, p.Grant.ProductID)
		return err
	})
	if vend.ErrorCode(err) == vend.ENOTFOUND {
		return nil, errNoLink
	} else if err != nil {
		return nil, err
	}
	p.Problem = s.problem(p.Grant, p.Order)
	return p, nil
}

var errNoLink = vend.Errorf(vend.ENOTFOUND, "This download link is not valid. Please check that you copied all of it.")

// problem says, in words a buyer understands, why a grant cannot download now.
func (s *Service) problem(g *vend.Grant, o *vend.Order) string {
	switch {
	case g.State == vend.GrantRevoked && (o.Status == vend.OrderRefunded || g.Reason == string(vend.OrderRefunded)):
		return "This purchase was refunded, so its downloads have ended."
	case g.State == vend.GrantRevoked && (o.Status == vend.OrderReversed || g.Reason == string(vend.OrderReversed)):
		return "The payment for this purchase was reversed, so its downloads have ended. If you think this is a mistake, please contact the seller."
	case g.State != vend.GrantActive:
		return "Access to this download has ended. Please contact the seller if you think this is a mistake."
	case g.Expired(s.Now()):
		return "This download expired on " + g.ExpiresAt.Format("2 January 2006") + ". Please contact the seller for a new link."
	case g.DownloadLimit != vend.Unlimited && g.DownloadsUsed >= g.DownloadLimit:
		return "You have used all downloads of this purchase. Please contact the seller if you need another one."
	}
	return ""
}
