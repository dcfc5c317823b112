package storetest

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/store"
)

func createSession(tb testing.TB, db store.DB, f fixture, ip string) *vend.Session {
	tb.Helper()
	s := &vend.Session{GrantID: f.Grant.ID, FileID: f.File.ID, ProductID: f.Product.ID, ClientIP: ip, Size: f.File.Size, Charged: true}
	update(tb, db, func(tx store.Tx) error { return tx.CreateSession(ctx, s) })
	return s
}

func findSessions(tb testing.TB, db store.DB, grantID int64) []*vend.Session {
	tb.Helper()
	var out []*vend.Session
	view(tb, db, func(tx store.Tx) error {
		var err error
		out, err = tx.FindSessionsByGrant(ctx, grantID)
		return err
	})
	return out
}

func findSession(tb testing.TB, db store.DB, grantID, id int64) *vend.Session {
	tb.Helper()
	for _, s := range findSessions(tb, db, grantID) {
		if s.ID == id {
			return s
		}
	}
	tb.Fatalf("session %d of grant %d not found", id, grantID)
	return nil
}

func progress(tb testing.TB, db store.DB, id, bytes int64, at time.Time) {
	tb.Helper()
	update(tb, db, func(tx store.Tx) error { return tx.RecordProgress(ctx, id, bytes, at) })
}

func closeSession(tb testing.TB, db store.DB, id int64, givenBack bool) {
	tb.Helper()
	update(tb, db, func(tx store.Tx) error { return tx.CloseSession(ctx, id, givenBack) })
}

func sessionIDs(ss []*vend.Session) []int64 {
	ids := make([]int64, len(ss))
	for i, s := range ss {
		ids[i] = s.ID
	}
	return ids
}

