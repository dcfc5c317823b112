package vend_test

import (
	"testing"

	"github.com/vend-shop/vend"
)

func TestAuditTargets(t *testing.T) {
	for _, tt := range []struct{ got, want string }{
		{vend.OrderTarget(7), "order:7"},
		{vend.ProductTarget("EBOOK-001"), "product:EBOOK-001"},
		{vend.NotificationTarget(12), "notification:12"},
	} {
		if tt.got != tt.want {
			t.Errorf("target %q, want %q", tt.got, tt.want)
		}
	}
}
