package vend_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/vend-shop/vend"
)

func TestRedactURL(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, want string }{
		{"OK password", "smtp://shop:hunter2@mail.example.com:587", "smtp://shop:xxxxx@mail.example.com:587"},
		{"OK encoded password", "smtp://shop:p%40ss%23word@mail.example.com", "smtp://shop:xxxxx@mail.example.com"},
		{"OK unencoded @ and # in the password", "smtp://shop:p@ss#word@mail.example.com:587", "smtp://shop:xxxxx@mail.example.com:587"},
		{"OK unencoded / in the password", "https://u:se/cret@ipnpb.paypal.com/cgi-bin/webscr", "https://u:xxxxx@ipnpb.paypal.com/cgi-bin/webscr"},
		{"OK a URL inside a URL", "s3://bucket?endpoint=http://key:secret@minio:9000", "s3://bucket?endpoint=http:xxxxx@minio:9000"},
		{"OK a token as user name", "https://ghp_token@example.com/", "https://xxxxx@example.com/"},
		{"unchanged with an empty password", "smtp://shop:@mail.example.com", "smtp://shop:@mail.example.com"},
		{"unchanged without user information", "https://ipnpb.paypal.com/cgi-bin/webscr", "https://ipnpb.paypal.com/cgi-bin/webscr"},
		{"unchanged without a scheme", "seller@example.com", "seller@example.com"},
		{"unchanged empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := vend.RedactURL(tt.in); got != tt.want {
				t.Errorf("RedactURL(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestRedactError(t *testing.T) {
	t.Parallel()
	cause := errors.New("connection refused")
	tests := []struct{ name, url, msg, want string }{
		{"OK the password as typed", "postgres://vend:S3cr3t@db/vend", "cannot parse postgres://vend:S3cr3t@db/vend", "cannot parse postgres://vend:xxxxx@db/vend"},
		{"OK percent-decoded", "postgres://vend:S3cr3t%23Pa55@db/vend", "password S3cr3t#Pa55 refused", "password xxxxx refused"},
		{"OK the pieces of a malformed URL", "postgres://vend:S3cr3t@Pa55#w0rd@db/vend", "lookup Pa55#w0rd@db: no such host", "lookup xxxxx#xxxxx@db: no such host"},
		{"OK a token as user name", "postgres://S3cr3tToken@db/vend", "user=S3cr3tToken database=vend", "user=xxxxx database=vend"},
		{"unchanged without user information", "postgres://db/vend", "user=vend database=vend", "user=vend database=vend"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := vend.RedactError(fmt.Errorf("%s: %w", tt.msg, cause), tt.url)
			if got := err.Error(); got != tt.want+": connection refused" {
				t.Errorf("RedactError = %q, want %q", got, tt.want+": connection refused")
			}
			if !errors.Is(err, cause) {
				t.Error("the cause is lost")
			}
		})
	}
	if vend.RedactError(nil, "postgres://vend:S3cr3t@db") != nil {
		t.Error("RedactError(nil) is not nil")
	}
}
