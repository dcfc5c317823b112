// Package store is the storage contract: the DB and Tx interfaces that every
// package above it uses (the ledger, intake, delivery, mailer, catalog, report,
// account, web), implemented by store/sqlite and store/postgres (both
// through store/sqldb) and checked by the conformance suite store/storetest. A
// store only stores: access decisions belong to ledger and delivery.
package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/vend-shop/vend"
)

// DB opens transactions. Update runs fn in one write transaction, committed if fn
// returns nil and rolled back otherwise. View runs fn in a read-only transaction.
//
// Update may run fn more than once: store/postgres rolls back and runs it again
// after a conflict with a concurrent transaction (a serialization failure, a
// deadlock, two instances creating the same row). So fn must act only through
// tx, and anything it sets outside (a result, a counter) must be set afresh on
// each run, not appended to.
type DB interface {
	Update(ctx context.Context, fn func(tx Tx) error) error
	View(ctx context.Context, fn func(tx Tx) error) error
	Close() error
}

// Tx is one transaction. Now is fixed when the transaction begins, so every row a
// step writes agrees on the time.
//
// The contract every implementation keeps (store/storetest checks it):
//   - a Find of one row that is missing returns an error with code vend.ENOTFOUND;
//     a list of nothing is empty, not an error;
//   - an Update, AddDownloadsUsed, RecordProgress or CloseSession of a missing row
//     returns vend.ENOTFOUND and changes nothing;
//   - times are kept to the millisecond; a zero time reads back as zero;
//   - a notification's body and headers read back byte for byte, whatever the
//     bytes (not necessarily UTF-8).
type Tx interface {
	Now() time.Time
	Products
	Notifications
	Orders
	Transactions
	Grants
	Downloads
	Settings
	Outbox
	Accounts
	Audit
	Reports
	Releases
	ImportedItems
	Licenses
	Webhooks
}

// Webhooks holds the seller's webhook endpoints, their deliveries and each
// delivery's attempts.
type Webhooks interface {
	CreateEndpoint(ctx context.Context, e *vend.WebhookEndpoint) error
	// UpdateEndpoint saves an endpoint's URL, description, events, secrets
	// and whether it is disabled.
	UpdateEndpoint(ctx context.Context, e *vend.WebhookEndpoint) error
	// DeleteEndpoint removes an endpoint with its deliveries and attempts.
	DeleteEndpoint(ctx context.Context, id int64) error
	FindEndpoint(ctx context.Context, id int64) (*vend.WebhookEndpoint, error)
	// FindEndpoints lists every endpoint, oldest first.
	FindEndpoints(ctx context.Context) ([]*vend.WebhookEndpoint, error)

	// CreateDelivery adds a pending delivery, due now.
	CreateDelivery(ctx context.Context, d *vend.WebhookDelivery) error
	// ClaimDeliveries returns up to limit deliveries due now, at most one per
	// endpoint: the oldest pending one of an enabled endpoint, so each
	// endpoint gets its events in order, a later one waiting for an earlier
	// one. It moves their next attempt to now+lease, so no other worker (or
	// instance) takes them meanwhile; on PostgreSQL with SKIP LOCKED.
	// Recording the attempt (UpdateDelivery) ends the claim.
	ClaimDeliveries(ctx context.Context, limit int, lease time.Duration) ([]*vend.WebhookDelivery, error)
	// DeliveriesDue reports whether any delivery is due now, with a read
	// only: a dispatcher asks before it claims, so an idle shop's poll never
	// takes the writer.
	DeliveriesDue(ctx context.Context) (bool, error)
	// ReleaseDeliveries ends every claim, also those of a worker that died,
	// and returns how many it ended. Only for a store no other worker uses
	// at the same time (SQLite).
	ReleaseDeliveries(ctx context.Context) (int, error)
	// UpdateDelivery saves a delivery's status, attempts, next and first
	// attempt, last status and error, and delivered time, and ends its
	// claim. It fails with ECONFLICT unless d.ClaimedUntil is still the
	// delivery's claim: a worker whose claim ran out and was taken by
	// another never overwrites what that one recorded.
	UpdateDelivery(ctx context.Context, d *vend.WebhookDelivery) error
	FindDelivery(ctx context.Context, id int64) (*vend.WebhookDelivery, error)
	// FindDeliveries lists deliveries, newest first.
	FindDeliveries(ctx context.Context, f DeliveryFilter) ([]*vend.WebhookDelivery, error)
	CreateWebhookAttempt(ctx context.Context, a *vend.WebhookAttempt) error
	// FindWebhookAttempts lists a delivery's attempts, oldest first.
	FindWebhookAttempts(ctx context.Context, deliveryID int64) ([]*vend.WebhookAttempt, error)
}

