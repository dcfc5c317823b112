package mailer_test

import (
	"context"
	"crypto/tls"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/mailer"
	"github.com/vend-shop/vend/mailer/smtptest"
)

func testMessage() *mailer.Message {
	return &mailer.Message{From: "Shop <shop@books.test>", To: "buyer@example.com", Subject: "Grüße",
		Text: "Hello\n", HTML: "<p>Hello</p>\n", MessageID: "abc@books.test", Date: time.Date(2026, 3, 2, 14, 5, 0, 0, time.UTC)}
}

func TestNewSMTP(t *testing.T) {
	t.Parallel()
	const secret = "s3cr3t-Pa55"
	for _, tc := range []struct {
		name string
		cfg  mailer.SMTPConfig
		want string
	}{
		{"not a URL", mailer.SMTPConfig{URL: "smtp://user:" + secret + "@host:587/%zz"}, "not a URL"},
		{"bad scheme", mailer.SMTPConfig{URL: "http://user:" + secret + "@host"}, `scheme "http"`},
		{"no host", mailer.SMTPConfig{URL: "smtp://user:" + secret + "@:25"}, "no host"},
		{"bad port", mailer.SMTPConfig{URL: "smtp://user:" + secret + "@host:99999"}, "port"},
		{"query", mailer.SMTPConfig{URL: "smtp://user:" + secret + "@host?tls=no"}, "only scheme"},
		{"bad STARTTLS policy", mailer.SMTPConfig{URL: "smtp://user:" + secret + "@host", StartTLS: "always"}, `starttls "always"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := mailer.NewSMTP(tc.cfg)
			if err == nil {
				t.Fatal("accepted")
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("the error shows the password: %v", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q lacks %q", err, tc.want)
			}
		})
	}
	s, err := mailer.NewSMTP(mailer.SMTPConfig{URL: "smtps://user:" + secret + "@mail.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.String(); strings.Contains(got, secret) || !strings.Contains(got, "mail.example.com") {
		t.Errorf("String() = %q", got)
	}
}

func TestSMTP_Send(t *testing.T) {
	t.Parallel()
	cert, pool := selfSigned(t)
	tlsConfig := &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}

	t.Run("smtps with AUTH", func(t *testing.T) {
		srv := smtptest.Start(t, "127.0.0.1:0", cert, true)
		srv.User, srv.Password = "shop", "p@ss word"
		s, err := mailer.NewSMTP(mailer.SMTPConfig{URL: "smtps://shop:p%40ss%20word@" + srv.Addr, TLSConfig: tlsConfig})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Send(context.Background(), testMessage()); err != nil {
			t.Fatal(err)
		}
		msgs := srv.Messages()
		if len(msgs) != 1 {
			t.Fatalf("server got %d messages", len(msgs))
		}
		p := parse(t, msgs[0].Data)
		if p.Subject(t) != "Grüße" || p.Header.Get("Message-Id") != "<abc@books.test>" || p.Text != "Hello\n" || p.HTML != "<p>Hello</p>\n" {
			t.Errorf("received %q %q %q %q", p.Subject(t), p.Header.Get("Message-Id"), p.Text, p.HTML)
		}
	})

	t.Run("STARTTLS mandatory with AUTH", func(t *testing.T) {
		srv := smtptest.Start(t, "127.0.0.1:0", cert, false)
		srv.User, srv.Password = "shop", "secret"
		s, err := mailer.NewSMTP(mailer.SMTPConfig{URL: "smtp://shop:secret@" + srv.Addr, StartTLS: "mandatory", TLSConfig: tlsConfig})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Send(context.Background(), testMessage()); err != nil {
			t.Fatal(err)
		}
		if n := len(srv.Messages()); n != 1 {
			t.Errorf("server got %d messages", n)
		}
	})

	t.Run("STARTTLS mandatory, server without TLS", func(t *testing.T) {
		srv := smtptest.Start(t, "127.0.0.1:0", nil, false)
		s, err := mailer.NewSMTP(mailer.SMTPConfig{URL: "smtp://" + srv.Addr, StartTLS: "mandatory"})
		if err != nil {
			t.Fatal(err)
		}
		err = s.Send(context.Background(), testMessage())
		var se *mailer.SendError
		if !errors.As(err, &se) || se.Permanent || !strings.Contains(se.Msg, "STARTTLS") {
			t.Errorf("got %#v, want a temporary error about STARTTLS", err)
		}
		if n := len(srv.Messages()); n != 0 {
			t.Errorf("sent without TLS")
		}
	})

	t.Run("wrong password: temporary, and not in the error", func(t *testing.T) {
		srv := smtptest.Start(t, "127.0.0.1:0", cert, true)
		srv.User, srv.Password = "shop", "right"
		s, err := mailer.NewSMTP(mailer.SMTPConfig{URL: "smtps://shop:wr0ng-pa55word@" + srv.Addr, TLSConfig: tlsConfig})
		if err != nil {
			t.Fatal(err)
		}
		err = s.Send(context.Background(), testMessage())
		var se *mailer.SendError
		if !errors.As(err, &se) || se.Permanent || !strings.Contains(se.Msg, "535") {
			t.Errorf("got %#v, want a temporary error with the server's 535", err)
		}
		if err != nil && strings.Contains(err.Error(), "wr0ng-pa55word") {
			t.Errorf("the error shows the password: %v", err)
		}
	})

	t.Run("an invalid recipient is permanent", func(t *testing.T) {
		srv := smtptest.Start(t, "127.0.0.1:0", nil, false)
		s, err := mailer.NewSMTP(mailer.SMTPConfig{URL: "smtp://" + srv.Addr, StartTLS: "none"})
		if err != nil {
			t.Fatal(err)
		}
		m := testMessage()
		m.To = "not an address"
		var se *mailer.SendError
		if err := s.Send(context.Background(), m); !errors.As(err, &se) || !se.Permanent {
			t.Errorf("got %v, want a permanent error", err)
		}
	})
}

// The worker never stores the SMTP password, whatever goes wrong.
func TestWorker_NoPasswordInLastError(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cert, pool := selfSigned(t)
	srv := smtptest.Start(t, "127.0.0.1:0", cert, true)
	srv.User, srv.Password = "shop", "right"
	s, err := mailer.NewSMTP(mailer.SMTPConfig{URL: "smtps://shop:wr0ng-pa55word@" + srv.Addr,
		TLSConfig: &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	e.Worker.Sender = s
	saveProduct(t, e.DB, "go-handbook", "The Go Handbook")
	f := createOrder(t, e.DB, orderOpts{})
	m := enqueue(t, e.DB, receiptFor(f, ""))
	e.runOnce(t)
	got := findMail(t, e.DB, m.ID)
	if got.Status != vend.MailQueued || got.LastError == "" {
		t.Errorf("outbox row: %+v", got)
	}
	if strings.Contains(got.LastError, "wr0ng-pa55word") || strings.Contains(e.Log.String(), "wr0ng-pa55word") {
		t.Errorf("the password leaked: %q\n%s", got.LastError, e.Log)
	}
}
