// Package license is the public licence API and the signed licences: what
// software asks of a key (activate it on an instance, validate it, deactivate
// an instance) in the words and shapes of Lemon Squeezy's License API, and
// the Ed25519-signed licence an app checks offline (sign.go). The ledger
// issues the keys with the grants; this package reads and counts them.
package license

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/store"
)

// Service answers the licence API from the store.
type Service struct {
	DB     store.DB
	Signer *Signer // nil: no signed licences
	Issuer string  // the shop, for the signed licence's iss: its base URL
	Now    func() time.Time
	// NewInstanceID makes an instance's id; a random UUID when nil.
	NewInstanceID func() string
}

// Answer is what the API says of a key: the key with its grant, order and
// product, and the instance an operation was about (nil when none).
type Answer struct {
	License  *vend.License
	Status   vend.LicenseStatus
	Grant    *vend.Grant
	Order    *vend.Order
	Item     *vend.Item
	Product  *vend.Product
	Instance *vend.LicenseInstance
	// Signed is the signed licence, when the Service has a Signer and the
	// key is valid.
	Signed string
}

// The API's errors, in Lemon Squeezy's words where it has them. Their codes
// give the statuses it uses: 404 for an unknown key or instance, 400 for a
// key that cannot be used, 422 for a missing field.
var (
	errNoKey       = vend.Errorf(vend.EUNPROCESSABLE, "The license_key field is required.")
	errNoName      = vend.Errorf(vend.EUNPROCESSABLE, "The instance_name field is required.")
	errNoInstance  = vend.Errorf(vend.EUNPROCESSABLE, "The instance_id field is required.")
	errLongName    = vend.Errorf(vend.EUNPROCESSABLE, "The instance_name may be at most %d characters.", vend.MaxInstanceName)
	errKeyNotFound = vend.Errorf(vend.ENOTFOUND, "license_key not found.")
	errInstance    = vend.Errorf(vend.ENOTFOUND, "license_key instance not found.")
	errLimit       = vend.Errorf(vend.EINVALID, "This license key has reached the activation limit.")
	errDisabled    = vend.Errorf(vend.EINVALID, "This license key is disabled.")
	errExpired     = vend.Errorf(vend.EINVALID, "This license key has expired.")
)

// Activate makes an instance of key called name, from ip: one more of the
// key's activations, refused at its limit and for a key that is not valid.
// Activations of one key are serialized (store.LockLicense), so the limit
// holds however many arrive at once, at however many instances of vend.
func (s *Service) Activate(ctx context.Context, key, name, ip string) (*Answer, error) {
	name = strings.TrimSpace(name)
	switch {
	case strings.TrimSpace(key) == "":
		return nil, errNoKey
	case name == "":
		return nil, errNoName
	case len(name) > vend.MaxInstanceName:
		return nil, errLongName
	}
	var a *Answer
	err := s.DB.Update(ctx, func(tx store.Tx) error {
		var err error
		if a, err = s.find(ctx, tx, key); err != nil {
			return err
		}
		if err := tx.LockLicense(ctx, a.License.ID); err != nil {
			return err
		}
		// Counted again under the lock: the first read may be stale.
		if a.License, err = tx.FindLicenseByID(ctx, a.License.ID); err != nil {
			return err
		}
		a.Status = a.License.Status(a.Grant, tx.Now())
		if err := usable(a.Status); err != nil {
			return err
		}
		if l := a.License; l.ActivationLimit != vend.Unlimited && l.Activations >= l.ActivationLimit {
			return errLimit
		}
		in := &vend.LicenseInstance{LicenseID: a.License.ID, InstanceID: s.newInstanceID(), Name: name, IP: ip}
		if err := tx.CreateInstance(ctx, in); err != nil {
			return err
		}
		a.Instance = in
		a.License.Activations++
		a.Status = a.License.Status(a.Grant, tx.Now())
		return licenseHook(ctx, tx, vend.HookLicenseActivated, a)
	})
	if err != nil {
		return a, err
	}
	return a, s.sign(a)
}