// DeliveryFilter selects webhook deliveries. Its fields combine.
type DeliveryFilter struct {
	EndpointID *int64
	Status     *vend.WebhookStatus
	Before     int64
	Limit      int
}

// Licenses holds licence keys and their activations (instances).
type Licenses interface {
	// CreateLicense adds a key; a second key for the same (item, unit), or
	// one whose KeyHash another key has, is an ECONFLICT error.
	CreateLicense(ctx context.Context, l *vend.License, keyHash string) error
	// UpdateLicense saves an administrator's changes: disabled, activation
	// limit, expiry.
	UpdateLicense(ctx context.Context, l *vend.License) error
	// FindLicenseByHash finds a key by vend.KeyHash; ENOTFOUND if none.
	FindLicenseByHash(ctx context.Context, keyHash string) (*vend.License, error)
	FindLicenseByID(ctx context.Context, id int64) (*vend.License, error)
	// FindLicenses lists keys, newest first, with their active instances
	// counted in Activations.
	FindLicenses(ctx context.Context, f LicenseFilter) ([]*vend.License, error)
	// LockLicense serializes, until the transaction ends, every transaction
	// that locks the same key: activations of one key at two instances must
	// count each other.
	LockLicense(ctx context.Context, id int64) error
	// CreateInstance records an activation; InstanceID must be unique.
	CreateInstance(ctx context.Context, in *vend.LicenseInstance) error
	// FindInstances lists a key's instances, oldest first: only the active
	// ones unless all.
	FindInstances(ctx context.Context, licenseID int64, all bool) ([]*vend.LicenseInstance, error)
	// DeactivateInstance ends an active instance of the key; ENOTFOUND if the
	// key has no such active instance.
	DeactivateInstance(ctx context.Context, licenseID int64, instanceID string) error

	// AddPoolKeys adds a seller's keys to a product's unused keys (licence
	// mode "list"); a key already unused or issued (by vend.KeyHash of its
	// normalized form) is left out. It returns how many it added.
	AddPoolKeys(ctx context.Context, productID string, keys []string) (int, error)
	// ClaimPoolKey takes the product's oldest unused key out of the pool;
	// ENOTFOUND when there is none. Two instances never take the same key.
	ClaimPoolKey(ctx context.Context, productID string) (string, error)
	// CountPoolKeys counts a product's unused keys.
	CountPoolKeys(ctx context.Context, productID string) (int, error)
	// SetWaiting records that an item (of grant g) waits for n more keys
	// from its product's list; n 0 forgets it.
	SetWaiting(ctx context.Context, g *vend.Grant, n int) error
	// KeysWaiting is how many keys an item waits for (SetWaiting); 0 if none.
	KeysWaiting(ctx context.Context, itemID int64) (int, error)
	// FindWaitingItems lists, oldest first, the items with an active grant
	// that wait for keys (SetWaiting), of productID or of any product ("").
	FindWaitingItems(ctx context.Context, productID string, limit int) ([]WaitingItem, error)
}

