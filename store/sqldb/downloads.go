package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/store"
)

const sessionColumns = `id, grant_id, file_id, product_id, client_ip, started_at, last_seen, size, bytes_sent, charged, completed, closed, given_back`

func scanSession(row interface{ Scan(...any) error }) (*vend.Session, error) {
	var s vend.Session
	var started, last int64
	if err := row.Scan(&s.ID, &s.GrantID, &s.FileID, &s.ProductID, &s.ClientIP, &started, &last, &s.Size, &s.BytesSent,
		&s.Charged, &s.Completed, &s.Closed, &s.GivenBack); err != nil {
		return nil, err
	}
	s.StartedAt, s.LastSeen = fromMS(started), fromMS(last)
	return &s, nil
}

// The admission query: one statement on the hot path of every download request.
//
// A grant gets the product's current files, or, when its updates ended
// (updates_until), the files that were current then (entitled).
var admissionSelect = `
	SELECT g.id, g.item_id, g.order_id, g.product_id, g.public_id, g.state, g.reason, g.download_limit,
		g.downloads_used, g.expires_at, g.updates_until, g.created_at, g.updated_at,
		f.id, f.name, f.blob_key, f.size, f.sha256, f.created_at,
		(SELECT s.id FROM download_sessions s
		 WHERE s.grant_id = g.id AND s.client_ip = $3 AND NOT s.closed
		   AND s.last_seen >= $4 AND s.started_at >= $5
		 ORDER BY s.id DESC LIMIT 1),
		(SELECT CAST(COALESCE(SUM(pf.size), 0) AS BIGINT) FROM files pf WHERE pf.product_id = g.product_id AND ` + entitled("pf") + `)
	FROM grants g
	LEFT JOIN files f ON f.id = $2 AND f.product_id = g.product_id AND ` + entitled("f")

// entitled is the condition on file f of grant g: current, and released
// before the grant's updates ended; or, once they ended, current then.
func entitled(f string) string {
	return `(` + f + `.current AND (g.updates_until = 0 OR ` + f + `.created_at <= g.updates_until)
		OR g.updates_until <> 0 AND ` + f + `.created_at <= g.updates_until AND ` + f + `.retired_at > g.updates_until)`
}

func (tx *Tx) FindAdmission(ctx context.Context, q store.AdmissionQuery) (*store.Admission, error) {
	query, key := admissionSelect+` WHERE g.public_id = $1`, any(q.PublicID)
	if q.PublicID == "" {
		query, key = admissionSelect+` WHERE g.id = $1`, q.GrantID
	}
	var g vend.Grant
	var expires, updatesUntil, created, updated int64
	var fileID, fileSize, fileCreated, session sql.NullInt64
	var productSize int64
	var fileName, fileKey, fileSHA sql.NullString
	err := tx.queryRow(ctx, query, key, q.FileID, q.ClientIP, ms(q.IdleSince), ms(q.StartedSince)).Scan(
		&g.ID, &g.ItemID, &g.OrderID, &g.ProductID, &g.PublicID, &g.State, &g.Reason, &g.DownloadLimit,
		&g.DownloadsUsed, &expires, &updatesUntil, &created, &updated,
		&fileID, &fileName, &fileKey, &fileSize, &fileSHA, &fileCreated, &session, &productSize)
	if err != nil {
		return nil, notFound(err, "download", "link")
	}
	g.ExpiresAt, g.UpdatesUntil, g.CreatedAt, g.UpdatedAt = fromMS(expires), fromMS(updatesUntil), fromMS(created), fromMS(updated)
	a := &store.Admission{Grant: &g, SessionID: session.Int64, ProductSize: productSize}
	if fileID.Valid {
		a.File = &vend.File{ID: fileID.Int64, ProductID: g.ProductID, Name: fileName.String, Key: fileKey.String,
			Size: fileSize.Int64, SHA256: fileSHA.String, CreatedAt: fromMS(fileCreated.Int64)}
	}
	return a, nil
}

func (tx *Tx) FindOpenSession(ctx context.Context, grantID int64, clientIP string, idleSince, startedSince time.Time) (*vend.Session, error) {
	s, err := scanSession(tx.queryRow(ctx, `
		SELECT `+sessionColumns+` FROM download_sessions
		WHERE grant_id = $1 AND client_ip = $2 AND NOT closed AND last_seen >= $3 AND started_at >= $4
		ORDER BY id DESC LIMIT 1`, grantID, clientIP, ms(idleSince), ms(startedSince)))
	if err != nil {
		return nil, notFound(err, "download session", grantID)
	}
	return s, nil
}