// Validate says whether key is valid and, with an instanceID, whether that
// instance of it is active. A key that is not valid is no error: the answer
// says so (Status), as Lemon Squeezy's does with "valid": false.
func (s *Service) Validate(ctx context.Context, key, instanceID string) (*Answer, error) {
	if strings.TrimSpace(key) == "" {
		return nil, errNoKey
	}
	var a *Answer
	err := s.DB.View(ctx, func(tx store.Tx) error {
		var err error
		if a, err = s.find(ctx, tx, key); err != nil {
			return err
		}
		if instanceID = strings.TrimSpace(instanceID); instanceID != "" {
			if a.Instance, err = findInstance(ctx, tx, a.License.ID, instanceID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return a, err
	}
	return a, s.sign(a)
}

// Deactivate ends the instance instanceID of key, freeing its slot.
func (s *Service) Deactivate(ctx context.Context, key, instanceID string) (*Answer, error) {
	instanceID = strings.TrimSpace(instanceID)
	switch {
	case strings.TrimSpace(key) == "":
		return nil, errNoKey
	case instanceID == "":
		return nil, errNoInstance
	}
	var a *Answer
	err := s.DB.Update(ctx, func(tx store.Tx) error {
		var err error
		if a, err = s.find(ctx, tx, key); err != nil {
			return err
		}
		if a.Instance, err = findInstance(ctx, tx, a.License.ID, instanceID); err != nil {
			return err
		}
		if err := tx.DeactivateInstance(ctx, a.License.ID, instanceID); err != nil {
			if vend.ErrorCode(err) == vend.ENOTFOUND {
				return errInstance
			}
			return err
		}
		a.Instance.DeactivatedAt = tx.Now()
		a.License.Activations--
		a.Status = a.License.Status(a.Grant, tx.Now())
		return licenseHook(ctx, tx, vend.HookLicenseDeactivated, a)
	})
	return a, err
}

// licenseHook tells the seller's webhooks of an activation or deactivation.
func licenseHook(ctx context.Context, tx store.WebhookTx, event vend.WebhookEvent, a *Answer) error {
	_, err := store.EnqueueWebhooks(ctx, tx, event, map[string]any{
		"license": Detail{License: a.License, Status: a.Status}, "instance": a.Instance})
	return err
}

// find reads key with everything the answer tells. It looks the key up by
// its hash, so the time it takes says nothing about other keys, and
// compares the stored key in constant time as well.
func (s *Service) find(ctx context.Context, tx store.Tx, key string) (*Answer, error) {
	norm, ok := vend.NormalizeKey(key)
	if !ok {
		return nil, errKeyNotFound
	}
	l, err := tx.FindLicenseByHash(ctx, vend.KeyHash(norm))
	if vend.ErrorCode(err) == vend.ENOTFOUND {
		return nil, errKeyNotFound
	} else if err != nil {
		return nil, err
	}
	stored, _ := vend.NormalizeKey(l.Key)
	if subtle.ConstantTimeCompare([]byte(stored), []byte(norm)) != 1 {
		return nil, errKeyNotFound
	}
	a := &Answer{License: l}
	if a.Grant, err = tx.FindGrantByID(ctx, l.GrantID); err != nil {
		return nil, err
	}
	if a.Order, err = tx.FindOrderByID(ctx, l.OrderID); err != nil {
		return nil, err
	}
	items, err := tx.FindItems(ctx, l.OrderID)
	if err != nil {
		return nil, err
	}
	for _, it := range items {
		if it.ID == l.ItemID {
			a.Item = it
		}
	}
	if a.Product, err = tx.FindProductByID(ctx, l.ProductID); err != nil {
		return nil, err
	}
	a.Status = l.Status(a.Grant, tx.Now())
	return a, nil
}

// findInstance finds an active instance of the key.
func findInstance(ctx context.Context, tx store.Tx, licenseID int64, instanceID string) (*vend.LicenseInstance, error) {
	ins, err := tx.FindInstances(ctx, licenseID, false)
	if err != nil {
		return nil, err
	}
	for _, in := range ins {
		if subtle.ConstantTimeCompare([]byte(in.InstanceID), []byte(instanceID)) == 1 {
			return in, nil
		}
	}
	return nil, errInstance
}

// usable is the refusal of a key that cannot be activated.
func usable(st vend.LicenseStatus) error {
	switch st {
	case vend.LicenseDisabled:
		return errDisabled
	case vend.LicenseExpired:
		return errExpired
	}
	return nil
}

// sign adds the signed licence to a valid key's answer.
func (s *Service) sign(a *Answer) error {
	if s.Signer == nil || a == nil || !a.Status.Valid() {
		return nil
	}
	c := ClaimsOf(a.License, a.Grant, a.Order, s.Issuer, s.now())
	var err error
	a.Signed, err = s.Signer.Sign(c)
	return err
}

// ClaimsOf are the signed licence's claims for key l of grant g in order o.
func ClaimsOf(l *vend.License, g *vend.Grant, o *vend.Order, issuer string, now time.Time) Claims {
	c := Claims{Issuer: issuer, Key: l.Key, IssuedAt: now.Unix(), Product: l.ProductID, Buyer: BuyerHash(o.Buyer.Email),
		Issued: l.CreatedAt.UTC().Format(time.RFC3339), OrderID: o.ID, ActivationLimit: l.ActivationLimit}
	if !l.ExpiresAt.IsZero() {
		c.Expires = l.ExpiresAt.Unix()
	}
	if g != nil && !g.UpdatesUntil.IsZero() {
		c.UpdatesUntil = g.UpdatesUntil.UTC().Format(time.RFC3339)
	}
	return c
}

func (s *Service) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

func (s *Service) newInstanceID() string {
	if s.NewInstanceID != nil {
		return s.NewInstanceID()
	}
	return newUUID()
}

// newUUID is a random (version 4) UUID, the shape of Lemon Squeezy's
// instance ids.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// ProductNumber is a product's number in the API's meta, where Lemon
// Squeezy's clients expect a number: FNV-1a (32 bits) of vend's product id,
// the same on every instance. meta.vend_product_id carries the id itself.
func ProductNumber(productID string) int64 {
	h := fnv.New32a()
	h.Write([]byte(productID))
	return int64(h.Sum32())
}

// Detail is a key as the admin, the JSON API and `vend orders show --json`
// show it: with its status.
type Detail struct {
	*vend.License
	Status vend.LicenseStatus `json:"status"`
}

// Details are the keys ls, oldest first, with their status by their grants
// (by id) at now.
func Details(ls []*vend.License, grants []*vend.Grant, now time.Time) []Detail {
	byID := map[int64]*vend.Grant{}
	for _, g := range grants {
		byID[g.ID] = g
	}
	out := make([]Detail, 0, len(ls))
	for i := len(ls) - 1; i >= 0; i-- {
		out = append(out, Detail{License: ls[i], Status: ls[i].Status(byID[ls[i].GrantID], now)})
	}
	return out
}
