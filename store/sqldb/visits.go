package sqldb

import (
	"context"
	"fmt"
	"strings"

	"github.com/vend-shop/vend"
)

func (tx *Tx) CreatePageVisits(ctx context.Context, vs []*vend.PageVisit) error {
	const perStatement = 200
	for len(vs) > 0 {
		n := min(len(vs), perStatement)
		var q strings.Builder
		q.WriteString(`INSERT INTO page_visits (grant_id, at, ip, user_agent) VALUES `)
		args := make([]any, 0, 4*n)
		for i, v := range vs[:n] {
			if i > 0 {
				q.WriteString(", ")
			}
			p := len(args)
			fmt.Fprintf(&q, "($%d, $%d, $%d, $%d)", p+1, p+2, p+3, p+4)
			args = append(args, v.GrantID, ms(v.At), v.IP, v.UserAgent)
		}
		if _, err := tx.exec(ctx, q.String(), args...); err != nil {
			return fmt.Errorf("record %d page visits: %w", n, err)
		}
		vs = vs[n:]
	}
	return nil
}

func (tx *Tx) FindPageVisits(ctx context.Context, grantID int64, n int) ([]*vend.PageVisit, error) {
	rows, err := tx.query(ctx, `SELECT id, grant_id, at, ip, user_agent FROM page_visits WHERE grant_id = $1 ORDER BY id LIMIT $2`,
		grantID, limit(n, 1000))
	if err != nil {
		return nil, fmt.Errorf("find page visits of grant %d: %w", grantID, err)
	}
	defer rows.Close()
	var out []*vend.PageVisit
	for rows.Next() {
		var v vend.PageVisit
		var at int64
		if err := rows.Scan(&v.ID, &v.GrantID, &at, &v.IP, &v.UserAgent); err != nil {
			return nil, fmt.Errorf("scan page visit: %w", err)
		}
		v.At = fromMS(at)
		out = append(out, &v)
	}
	return out, rows.Err()
}