func (tx *Tx) CreateSession(ctx context.Context, s *vend.Session) error {
	s.StartedAt, s.LastSeen = tx.now, tx.now
	err := tx.queryRow(ctx, `
		INSERT INTO download_sessions (grant_id, file_id, product_id, client_ip, started_at, last_seen, size, bytes_sent, charged, completed, closed, given_back)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id`,
		s.GrantID, s.FileID, s.ProductID, s.ClientIP, ms(s.StartedAt), ms(s.LastSeen), s.Size, s.BytesSent, s.Charged,
		s.Completed, s.Closed, s.GivenBack).Scan(&s.ID)
	if err != nil {
		return fmt.Errorf("create download session for grant %d: %w", s.GrantID, err)
	}
	return nil
}

func (tx *Tx) RecordProgress(ctx context.Context, sessionID int64, bytes int64, at time.Time) error {
	res, err := tx.exec(ctx, `
		UPDATE download_sessions SET bytes_sent = bytes_sent + $1,
			last_seen = CASE WHEN last_seen < $2 THEN $2 ELSE last_seen END,
			completed = (completed OR bytes_sent + $1 >= size)
		WHERE id = $3`, bytes, ms(at), sessionID)
	return updated(res, err, "download session", sessionID)
}

func (tx *Tx) FindStaleSessions(ctx context.Context, idleBefore, startedBefore time.Time, n int) ([]*vend.Session, error) {
	rows, err := tx.query(ctx, `
		SELECT `+sessionColumns+` FROM download_sessions
		WHERE NOT closed AND (last_seen < $1 OR started_at < $2) ORDER BY id LIMIT $3`, ms(idleBefore), ms(startedBefore), limit(n, 100))
	if err != nil {
		return nil, fmt.Errorf("find stale sessions: %w", err)
	}
	return collectSessions(rows)
}

