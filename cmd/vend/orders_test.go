package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/vend-shop/vend"
)

func TestPrintOrder_NoTerminalEscapes(t *testing.T) {
	t.Parallel()
	d := &orderDetail{
		Order:    &vend.Order{ID: 1, Buyer: vend.Buyer{Name: "Eve\x1b]0;pwned\x07", Email: "e@example.com"}},
		Attempts: []*vend.Attempt{{UserAgent: "curl\x1b[2J\x1b[31m", Range: "bytes=0-\r"}},
	}
	var out bytes.Buffer
	printOrder(&out, d)
	if bytes.ContainsAny(out.Bytes(), "\x1b\x07\r") {
		t.Errorf("control characters reached the terminal:\n%q", out.String())
	}
	if !strings.Contains(out.String(), "curl?[2J?[31m") || !strings.Contains(out.String(), "Eve?]0;pwned?") {
		t.Errorf("text around the escapes is gone:\n%s", out.String())
	}
}
