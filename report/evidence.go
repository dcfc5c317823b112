package report

import (
	"archive/zip"
	"context"
	_ "embed"
	"encoding/csv"
	"fmt"
	"html/template"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/store"
)

// Evidence is what vend knows of one order that shows a payment provider,
// in a dispute, that the buyer got what they paid for: the order and its
// buyer, the provider's verified messages, the mail that brought the links,
// every visit to the download page, every download attempt with the file
// served, and the licence activations (docs/evidence.md).
type Evidence struct {
	Order         *vend.Order // with its items and transactions
	Grants        []*vend.Grant
	Notifications []*vend.Notification // the provider's messages that shaped the order, oldest first
	Mails         []*vend.Mail         // oldest first
	Visits        []Visit
	Attempts      []Attempt // oldest first
	Licenses      []License
	// Truncated says a list was cut at MaxEvidenceRows (the CSVs say which).
	Truncated []string
	Generated time.Time
}

// Visit is a view of a download page, with the product the page was for.
type Visit struct {
	*vend.PageVisit
	ProductID string
}

// Attempt is a download request with the file it asked for and whether its
// session delivered the whole file.
type Attempt struct {
	*vend.Attempt
	ProductID string
	File      *vend.File // nil when the file is gone from the catalog
	Completed bool       // its download session sent the whole file
}

// License is a key of the order with every instance it was activated on.
type License struct {
	*vend.License
	Instances []*vend.LicenseInstance
}

// MaxEvidenceRows bounds each list of an evidence pack, so one order with an
// absurd history cannot exhaust memory.
const MaxEvidenceRows = 20000

// FindEvidence gathers order id's evidence in one read transaction.
func FindEvidence(ctx context.Context, db store.DB, id int64, now time.Time) (*Evidence, error) {
	e := &Evidence{Generated: now.UTC()}
	err := db.View(ctx, func(tx store.Tx) error {
		var err error
		if e.Order, err = tx.FindOrderByID(ctx, id); err != nil {
			return err
		}
		if e.Order.Items, err = tx.FindItems(ctx, id); err != nil {
			return err
		}
		if e.Order.Transactions, err = tx.FindTransactionsByOrder(ctx, id); err != nil {
			return err
		}
		if e.Grants, err = tx.FindGrantsByOrder(ctx, id); err != nil {
			return err
		}
		if err := e.readMessages(ctx, tx, id); err != nil {
			return err
		}
		if err := e.readDownloads(ctx, tx); err != nil {
			return err
		}
		return e.readLicenses(ctx, tx, id)
	})
	if err != nil {
		return nil, fmt.Errorf("evidence of order %d: %w", id, err)
	}
	return e, nil
}

func (e *Evidence) cut(what string, n int) {
	if n >= MaxEvidenceRows {
		e.Truncated = append(e.Truncated, what)
	}
}

func (e *Evidence) readMessages(ctx context.Context, tx store.Tx, id int64) error {
	ns, err := tx.FindNotifications(ctx, store.NotificationFilter{OrderID: &id, Limit: MaxEvidenceRows})
	if err != nil {
		return err
	}
	e.cut("notifications", len(ns))
	slices.Reverse(ns)
	e.Notifications = ns
	ms, err := tx.FindMails(ctx, store.MailFilter{OrderID: &id, Limit: MaxEvidenceRows})
	if err != nil {
		return err
	}
	e.cut("mails", len(ms))
	slices.Reverse(ms)
	e.Mails = ms
	return nil
}

func (e *Evidence) readDownloads(ctx context.Context, tx store.Tx) error {
	files := map[int64]*vend.File{}
	for _, g := range e.Grants {
		vs, err := tx.FindPageVisits(ctx, g.ID, MaxEvidenceRows)
		if err != nil {
			return err
		}
		e.cut("page visits", len(vs))
		for _, v := range vs {
			e.Visits = append(e.Visits, Visit{PageVisit: v, ProductID: g.ProductID})
		}
		sessions, err := tx.FindSessionsByGrant(ctx, g.ID)
		if err != nil {
			return err
		}
		completed := map[int64]bool{}
		for _, s := range sessions {
			completed[s.ID] = s.Completed
		}
		// Oldest first: cut, the pack keeps the first downloads, which a
		// dispute is about.
		as, err := tx.FindAttempts(ctx, store.AttemptFilter{GrantID: &g.ID, Limit: MaxEvidenceRows, OldestFirst: true})
		if err != nil {
			return err
		}
		e.cut("download attempts", len(as))
		for _, a := range as {
			f, ok := files[a.FileID]
			if !ok {
				if f, err = tx.FindFileByID(ctx, a.FileID); vend.ErrorCode(err) == vend.ENOTFOUND {
					f, err = nil, nil
				} else if err != nil {
					return err
				}
				files[a.FileID] = f
			}
			e.Attempts = append(e.Attempts, Attempt{Attempt: a, ProductID: g.ProductID, File: f, Completed: completed[a.SessionID]})
		}
	}
	slices.SortFunc(e.Visits, func(a, b Visit) int { return cmpTimeID(a.At, b.At, a.ID, b.ID) })
	slices.SortFunc(e.Attempts, func(a, b Attempt) int { return cmpTimeID(a.At, b.At, a.ID, b.ID) })
	return nil
}

