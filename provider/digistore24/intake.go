package digistore24

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/provider/form"
)

// Intake is Digistore24's side of vend's intake: IPNs posted to
// /ipn/digistore24, signed with the connection's passphrase. Digistore24
// counts a message as delivered when the answer starts with the line OK;
// anything else is resent for ten days and shown to the seller, with the
// ERROR line as the reason.
type Intake struct {
	Passphrase string // the connection's IPN passphrase; "" refuses every IPN
	Config     Config
	// AnswerLink puts the buyer's download link into the answer, which
	// Digistore24 shows on its thank-you page and receipt; ThankyouPage sends
	// the buyer to vend's download page instead of Digistore24's.
	AnswerLink, ThankyouPage bool
	// Logger notes the rare signing conventions; nil logs nothing.
	Logger *slog.Logger
}

var _ vend.Provider = (*Intake)(nil)

// Info: Digistore24 checks the endpoint with a GET when the seller saves the
// connection.
func (in *Intake) Info() vend.ProviderInfo {
	return vend.ProviderInfo{Name: Provider, Label: "Digistore24", Path: "/ipn/digistore24", MediaType: form.MediaType,
		MaxBody: 64 << 10, // an IPN is a few KB, upsells and all
		Probe:   true, PageAnswer: in.AnswerLink || in.ThankyouPage, Configured: in.Passphrase != ""}
}

// Verify checks sha_sign with the passphrase.
func (in *Intake) Verify(_ context.Context, n *vend.Notification, _ time.Time) error {
	if in.Passphrase == "" {
		return vend.NoSecret("IPN passphrase", "digistore24.passphrase")
	}
	conv, err := Verify(ParseForm(n.Body), in.Passphrase)
	if err == nil && conv != OriginalKeys && in.Logger != nil {
		// Genuine, but signed in a way few accounts use: worth a note.
		in.Logger.Info("digistore24 message signed with " + conv.String())
	}
	return err
}

// Normalize maps the message as signed, not its raw bytes, to an event.
func (in *Intake) Normalize(n *vend.Notification) (vend.Event, error) {
	f := ParseForm(n.Body)
	conv, err := Verify(f, in.Passphrase)
	if err != nil {
		return vend.Event{}, err
	}
	signed, err := f.Signed(conv)
	if err != nil {
		return vend.Event{}, err
	}
	return Normalize(signed, in.Config)
}

// Answer is OK, with the buyer's download page when the seller wants it shown,
// or the ERROR line.
func (in *Intake) Answer(o *vend.Outcome) vend.Reply {
	if o.Refusal != vend.RefusalNone {
		return plain(ErrorBody(o.Reason))
	}
	a := Answer{}
	if o.PageURL != "" {
		a.HideOn = []string{"invoice"}
		if in.AnswerLink {
			a.Headline, a.DownloadURL = "Your download", o.PageURL
		}
		if in.ThankyouPage {
			a.ThankyouURL = o.PageURL
		}
	}
	// Licence keys show on Digistore24's thank-you page and, with its
	// connection timing "before redirect", in its confirmation mail.
	label := "License key"
	if strings.HasPrefix(strings.ToLower(o.Event.Language), "de") {
		label = "Lizenzschlüssel"
	}
	for i, key := range o.LicenseKeys {
		l := label
		if len(o.LicenseKeys) > 1 {
			l += " " + strconv.Itoa(i+1)
		}
		a.Lines = append(a.Lines, Line{Label: l, Value: key})
	}
	return plain(a.Body())
}

func plain(s string) vend.Reply {
	return vend.Reply{ContentType: "text/plain; charset=utf-8", Body: []byte(s)}
}

var _ vend.Simulator = (*Intake)(nil)

// SimulatePayment makes the IPN Digistore24 sends when a buyer pays for p,
// signed with the passphrase.
func (in *Intake) SimulatePayment(p *vend.Product, _ time.Time) (string, *vend.Notification, error) {
	sim := Sim{ProductID: p.ID, ProductName: p.Name, Amount: p.Price, Currency: p.Currency, OrderID: NewOrderID(),
		Email: "buyer@example.com", FirstName: "Demo", LastName: "Buyer", Test: in.Config.Sandbox}
	n := &vend.Notification{Provider: Provider, Headers: map[string][]string{"Content-Type": {form.MediaType}},
		Body: sim.Body(in.Passphrase)}
	return sim.OrderID, n, nil
}