// WaitingItem is an item that waits for Waiting licence keys; Have are
// issued.
type WaitingItem struct {
	Item    *vend.Item
	Grant   *vend.Grant
	Have    int
	Waiting int
}

// LicenseFilter selects licence keys. Its fields combine.
type LicenseFilter struct {
	OrderID   *int64
	GrantID   *int64
	ProductID *string
	Before    int64 // only keys with a smaller id: the next page
	Limit     int
}

// ImportedItems holds the order items a seller imported from a provider's
// order data (WEBSALE's order export): the ones a buyer's first link may
// create an order and grant for.
type ImportedItems interface {
	// SaveImportedItem adds it, or updates the order reference and email of
	// the item imported before under its (provider, txn id); it reports
	// whether it added it.
	SaveImportedItem(ctx context.Context, it *vend.ImportedItem) (bool, error)
	FindImportedItem(ctx context.Context, provider, txnID string) (*vend.ImportedItem, error)
}

// Releases holds the "new version" jobs of products.
type Releases interface {
	CreateRelease(ctx context.Context, r *vend.Release) error
	// LockRelease holds the release's row until the transaction ends, so two
	// workers never handle the same batch.
	LockRelease(ctx context.Context, id int64) error
	FindRelease(ctx context.Context, id int64) (*vend.Release, error)
	// FindReleases returns releases, newest first; running ones only if asked.
	FindReleases(ctx context.Context, runningOnly bool, limit int) ([]*vend.Release, error)
	UpdateRelease(ctx context.Context, r *vend.Release) error
	// FindActiveGrants returns up to limit active grants of a product with ids
	// above after, in id order.
	FindActiveGrants(ctx context.Context, productID string, after int64, limit int) ([]*vend.Grant, error)
	CountActiveGrants(ctx context.Context, productID string) (int, error)
}

// Reports are the admin's views over the whole ledger. They must stay fast with
// millions of orders: every filter is served by an index, and pages are cut by
// id (keyset), never by offset.
type Reports interface {
	// SearchOrders returns a page of orders, newest first.
	SearchOrders(ctx context.Context, q OrderQuery) ([]*vend.Order, error)
	// DailyStats returns one entry per UTC day from from to to (both days
	// included), oldest first, days without anything included.
	// Sales and refunds of test orders (a provider's sandbox) count only with
	// withTest.
	DailyStats(ctx context.Context, from, to time.Time, withTest bool) ([]DayStats, error)

	// ExportOrders calls fn with each order of one page of an export, with its
	// items: of the orders SearchOrders(q) selects, and the deleted ones it
	// would select (an export is the books, and a deleted order's money moved
	// all the same; Order.Deleted says which), newest first, those of the
	// next q.Limit rows below q.Before (an order that matches with two items
	// comes once, so a page may hold fewer). The next page is below the last
	// order's id; an export ends at its first empty page.
	//
	// Exports read page after page, each in a View of its own, and write a
	// page out after its View ended: one read transaction held for a whole
	// export would keep SQLite from checkpointing its WAL for as long as the
	// slowest client takes to download it. fn must not use the transaction.
	ExportOrders(ctx context.Context, q OrderQuery, fn func(*vend.Order) error) error
	// ExportTransactions calls fn with each transaction of one page of an
	// export: those created within [q.From, q.To) after q's cursor, oldest
	// first, at most q.Limit. fn must not use the transaction.
	ExportTransactions(ctx context.Context, q ExportQuery, fn func(*vend.Transaction) error) error
	// ExportAttempts calls fn with each download attempt of one page of an
	// export: those made within [q.From, q.To) after q's cursor, oldest first,
	// at most q.Limit. fn must not use the transaction.
	ExportAttempts(ctx context.Context, q ExportQuery, fn func(*vend.Attempt) error) error
	// AttemptsPerBuyer counts the download attempts of each buyer (one email
	// address, whatever its case, over all their orders) made on the UTC days
	// of q.From and q.To and those between, in q.Sort's order, the first
	// q.Limit. It reads a row per buyer and day of the window, kept with the
	// attempts, not the attempts themselves; for the last 7, 30 or 90 days (a
	// From and no To), each buyer's sum over them, also kept with the
	// attempts, once the day's first attempts have moved them on.
	AttemptsPerBuyer(ctx context.Context, q BuyerQuery) ([]BuyerAttempts, error)
	// DownloadsPerProduct counts, for every product of the catalog (and any
	// other product id downloads name), the download sessions started and the
	// attempts made on the UTC days of from and to and those between, ordered
	// by product id. A zero from or to leaves that end open. It reads a row
	// per product and day, kept with the sessions and attempts.
	DownloadsPerProduct(ctx context.Context, from, to time.Time) ([]ProductDownloads, error)
}

