package ledger

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/store"
)

// DefaultReleaseBatch is how many grants one step of a release handles, in one
// transaction, unless Ledger.ReleaseBatch says otherwise.
const DefaultReleaseBatch = 200

func (l *Ledger) releaseBatch() int {
	if l.ReleaseBatch > 0 {
		return l.ReleaseBatch
	}
	return DefaultReleaseBatch
}

// ReleaseOptions say what a release does: label it (Version), tell the
// buyers with updates (Notify), give them their downloads back (Reset), and
// tell those whose updates ended where to renew (Renewal).
type ReleaseOptions struct {
	Version                string
	Notify, Reset, Renewal bool
}

// StartRelease records a new version of a product as a job over every buyer
// with an active grant: those whose updates run until now are told (Notify)
// and/or get their downloads back (Reset); those whose updates ended are sent
// a renewal note (Renewal). RunRelease does the work.
func (l *Ledger) StartRelease(ctx context.Context, actor, productID string, o ReleaseOptions) (*vend.Release, error) {
	if !o.Notify && !o.Reset && !o.Renewal {
		return nil, vend.Errorf(vend.EINVALID, "Choose to notify the buyers, to reset their downloads, or both.")
	}
	if (o.Notify || o.Renewal) && !l.Mail {
		return nil, vend.Errorf(vend.EINVALID, "vend sends no mail (smtp.url is not set), so it cannot notify the buyers.")
	}
	r := &vend.Release{ProductID: productID, Version: strings.TrimSpace(o.Version), Notify: o.Notify, Reset: o.Reset,
		Renewal: o.Renewal, Actor: actor, Status: vend.ReleaseRunning}
	err := l.db.Update(ctx, func(tx store.Tx) error {
		if _, err := tx.FindProductByID(ctx, productID); err != nil {
			return err
		}
		// One release of a product at a time: a second press of the button
		// must not mail every buyer again.
		running, err := tx.FindReleases(ctx, true, 1000)
		if err != nil {
			return err
		}
		for _, other := range running {
			if other.ProductID == productID {
				return vend.Errorf(vend.ECONFLICT, "A release of %s is running already (release %d).", productID, other.ID)
			}
		}
		if r.Total, err = tx.CountActiveGrants(ctx, productID); err != nil {
			return err
		}
		if err := tx.CreateRelease(ctx, r); err != nil {
			return err
		}
		return store.RecordAudit(ctx, tx, actor, "product.release", vend.ProductTarget(productID), nil, r)
	})
	if err != nil {
		return nil, fmt.Errorf("ledger: start release of %s: %w", productID, err)
	}
	return r, nil
}

// StepRelease handles the next batch of a release's grants: in one transaction
// it resets their downloads, queues one "new version" message per buyer (keyed
// by release and address, so nobody gets two however often a batch runs) and
// moves the release's cursor past them. It returns the release as it now
// stands; a finished release is left alone.
func (l *Ledger) StepRelease(ctx context.Context, id int64) (*vend.Release, error) {
	var r *vend.Release
	mails := 0
	err := l.db.Update(ctx, func(tx store.Tx) error {
		mails = 0 // a rerun (PostgreSQL, after a conflict) counts afresh
		if err := tx.LockRelease(ctx, id); err != nil {
			return err
		}
		var err error
		if r, err = tx.FindRelease(ctx, id); err != nil || r.Status != vend.ReleaseRunning {
			return err
		}
		batch := l.releaseBatch()
		grants, err := tx.FindActiveGrants(ctx, r.ProductID, r.Cursor, batch)
		if err != nil {
			return err
		}
		for _, g := range grants {
			n, err := l.releaseGrant(ctx, tx, r, g)
			if err != nil {
				return err
			}
			mails += n
			r.Cursor = g.ID
			r.Done++
		}
		if len(grants) < batch {
			r.Status = vend.ReleaseDone
		}
		r.Total = max(r.Total, r.Done)
		return tx.UpdateRelease(ctx, r)
	})
	if err != nil {
		return nil, fmt.Errorf("ledger: release %d: %w", id, err)
	}
	if mails > 0 && l.Mailed != nil {
		l.Mailed()
	}
	return r, nil
}

func (l *Ledger) releaseGrant(ctx context.Context, tx store.Tx, r *vend.Release, g *vend.Grant) (int, error) {
	if !g.UpdatesUntil.IsZero() && g.UpdatesUntil.Before(r.CreatedAt) {
		// The buyer's updates ended before this version: no new version, at
		// most a note on where to renew.
		if !r.Renewal {
			return 0, nil
		}
		return l.releaseMail(ctx, tx, r, g, vend.MailRenewal)
	}
	if r.Reset && g.DownloadsUsed != 0 {
		if err := tx.LockGrant(ctx, g.ID); err != nil {
			return 0, err
		}
		g.DownloadsUsed = 0
		if err := tx.UpdateGrant(ctx, g); err != nil {
			return 0, err
		}
	}
	if !r.Notify {
		return 0, nil
	}
	return l.releaseMail(ctx, tx, r, g, vend.MailNewVersion)
}

// releaseMail queues a release's message of kind to grant g's buyer, once
// per release and address.
func (l *Ledger) releaseMail(ctx context.Context, tx store.Tx, r *vend.Release, g *vend.Grant, kind vend.MailKind) (int, error) {
	o, err := tx.FindOrderByID(ctx, g.OrderID)
	if err != nil {
		return 0, err
	}
	to := strings.TrimSpace(o.Buyer.Email)
	if to == "" {
		return 0, nil
	}
	m := &vend.Mail{Key: string(kind) + "|" + strconv.FormatInt(r.ID, 10) + "|" + strings.ToLower(to), Kind: kind,
		To: to, Language: o.Language, OrderID: o.ID, Data: map[string]string{vend.MailDataProduct: r.ProductID, vend.MailDataVersion: r.Version}}
	added, err := tx.EnqueueMail(ctx, m)
	if err != nil || !added {
		return 0, err
	}
	return 1, nil
}

// RunRelease steps a release until it is done (or ctx ends), reporting after
// each batch.
func (l *Ledger) RunRelease(ctx context.Context, id int64, progress func(*vend.Release)) error {
	for ctx.Err() == nil {
		r, err := l.StepRelease(ctx, id)
		if err != nil {
			return err
		}
		if progress != nil {
			progress(r)
		}
		if r.Status != vend.ReleaseRunning {
			return nil
		}
	}
	return ctx.Err()
}

// ResumeReleases runs every release a previous run left unfinished.
func (l *Ledger) ResumeReleases(ctx context.Context) error {
	var running []*vend.Release
	err := l.db.View(ctx, func(tx store.Tx) error {
		var err error
		running, err = tx.FindReleases(ctx, true, 1000)
		return err
	})
	if err != nil {
		return err
	}
	for _, r := range running {
		if err := l.RunRelease(ctx, r.ID, nil); err != nil {
			return err
		}
	}
	return nil
}
