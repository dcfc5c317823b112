package delivery_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/delivery"
	"github.com/vend-shop/vend/store"
	"github.com/vend-shop/vend/webhook/webhooktest"
)

// span is a share of the big file, in percent: [from, to).
type span struct{ from, to int }

func (s span) header() string {
	return fmt.Sprintf("bytes=%d-%d", s.from*bigSize/100, s.to*bigSize/100-1)
}

func TestSweep_GiveBack(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// sessions, one after the other: each delivers its spans, then goes quiet past
		// the session timeout and is swept.
		sessions      [][]span
		wantGivenBack []bool
		wantUsed      int
	}{
		{
			name:          "a session that delivered 10% is given back",
			sessions:      [][]span{{{0, 10}}},
			wantGivenBack: []bool{true},
			wantUsed:      0,
		},
		{
			name:          "a session that delivered 49% is given back",
			sessions:      [][]span{{{0, 49}}},
			wantGivenBack: []bool{true},
			wantUsed:      0,
		},
		{
			name:          "a session that delivered exactly 50% is not given back",
			sessions:      [][]span{{{0, 50}}},
			wantGivenBack: []bool{false},
			wantUsed:      1,
		},
		{
			name:          "a session that delivered 90% in two ranges is not given back",
			sessions:      [][]span{{{0, 45}, {45, 90}}},
			wantGivenBack: []bool{false},
			wantUsed:      1,
		},
		{
			name:          "a completed session is not given back",
			sessions:      [][]span{{{0, 100}}},
			wantGivenBack: []bool{false},
			wantUsed:      1,
		},
		{
			name:          "slicing: of two sessions of 30% the first is given back, the second not",
			sessions:      [][]span{{{0, 30}}, {{30, 60}}},
			wantGivenBack: []bool{true, false},
			wantUsed:      1,
		},
		{
			name:          "two sessions of 20% are both given back",
			sessions:      [][]span{{{0, 20}}, {{20, 40}}},
			wantGivenBack: []bool{true, true},
			wantUsed:      0,
		},
		{
			name:          "slicing into three sessions of 20%: the third is not given back",
			sessions:      [][]span{{{0, 20}}, {{20, 40}}, {{40, 60}}},
			wantGivenBack: []bool{true, true, false},
			wantUsed:      1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := MustOpenEnv(t, delivery.Config{}, nil)
			g := e.MustCreateGrant(e.Solo, nil)
			for i, spans := range tt.sessions {
				for _, s := range spans {
					resp := e.Get(e.URL(g, e.SoloFile), "Range", s.header())
					if resp.Status != http.StatusPartialContent && resp.Status != http.StatusOK {
						t.Fatalf("session %d, %s: status %d", i, s.header(), resp.Status)
					}
				}
				e.Settle()
				if used := e.Grant(g).DownloadsUsed; used < 1 {
					t.Fatalf("session %d: downloads_used = %d while it is open, want ≥ 1", i, used)
				}
				e.Clock.Add(delivery.DefaultSessionTimeout + time.Second)
				if n := e.Sweep(); n != 1 {
					t.Fatalf("session %d: sweep closed %d sessions, want 1", i, n)
				}
			}
			ss := e.Sessions(g)
			if len(ss) != len(tt.wantGivenBack) {
				t.Fatalf("%d sessions, want %d", len(ss), len(tt.wantGivenBack))
			}
			for i, s := range ss {
				if !s.Closed || s.GivenBack != tt.wantGivenBack[i] {
					t.Errorf("session %d (%d bytes): closed %v, given back %v; want closed, given back %v",
						i, s.BytesSent, s.Closed, s.GivenBack, tt.wantGivenBack[i])
				}
			}
			if used := e.Grant(g).DownloadsUsed; used != tt.wantUsed {
				t.Errorf("downloads_used = %d, want %d", used, tt.wantUsed)
			}
		})
	}
}

func TestSweep_AbortedTransfer(t *testing.T) {
	t.Parallel()
	e := MustOpenEnv(t, delivery.Config{}, nil)
	g := e.MustCreateGrant(e.Solo, nil)

	got := e.Abort(e.URL(g, e.SoloFile), 256<<10)
	e.Settle()
	if !bytes.Equal(got, e.BigData[:len(got)]) {
		t.Fatal("the aborted transfer sent wrong bytes")
	}
	ss := e.Sessions(g)
	if len(ss) != 1 || ss[0].BytesSent < int64(len(got)) || ss[0].BytesSent >= bigSize/2 || ss[0].Completed {
		t.Fatalf("sessions = %+v, want one that recorded between %d bytes and half the file", ss, len(got))
	}
	if used := e.Grant(g).DownloadsUsed; used != 1 {
		t.Fatalf("downloads_used = %d while the session is open, want 1", used)
	}

	e.Clock.Add(delivery.DefaultSessionTimeout - time.Minute)
	if n := e.Sweep(); n != 0 {
		t.Fatalf("a sweep before the session timeout closed %d sessions", n)
	}
	e.Clock.Add(2 * time.Minute)
	if n := e.Sweep(); n != 1 {
		t.Fatalf("a sweep after the session timeout closed %d sessions, want 1", n)
	}
	if ss := e.Sessions(g); !ss[0].Closed || !ss[0].GivenBack {
		t.Errorf("session = %+v, want closed and given back", ss[0])
	}
	if used := e.Grant(g).DownloadsUsed; used != 0 {
		t.Errorf("downloads_used = %d, want 0", used)
	}
	if got := e.Completed()["book"]; got != 0 {
		t.Errorf("completed downloads of book = %d, want 0", got)
	}

	// The next request opens a new session and charges again.
	if resp := e.Get(e.URL(g, e.SoloFile)); resp.Status != http.StatusOK || !bytes.Equal(resp.Body, e.BigData) {
		t.Fatalf("download after give-back: status %d", resp.Status)
	}
	e.Settle()
	if used := e.Grant(g).DownloadsUsed; used != 1 {
		t.Errorf("downloads_used = %d, want 1", used)
	}
}

