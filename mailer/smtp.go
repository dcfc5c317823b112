package mailer

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/vend-shop/vend"
)

// STARTTLS policies for smtp:// URLs.
const (
	StartTLSMandatory     = "mandatory"     // refuse to send unless the server offers STARTTLS
	StartTLSOpportunistic = "opportunistic" // use STARTTLS when the server offers it
	StartTLSNone          = "none"          // never use TLS
)

// Defaults for SMTPConfig.
const (
	DefaultStartTLS    = StartTLSOpportunistic
	DefaultSMTPTimeout = 30 * time.Second
)

// SMTPConfig says how to reach the SMTP server.
type SMTPConfig struct {
	// URL is smtp://user:password@host:port (port 587 when left out; STARTTLS as
	// StartTLS says) or smtps://user:password@host:port (implicit TLS, port 465
	// when left out). User and password are optional and must be URL-encoded
	// ("p%40ss" for "p@ss"). With them vend logs in with the strongest mechanism
	// the server offers; PLAIN and LOGIN only over TLS.
	URL string
	// StartTLS is the STARTTLS policy of smtp:// URLs: "mandatory",
	// "opportunistic" (default) or "none".
	StartTLS string
	// Timeout bounds connecting and each SMTP command (default 30 s).
	Timeout time.Duration
	// TLSConfig replaces the default TLS configuration (system roots, the URL's
	// host as server name), e.g. to trust a private CA.
	TLSConfig *tls.Config
	// HELO is the name vend gives in EHLO/HELO (default: the host name).
	HELO string
}

// SMTP sends messages to one SMTP server, one connection per message.
type SMTP struct {
	client   *gomail.Client
	redacted string // the URL without the password, for logs
	url      string // to scrub its password from error text
}

var _ Sender = (*SMTP)(nil)

// NewSMTP checks cfg and returns a Sender for it. Its errors never contain the
// password.
func NewSMTP(cfg SMTPConfig) (*SMTP, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil {
		// url.Error quotes the whole URL, password and all.
		return nil, errors.New("mailer: smtp url: not a URL such as smtp://user:password@mail.example.com:587 (special characters in user or password must be URL-encoded)")
	}
	var password string
	if u.User != nil {
		password, _ = u.User.Password()
	}
	// Not u.Redacted(): for a password with an unencoded "@" or "#", which
	// url.Parse reads as host or fragment, it shows most of the password.
	s := &SMTP{redacted: vend.RedactURL(cfg.URL), url: cfg.URL}
	fail := func(format string, args ...any) (*SMTP, error) {
		return nil, fmt.Errorf("mailer: smtp url %s: "+format, append([]any{s.redacted}, args...)...)
	}
	host := u.Hostname()
	if host == "" {
		return fail("no host")
	}
	if u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return fail("only scheme, user, password, host and port are allowed")
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = DefaultSMTPTimeout
	}
	tlsConfig := cfg.TLSConfig
	if tlsConfig == nil {
		tlsConfig = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	}
	opts := []gomail.Option{gomail.WithTimeout(timeout), gomail.WithTLSConfig(tlsConfig)}
	port := 0
	if p := u.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil || port < 1 || port > 65535 {
			return fail("port %q is not a number from 1 to 65535", p)
		}
	}
	switch u.Scheme {
	case "smtp":
		if port == 0 {
			port = gomail.DefaultPortTLS
		}
		policy, err := startTLSPolicy(cfg.StartTLS)
		if err != nil {
			return nil, err
		}
		opts = append(opts, gomail.WithTLSPolicy(policy))
	case "smtps":
		if port == 0 {
			port = gomail.DefaultPortSSL
		}
		opts = append(opts, gomail.WithSSL())
	default:
		return fail("scheme %q: use smtp:// (STARTTLS) or smtps:// (implicit TLS)", u.Scheme)
	}
	opts = append(opts, gomail.WithPort(port))
	if u.User != nil && u.User.Username() != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(u.User.Username()), gomail.WithPassword(password))
	}
	if cfg.HELO != "" {
		opts = append(opts, gomail.WithHELO(cfg.HELO))
	}
	if s.client, err = gomail.NewClient(host, opts...); err != nil {
		return nil, errors.New(s.scrub(fmt.Sprintf("mailer: smtp %s: %v", s.redacted, err)))
	}
	return s, nil
}

