package delivery

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/store"
)

// record is what a finished request leaves behind: its attempt row and the bytes
// it added to its session. keepAlive sends records without an attempt while a
// transfer runs.
type record struct {
	visit   *vend.PageVisit // a view of a download page: nothing else set
	attempt *vend.Attempt   // nil: a progress report of a transfer still running
	session *vend.Session   // nil: a request outside any session (HEAD, refused)
	bytes   int64           // body bytes to add to the session
	at      time.Time       // when they went out: the session's latest activity
	flushed chan struct{}   // closed once written, for Flush
}

// recorder writes records in batches: one write transaction per batch instead of
// one per request keeps small-file serving fast on SQLite's single writer. The
// decision to serve (and any charge) is already committed before the bytes go out;
// what waits here is the log of what went out.
type recorder struct {
	db store.DB
	s  *Service
	in chan record
	wg sync.WaitGroup

	mu     sync.RWMutex // held for reading while sending, for writing to close
	run    bool
	closed bool
}

const (
	batchSize  = 256
	batchDelay = 20 * time.Millisecond
)

func newRecorder(db store.DB, s *Service) *recorder {
	return &recorder{db: db, s: s, in: make(chan record, 4*batchSize)}
}

func (r *recorder) add(rec record) {
	for {
		r.mu.RLock()
		if r.run && !r.closed {
			r.in <- rec
			r.mu.RUnlock()
			return
		}
		closed := r.closed
		r.mu.RUnlock()
		if closed {
			r.write([]record{rec}) // after Close: write at once
			return
		}
		r.mu.Lock()
		if !r.run && !r.closed {
			r.run = true
			r.wg.Add(1)
			go r.loop()
		}
		r.mu.Unlock()
	}
}

func (r *recorder) loop() {
	defer r.wg.Done()
	for first := range r.in {
		batch := []record{first}
		timer := time.NewTimer(batchDelay)
	fill:
		for len(batch) < batchSize && first.flushed == nil {
			select {
			case rec, ok := <-r.in:
				if !ok {
					break fill
				}
				batch = append(batch, rec)
				if rec.flushed != nil {
					break fill
				}
			case <-timer.C:
				break fill
			}
		}
		timer.Stop()
		r.write(batch)
	}
}

func (r *recorder) write(batch []record) {
	// A background context: the requests these records describe are over, and
	// shutdown waits for this write.
	ctx := context.Background()
	update := r.db.Update
	if l, ok := r.db.(LogUpdater); ok {
		update = l.UpdateLog // leaves the admissions cached
	}
	err := update(ctx, func(tx store.Tx) error { return writeBatch(ctx, tx, batch) })
	if err != nil {
		r.s.Logger.Error("download log: write attempts", "count", len(batch), "error", err)
	}
	for _, rec := range batch {
		if rec.flushed != nil {
			close(rec.flushed)
		}
	}
}

// logWriter is all the download log writes: what LogUpdater's promise (it
// cannot end an admission) covers. A write added here must keep that promise.
type logWriter interface {
	RecordProgress(ctx context.Context, sessionID int64, bytes int64, at time.Time) error
	CreatePageVisits(ctx context.Context, vs []*vend.PageVisit) error
	CreateAttempts(ctx context.Context, as []*vend.Attempt) error
}

// writeBatch writes a batch: one progress update per session (the sum of its
// records' bytes, the latest time), then the attempts. A session that is gone (its
// order deleted while the transfer ran) is no reason to lose the attempt, nor the
// rest of the batch, which one failed write would roll back.
func writeBatch(ctx context.Context, tx logWriter, batch []record) error {
	type progress struct {
		bytes int64
		at    time.Time
	}
	sessions := map[int64]*progress{}
	var order []int64
	for _, rec := range batch {
		if rec.session == nil {
			continue
		}
		p := sessions[rec.session.ID]
		if p == nil {
			p = &progress{}
			sessions[rec.session.ID] = p
			order = append(order, rec.session.ID)
		}
		p.bytes += rec.bytes
		if rec.at.After(p.at) {
			p.at = rec.at
		}
	}
	// In id order, like every other writer that touches several sessions: two
	// instances' batches then never wait for each other in a circle.
	slices.Sort(order)
	gone := map[int64]bool{}
	for _, id := range order {
		err := tx.RecordProgress(ctx, id, sessions[id].bytes, sessions[id].at)
		if vend.ErrorCode(err) == vend.ENOTFOUND {
			gone[id] = true
		} else if err != nil {
			return err
		}
	}
	var attempts []*vend.Attempt
	var visits []*vend.PageVisit
	for _, rec := range batch {
		if rec.visit != nil {
			visits = append(visits, rec.visit)
		}
		if rec.attempt == nil {
			continue
		}
		if rec.session != nil && !gone[rec.session.ID] {
			rec.attempt.SessionID = rec.session.ID
		}
		attempts = append(attempts, rec.attempt)
	}
	if len(visits) > 0 {
		if err := tx.CreatePageVisits(ctx, visits); err != nil {
			return err
		}
	}
	return tx.CreateAttempts(ctx, attempts)
}