// ExportQuery is one page of a time-ordered export: the rows within [From,
// To) that come after the cursor (AfterTime, AfterID) in (time, id) order —
// from the first when AfterID is 0 — at most Limit. A zero From or To leaves
// that end open. The next page's cursor is the last row's time and id.
type ExportQuery struct {
	From, To  time.Time
	AfterTime time.Time
	AfterID   int64
	Limit     int
}

// BuyerQuery selects the lines of AttemptsPerBuyer.
type BuyerQuery struct {
	From, To time.Time // the UTC days of From and To and those between; zero leaves that end open
	Sort     string    // SortAttempts (when ""), SortDownloads, SortLast or SortEmail
	Limit    int
}

// The orders of AttemptsPerBuyer's lines; ties go by email address.
const (
	SortAttempts  = "attempts"  // most attempts first
	SortDownloads = "downloads" // most counted downloads first
	SortLast      = "last"      // the latest attempt first
	SortEmail     = "email"     // by email address, A to Z
)

// BuyerAttempts is one buyer's line of the attempts counter.
type BuyerAttempts struct {
	Email       string    `json:"email"` // lower-cased; "" for orders without one
	Name        string    `json:"name"`  // the name of the buyer's latest order
	Attempts    int       `json:"attempts"`
	Downloads   int       `json:"downloads"` // attempts that started a counted download
	LastAttempt time.Time `json:"last_attempt"`
}

// ProductDownloads is one product's line of the downloads counter.
type ProductDownloads struct {
	ProductID string `json:"product_id"`
	Name      string `json:"name,omitempty"` // "" if the catalog has no such product
	Completed int    `json:"completed"`      // sessions that delivered the whole file
	Charged   int    `json:"charged"`        // sessions counted against a limit, not given back
	Attempts  int    `json:"attempts"`       // requests for the product's files
}

// OrderQuery selects orders for the admin's list. Text matches an order id, a
// provider's order reference or transaction id exactly, or the start of the
// buyer's email address or name (case-insensitively).
type OrderQuery struct {
	Text     string
	Product  string // orders with an item of this product
	Provider string
	Status   vend.OrderStatus
	From, To time.Time // created within [From, To)
	Before   int64     // only orders with a smaller id: the next page
	Limit    int
}

// DayStats is one day of the dashboard: payments and refunds by currency,
// downloads counted against limits.
type DayStats struct {
	Day       time.Time              `json:"day"`
	Sales     int                    `json:"sales"`
	Revenue   map[string]vend.Amount `json:"revenue,omitempty"` // by currency
	Refunds   int                    `json:"refunds"`
	Downloads int                    `json:"downloads"`
}

