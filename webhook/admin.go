package webhook

import (
	"context"
	"crypto/rand"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/store"
)

// RotationOverlap is how long a rotated-out secret still signs, so a
// receiver can switch to the new one without losing a message.
const RotationOverlap = 24 * time.Hour

// Target is an endpoint's name in the audit trail.
func Target(id int64) string { return "webhook:" + strconv.FormatInt(id, 10) }

// Fields are an endpoint's settings as the admin, the API and the CLI take
// them; Events nil leaves the events as they are.
type Fields struct {
	URL         string   `json:"url"`
	Description string   `json:"description"`
	Events      []string `json:"events"`
}

func (f Fields) apply(e *vend.WebhookEndpoint) error {
	if u := strings.TrimSpace(f.URL); u != "" {
		e.URL = u
	}
	e.Description = strings.TrimSpace(f.Description)
	if f.Events != nil {
		e.Events = nil
		for _, ev := range f.Events {
			if ev = strings.TrimSpace(ev); ev != "" {
				e.Events = append(e.Events, vend.WebhookEvent(ev))
			}
		}
	}
	return e.Validate()
}

// auditOf is what the trail keeps of an endpoint: never its secrets.
func auditOf(e *vend.WebhookEndpoint) map[string]any {
	if e == nil {
		return nil
	}
	return map[string]any{"url": e.URL, "events": e.Events, "disabled": e.Disabled, "description": e.Description}
}

// Create adds an endpoint with a new secret, in the audit trail by actor.
func Create(ctx context.Context, db store.DB, actor string, f Fields) (*vend.WebhookEndpoint, error) {
	e := &vend.WebhookEndpoint{Secret: NewSecret()}
	if err := f.apply(e); err != nil {
		return nil, err
	}
	err := db.Update(ctx, func(tx store.Tx) error {
		if err := tx.CreateEndpoint(ctx, e); err != nil {
			return err
		}
		return store.RecordAudit(ctx, tx, actor, "webhook.create", Target(e.ID), nil, auditOf(e))
	})
	if err != nil {
		return nil, fmt.Errorf("webhook: create endpoint: %w", err)
	}
	return e, nil
}

// Action is what can be done to an endpoint.
type Action string

const (
	Enable  Action = "enable" // send again (an endpoint disabled after failures too)
	Disable Action = "disable"
	Rotate  Action = "rotate" // a new secret; the old one signs too for RotationOverlap
	Delete  Action = "delete" // with its deliveries and their log
)

// Change edits endpoint id with f (when not nil) or applies action, in one
// transaction with its audit entry. It returns the endpoint as it is now
// (nil after Delete).
func Change(ctx context.Context, db store.DB, actor string, id int64, action Action, f *Fields, now time.Time) (*vend.WebhookEndpoint, error) {
	var out *vend.WebhookEndpoint
	err := db.Update(ctx, func(tx store.Tx) error {
		e, err := tx.FindEndpoint(ctx, id)
		if err != nil {
			return err
		}
		before := auditOf(e)
		name := "webhook." + string(action)
		switch {
		case f != nil:
			name = "webhook.update"
			if err := f.apply(e); err != nil {
				return err
			}
		case action == Enable:
			e.Disabled, e.DisabledReason = false, ""
		case action == Disable:
			e.Disabled, e.DisabledReason = true, "disabled by "+actor
		case action == Rotate:
			e.PreviousSecret, e.PreviousUntil, e.Secret = e.Secret, now.Add(RotationOverlap), NewSecret()
		case action == Delete:
			if err := tx.DeleteEndpoint(ctx, id); err != nil {
				return err
			}
			return store.RecordAudit(ctx, tx, actor, name, Target(id), before, nil)
		default:
			return vend.Errorf(vend.ENOTFOUND, "No such action %q: enable, disable, rotate or delete.", action)
		}
		if err := tx.UpdateEndpoint(ctx, e); err != nil {
			return err
		}
		out = e
		return store.RecordAudit(ctx, tx, actor, name, Target(id), before, auditOf(e))
	})
	if err != nil {
		return nil, fmt.Errorf("webhook: %s endpoint %d: %w", action, id, err)
	}
	return out, nil
}