func testSessions(t *testing.T, open Opener) {
	subtests(t, open, map[string]func(t *testing.T, db store.DB){
		"CreateSession starts at Now and reads back field for field": func(t *testing.T, db store.DB) {
			f := mustFixture(t, db, "p")
			s := &vend.Session{GrantID: f.Grant.ID, FileID: f.File.ID, ProductID: "p", ClientIP: "2001:db8::1", Size: 1000, BytesSent: 10, Charged: true}
			var at time.Time
			update(t, db, func(tx store.Tx) error { at = tx.Now(); return tx.CreateSession(ctx, s) })
			if s.ID == 0 || !s.StartedAt.Equal(at) || !s.LastSeen.Equal(at) {
				t.Fatalf("CreateSession left id %d started %v last %v, want Now %v", s.ID, s.StartedAt, s.LastSeen, at)
			}
			got := findSession(t, db, f.Grant.ID, s.ID)
			if !reflect.DeepEqual(got, s) {
				t.Errorf("got %+v, want %+v", got, s)
			}
		},
		"FindAdmission reads grant, current file and open session in one": func(t *testing.T, db store.DB) {
			f := mustFixture(t, db, "p")
			other := mustFixture(t, db, "q")
			s := createSession(t, db, f, "192.0.2.1")
			wide := s.StartedAt.Add(-time.Hour)
			find := func(q store.AdmissionQuery) (*store.Admission, error) {
				var a *store.Admission
				var err error
				view(t, db, func(tx store.Tx) error { a, err = tx.FindAdmission(ctx, q); return nil })
				return a, err
			}
			q := store.AdmissionQuery{PublicID: f.Grant.PublicID, FileID: f.File.ID, ClientIP: "192.0.2.1", IdleSince: wide, StartedSince: wide}
			a, err := find(q)
			if err != nil || a.Grant.ID != f.Grant.ID || a.File == nil || a.File.ID != f.File.ID || a.File.Key != f.File.Key ||
				a.File.SHA256 != f.File.SHA256 || a.File.Size != f.File.Size || a.SessionID != s.ID || a.ProductSize != f.File.Size {
				t.Fatalf("by public id: got %+v, %v", a, err)
			}
			byID := q
			byID.PublicID, byID.GrantID = "", f.Grant.ID
			if a, err := find(byID); err != nil || a.Grant.ID != f.Grant.ID || a.SessionID != s.ID {
				t.Errorf("by grant id: got %+v, %v", a, err)
			}
			otherClient := q
			otherClient.ClientIP = "192.0.2.9"
			if a, err := find(otherClient); err != nil || a.SessionID != 0 || a.File == nil {
				t.Errorf("another client: got %+v, %v; want the file and no session", a, err)
			}
			foreign := q
			foreign.FileID = other.File.ID
			if a, err := find(foreign); err != nil || a.File != nil || a.SessionID != s.ID {
				t.Errorf("another product's file: got %+v, %v; want no file (and the grant's session)", a, err)
			}
			// A retired file is no longer served.
			update(t, db, func(tx store.Tx) error {
				return tx.SetFiles(ctx, f.Product.ID, []*vend.File{{Name: "new.pdf", Key: "k2", Size: 1, SHA256: sha("new")}})
			})
			if a, err := find(q); err != nil || a.File != nil {
				t.Errorf("retired file: got %+v, %v; want no file", a, err)
			}
			missing := q
			missing.PublicID = "nope"
			_, err = find(missing)
			wantNotFound(t, "unknown public id", err)
		},
		"FindAdmission and FindFilesAt: a grant whose updates ended gets the files current then": func(t *testing.T, db store.DB) {
			f := mustFixture(t, db, "p")
			v1 := f.File
			// Version 2 replaces version 1; then the grant's updates end; then
			// version 3 replaces version 2.
			v2 := &vend.File{Name: "v2.pdf", Key: "k2", Size: 2, SHA256: sha("v2")}
			update(t, db, func(tx store.Tx) error { return tx.SetFiles(ctx, f.Product.ID, []*vend.File{v2}) })
			time.Sleep(3 * time.Millisecond)
			g := f.Grant
			g.UpdatesUntil = time.Now()
			update(t, db, func(tx store.Tx) error { return tx.UpdateGrant(ctx, g) })
			time.Sleep(3 * time.Millisecond)
			v3 := &vend.File{Name: "v3.pdf", Key: "k3", Size: 3, SHA256: sha("v3")}
			update(t, db, func(tx store.Tx) error { return tx.SetFiles(ctx, f.Product.ID, []*vend.File{v3}) })
			served := func(file *vend.File) (bool, int64) {
				var a *store.Admission
				view(t, db, func(tx store.Tx) error {
					var err error
					a, err = tx.FindAdmission(ctx, store.AdmissionQuery{GrantID: g.ID, FileID: file.ID, ClientIP: "192.0.2.1"})
					return err
				})
				if !a.Grant.UpdatesUntil.Equal(g.UpdatesUntil.Truncate(time.Millisecond)) {
					t.Errorf("the admission's grant updates until %v, want %v", a.Grant.UpdatesUntil, g.UpdatesUntil)
				}
				return a.File != nil, a.ProductSize
			}
			for _, tt := range []struct {
				name string
				file *vend.File
				want bool
			}{
				{"version 1, replaced before the updates ended", v1, false},
				{"version 2, current when they ended", v2, true},
				{"version 3, released after", v3, false},
			} {
				if got, size := served(tt.file); got != tt.want || size != v2.Size {
					t.Errorf("%s: served %v (product size %d), want %v (size %d)", tt.name, got, size, tt.want, v2.Size)
				}
			}
			var at []*vend.File
			view(t, db, func(tx store.Tx) error {
				var err error
				at, err = tx.FindFilesAt(ctx, f.Product.ID, g.UpdatesUntil)
				return err
			})
			if len(at) != 1 || at[0].ID != v2.ID {
				t.Errorf("FindFilesAt the end of updates: %v, want version 2 alone", at)
			}
			// Updates without end again: the current file, version 3.
			g.UpdatesUntil = time.Time{}
			update(t, db, func(tx store.Tx) error { return tx.UpdateGrant(ctx, g) })
			if got, _ := served(v3); !got {
				t.Error("a grant with updates for ever is not served the current version")
			}
			if got, _ := served(v2); got {
				t.Error("a grant with updates for ever is served a replaced version")
			}
		},
		"FindOpenSession honours client, idle and start bounds and closed, across files": func(t *testing.T, db store.DB) {
			f := mustFixture(t, db, "p")
			s := createSession(t, db, f, "192.0.2.1")
			start := s.StartedAt
			ms := time.Millisecond
			// Move its last request 10 minutes on.
			progress(t, db, s.ID, 100, start.Add(10*time.Minute))
			last := start.Add(10 * time.Minute)
			tests := []struct {
				name                    string
				ip                      string
				idleSince, startedSince time.Time
				found                   bool
			}{
				{"bounds at the session's own times", "192.0.2.1", last, start, true},
				{"wide bounds", "192.0.2.1", start.Add(-time.Hour), start.Add(-time.Hour), true},
				{"idle since just after its last request", "192.0.2.1", last.Add(ms), start, false},
				{"started since just after its start", "192.0.2.1", last, start.Add(ms), false},
				{"another client", "192.0.2.2", last, start, false},
			}
			check := func(when string, closed bool) {
				view(t, db, func(tx store.Tx) error {
					for _, tt := range tests {
						got, err := tx.FindOpenSession(ctx, f.Grant.ID, tt.ip, tt.idleSince, tt.startedSince)
						if tt.found && !closed {
							if err != nil || got.ID != s.ID {
								t.Errorf("%s, %s: got %v, %v; want session %d", when, tt.name, got, err, s.ID)
							}
						} else {
							wantNotFound(t, when+", "+tt.name, err)
						}
					}
					_, err := tx.FindOpenSession(ctx, f.Grant.ID+1000, "192.0.2.1", last, start)
					wantNotFound(t, when+", another grant", err)
					return nil
				})
			}
			check("open", false)
			closeSession(t, db, s.ID, false)
			check("closed", true)
		},
		"FindOpenSession returns the newest open session": func(t *testing.T, db store.DB) {
			f := mustFixture(t, db, "p")
			old := createSession(t, db, f, "192.0.2.1")
			newer := createSession(t, db, f, "192.0.2.1")
			view(t, db, func(tx store.Tx) error {
				got, err := tx.FindOpenSession(ctx, f.Grant.ID, "192.0.2.1", old.StartedAt, old.StartedAt)
				if err == nil && got.ID != newer.ID {
					t.Errorf("got session %d, want the newest %d", got.ID, newer.ID)
				}
				return err
			})
		},
		"RecordProgress adds bytes, only moves the last request forward, completes at the size": func(t *testing.T, db store.DB) {
			f := mustFixture(t, db, "p") // file size 1000
			s := createSession(t, db, f, "192.0.2.1")
			t0 := s.StartedAt
			steps := []struct {
				bytes     int64
				at        time.Time
				wantSent  int64
				wantLast  time.Time
				completed bool
			}{
				{400, t0.Add(time.Minute), 400, t0.Add(time.Minute), false},
				{100, t0.Add(30 * time.Second), 500, t0.Add(time.Minute), false}, // a late record never moves it back
				{499, t0.Add(2 * time.Minute), 999, t0.Add(2 * time.Minute), false},
				{1, t0.Add(3 * time.Minute), 1000, t0.Add(3 * time.Minute), true},
				{0, t0.Add(4 * time.Minute), 1000, t0.Add(4 * time.Minute), true},
				{500, t0.Add(5 * time.Minute), 1500, t0.Add(5 * time.Minute), true}, // parallel ranges may overlap
			}
			for i, st := range steps {
				progress(t, db, s.ID, st.bytes, st.at)
				got := findSession(t, db, f.Grant.ID, s.ID)
				if got.BytesSent != st.wantSent || !got.LastSeen.Equal(st.wantLast) || got.Completed != st.completed {
					t.Errorf("step %d: sent %d last %v completed %v, want %d %v %v", i, got.BytesSent, got.LastSeen, got.Completed,
						st.wantSent, st.wantLast, st.completed)
				}
				if !got.StartedAt.Equal(t0) {
					t.Errorf("step %d: start moved to %v", i, got.StartedAt)
				}
			}
		},
		"RecordProgress completes a session in one step and an empty file at once": func(t *testing.T, db store.DB) {
			f := mustFixture(t, db, "p")
			s := createSession(t, db, f, "192.0.2.1")
			progress(t, db, s.ID, 1000, s.StartedAt)
			if !findSession(t, db, f.Grant.ID, s.ID).Completed {
				t.Error("whole file in one step: not completed")
			}
			empty := &vend.Session{GrantID: f.Grant.ID, FileID: f.File.ID, ProductID: "p", ClientIP: "192.0.2.9", Size: 0}
			update(t, db, func(tx store.Tx) error { return tx.CreateSession(ctx, empty) })
			progress(t, db, empty.ID, 0, empty.StartedAt)
			if !findSession(t, db, f.Grant.ID, empty.ID).Completed {
				t.Error("empty file: not completed")
			}
		},
		"FindStaleSessions finds open sessions idle or running too long": func(t *testing.T, db store.DB) {
			f := mustFixture(t, db, "p")
			idle := createSession(t, db, f, "192.0.2.1")
			busy := createSession(t, db, f, "192.0.2.2")
			closed := createSession(t, db, f, "192.0.2.3")
			t0 := idle.StartedAt
			progress(t, db, busy.ID, 10, t0.Add(time.Hour))
			closeSession(t, db, closed.ID, false)
			var never time.Time // no session starts before the zero time
			tests := []struct {
				name                      string
				idleBefore, startedBefore time.Time
				limit                     int
				want                      []int64
			}{
				{"none idle, none too old", t0, t0, 0, nil},
				{"idle since before t0+30m", t0.Add(30 * time.Minute), never, 0, []int64{idle.ID}},
				{"all open idle", t0.Add(2 * time.Hour), never, 0, []int64{idle.ID, busy.ID}},
				{"started before the busy one's start + 1ms", t0, busy.StartedAt.Add(time.Millisecond), 0, []int64{idle.ID, busy.ID}},
				{"limit", t0.Add(2 * time.Hour), never, 1, []int64{idle.ID}},
			}
			for _, tt := range tests {
				view(t, db, func(tx store.Tx) error {
					got, err := tx.FindStaleSessions(ctx, tt.idleBefore, tt.startedBefore, tt.limit)
					if ids := sessionIDs(got); !reflect.DeepEqual(ids, tt.want) && !(len(ids) == 0 && len(tt.want) == 0) {
						t.Errorf("%s: got %v, want %v", tt.name, ids, tt.want)
					}
					return err
				})
			}
		},
		"CloseSession closes, GivenBackBytes sums the given-back sessions of a grant": func(t *testing.T, db store.DB) {
			f := mustFixture(t, db, "p")
			g := mustFixture(t, db, "q")
			a := createSession(t, db, f, "192.0.2.1")
			b := createSession(t, db, f, "192.0.2.2")
			c := createSession(t, db, f, "192.0.2.3")
			other := createSession(t, db, g, "192.0.2.1")
			progress(t, db, a.ID, 100, a.StartedAt)
			progress(t, db, b.ID, 20, b.StartedAt)
			progress(t, db, c.ID, 5, c.StartedAt)
			progress(t, db, other.ID, 7, other.StartedAt)
			closeSession(t, db, a.ID, true)
			closeSession(t, db, b.ID, true)
			closeSession(t, db, c.ID, false)
			closeSession(t, db, other.ID, true)
			got := findSession(t, db, f.Grant.ID, a.ID)
			if !got.Closed || !got.GivenBack {
				t.Errorf("session a closed %v given back %v", got.Closed, got.GivenBack)
			}
			if got := findSession(t, db, f.Grant.ID, c.ID); !got.Closed || got.GivenBack {
				t.Errorf("session c closed %v given back %v", got.Closed, got.GivenBack)
			}
			view(t, db, func(tx store.Tx) error {
				for _, tt := range []struct {
					grant, want int64
				}{{f.Grant.ID, 120}, {g.Grant.ID, 7}, {f.Grant.ID + 1000, 0}} {
					n, err := tx.GivenBackBytes(ctx, tt.grant)
					if err != nil {
						return err
					}
					if n != tt.want {
						t.Errorf("GivenBackBytes(%d) = %d, want %d", tt.grant, n, tt.want)
					}
				}
				return nil
			})
		},
		"FindSessionsByGrant lists the grant's sessions oldest first": func(t *testing.T, db store.DB) {
			f := mustFixture(t, db, "p")
			g := mustFixture(t, db, "q")
			a := createSession(t, db, f, "192.0.2.1")
			createSession(t, db, g, "192.0.2.1")
			b := createSession(t, db, f, "192.0.2.2")
			if got := sessionIDs(findSessions(t, db, f.Grant.ID)); !reflect.DeepEqual(got, []int64{a.ID, b.ID}) {
				t.Errorf("got %v, want %v", got, []int64{a.ID, b.ID})
			}
		},
	})
}