// Accounts holds administrators, their browser sessions and API tokens.
type Accounts interface {
	// CreateUser adds a user; a name taken already is an ECONFLICT error.
	CreateUser(ctx context.Context, u *vend.User) error
	UpdateUser(ctx context.Context, u *vend.User) error
	FindUserByID(ctx context.Context, id int64) (*vend.User, error)
	FindUserByName(ctx context.Context, name string) (*vend.User, error)
	FindUsers(ctx context.Context) ([]*vend.User, error)
	// DeleteUser deletes a user with the sessions and API tokens that belong
	// to it (they cannot outlive it); a missing user is ENOTFOUND.
	DeleteUser(ctx context.Context, id int64) error

	CreateAdminSession(ctx context.Context, s *vend.AdminSession) error
	// FindAdminSession finds a session by its hash; an expired one is ENOTFOUND.
	FindAdminSession(ctx context.Context, hash string) (*vend.AdminSession, error)
	DeleteAdminSession(ctx context.Context, hash string) error
	// DeleteUserSessions logs a user out everywhere (a new password).
	DeleteUserSessions(ctx context.Context, userID int64) error

	CreateAPIToken(ctx context.Context, t *vend.APIToken) error
	FindAPITokenByHash(ctx context.Context, hash string) (*vend.APIToken, error)
	FindAPITokens(ctx context.Context) ([]*vend.APIToken, error)
	DeleteAPIToken(ctx context.Context, id int64) error
	TouchAPIToken(ctx context.Context, id int64) error
}

// Audit is the trail of administrators' changes.
type Audit interface {
	CreateAuditEntry(ctx context.Context, e *vend.AuditEntry) error
	// FindAuditEntries returns entries, newest first.
	FindAuditEntries(ctx context.Context, f AuditFilter) ([]*vend.AuditEntry, error)
}

// AuditFilter selects audit entries.
type AuditFilter struct {
	Target string // "order:7": only entries about it
	Limit  int
}

// Outbox holds the mail that ledger changes ask for, until it is sent.
type Outbox interface {
	// EnqueueMail adds m (status queued, due now unless NextAttempt is set) unless
	// a message with its Key exists; it reports whether it added it.
	EnqueueMail(ctx context.Context, m *vend.Mail) (bool, error)
	// ClaimMails returns up to limit queued messages due at now, oldest first, and
	// moves their next attempt to now+lease, so another worker (or instance) does
	// not take them meanwhile. On PostgreSQL the rows are locked with SKIP LOCKED.
	ClaimMails(ctx context.Context, limit int, lease time.Duration) ([]*vend.Mail, error)
	// ReleaseMails makes every queued message due now, also those claimed by a
	// worker that died, and returns how many it moved.
	ReleaseMails(ctx context.Context) (int, error)
	// UpdateMail saves a message's status, attempts, next attempt, last error and
	// sent time.
	UpdateMail(ctx context.Context, m *vend.Mail) error
	FindMailByID(ctx context.Context, id int64) (*vend.Mail, error)
	// FindMails returns messages, newest first.
	FindMails(ctx context.Context, f MailFilter) ([]*vend.Mail, error)
	// OutboxDepth counts the queued messages and says when the oldest of them
	// was queued (zero when none is).
	OutboxDepth(ctx context.Context) (int, time.Time, error)
}

// MailFilter selects outbox messages.
type MailFilter struct {
	Status  *vend.MailStatus
	OrderID *int64
	To      *string // compared case-insensitively
	Since   time.Time
	Limit   int
}

// Settings are named values every instance shares.
type Settings interface {
	FindSetting(ctx context.Context, name string) (string, error)
	// CreateSetting stores value under name unless the name has a value already;
	// it reports whether it stored it.
	CreateSetting(ctx context.Context, name, value string) (bool, error)
	// PutSetting stores value under name, replacing any value.
	PutSetting(ctx context.Context, name, value string) error
}