func startTLSPolicy(s string) (gomail.TLSPolicy, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case StartTLSMandatory:
		return gomail.TLSMandatory, nil
	case StartTLSOpportunistic, "":
		return gomail.TLSOpportunistic, nil
	case StartTLSNone:
		return gomail.NoTLS, nil
	}
	return 0, fmt.Errorf("mailer: starttls %q: use %s, %s or %s", s, StartTLSMandatory, StartTLSOpportunistic, StartTLSNone)
}

// String returns the server's URL without the password.
func (s *SMTP) String() string { return s.redacted }

// Send delivers m over a new connection. A refusal with a 5xx reply, or an
// address that cannot be used, is a permanent *SendError; anything else (no
// connection, TLS, login, 4xx) is a temporary one, since those fail every
// message alike and heal when the server or the configuration does.
func (s *SMTP) Send(ctx context.Context, m *Message) error {
	msg, err := buildMsg(m)
	if err != nil {
		return err
	}
	if err := s.client.DialAndSendWithContext(ctx, msg); err != nil {
		return s.classify(err)
	}
	return nil
}

// Check connects to the server, greets it, starts TLS and logs in as a
// send would, and hangs up without sending anything: `vend doctor` and the
// start-up self-test ask whether mail can go out.
func (s *SMTP) Check(ctx context.Context) error {
	if err := s.client.DialWithContext(ctx); err != nil {
		return s.classify(err)
	}
	return s.client.Close()
}

// buildMsg turns m into a go-mail message: From, To, Subject, Date, a fixed
// Message-ID, Auto-Submitted, a plain part and an HTML alternative.
func buildMsg(m *Message) (*gomail.Msg, error) {
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	if err := msg.From(m.From); err != nil {
		return nil, &SendError{Msg: fmt.Sprintf("The sender address %q is not valid; check smtp.from.", m.From)}
	}
	if err := msg.To(m.To); err != nil {
		return nil, &SendError{Permanent: true, Msg: fmt.Sprintf("The recipient address %q is not valid.", m.To)}
	}
	msg.Subject(m.Subject)
	if m.MessageID != "" {
		msg.SetMessageIDWithValue(m.MessageID)
	}
	date := m.Date
	if date.IsZero() {
		date = time.Now()
	}
	msg.SetDateWithValue(date)
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	msg.SetGenHeader(gomail.HeaderXAutoResponseSuppress, "All")
	if m.Language != "" {
		msg.SetGenHeader(gomail.HeaderContentLang, m.Language)
	}
	msg.SetUserAgent("vend")
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	return msg, nil
}

// classify turns go-mail's error into a SendError with a sentence for the outbox.
func (s *SMTP) classify(err error) error {
	var se *gomail.SendError
	var oe *net.OpError
	var ne net.Error
	switch {
	case errors.As(err, &se):
		code := se.ErrorCode()
		return &SendError{Permanent: code >= 500 && code < 600, Code: code,
			Msg: s.scrub(fmt.Sprintf("The SMTP server %s refused the message while %s: %s.", s.redacted, se.Reason, serverReply(se)))}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return &SendError{Msg: fmt.Sprintf("Sending through %s was cut short (%v).", s.redacted, err)}
	case errors.As(err, &oe) && oe.Op == "dial":
		return &SendError{Msg: s.scrub(fmt.Sprintf("Could not connect to the SMTP server %s: %v.", s.redacted, oe.Err))}
	case errors.As(err, &ne) && ne.Timeout():
		return &SendError{Msg: fmt.Sprintf("The SMTP server %s did not answer in time.", s.redacted)}
	}
	msg := strings.TrimPrefix(err.Error(), "dial failed: ")
	return &SendError{Msg: s.scrub(fmt.Sprintf("Sending through the SMTP server %s failed: %s.", s.redacted, msg))}
}

// serverReply is the server's reply in a go-mail SendError, without go-mail's
// list of recipients and message id.
func serverReply(se *gomail.SendError) string {
	msg := se.Error()
	if i := strings.Index(msg, ", affected"); i > 0 {
		msg = msg[:i]
	}
	return strings.TrimSuffix(strings.TrimPrefix(msg, se.Reason.String()+": "), ".")
}

// scrub removes the password from text, whatever produced it.
func (s *SMTP) scrub(text string) string {
	return vend.RedactError(errors.New(text), s.url).Error()
}
