package vend

import "time"

// MailKind names a kind of message vend sends; each has a template.
type MailKind string

const (
	MailReceipt     MailKind = "receipt"            // to the buyer: paid, with the download page links
	MailPending     MailKind = "pending"            // to the buyer: payment pending, with the reason
	MailEnded       MailKind = "ended"              // to the buyer: access ended (refund, chargeback); no links
	MailLinks       MailKind = "links"              // to the buyer: fresh links to every active grant, on request
	MailNewVersion  MailKind = "new-version"        // to the buyer: a product has a new file
	MailRenewal     MailKind = "renewal"            // to a buyer whose updates ended: a new version is out, renew to get it
	MailLicenseKeys MailKind = "license-keys"       // to the buyer: the licence keys that were waiting for the seller's list
	MailKeysLow     MailKind = "owner-license-keys" // to the owner: a product's uploaded keys run low, or buyers wait for keys
	MailSale        MailKind = "owner-sale"         // to the owner: a sale
	MailRefund      MailKind = "owner-refund"
	MailChargeback  MailKind = "owner-chargeback"
	MailForgeries   MailKind = "owner-forgeries" // to the owner: a burst of failed verifications
	MailRefused     MailKind = "owner-refused"   // to the owner: a genuine message vend would not act on
	// MailWebhookOff tells the owner that a webhook endpoint was disabled after its deliveries failed for days.
	MailWebhookOff MailKind = "owner-webhook-disabled"
)

// Keys of Mail.Data. Whoever enqueues a message sets them (the ledger, web's
// alarm about forged messages) and mailer reads them; all are optional unless
// said otherwise.
const (
	// MailDataReason is the provider's reason code: a pending reason such as
	// "echeck" (pending), or "refund" / "chargeback" (ended, owner notices).
	// Without it the order's status reason or the grant's revoke reason is used.
	MailDataReason = "reason"
	// MailDataProduct is a product id. Required for new-version and renewal (the product with
	// the new file); for receipt and ended it narrows the message to that item.
	MailDataProduct = "product"
	// MailDataRemaining is how many unused keys a product has left, and
	// MailDataWaiting how many of the order's units wait for one
	// (owner-license-keys).
	MailDataRemaining = "remaining"
	MailDataWaiting   = "waiting"
	// MailDataVersion labels a new version ("2.1"), for new-version and renewal.
	MailDataVersion = "version"
	// MailDataAmount is the amount taken back, a decimal string ("19.95"), and
	// MailDataCurrency its currency, for the owner's refund and chargeback notices.
	MailDataAmount   = "amount"
	MailDataCurrency = "currency"
	// MailDataGrants are the ids of the grants a receipt, sale or ended message
	// is about (comma-separated), and MailDataStatus the order's status when
	// access ended: kept with the message for the record.
	MailDataGrants = "grants"
	MailDataStatus = "status"
	// MailDataProvider, MailDataCount and MailDataSince describe a burst of failed
	// verifications for owner-forgeries: the provider, how many, and since when
	// (RFC 3339).
	MailDataProvider = "provider"
	MailDataCount    = "count"
	MailDataSince    = "since"
	// MailDataNotification is the id of the notification an owner-refused
	// message is about; MailDataProvider names its provider and
	// MailDataReason says why vend refused it.
	MailDataNotification = "notification"
	// MailDataEndpoint is the id of the webhook endpoint an
	// owner-webhook-disabled message is about and MailDataURL its URL;
	// MailDataReason says which delivery failed and how.
	MailDataEndpoint = "endpoint"
	MailDataURL      = "url"
)

// MailStatus says where an outbox message stands.
type MailStatus string

const (
	MailQueued  MailStatus = "queued"  // waiting for its (next) attempt
	MailSent    MailStatus = "sent"    // the SMTP server took it
	MailFailed  MailStatus = "failed"  // given up after retrying for the configured time
	MailSkipped MailStatus = "skipped" // nothing to send after all (a links request for an address without purchases)
)

// Mail is one message in the outbox. A ledger change that needs mail writes it in
// its own transaction, so a crash never loses it and a change rolled back never
// sends it. Key is unique: one message per (event, recipient, kind), so the same
// grant never yields two receipts. The message is rendered when it is sent, from
// the ledger as it stands and the data kept here.
type Mail struct {
	ID       int64    `json:"id"`
	Key      string   `json:"key"`
	Kind     MailKind `json:"kind"`
	To       string   `json:"to"`
	Language string   `json:"language,omitempty"` // "de", "en"; "" is the default
	OrderID  int64    `json:"order_id,omitempty"`
	// Data holds what the template needs beyond the order (a pending reason, the
	// product of a new version), as a flat map.
	Data        map[string]string `json:"data,omitempty"`
	Status      MailStatus        `json:"status"`
	Attempts    int               `json:"attempts"`
	NextAttempt time.Time         `json:"next_attempt,omitzero"`
	LastError   string            `json:"last_error,omitempty"`
	CreatedAt   time.Time         `json:"created_at"`
	SentAt      time.Time         `json:"sent_at,omitzero"`
	// MessageID is the Message-ID the message went out with (without angle
	// brackets), kept when it is sent: the buyer's mailbox has it too.
	MessageID string `json:"message_id,omitempty"`
}