// maxVisitAgent bounds the user agent a page visit keeps.
const maxVisitAgent = 512

// visitEvery is how often one address's views of one page are logged: a
// reload, or someone refreshing a link in a loop, is one visit a minute.
const visitEvery = time.Minute

// maxVisitMemory bounds the addresses visits remembers; when full, it
// starts over (a few more rows at worst).
const maxVisitMemory = 10000

// visits remembers when each (grant, address) was last logged.
type visits struct {
	mu   sync.Mutex
	last map[string]time.Time
}

// due reports whether a view of grant's page from ip at now is logged.
func (v *visits) due(grantID int64, ip string, now time.Time) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	key := strconv.FormatInt(grantID, 10) + " " + ip
	if at, ok := v.last[key]; ok && now.Sub(at) < visitEvery {
		return false
	}
	if v.last == nil || len(v.last) >= maxVisitMemory {
		v.last = map[string]time.Time{}
	}
	v.last[key] = now
	return true
}

// RecordVisit logs a view of grant's download page, with the download log's
// next batch, at most once a minute per address: the chargeback evidence
// pack lists the visits.
func (s *Service) RecordVisit(grantID int64, ip, userAgent string) {
	now := s.Now().UTC()
	if !s.visits.due(grantID, ip, now) {
		return
	}
	if len(userAgent) > maxVisitAgent {
		userAgent = strings.ToValidUTF8(userAgent[:maxVisitAgent], "")
	}
	s.rec.add(record{visit: &vend.PageVisit{GrantID: grantID, At: now, IP: ip, UserAgent: userAgent}})
}

// keepAlive reports the progress of a transfer in session sess every quarter of
// SessionTimeout until the returned stop is called; stop returns the bytes it
// reported and may be called again. Without it a session's latest activity would be
// the start of its latest request: Sweep would close, and give back, a large
// download on a slow line while it is still running, and the next connection of the
// same download would be charged again. A nil session needs no keeping.
func (s *Service) keepAlive(sess *vend.Session, cw *countingWriter) (stop func() int64) {
	if sess == nil {
		return func() int64 { return 0 }
	}
	// A timer, not a goroutine: most transfers end long before it first fires.
	interval := max(s.cfg.SessionTimeout/4, time.Millisecond)
	var (
		mu       sync.Mutex
		reported int64
		stopped  bool
		t        *time.Timer
	)
	mu.Lock()
	defer mu.Unlock()
	t = time.AfterFunc(interval, func() {
		mu.Lock()
		defer mu.Unlock()
		if stopped {
			return
		}
		n := cw.n.Load()
		s.rec.add(record{session: sess, bytes: n - reported, at: s.Now().UTC()})
		reported = n
		t.Reset(interval)
	})
	return func() int64 {
		mu.Lock()
		defer mu.Unlock()
		if !stopped {
			stopped = true
			t.Stop()
		}
		return reported
	}
}