func collectSessions(rows *sql.Rows) ([]*vend.Session, error) {
	defer rows.Close()
	var out []*vend.Session
	for rows.Next() {
		s, err := scanSession(rows)
		if err != nil {
			return nil, fmt.Errorf("scan session: %w", err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

func (tx *Tx) CloseSession(ctx context.Context, id int64, givenBack bool) error {
	res, err := tx.exec(ctx, `UPDATE download_sessions SET closed = $1, given_back = $2 WHERE id = $3`, true, givenBack, id)
	return updated(res, err, "download session", id)
}

func (tx *Tx) GivenBackBytes(ctx context.Context, grantID int64) (int64, error) {
	var n int64
	err := tx.queryRow(ctx, `
		SELECT CAST(COALESCE(SUM(bytes_sent), 0) AS BIGINT) FROM download_sessions WHERE grant_id = $1 AND given_back`,
		grantID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("sum given-back bytes of grant %d: %w", grantID, err)
	}
	return n, nil
}

func (tx *Tx) FindSessionsByGrant(ctx context.Context, grantID int64) ([]*vend.Session, error) {
	rows, err := tx.query(ctx, `SELECT `+sessionColumns+` FROM download_sessions WHERE grant_id = $1 ORDER BY id`, grantID)
	if err != nil {
		return nil, fmt.Errorf("find sessions of grant %d: %w", grantID, err)
	}
	return collectSessions(rows)
}

func (tx *Tx) CreateAttempt(ctx context.Context, a *vend.Attempt) error {
	err := tx.queryRow(ctx, `
		INSERT INTO attempts (grant_id, file_id, session_id, at, ip, user_agent, method, range_header, status, bytes_sent, counted, refused)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id`,
		a.GrantID, a.FileID, nullID(a.SessionID), ms(a.At), a.IP, a.UserAgent, a.Method, a.Range, a.Status, a.BytesSent,
		a.Counted, a.Refused).Scan(&a.ID)
	if err != nil {
		return fmt.Errorf("record attempt on grant %d: %w", a.GrantID, err)
	}
	return tx.countAttempts(ctx, []*vend.Attempt{a})
}

// attemptRows is how many attempts one INSERT writes: one statement per row would
// cost the download log more than the downloads it logs.
const attemptRows = 32

// The INSERTs of attemptRows attempts, made once.
var (
	insertAttempts   = attemptsInsert(attemptRows, false)
	insertAttemptsPG = attemptsInsert(attemptRows, true)
)

// attemptsInsert is the INSERT of n attempts. SQLite's has anonymous
// parameters (?): modernc binds a numbered one ($7) by its name, found by a walk
// of the statement's parameter list, so that binding n rows by number took time
// in n² (at 8 rows, a fifth of the download log's time).
func attemptsInsert(n int, postgres bool) string {
	var q strings.Builder
	q.WriteString(`INSERT INTO attempts (grant_id, file_id, session_id, at, ip, user_agent, method, range_header, status, bytes_sent, counted, refused) VALUES `)
	for i := range n {
		if i > 0 {
			q.WriteString(", ")
		}
		if !postgres {
			q.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
			continue
		}
		p := 12 * i
		fmt.Fprintf(&q, "($%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d)",
			p+1, p+2, p+3, p+4, p+5, p+6, p+7, p+8, p+9, p+10, p+11, p+12)
	}
	return q.String()
}

// CreateAttempts writes the download log's batch: the attempts, and what they
// add to the counters.
func (tx *Tx) CreateAttempts(ctx context.Context, as []*vend.Attempt) error {
	if err := tx.countAttempts(ctx, as); err != nil {
		return err
	}
	args := make([]any, 0, 12*min(len(as), attemptRows))
	for len(as) > 0 {
		n := min(len(as), attemptRows)
		q := insertAttempts
		if tx.postgres {
			q = insertAttemptsPG
		}
		if n < attemptRows {
			q = attemptsInsert(n, tx.postgres)
		}
		args = args[:0]
		for _, a := range as[:n] {
			args = append(args, a.GrantID, a.FileID, nullID(a.SessionID), ms(a.At), a.IP, a.UserAgent, a.Method, a.Range,
				a.Status, a.BytesSent, a.Counted, a.Refused)
		}
		if _, err := tx.exec(ctx, q, args...); err != nil {
			return fmt.Errorf("record %d attempts: %w", n, err)
		}
		as = as[n:]
	}
	return nil
}

func (tx *Tx) FindAttempts(ctx context.Context, f store.AttemptFilter) ([]*vend.Attempt, error) {
	q := `SELECT a.id, a.grant_id, a.file_id, a.session_id, a.at, a.ip, a.user_agent, a.method, a.range_header, a.status,
		a.bytes_sent, a.counted, a.refused FROM attempts a`
	var args []any
	switch {
	case f.GrantID != nil:
		q += ` WHERE a.grant_id = $1`
		args = append(args, *f.GrantID)
	case f.OrderID != nil:
		// Through the order's few grants and the attempts' grant index: a join
		// ordered by attempt id could walk all attempts instead.
		q += ` WHERE a.grant_id IN (SELECT id FROM grants WHERE order_id = $1)`
		args = append(args, *f.OrderID)
	}
	args = append(args, limit(f.Limit, 100))
	order := "DESC"
	if f.OldestFirst {
		order = "ASC"
	}
	q += fmt.Sprintf(` ORDER BY a.id %s LIMIT $%d`, order, len(args))
	rows, err := tx.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("find attempts: %w", err)
	}
	defer rows.Close()
	var out []*vend.Attempt
	for rows.Next() {
		var a vend.Attempt
		var session sql.NullInt64
		var at int64
		if err := rows.Scan(&a.ID, &a.GrantID, &a.FileID, &session, &at, &a.IP, &a.UserAgent, &a.Method, &a.Range, &a.Status,
			&a.BytesSent, &a.Counted, &a.Refused); err != nil {
			return nil, fmt.Errorf("scan attempt: %w", err)
		}
		a.SessionID, a.At = session.Int64, fromMS(at)
		out = append(out, &a)
	}
	return out, rows.Err()
}

func (tx *Tx) CompletedDownloads(ctx context.Context) (map[string]int, error) {
	rows, err := tx.query(ctx, `SELECT product_id, COUNT(*) FROM download_sessions WHERE completed GROUP BY product_id`)
	if err != nil {
		return nil, fmt.Errorf("count completed downloads: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, fmt.Errorf("scan completed downloads: %w", err)
		}
		out[id] = n
	}
	return out, rows.Err()
}
