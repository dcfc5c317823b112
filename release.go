package vend

import "time"

// ReleaseStatus says where a release stands.
type ReleaseStatus string

const (
	ReleaseRunning ReleaseStatus = "running"
	ReleaseDone    ReleaseStatus = "done"
)

// Release is the "new version" job of a product: every buyer with an active
// grant is told of the new files and/or gets the downloads used reset. It
// works through the grants in id order and records how far it got in the same
// transaction as each batch, so it resumes after a restart and never mails a
// buyer twice.
type Release struct {
	ID        int64  `json:"id"`
	ProductID string `json:"product_id"`
	Version   string `json:"version,omitempty"` // a label for the mail, e.g. the new file's name
	Notify    bool   `json:"notify"`
	Reset     bool   `json:"reset"`
	// Renewal mails the buyers whose updates ended before the release a note
	// that a new version is out and where to renew (Product.RenewURL). Only
	// buyers whose updates run until the release are notified or reset.
	Renewal   bool          `json:"renewal"`
	Actor     string        `json:"actor"`
	Status    ReleaseStatus `json:"status"`
	Total     int           `json:"total"`  // active grants when it started
	Done      int           `json:"done"`   // grants handled so far
	Cursor    int64         `json:"cursor"` // the last grant id handled
	CreatedAt time.Time     `json:"created_at"`
	UpdatedAt time.Time     `json:"updated_at"`
}