func TestSweep_SessionMax(t *testing.T) {
	t.Parallel()
	e := MustOpenEnv(t, delivery.Config{SessionMax: 2 * time.Hour}, nil)
	g := e.MustCreateGrant(e.Solo, nil)
	u := e.URL(g, e.SoloFile)

	// A request every 20 minutes keeps the session open until SessionMax.
	for i := range 6 {
		if resp := e.Get(u, "Range", "bytes=0-0"); resp.Status != http.StatusPartialContent {
			t.Fatalf("request %d: status %d", i, resp.Status)
		}
		e.Settle()
		if n := e.Sweep(); n != 0 {
			t.Fatalf("request %d: sweep closed %d sessions while active", i, n)
		}
		e.Clock.Add(20 * time.Minute)
	}
	e.Clock.Add(time.Minute)
	if n := e.Sweep(); n != 1 {
		t.Fatalf("sweep after SessionMax closed %d sessions, want 1", n)
	}
	if resp := e.Get(u, "Range", "bytes=0-0"); resp.Status != http.StatusPartialContent {
		t.Fatalf("after SessionMax: status %d", resp.Status)
	}
	e.Settle()
	if ss := e.Sessions(g); len(ss) != 2 {
		t.Errorf("%d sessions, want a new one after SessionMax", len(ss))
	}
}

// A large file on a slow line takes longer than the session timeout. While its
// transfer runs, the session must stay open: not given back, and joined (not
// charged again) by another connection of the same download.
func TestSweep_TransferLongerThanSessionTimeout(t *testing.T) {
	t.Parallel()
	const timeout = 800 * time.Millisecond
	e := MustOpenEnv(t, delivery.Config{SessionTimeout: timeout}, time.Now)
	g := e.MustCreateGrant(e.Solo, nil)
	u := e.URL(g, e.SoloFile)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	resp, err := e.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	head := make([]byte, 256<<10)
	if _, err := io.ReadFull(resp.Body, head); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * timeout) // the line stalls; the server's transfer is still running

	if err := e.Service.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := e.Sweep(); n != 0 {
		t.Errorf("sweep closed %d sessions while their transfer was running", n)
	}
	second := e.Get(u, "Range", fmt.Sprintf("bytes=%d-", bigSize-1024))
	if second.Status != http.StatusPartialContent {
		t.Errorf("second connection: status %d", second.Status)
	}
	rest, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(append(head, rest...), e.BigData) {
		t.Fatal("the slow transfer sent wrong bytes")
	}
	e.Settle()
	if used := e.Grant(g).DownloadsUsed; used != 1 {
		t.Errorf("downloads_used = %d, want 1", used)
	}
	ss := e.Sessions(g)
	if len(ss) != 1 || ss[0].GivenBack || ss[0].Closed || !ss[0].Completed {
		t.Errorf("sessions = %+v, want one open, completed session", ss)
	}
}

// TestSweep_CompletedDownloadTellsWebhooks: a download session that closes
// complete writes a download.completed delivery for the seller's webhooks in
// the same transaction; one given back writes none.
func TestSweep_CompletedDownloadTellsWebhooks(t *testing.T) {
	t.Parallel()
	e := MustOpenEnv(t, delivery.Config{}, nil)
	ctx := context.Background()
	hook := &vend.WebhookEndpoint{URL: "https://crm.example/", Events: []vend.WebhookEvent{vend.HookDownloadCompleted}, Secret: "whsec_x"}
	if err := e.DB.Update(ctx, func(tx store.Tx) error { return tx.CreateEndpoint(ctx, hook) }); err != nil {
		t.Fatal(err)
	}
	done := e.MustCreateGrant(e.Solo, nil)
	broken := e.MustCreateGrant(e.Solo, nil)
	if resp := e.Get(e.URL(done, e.SoloFile)); resp.Status != http.StatusOK {
		t.Fatalf("status %d", resp.Status)
	}
	e.Abort(e.URL(broken, e.SoloFile), 256<<10)
	e.Settle()
	deliveries := func() []*vend.WebhookDelivery {
		var ds []*vend.WebhookDelivery
		e.view(func(ctx context.Context, tx store.Tx) error {
			var err error
			ds, err = tx.FindDeliveries(ctx, store.DeliveryFilter{})
			return err
		})
		return ds
	}
	if ds := deliveries(); len(ds) != 0 {
		t.Fatalf("%d deliveries while the sessions are open", len(ds))
	}
	e.Clock.Add(delivery.DefaultSessionTimeout + time.Minute)
	if n := e.Sweep(); n != 2 {
		t.Fatalf("the sweep closed %d sessions, want 2", n)
	}
	ds := deliveries()
	if len(ds) != 1 || ds[0].Event != vend.HookDownloadCompleted {
		t.Fatalf("deliveries %+v, want one download.completed", ds)
	}
	var body struct {
		Data struct {
			Download struct {
				GrantID   int64  `json:"grant_id"`
				ProductID string `json:"product_id"`
				BytesSent int64  `json:"bytes_sent"`
			}
		}
	}
	if err := json.Unmarshal(ds[0].Payload, &body); err != nil {
		t.Fatal(err)
	}
	webhooktest.CheckWebhookPayload(t, ds[0].Payload)
	if d := body.Data.Download; d.GrantID != done.ID || d.ProductID != "solo" || d.BytesSent != bigSize {
		t.Errorf("download.completed body: %s", ds[0].Payload)
	}
}
