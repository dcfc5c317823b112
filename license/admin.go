package license

import (
	"context"
	"fmt"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/store"
)

// Record is one key with everything an administrator looks at: its status,
// order, product and every activation, current or ended.
type Record struct {
	Detail
	Order     *vend.Order             `json:"order"`
	Grant     *vend.Grant             `json:"grant"`
	Instances []*vend.LicenseInstance `json:"instances"`
}

// FindRecord reads key id's record at now.
func FindRecord(ctx context.Context, db store.DB, id int64, now time.Time) (*Record, error) {
	var r *Record
	err := db.View(ctx, func(tx store.Tx) error {
		var err error
		r, err = findRecord(ctx, tx, id, now)
		return err
	})
	return r, err
}

// FindKey finds the id of the key a seller typed or pasted (any case, spaces
// around it); ENOTFOUND if there is none.
func FindKey(ctx context.Context, db store.DB, key string) (int64, error) {
	norm, ok := vend.NormalizeKey(key)
	if !ok {
		return 0, vend.Errorf(vend.ENOTFOUND, "No licence key %q.", key)
	}
	var id int64
	err := db.View(ctx, func(tx store.Tx) error {
		l, err := tx.FindLicenseByHash(ctx, vend.KeyHash(norm))
		if vend.ErrorCode(err) == vend.ENOTFOUND {
			return vend.Errorf(vend.ENOTFOUND, "No licence key %q.", key)
		} else if err != nil {
			return err
		}
		id = l.ID
		return nil
	})
	return id, err
}

func findRecord(ctx context.Context, tx store.Tx, id int64, now time.Time) (*Record, error) {
	l, err := tx.FindLicenseByID(ctx, id)
	if err != nil {
		return nil, err
	}
	r := &Record{}
	if r.Grant, err = tx.FindGrantByID(ctx, l.GrantID); err != nil {
		return nil, err
	}
	if r.Order, err = tx.FindOrderByID(ctx, l.OrderID); err != nil {
		return nil, err
	}
	if r.Instances, err = tx.FindInstances(ctx, l.ID, true); err != nil {
		return nil, err
	}
	r.Detail = Detail{License: l, Status: l.Status(r.Grant, now)}
	return r, nil
}

// Action is what an administrator does to a key.
type Action string

const (
	Disable Action = "disable" // refuse it, whatever its grant says
	Enable  Action = "enable"  // follow its grant again
	Reset   Action = "reset"   // end every activation: all its slots free
	Limit   Action = "limit"   // set its activation limit
)

// Change applies action to key id (for Limit, limit: Unlimited or ≥ 1), in
// one transaction with its entry in the audit trail by actor.
func Change(ctx context.Context, db store.DB, actor string, id int64, action Action, limit int, now time.Time) (*Record, error) {
	var r *Record
	err := db.Update(ctx, func(tx store.Tx) error {
		before, err := findRecord(ctx, tx, id, now)
		if err != nil {
			return err
		}
		if err := tx.LockLicense(ctx, id); err != nil {
			return err
		}
		l := *before.License
		switch action {
		case Disable, Enable:
			l.Disabled = action == Disable
			if err := tx.UpdateLicense(ctx, &l); err != nil {
				return err
			}
		case Limit:
			if limit < 1 && limit != vend.Unlimited {
				return vend.Errorf(vend.EINVALID, "Activation limit %d: use a positive number or unlimited.", limit)
			}
			l.ActivationLimit = limit
			if err := tx.UpdateLicense(ctx, &l); err != nil {
				return err
			}
		case Reset:
			for _, in := range before.Instances {
				if in.DeactivatedAt.IsZero() {
					if err := tx.DeactivateInstance(ctx, id, in.InstanceID); err != nil {
						return err
					}
				}
			}
		default:
			return vend.Errorf(vend.ENOTFOUND, "No such action %q: disable, enable, reset or limit.", action)
		}
		if r, err = findRecord(ctx, tx, id, now); err != nil {
			return err
		}
		return store.RecordAudit(ctx, tx, actor, "license."+string(action), vend.LicenseTarget(id), auditOf(before), auditOf(r))
	})
	if err != nil {
		return nil, fmt.Errorf("license: %s key %d: %w", action, id, err)
	}
	return r, nil
}

// auditOf is what the trail keeps of a key: never the key itself, which is
// the buyer's secret, only what changed.
func auditOf(r *Record) map[string]any {
	return map[string]any{"status": r.Status, "disabled": r.Disabled, "activation_limit": r.ActivationLimit, "activations": r.Activations}
}

// List is a page of keys, newest first: of an order, a product, or all.
func List(ctx context.Context, db store.DB, f store.LicenseFilter, now time.Time) ([]Detail, error) {
	var out []Detail
	err := db.View(ctx, func(tx store.Tx) error {
		ls, err := tx.FindLicenses(ctx, f)
		if err != nil {
			return err
		}
		for _, l := range ls {
			g, err := tx.FindGrantByID(ctx, l.GrantID)
			if err != nil {
				return err
			}
			out = append(out, Detail{License: l, Status: l.Status(g, now)})
		}
		return nil
	})
	return out, err
}