// Products is the catalog.
type Products interface {
	FindProductByID(ctx context.Context, id string) (*vend.Product, error)
	// FindProductInfo is FindProductByID without the files (Files is nil):
	// one query, for the ledger, which checks prices and policies only.
	FindProductInfo(ctx context.Context, id string) (*vend.Product, error)
	FindProducts(ctx context.Context) ([]*vend.Product, error)
	// SaveProduct creates the product or updates its fields (not its files,
	// and not whether it is archived: an import must not sell an archived
	// product again).
	SaveProduct(ctx context.Context, p *vend.Product) error
	// SetProductArchived archives a product or brings it back; a missing
	// product is ENOTFOUND.
	SetProductArchived(ctx context.Context, id string, archived bool) error
	// SetFiles makes files the product's current files, in order. Files whose
	// (name, sha256) is already current keep their id; others get a new one.
	SetFiles(ctx context.Context, productID string, files []*vend.File) error
	FindFileByID(ctx context.Context, id int64) (*vend.File, error)
	// FindFileVersions returns every file the product ever had, current or
	// not, newest first.
	FindFileVersions(ctx context.Context, productID string) ([]*vend.File, error)
	// FindFilesAt returns the files that were the product's current files at
	// at: released by then and not yet replaced. A buyer whose updates ended
	// at at gets these.
	FindFilesAt(ctx context.Context, productID string, at time.Time) ([]*vend.File, error)
}

// Notifications is the raw notification log and the idempotency keys.
type Notifications interface {
	// CreateNotification stores n and sets its ID, unless n.ID is already one
	// NextNotificationID gave this transaction: then it is stored under it.
	CreateNotification(ctx context.Context, n *vend.Notification) error
	// NextNotificationID returns an id for the notification this transaction
	// creates next, so that what names it can be written before it is, with
	// its verdict, in one insert.
	NextNotificationID(ctx context.Context) (int64, error)
	UpdateNotification(ctx context.Context, n *vend.Notification) error
	// TrimNotification writes n's headers, body, size and hash: what is kept
	// of a message that failed verification (vend.Notification.Trim).
	TrimNotification(ctx context.Context, n *vend.Notification) error
	// DeleteRefusedNotifications deletes up to max notifications received
	// before before that were refused (verdict invalid, rejected or error)
	// and belong to no order, and returns how many.
	DeleteRefusedNotifications(ctx context.Context, before time.Time, max int) (int, error)
	FindNotificationByID(ctx context.Context, id int64) (*vend.Notification, error)
	FindNotifications(ctx context.Context, f NotificationFilter) ([]*vend.Notification, error)
	// ClaimKey records that the notification applied (provider, key). It returns
	// false, and changes nothing, if the key was claimed before.
	ClaimKey(ctx context.Context, provider, key string, notificationID int64) (bool, error)
}

// NotificationFilter selects notifications, newest first. Every filter is
// served by an index that also orders by id, and pages are cut by id (keyset).
type NotificationFilter struct {
	OrderID  *int64
	Provider *string
	Verdict  *vend.Verdict
	// Unsettled keeps those that belong to no order and were not dismissed:
	// with VerdictRejected, the refused payments the seller has to look at.
	Unsettled bool
	Since     time.Time // only those received at or after Since
	Before    int64     // only notifications with a smaller id: the next page
	Limit     int
}

// Orders holds orders, their items and buyers.
type Orders interface {
	// LockOrderRef serializes, until the transaction ends, every transaction that
	// locks the same provider order reference: a payment and its refund arriving
	// at once at two instances must not both miss each other.
	LockOrderRef(ctx context.Context, provider, ref string) error
	CreateOrder(ctx context.Context, o *vend.Order) error
	UpdateOrder(ctx context.Context, o *vend.Order) error
	FindOrderByID(ctx context.Context, id int64) (*vend.Order, error)
	FindOrderByRef(ctx context.Context, provider, ref string) (*vend.Order, error)
	FindOrders(ctx context.Context, f OrderFilter) ([]*vend.Order, error)
	CreateItem(ctx context.Context, it *vend.Item) error
	FindItems(ctx context.Context, orderID int64) ([]*vend.Item, error)
	// UpdateItem saves an item's name, quantity, amount, status and hold.
	UpdateItem(ctx context.Context, it *vend.Item) error
}

