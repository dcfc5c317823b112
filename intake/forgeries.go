package intake

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/vend-shop/vend"
)

// A burst of messages that fail verification (forged, tampered, signed with an
// old secret) is worth the owner's attention: the first time a provider's
// refusals in one hour reach ForgeryBurst, the owner gets one notice for that
// hour.
const (
	ForgeryBurst  = 10
	ForgeryWindow = time.Hour
)

type forgeryCounter struct {
	mu     sync.Mutex
	window map[string]time.Time // provider → start of its current window
	count  map[string]int
}

// add counts one forged message of provider at now and reports whether the
// count just reached the burst, with the window's start.
func (c *forgeryCounter) add(provider string, now time.Time) (time.Time, int, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.window == nil {
		c.window, c.count = map[string]time.Time{}, map[string]int{}
	}
	start := now.Truncate(ForgeryWindow)
	if !c.window[provider].Equal(start) {
		c.window[provider], c.count[provider] = start, 0
	}
	c.count[provider]++
	return start, c.count[provider], c.count[provider] == ForgeryBurst
}

// noteForgery counts a message that failed verification and, at a burst,
// queues the owner's notice.
func (in *Intake) noteForgery(ctx context.Context, provider string) {
	start, n, burst := in.forgeries.add(provider, in.Now())
	if !burst {
		return
	}
	in.Logger.Warn("burst of notifications that failed verification", "provider", provider, "count", n, "since", start)
	key := provider + "|" + strconv.FormatInt(start.Unix(), 10)
	data := map[string]string{vend.MailDataProvider: provider, vend.MailDataCount: strconv.Itoa(n), vend.MailDataSince: start.UTC().Format(time.RFC3339)}
	if err := in.Ledger.NotifyOwner(context.WithoutCancel(ctx), vend.MailForgeries, key, data); err != nil {
		in.Logger.Error("owner notice not queued", "error", err)
	}
}