func cmpTimeID(a, b time.Time, ida, idb int64) int {
	if c := a.Compare(b); c != 0 {
		return c
	}
	return int(min(max(ida-idb, -1), 1))
}

func (e *Evidence) readLicenses(ctx context.Context, tx store.Tx, id int64) error {
	ls, err := tx.FindLicenses(ctx, store.LicenseFilter{OrderID: &id, Limit: MaxEvidenceRows})
	if err != nil {
		return err
	}
	slices.Reverse(ls)
	for _, l := range ls {
		ins, err := tx.FindInstances(ctx, l.ID, true)
		if err != nil {
			return err
		}
		e.Licenses = append(e.Licenses, License{License: l, Instances: ins})
	}
	return nil
}

// Shop is who the evidence pack speaks for.
type Shop struct {
	Name, URL, SupportEmail string
	TermsURL                string
}

// The files of an evidence pack, in the order they are written.
const (
	EvidenceSummary  = "summary.html"
	EvidenceOrder    = "order.csv"
	EvidenceNotes    = "notifications.csv"
	EvidenceMails    = "mails.csv"
	EvidenceVisits   = "page_visits.csv"
	EvidenceAttempts = "download_attempts.csv"
	EvidenceLicenses = "license_activations.csv"
	EvidenceLog      = "access_activity_log.txt"
)

// WriteZip writes the evidence pack: the printable summary, a CSV for each
// list, and the access log in the shape of Stripe's access_activity_log.
func (e *Evidence) WriteZip(w io.Writer, shop Shop) error {
	z := zip.NewWriter(w)
	dir := fmt.Sprintf("evidence-order-%d/", e.Order.ID)
	for _, f := range []struct {
		name  string
		write func(io.Writer) error
	}{
		{EvidenceSummary, func(w io.Writer) error { return e.writeSummary(w, shop) }},
		{EvidenceOrder, e.writeOrder},
		{EvidenceNotes, e.writeNotifications},
		{EvidenceMails, e.writeMails},
		{EvidenceVisits, e.writeVisits},
		{EvidenceAttempts, e.writeAttempts},
		{EvidenceLicenses, e.writeLicenses},
		{EvidenceLog, func(w io.Writer) error { _, err := io.WriteString(w, e.AccessLog()); return err }},
	} {
		if err := addFile(z, dir+f.name, e.Generated, f.write); err != nil {
			return err
		}
	}
	// The provider's messages as they came, byte for byte, so each matches
	// its body_sha256 (a CSV cell would be altered to be spreadsheet-safe).
	for _, n := range e.Notifications {
		if name := bodyFile(n); name != "" {
			if err := addFile(z, dir+name, e.Generated, func(w io.Writer) error { _, err := w.Write(n.Body); return err }); err != nil {
				return err
			}
		}
	}
	return z.Close()
}

func addFile(z *zip.Writer, name string, at time.Time, write func(io.Writer) error) error {
	fw, err := z.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: at})
	if err != nil {
		return err
	}
	if err := write(fw); err != nil {
		return fmt.Errorf("evidence %s: %w", name, err)
	}
	return nil
}

// bodyFile is where a notification's raw body goes in the pack; "" for a
// WEBSALE link, whose body is a working download link and no proof of
// payment.
func bodyFile(n *vend.Notification) string {
	if n.Provider == "websale" || len(n.Body) == 0 {
		return ""
	}
	return fmt.Sprintf("notifications/%d.txt", n.ID)
}

// maskKey shows enough of a licence key to recognize it, not to use it: the
// pack goes to a payment provider.
func maskKey(k string) string {
	if len(k) <= 10 {
		return "…"
	}
	return k[:5] + "…" + k[len(k)-4:]
}