// Replay sends delivery id's event to its endpoint again, as a new delivery
// (with a new webhook-id, at the end of the endpoint's queue), in the audit
// trail by actor.
func Replay(ctx context.Context, db store.DB, actor string, id int64) (*vend.WebhookDelivery, error) {
	var d *vend.WebhookDelivery
	err := db.Update(ctx, func(tx store.Tx) error {
		old, err := tx.FindDelivery(ctx, id)
		if err != nil {
			return err
		}
		d = &vend.WebhookDelivery{EndpointID: old.EndpointID, MessageID: "msg_" + rand.Text(), Event: old.Event, Payload: old.Payload}
		if err := tx.CreateDelivery(ctx, d); err != nil {
			return err
		}
		return store.RecordAudit(ctx, tx, actor, "webhook.replay", Target(old.EndpointID), map[string]any{"delivery": old.ID},
			map[string]any{"delivery": d.ID})
	})
	if err != nil {
		return nil, fmt.Errorf("webhook: replay delivery %d: %w", id, err)
	}
	return d, nil
}

// Record is a delivery with its attempts.
type Record struct {
	*vend.WebhookDelivery
	Attempts []*vend.WebhookAttempt `json:"attempts_log"`
}

// FindRecord reads delivery id with its attempts.
func FindRecord(ctx context.Context, db store.DB, id int64) (*Record, error) {
	r := &Record{}
	err := db.View(ctx, func(tx store.Tx) error {
		var err error
		if r.WebhookDelivery, err = tx.FindDelivery(ctx, id); err != nil {
			return err
		}
		r.Attempts, err = tx.FindWebhookAttempts(ctx, id)
		return err
	})
	return r, err
}

// Detail is an endpoint as its owner sees it: with its secret, and the
// previous one while it still signs.
type Detail struct {
	*vend.WebhookEndpoint
	Secret         string    `json:"secret"`
	PreviousSecret string    `json:"previous_secret,omitempty"`
	PreviousUntil  time.Time `json:"previous_until,omitzero"`
}

// DetailOf shows e's secrets as they stand at now.
func DetailOf(e *vend.WebhookEndpoint, now time.Time) *Detail {
	d := &Detail{WebhookEndpoint: e, Secret: e.Secret}
	if e.PreviousSecret != "" && now.Before(e.PreviousUntil) {
		d.PreviousSecret, d.PreviousUntil = e.PreviousSecret, e.PreviousUntil
	}
	return d
}

// List reads every endpoint, oldest first.
func List(ctx context.Context, db store.DB) ([]*vend.WebhookEndpoint, error) {
	var es []*vend.WebhookEndpoint
	err := db.View(ctx, func(tx store.Tx) error {
		var err error
		es, err = tx.FindEndpoints(ctx)
		return err
	})
	if es == nil {
		es = []*vend.WebhookEndpoint{}
	}
	return es, err
}

// Find reads endpoint id with its secrets.
func Find(ctx context.Context, db store.DB, id int64, now time.Time) (*Detail, error) {
	var e *vend.WebhookEndpoint
	err := db.View(ctx, func(tx store.Tx) error {
		var err error
		e, err = tx.FindEndpoint(ctx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return DetailOf(e, now), nil
}

// Deliveries lists deliveries, newest first.
func Deliveries(ctx context.Context, db store.DB, f store.DeliveryFilter) ([]*vend.WebhookDelivery, error) {
	var ds []*vend.WebhookDelivery
	err := db.View(ctx, func(tx store.Tx) error {
		var err error
		ds, err = tx.FindDeliveries(ctx, f)
		return err
	})
	if ds == nil {
		ds = []*vend.WebhookDelivery{}
	}
	return ds, err
}