func testAttempts(t *testing.T, open Opener) {
	subtests(t, open, map[string]func(t *testing.T, db store.DB){
		"text that is not UTF-8 (or holds NUL) is stored repaired, and looked up as not found": func(t *testing.T, db store.DB) {
			// Requests carry any bytes; PostgreSQL refuses invalid text outright.
			f := mustFixture(t, db, "p")
			a := &vend.Attempt{GrantID: f.Grant.ID, FileID: f.File.ID, At: time.Now(), IP: "192.0.2.1", UserAgent: "evil\xff\x00agent",
				Method: "GET", Range: "bytes=\xfe0-", Status: 200}
			update(t, db, func(tx store.Tx) error { return tx.CreateAttempts(ctx, []*vend.Attempt{a}) })
			view(t, db, func(tx store.Tx) error {
				got, err := tx.FindAttempts(ctx, store.AttemptFilter{GrantID: &f.Grant.ID})
				if err != nil || len(got) != 1 || got[0].UserAgent != "evil\uFFFDagent" || got[0].Range != "bytes=\uFFFD0-" {
					t.Errorf("attempts %+v, %v; want the text repaired", got, err)
				}
				_, err = tx.FindTransaction(ctx, "paypal", "T\xff")
				wantNotFound(t, "a txn id that is not UTF-8", err)
				return nil
			})
		},
		"CreateAttempts stores many at once, every field, in order": func(t *testing.T, db store.DB) {
			f := mustFixture(t, db, "p")
			s := createSession(t, db, f, "192.0.2.1")
			at := time.Date(2025, 3, 3, 10, 0, 0, 0, time.UTC)
			var made []*vend.Attempt
			for i := range 75 { // more than one statement's worth
				a := &vend.Attempt{GrantID: f.Grant.ID, FileID: f.File.ID, At: at.Add(time.Duration(i) * time.Second),
					IP: "192.0.2.1", UserAgent: fmt.Sprintf("agent %d", i), Method: "GET", Range: fmt.Sprintf("bytes=%d-", i),
					Status: 206, BytesSent: int64(i), Counted: i == 0, Refused: ""}
				if i%2 == 0 {
					a.SessionID = s.ID
				}
				made = append(made, a)
			}
			update(t, db, func(tx store.Tx) error { return tx.CreateAttempts(ctx, made) })
			update(t, db, func(tx store.Tx) error { return tx.CreateAttempts(ctx, nil) })
			view(t, db, func(tx store.Tx) error {
				got, err := tx.FindAttempts(ctx, store.AttemptFilter{GrantID: &f.Grant.ID, Limit: 100})
				if len(got) != len(made) {
					t.Fatalf("%d attempts stored, want %d", len(got), len(made))
				}
				for i, g := range got { // newest first
					want := *made[len(made)-1-i]
					want.ID = g.ID
					if !reflect.DeepEqual(g, &want) {
						t.Errorf("attempt %d: got %+v, want %+v", i, g, &want)
					}
				}
				return err
			})
		},
		"CreateAttempt stores every field; FindAttempts by grant, by order, newest first, within the limit": func(t *testing.T, db store.DB) {
			f := mustFixture(t, db, "p")
			g := mustFixture(t, db, "q")
			s := createSession(t, db, f, "192.0.2.1")
			at := time.Date(2025, 3, 3, 10, 0, 0, 0, time.UTC)
			var made []*vend.Attempt
			for i, a := range []*vend.Attempt{
				{GrantID: f.Grant.ID, FileID: f.File.ID, SessionID: s.ID, IP: "192.0.2.1", UserAgent: "curl/8", Method: "GET",
					Range: "bytes=0-99", Status: 206, BytesSent: 100, Counted: true},
				{GrantID: g.Grant.ID, FileID: g.File.ID, IP: "192.0.2.2", UserAgent: "Mozilla/5.0 (ÄÖÜ)", Method: "HEAD", Status: 200},
				{GrantID: f.Grant.ID, FileID: f.File.ID, IP: "192.0.2.3", Method: "GET", Status: 403, Refused: "limit reached"},
			} {
				a.At = at.Add(time.Duration(i) * time.Minute)
				update(t, db, func(tx store.Tx) error { return tx.CreateAttempt(ctx, a) })
				if a.ID == 0 {
					t.Fatal("CreateAttempt set no id")
				}
				made = append(made, a)
			}
			tests := []struct {
				name   string
				filter store.AttemptFilter
				want   []*vend.Attempt
			}{
				{"all", store.AttemptFilter{}, []*vend.Attempt{made[2], made[1], made[0]}},
				{"by grant", store.AttemptFilter{GrantID: &f.Grant.ID}, []*vend.Attempt{made[2], made[0]}},
				{"by order", store.AttemptFilter{OrderID: &g.Order.ID}, []*vend.Attempt{made[1]}},
				{"limit", store.AttemptFilter{GrantID: &f.Grant.ID, Limit: 1}, []*vend.Attempt{made[2]}},
				{"oldest first, within the limit", store.AttemptFilter{GrantID: &f.Grant.ID, Limit: 1, OldestFirst: true}, []*vend.Attempt{made[0]}},
				{"missing grant", store.AttemptFilter{GrantID: ptr(f.Grant.ID + 1000)}, nil},
				{"missing order", store.AttemptFilter{OrderID: ptr(f.Order.ID + 1000)}, nil},
			}
			for _, tt := range tests {
				view(t, db, func(tx store.Tx) error {
					got, err := tx.FindAttempts(ctx, tt.filter)
					if len(got) != len(tt.want) {
						t.Errorf("%s: %d attempts, want %d", tt.name, len(got), len(tt.want))
						return err
					}
					for i := range got {
						w := *tt.want[i]
						g := *got[i]
						if !g.At.Equal(w.At) {
							t.Errorf("%s: at %v, want %v", tt.name, g.At, w.At)
						}
						g.At, w.At = time.Time{}, time.Time{}
						if g != w {
							t.Errorf("%s: got %+v, want %+v", tt.name, g, w)
						}
					}
					return err
				})
			}
		},
	})
}

func testCompletedDownloads(t *testing.T, open Opener) {
	subtests(t, open, map[string]func(t *testing.T, db store.DB){
		"counts completed sessions per product, nothing for the rest": func(t *testing.T, db store.DB) {
			view(t, db, func(tx store.Tx) error {
				got, err := tx.CompletedDownloads(ctx)
				if len(got) != 0 {
					t.Errorf("empty store: %v", got)
				}
				return err
			})
			p := mustFixture(t, db, "p")
			q := mustFixture(t, db, "q")
			mustFixture(t, db, "r") // never downloaded
			for i, f := range []fixture{p, p, p, q, q} {
				s := createSession(t, db, f, "192.0.2.1")
				if i != 2 && i != 4 { // one of each left incomplete
					progress(t, db, s.ID, f.File.Size, s.StartedAt)
				}
				if i == 1 {
					closeSession(t, db, s.ID, false) // a closed completed download still counts
				}
			}
			view(t, db, func(tx store.Tx) error {
				got, err := tx.CompletedDownloads(ctx)
				if want := map[string]int{"p": 2, "q": 1}; !reflect.DeepEqual(got, want) {
					t.Errorf("got %v, want %v", got, want)
				}
				return err
			})
		},
	})
}