// Flush waits until every attempt recorded so far is written.
func (s *Service) Flush(ctx context.Context) error {
	done := make(chan struct{})
	s.rec.add(record{flushed: done})
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close writes what is left and stops the recorder. Call it after the HTTP server
// has shut down, so no request adds to it any more.
func (s *Service) Close() {
	s.rec.mu.Lock()
	if s.rec.closed {
		s.rec.mu.Unlock()
		return
	}
	s.rec.closed = true
	close(s.rec.in)
	s.rec.mu.Unlock()
	s.rec.wg.Wait()
}

// Sweep closes download sessions that went quiet and gives back the downloads of
// those that delivered too little. It returns how many sessions it closed.
func (s *Service) Sweep(ctx context.Context) (int, error) {
	now := s.Now()
	closed := 0
	for {
		var found, n int
		var ended []closing // reported once the batch committed
		err := s.db.Update(ctx, func(tx store.Tx) error {
			stale, err := tx.FindStaleSessions(ctx, now.Add(-s.cfg.SessionTimeout), now.Add(-s.cfg.SessionMax), 100)
			if err != nil {
				return err
			}
			found, n, ended = len(stale), 0, nil
			// Grants are locked in one order, so that two instances sweeping at
			// once wait for each other instead of deadlocking.
			slices.SortFunc(stale, func(a, b *vend.Session) int {
				return cmp.Or(cmp.Compare(a.GrantID, b.GrantID), cmp.Compare(a.ID, b.ID))
			})
			for _, sess := range stale {
				c, err := s.closeSession(ctx, tx, sess)
				if err != nil {
					return err
				}
				if c.closed {
					n++
					ended = append(ended, c)
				}
			}
			return nil
		})
		if err != nil {
			return closed, err
		}
		closed += n
		if s.Metrics != nil {
			for _, c := range ended {
				s.Metrics.DownloadClosed(c.completed, c.givenBack)
			}
		}
		if found < 100 {
			return closed, nil
		}
	}
}

// closing is what closing a session did.
type closing struct {
	closed, completed, givenBack bool
}

// closeSession closes sess, giving its download back if it delivered too little.
// It holds the session's grant first and reads the session again: another
// instance sweeping the same database may have closed it since it was found, and
// a download must not be given back twice. It reports whether it closed sess.
func (s *Service) closeSession(ctx context.Context, tx chargeTx, sess *vend.Session) (closing, error) {
	if err := tx.LockGrant(ctx, sess.GrantID); err != nil {
		return closing{}, err
	}
	sessions, err := tx.FindSessionsByGrant(ctx, sess.GrantID)
	if err != nil {
		return closing{}, err
	}
	i := slices.IndexFunc(sessions, func(cur *vend.Session) bool { return cur.ID == sess.ID })
	if i < 0 || sessions[i].Closed {
		return closing{}, nil
	}
	sess = sessions[i]
	giveBack := false
	if sess.Charged && !sess.Completed {
		earlier, err := tx.GivenBackBytes(ctx, sess.GrantID)
		if err != nil {
			return closing{}, err
		}
		delivered := sess.BytesSent + earlier
		giveBack = sess.Size > 0 && delivered*100 < int64(s.cfg.GiveBackPercent)*sess.Size
	}
	if giveBack {
		if err := tx.AddDownloadsUsed(ctx, sess.GrantID, -1); err != nil {
			return closing{}, err
		}
	}
	if sess.Completed {
		if err := downloadHook(ctx, tx, sess); err != nil {
			return closing{}, err
		}
	}
	return closing{closed: true, completed: sess.Completed, givenBack: giveBack}, tx.CloseSession(ctx, sess.ID, giveBack)
}

// downloadHook tells the seller's webhooks of a completed download, in the
// transaction that closes its session.
func downloadHook(ctx context.Context, tx chargeTx, sess *vend.Session) error {
	g, err := tx.FindGrantByID(ctx, sess.GrantID)
	if err != nil {
		return err
	}
	_, err = store.EnqueueWebhooks(ctx, tx, vend.HookDownloadCompleted, map[string]any{"download": map[string]any{
		"session_id": sess.ID, "grant_id": g.ID, "order_id": g.OrderID, "item_id": g.ItemID, "product_id": sess.ProductID,
		"client_ip": sess.ClientIP, "bytes_sent": sess.BytesSent, "started_at": sess.StartedAt, "last_seen": sess.LastSeen}})
	return err
}

// Run sweeps sessions every interval until ctx ends.
func (s *Service) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := s.Sweep(ctx); err != nil {
				s.Logger.Error("download sessions: sweep", "error", err)
			} else if n > 0 {
				s.Logger.Debug("download sessions closed", "count", n)
			}
		}
	}
}
