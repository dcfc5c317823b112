package report

import (
	"strings"
	"testing"
	"time"

	"github.com/vend-shop/vend"
)

// TestAccessLog_FitsStripesField: a long history is cut to the 20,000
// characters of a Stripe evidence field, saying how much more there is; a
// buyer's control characters never break a line.
func TestAccessLog_FitsStripesField(t *testing.T) {
	at := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	e := &Evidence{Order: &vend.Order{ID: 7, Provider: "stripe", Ref: "pi_1", Buyer: vend.Buyer{Email: "b@example.com"}, CreatedAt: at}}
	f := &vend.File{Name: "book.pdf", Size: 1000, SHA256: strings.Repeat("ab", 32)}
	for i := range 1000 {
		e.Attempts = append(e.Attempts, Attempt{Attempt: &vend.Attempt{ID: int64(i + 1), At: at.Add(time.Duration(i) * time.Second),
			IP: "203.0.113.7", UserAgent: "evil\r\nInjected: line", Method: "GET", Status: 200, BytesSent: 1000}, File: f, ProductID: "BOOK"})
	}
	log := e.AccessLog()
	if len(log) > maxAccessLog {
		t.Errorf("the log is %d characters, more than %d", len(log), maxAccessLog)
	}
	lines := strings.Split(strings.TrimSuffix(log, "\n"), "\n")
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, "… and ") || !strings.Contains(last, "more entries") {
		t.Errorf("the last line %q does not say what was left out", last)
	}
	for _, l := range lines[1 : len(lines)-1] {
		if !strings.HasPrefix(l, "2026-12-01 ") || strings.HasPrefix(l, "Injected") {
			t.Fatalf("a line broke: %q", l)
		}
	}
	if !strings.Contains(lines[1], "download of book.pdf (1000 bytes, SHA-256 abab") || !strings.Contains(lines[1], "IP 203.0.113.7") {
		t.Errorf("first entry %q", lines[1])
	}
}
