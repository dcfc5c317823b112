package vend

import "time"

// Session is one download of one file under one grant by one client: every request
// the client makes for the file while the session is open (resumes, parallel
// connections) counts once. See delivery for the rules.
type Session struct {
	ID        int64     `json:"id"`
	GrantID   int64     `json:"grant_id"`
	FileID    int64     `json:"file_id"`
	ProductID string    `json:"product_id"`
	ClientIP  string    `json:"client_ip"`
	StartedAt time.Time `json:"started_at"`
	LastSeen  time.Time `json:"last_seen"`
	Size      int64     `json:"size"`
	BytesSent int64     `json:"bytes_sent"`
	Charged   bool      `json:"charged"`   // counted against the grant's limit
	Completed bool      `json:"completed"` // the whole file went out
	Closed    bool      `json:"closed"`
	GivenBack bool      `json:"given_back"` // closed having delivered too little: charge returned
}

// PageVisit is one view of a buyer's download page: evidence, for a
// dispute, that the buyer reached their purchase.
type PageVisit struct {
	ID        int64     `json:"id"`
	GrantID   int64     `json:"grant_id"`
	At        time.Time `json:"at"`
	IP        string    `json:"ip"`
	UserAgent string    `json:"user_agent"`
}

// Attempt is one request for a file, successful or not.
type Attempt struct {
	ID        int64     `json:"id"`
	GrantID   int64     `json:"grant_id"`
	FileID    int64     `json:"file_id"`
	SessionID int64     `json:"session_id,omitempty"`
	At        time.Time `json:"at"`
	IP        string    `json:"ip"`
	UserAgent string    `json:"user_agent"`
	Method    string    `json:"method"`
	Range     string    `json:"range,omitempty"`
	Status    int       `json:"status"`
	BytesSent int64     `json:"bytes_sent"`
	Counted   bool      `json:"counted"` // this request started a charged session
	Refused   string    `json:"refused,omitempty"`
}
