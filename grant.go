package vend

import "time"

// GrantState says whether a grant lets its buyer download.
type GrantState string

const (
	GrantActive  GrantState = "active"
	GrantRevoked GrantState = "revoked"
)

// Grant is a buyer's right to download the files of one order item. PublicID
// identifies it in links; the link itself also carries a MAC (see delivery), so the
// database alone does not reveal working links.
type Grant struct {
	ID            int64      `json:"id"`
	ItemID        int64      `json:"item_id"`
	OrderID       int64      `json:"order_id"`
	ProductID     string     `json:"product_id"`
	PublicID      string     `json:"-"`
	State         GrantState `json:"state"`
	Reason        string     `json:"reason,omitempty"` // why revoked: refund, chargeback
	DownloadLimit int        `json:"download_limit"`   // Unlimited or ≥ 1
	DownloadsUsed int        `json:"downloads_used"`
	ExpiresAt     time.Time  `json:"expires_at,omitzero"` // zero: never
	// UpdatesUntil is the last day new versions reach this buyer (the
	// product's UpdatesFor from the purchase); zero: every version.
	UpdatesUntil time.Time `json:"updates_until,omitzero"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// Expired reports whether the grant's lifetime has run out at now.
func (g *Grant) Expired(now time.Time) bool {
	return !g.ExpiresAt.IsZero() && !now.Before(g.ExpiresAt)
}

// DownloadsLeft returns how many new downloads the grant allows, or -1 if unlimited.
func (g *Grant) DownloadsLeft() int {
	if g.DownloadLimit == Unlimited {
		return -1
	}
	return max(g.DownloadLimit-g.DownloadsUsed, 0)
}
