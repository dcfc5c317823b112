package ledger

import (
	"context"
	"fmt"
	"strconv"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/store"
)

// KeyImport is what adding a seller's list of licence keys did.
type KeyImport struct {
	Added      int `json:"added"`      // new unused keys
	Duplicates int `json:"duplicates"` // keys vend had already, unused or issued
	Assigned   int `json:"assigned"`   // keys given at once to buyers who were waiting
	Unused     int `json:"unused"`     // unused keys of the product now
}

// assignBatch is how many waiting items one transaction serves.
const assignBatch = 50

// ImportLicenseKeys adds keys (vend.ParseKeyList) to a product's unused keys
// (licence mode "list"), in the audit trail by actor, and then gives them to
// the buyers who were waiting, oldest purchase first, mailing each their key.
func (l *Ledger) ImportLicenseKeys(ctx context.Context, actor, productID string, keys []string) (*KeyImport, error) {
	r := &KeyImport{}
	err := l.db.Update(ctx, func(tx store.Tx) error {
		p, err := tx.FindProductByID(ctx, productID)
		if err != nil {
			return err
		}
		if p.License.Mode != vend.LicenseList {
			return vend.Errorf(vend.EINVALID, "%s does not take its keys from a list: set its licence keys to \"list\" first.", productID)
		}
		if r.Added, err = tx.AddPoolKeys(ctx, productID, keys); err != nil {
			return err
		}
		r.Duplicates = len(keys) - r.Added
		return store.RecordAudit(ctx, tx, actor, "product.license_keys", vend.ProductTarget(productID), nil,
			map[string]int{"added": r.Added, "duplicates": r.Duplicates})
	})
	if err != nil {
		return nil, fmt.Errorf("ledger: import keys of %s: %w", productID, err)
	}
	if r.Assigned, err = l.AssignWaitingKeys(ctx, productID); err != nil {
		return r, err
	}
	err = l.db.View(ctx, func(tx store.Tx) error {
		r.Unused, err = tx.CountPoolKeys(ctx, productID)
		return err
	})
	return r, err
}

// AssignWaitingKeys gives unused keys of a listed product to the items that
// wait for them, oldest first, in batches, and queues each buyer a mail with
// the keys. It stops when nothing waits or the keys run out, and returns how
// many keys it gave.
func (l *Ledger) AssignWaitingKeys(ctx context.Context, productID string) (int, error) {
	total := 0
	for {
		var n, mails int
		err := l.db.Update(ctx, func(tx store.Tx) error {
			n, mails = 0, 0 // a rerun (PostgreSQL, after a conflict) counts afresh
			items, err := tx.FindWaitingItems(ctx, productID, assignBatch)
			if err != nil {
				return err
			}
			for _, w := range items {
				given, err := l.assignKeys(ctx, tx, w)
				if err != nil {
					return err
				}
				if given == 0 {
					break // no keys left
				}
				n += given
				if added, err := l.mailKeys(ctx, tx, w, given); err != nil {
					return err
				} else if added {
					mails++
				}
			}
			return nil
		})
		if err != nil {
			return total, fmt.Errorf("ledger: assign keys of %s: %w", productID, err)
		}
		total += n
		if mails > 0 && l.Mailed != nil {
			l.Mailed()
		}
		if n == 0 {
			return total, nil
		}
	}
}

// assignKeys issues the missing keys of one waiting item, as many as the
// pool has, and returns how many.
func (l *Ledger) assignKeys(ctx context.Context, tx store.Tx, w store.WaitingItem) (int, error) {
	if err := tx.LockGrant(ctx, w.Grant.ID); err != nil {
		return 0, err
	}
	p, err := tx.FindProductByID(ctx, w.Item.ProductID)
	if err != nil {
		return 0, err
	}
	o, err := tx.FindOrderByID(ctx, w.Item.OrderID)
	if err != nil {
		return 0, err
	}
	g, err := tx.FindGrantByID(ctx, w.Grant.ID)
	if err != nil {
		return 0, err
	}
	before, err := tx.FindLicenses(ctx, store.LicenseFilter{GrantID: &g.ID, Limit: vend.MaxKeysPerItem})
	if err != nil {
		return 0, err
	}
	var res Result
	if err := l.issueLicenses(ctx, tx, o, p, w.Item, g, len(before), &res); err != nil {
		return 0, err
	}
	after, err := tx.FindLicenses(ctx, store.LicenseFilter{GrantID: &g.ID, Limit: vend.MaxKeysPerItem})
	return len(after) - len(before), err
}

// mailKeys queues the buyer's mail with the keys that were waiting, once per
// item and number of keys it has.
func (l *Ledger) mailKeys(ctx context.Context, tx store.Tx, w store.WaitingItem, given int) (bool, error) {
	if !l.Mail {
		return false, nil
	}
	o, err := tx.FindOrderByID(ctx, w.Item.OrderID)
	if err != nil || o.Buyer.Email == "" {
		return false, err
	}
	m := &vend.Mail{Key: string(vend.MailLicenseKeys) + "|" + strconv.FormatInt(w.Item.ID, 10) + "|" + strconv.Itoa(w.Have+given),
		Kind: vend.MailLicenseKeys, To: o.Buyer.Email, Language: o.Language, OrderID: o.ID,
		Data: map[string]string{vend.MailDataProduct: w.Item.ProductID}}
	return tx.EnqueueMail(ctx, m)
}