// OrderFilter selects orders, newest first.
type OrderFilter struct {
	Custom *string
	Email  *string
	Limit  int
}

// Transactions holds provider transactions.
type Transactions interface {
	FindTransaction(ctx context.Context, provider, txnID string) (*vend.Transaction, error)
	CreateTransaction(ctx context.Context, t *vend.Transaction) error
	// CreateTransactionIfNew inserts t unless (provider, txn id) is taken, in
	// one statement, and reports whether it did: the ledger's common case, a
	// transaction seen for the first time, costs no lookup first.
	CreateTransactionIfNew(ctx context.Context, t *vend.Transaction) (bool, error)
	UpdateTransaction(ctx context.Context, t *vend.Transaction) error
	// FindTransactionsByOrder returns the order's transactions, oldest first.
	FindTransactionsByOrder(ctx context.Context, orderID int64) ([]*vend.Transaction, error)
	// AdoptTransactions attaches transactions recorded before their order existed
	// (a refund that arrived before its payment, say) to that order, found by the
	// provider's order reference.
	AdoptTransactions(ctx context.Context, provider, orderRef string, orderID int64) (int, error)
}

// Grants holds download rights.
type Grants interface {
	CreateGrant(ctx context.Context, g *vend.Grant) error
	UpdateGrant(ctx context.Context, g *vend.Grant) error
	FindGrantByID(ctx context.Context, id int64) (*vend.Grant, error)
	FindGrantByPublicID(ctx context.Context, publicID string) (*vend.Grant, error)
	FindGrantsByOrder(ctx context.Context, orderID int64) ([]*vend.Grant, error)
	// LockGrant holds the grant's row until the transaction ends, so concurrent
	// transactions that charge it (other requests, other instances) take turns.
	// Call it first in an Update that decides on a charge.
	LockGrant(ctx context.Context, grantID int64) error
	// AddDownloadsUsed adds delta to the grant's count of downloads used.
	AddDownloadsUsed(ctx context.Context, grantID int64, delta int) error
}

// Downloads holds download sessions and attempts.
type Downloads interface {
	// FindOpenSession returns the open session of (grant, client) whose last
	// request was at or after idleSince and which started at or after startedSince.
	FindOpenSession(ctx context.Context, grantID int64, clientIP string, idleSince, startedSince time.Time) (*vend.Session, error)
	// FindAdmission reads, in one query, what serving a file needs: the grant (by
	// q.PublicID, or by q.GrantID when PublicID is empty), the file q.FileID if it is
	// a current file of the grant's product (else File is nil), and the id of the
	// open session of (grant, client) as FindOpenSession defines it (0: none), and
	// ProductSize, the sum of the sizes of the product's current files.
	FindAdmission(ctx context.Context, q AdmissionQuery) (*Admission, error)
	CreateSession(ctx context.Context, s *vend.Session) error
	// RecordProgress adds bytes to a session, moves its last request time forward and
	// marks it completed once it delivered the whole file.
	RecordProgress(ctx context.Context, sessionID int64, bytes int64, at time.Time) error
	// FindStaleSessions returns open sessions idle since before idleBefore or started
	// before startedBefore.
	FindStaleSessions(ctx context.Context, idleBefore, startedBefore time.Time, limit int) ([]*vend.Session, error)
	CloseSession(ctx context.Context, id int64, givenBack bool) error
	// GivenBackBytes sums the bytes of the given-back sessions of a grant.
	GivenBackBytes(ctx context.Context, grantID int64) (int64, error)
	CreateAttempt(ctx context.Context, a *vend.Attempt) error
	// CreateAttempts records many attempts at once; it does not set their IDs.
	CreateAttempts(ctx context.Context, as []*vend.Attempt) error
	FindAttempts(ctx context.Context, f AttemptFilter) ([]*vend.Attempt, error)
	FindSessionsByGrant(ctx context.Context, grantID int64) ([]*vend.Session, error)
	// CreatePageVisits records views of buyers' download pages.
	CreatePageVisits(ctx context.Context, vs []*vend.PageVisit) error
	// FindPageVisits lists a grant's page visits, oldest first, at most limit.
	FindPageVisits(ctx context.Context, grantID int64, limit int) ([]*vend.PageVisit, error)
	// CompletedDownloads counts completed download sessions per product id.
	CompletedDownloads(ctx context.Context) (map[string]int, error)
}

