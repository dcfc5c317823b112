package vend

import (
	"strconv"
	"time"
)

// User is an administrator of the shop. The password is kept only as an
// argon2id hash.
type User struct {
	ID           int64     `json:"id"`
	Name         string    `json:"name"`
	PasswordHash string    `json:"-"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
	LastLoginAt  time.Time `json:"last_login_at,omitzero"`
}

// AdminSession is a logged-in browser. Only a hash of its cookie value is
// stored, so the database alone cannot log anyone in.
type AdminSession struct {
	Hash      string    `json:"-"`
	UserID    int64     `json:"user_id"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// APIToken lets a script use the JSON API as a user. It is shown once, when it
// is made; only its hash is stored.
type APIToken struct {
	ID         int64     `json:"id"`
	Name       string    `json:"name"`
	UserID     int64     `json:"user_id"`
	Hash       string    `json:"-"`
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at,omitzero"`
}

// Audit targets name what an entry is about, "<noun>:<id>": the admin's order
// page and the audit trail's filter find entries by them, so they are made here
// and nowhere else.

// OrderTarget is the audit target of order id.
func OrderTarget(id int64) string { return "order:" + strconv.FormatInt(id, 10) }

// ProductTarget is the audit target of product id.
func ProductTarget(id string) string { return "product:" + id }

// LicenseTarget is the audit target of licence key id.
func LicenseTarget(id int64) string { return "license:" + strconv.FormatInt(id, 10) }

// UserTarget is the audit target of user id.
func UserTarget(id int64) string { return "user:" + strconv.FormatInt(id, 10) }

// TokenTarget is the audit target of API token id.
func TokenTarget(id int64) string { return "token:" + strconv.FormatInt(id, 10) }

// NotificationTarget is the audit target of notification id (a replay of one
// that belongs to no order).
func NotificationTarget(id int64) string { return "notification:" + strconv.FormatInt(id, 10) }

// ProviderTarget is the audit target of what a seller imported for provider
// name (WEBSALE's order export).
func ProviderTarget(name string) string { return "provider:" + name }

// AuditEntry records one change an administrator made: who, when, what, and
// the record before and after (JSON).
type AuditEntry struct {
	ID     int64     `json:"id"`
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`  // "user:alice", "token:deploy-script", "cli"
	Action string    `json:"action"` // "grant.revoke", "order.edit" …
	Target string    `json:"target"` // "grant:12", "order:7"
	Before string    `json:"before,omitempty"`
	After  string    `json:"after,omitempty"`
}