// writeCSV writes a header and rows, every field made safe for spreadsheets.
func writeCSV(w io.Writer, header []string, rows [][]string) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(header); err != nil {
		return err
	}
	for _, r := range rows {
		for i := range r {
			r[i] = cell(r[i])
		}
		if err := cw.Write(r); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func (e *Evidence) writeOrder(w io.Writer) error {
	o := e.Order
	var rows [][]string
	for _, it := range o.Items {
		rows = append(rows, []string{csvID(o.ID), csvTime(o.CreatedAt), o.Provider, o.Ref, string(o.Status), strconv.FormatBool(o.Test),
			o.Buyer.Email, o.Buyer.Name, o.Language, o.Currency, o.Total.String(), o.TermsVersion,
			it.ProductID, it.Name, strconv.Itoa(it.Quantity), it.Amount.String(), string(it.Status)})
	}
	return writeCSV(w, []string{"order_id", "created_at_utc", "provider", "ref", "status", "test", "buyer_email", "buyer_name",
		"buyer_language", "currency", "total", "terms_version", "product_id", "product_name", "quantity", "amount", "item_status"}, rows)
}

func (e *Evidence) writeNotifications(w io.Writer) error {
	var rows [][]string
	for _, n := range e.Notifications {
		rows = append(rows, []string{csvID(n.ID), csvTime(n.ReceivedAt), n.Provider, string(n.Verdict), n.Reason, n.Changes,
			n.RemoteAddr, n.SHA256, bodyFile(n)})
	}
	return writeCSV(w, []string{"id", "received_at_utc", "provider", "verdict", "reason", "changes", "from_address", "body_sha256", "body_file"}, rows)
}

func (e *Evidence) writeMails(w io.Writer) error {
	var rows [][]string
	for _, m := range e.Mails {
		rows = append(rows, []string{csvID(m.ID), string(m.Kind), m.To, string(m.Status), csvTime(m.CreatedAt), csvTime(m.SentAt),
			messageID(m.MessageID), strconv.Itoa(m.Attempts)})
	}
	return writeCSV(w, []string{"id", "kind", "to", "status", "queued_at_utc", "sent_at_utc", "message_id", "attempts"}, rows)
}

func messageID(id string) string {
	if id == "" {
		return ""
	}
	return "<" + id + ">"
}

func (e *Evidence) writeVisits(w io.Writer) error {
	var rows [][]string
	for _, v := range e.Visits {
		rows = append(rows, []string{csvTime(v.At), v.IP, v.ProductID, csvID(v.GrantID), v.UserAgent})
	}
	return writeCSV(w, []string{"at_utc", "ip", "product_id", "grant_id", "user_agent"}, rows)
}

func (e *Evidence) writeAttempts(w io.Writer) error {
	var rows [][]string
	for _, a := range e.Attempts {
		name, sum, size := "", "", ""
		if a.File != nil {
			name, sum, size = a.File.Name, a.File.SHA256, strconv.FormatInt(a.File.Size, 10)
		}
		rows = append(rows, []string{csvTime(a.At), a.IP, a.ProductID, name, size, sum, a.Method, a.Range, strconv.Itoa(a.Status),
			strconv.FormatInt(a.BytesSent, 10), strconv.FormatBool(a.Counted), csvID(a.SessionID), strconv.FormatBool(a.Completed),
			a.Refused, a.UserAgent})
	}
	return writeCSV(w, []string{"at_utc", "ip", "product_id", "file", "file_size", "file_sha256", "method", "range", "status",
		"bytes_sent", "counted", "session_id", "session_completed", "refused", "user_agent"}, rows)
}

func (e *Evidence) writeLicenses(w io.Writer) error {
	var rows [][]string
	for _, l := range e.Licenses {
		for _, in := range l.Instances {
			rows = append(rows, []string{maskKey(l.Key), l.ProductID, in.InstanceID, in.Name, in.IP, csvTime(in.CreatedAt), csvTime(in.DeactivatedAt)})
		}
	}
	return writeCSV(w, []string{"license_key", "product_id", "instance_id", "instance_name", "ip", "activated_at_utc", "deactivated_at_utc"}, rows)
}

// maxAccessLog is the length of a Stripe dispute evidence text field.
const maxAccessLog = 20000

// AccessLog is the buyer's activity as plain text, a line per event, oldest
// first, in the shape Stripe's access_activity_log evidence field takes (IP
// addresses with their times and what happened); at most 20,000 characters,
// the field's limit, the rest counted in a last line.
func (e *Evidence) AccessLog() string {
	var lines []string
	for _, ev := range e.Timeline() {
		if ev.Access {
			lines = append(lines, ev.Line())
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Access log of order %d (%s %s), buyer %s, times in UTC\n", e.Order.ID, e.Order.Provider, e.Order.Ref, e.Order.Buyer.Email)
	for i, l := range lines {
		more := fmt.Sprintf("… and %d more entries: see download_attempts.csv and page_visits.csv\n", len(lines)-i)
		if b.Len()+len(l)+1 > maxAccessLog-len(more) {
			b.WriteString(more)
			break
		}
		b.WriteString(l + "\n")
	}
	return b.String()
}

// Event is one line of the order's timeline.
type Event struct {
	At     time.Time
	What   string // in words
	IP     string
	Agent  string
	Access bool // the buyer reaching the purchase (a visit, a download, an activation)
}

// Line is the event as a line of the access log.
func (ev Event) Line() string {
	s := ev.At.UTC().Format("2006-01-02 15:04:05") + "  " + ev.What
	if ev.IP != "" {
		s += "  IP " + ev.IP
	}
	if ev.Agent != "" {
		s += "  " + oneLine(ev.Agent)
	}
	return s
}

func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

// Timeline is every event of the order, oldest first.
func (e *Evidence) Timeline() []Event {
	o := e.Order
	evs := []Event{{At: o.CreatedAt, What: fmt.Sprintf("order %d created (%s %s), %s %s", o.ID, o.Provider, o.Ref, o.Total, o.Currency)}}
	for _, n := range e.Notifications {
		evs = append(evs, Event{At: n.ReceivedAt, What: fmt.Sprintf("%s message %d: %s%s", n.Provider, n.ID, n.Verdict, suffix(n.Changes))})
	}
	for _, m := range e.Mails {
		if !m.SentAt.IsZero() {
			evs = append(evs, Event{At: m.SentAt, What: fmt.Sprintf("%s mail sent to %s, Message-ID %s", m.Kind, m.To, messageID(m.MessageID))})
		}
	}
	for _, v := range e.Visits {
		evs = append(evs, Event{At: v.At, What: "download page of " + v.ProductID + " viewed", IP: v.IP, Agent: v.UserAgent, Access: true})
	}
	for _, a := range e.Attempts {
		evs = append(evs, Event{At: a.At, What: a.describe(), IP: a.IP, Agent: a.UserAgent, Access: true})
	}
	for _, l := range e.Licenses {
		for _, in := range l.Instances {
			evs = append(evs, Event{At: in.CreatedAt, What: fmt.Sprintf("licence key %s activated on %q", maskKey(l.Key), oneLine(in.Name)), IP: in.IP, Access: true})
			if !in.DeactivatedAt.IsZero() {
				evs = append(evs, Event{At: in.DeactivatedAt, What: fmt.Sprintf("licence key %s deactivated on %q", maskKey(l.Key), oneLine(in.Name)), Access: true})
			}
		}
	}
	slices.SortStableFunc(evs, func(a, b Event) int { return a.At.Compare(b.At) })
	return evs
}

func suffix(changes string) string {
	if changes == "" {
		return ""
	}
	return " (" + oneLine(changes) + ")"
}

// describe says what a download attempt did, in words.
func (a Attempt) describe() string {
	name := "a file no longer in the catalog"
	if a.File != nil {
		name = fmt.Sprintf("%s (%d bytes, SHA-256 %s)", a.File.Name, a.File.Size, a.File.SHA256)
	}
	s := fmt.Sprintf("download of %s: %s %d, %d bytes sent", name, a.Method, a.Status, a.BytesSent)
	if a.Range != "" {
		s += ", range " + a.Range
	}
	if a.Refused != "" {
		s += ", refused: " + a.Refused
	}
	if a.Completed {
		s += ", download complete"
	}
	return s
}

// Summary facts for the printable page.

// CompletedDownloads counts the download sessions that sent a whole file.
func (e *Evidence) CompletedDownloads() int {
	seen := map[int64]bool{}
	for _, a := range e.Attempts {
		if a.Completed && a.SessionID != 0 {
			seen[a.SessionID] = true
		}
	}
	return len(seen)
}

// BytesSent sums the bytes every attempt sent.
func (e *Evidence) BytesSent() int64 {
	var n int64
	for _, a := range e.Attempts {
		n += a.BytesSent
	}
	return n
}

// Receipt is the first receipt mail sent, or nil.
func (e *Evidence) Receipt() *vend.Mail {
	for _, m := range e.Mails {
		if m.Kind == vend.MailReceipt && m.Status == vend.MailSent {
			return m
		}
	}
	return nil
}

// Addresses are the distinct IP addresses the buyer came from, in the order
// first seen.
func (e *Evidence) Addresses() []string {
	var out []string
	for _, ev := range e.Timeline() {
		if ev.Access && ev.IP != "" && !slices.Contains(out, ev.IP) {
			out = append(out, ev.IP)
		}
	}
	return out
}

//go:embed evidence.html
var summaryHTML string

var summaryTemplate = template.Must(template.New("summary").Funcs(template.FuncMap{
	"when": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04:05") + " UTC"
	},
	"messageID": messageID,
	"maskKey":   maskKey,
}).Parse(summaryHTML))

func (e *Evidence) writeSummary(w io.Writer, shop Shop) error {
	return summaryTemplate.Execute(w, struct {
		*Evidence
		Shop Shop
	}{e, shop})
}