// AdmissionQuery names a grant, a file and a client for FindAdmission.
type AdmissionQuery struct {
	PublicID     string
	GrantID      int64
	FileID       int64
	ClientIP     string
	IdleSince    time.Time
	StartedSince time.Time
}

// Admission is what FindAdmission found.
type Admission struct {
	Grant       *vend.Grant
	File        *vend.File
	SessionID   int64
	ProductSize int64
}

// AttemptFilter selects attempts, newest first (OldestFirst: oldest first).
type AttemptFilter struct {
	GrantID     *int64
	OrderID     *int64
	Limit       int
	OldestFirst bool
}

// RecordAudit records in tx that actor did action to target, whose record was
// before and is after (each marshalled to JSON; nil for none), so a change
// and its record commit together. Never pass secrets: vend's types leave
// hashes out of their JSON.
func RecordAudit(ctx context.Context, tx Audit, actor, action, target string, before, after any) error {
	e := &vend.AuditEntry{Actor: actor, Action: action, Target: target}
	var err error
	if e.Before, err = auditJSON(before); err != nil {
		return fmt.Errorf("audit %s %s: before: %w", action, target, err)
	}
	if e.After, err = auditJSON(after); err != nil {
		return fmt.Errorf("audit %s %s: after: %w", action, target, err)
	}
	return tx.CreateAuditEntry(ctx, e)
}

// auditJSON marshals v for the trail as it is, without escaping <, > and &
// (the admin page escapes what it shows).
func auditJSON(v any) (string, error) {
	if v == nil {
		return "", nil
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	if out := strings.TrimSuffix(b.String(), "\n"); out != "null" { // a nil pointer is none too
		return out, nil
	}
	return "", nil
}

// WebhookPayload is the body of every outgoing webhook (docs/webhooks.md,
// its JSON Schema in docs/webhook-event.schema.json): the event's type, when
// it happened, and its data.
type WebhookPayload struct {
	Type      vend.WebhookEvent `json:"type"`
	Timestamp time.Time         `json:"timestamp"`
	Data      any               `json:"data"`
}

// WebhookTx is what enqueueing webhooks needs of a transaction.
type WebhookTx interface {
	Now() time.Time
	Webhooks
}

// EnqueueWebhooks writes one delivery of event, with data, for every endpoint
// that asked for it, in tx: the transaction of the change, so a crash can
// neither lose the message nor send it for a change rolled back. An endpoint
// that is turned off gets its deliveries too: they wait, in order, until it
// is on again. It returns how many deliveries it wrote.
func EnqueueWebhooks(ctx context.Context, tx WebhookTx, event vend.WebhookEvent, data any) (int, error) {
	endpoints, err := tx.FindEndpoints(ctx)
	if err != nil {
		return 0, err
	}
	var payload []byte
	n := 0
	for _, e := range endpoints {
		if !e.Wants(event) {
			continue
		}
		if payload == nil {
			if payload, err = json.Marshal(WebhookPayload{Type: event, Timestamp: tx.Now().UTC(), Data: data}); err != nil {
				return n, fmt.Errorf("webhook %s: %w", event, err)
			}
		}
		d := &vend.WebhookDelivery{EndpointID: e.ID, MessageID: "msg_" + rand.Text(), Event: event, Payload: payload}
		if err := tx.CreateDelivery(ctx, d); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
