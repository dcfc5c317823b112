package mailer

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/vend-shop/vend"
)

// MailboxURL is the smtp.url that keeps mail in the data directory's mailbox
// instead of sending it.
const MailboxURL = "mailbox:"

// DefaultMailboxKeep is how many messages a Mailbox keeps: enough to look
// through a demo or a template change, too few to fill a disk.
const DefaultMailboxKeep = 500

// maxMailboxFile bounds what Read takes from one file. vend's messages are a
// few KiB; a bigger file was not written by vend.
const maxMailboxFile = 4 << 20

// headerKind names the message's vend.MailKind in a mailbox file, for the list.
const headerKind = "X-Vend-Kind"

// Mailbox is a Sender that sends nothing: it keeps each message as an .eml file
// in Dir, for a developer or a seller to read in the admin instead of a buyer's
// inbox. Files are written atomically (a temporary file, renamed), named by the
// time they were written, so the names sort oldest first; after each message
// only the newest Keep stay.
type Mailbox struct {
	Dir  string
	Keep int              // default DefaultMailboxKeep
	Now  func() time.Time // default time.Now

	mu sync.Mutex // one prune at a time in this process; files stay safe across processes
}

var _ Sender = (*Mailbox)(nil)

// NewMailbox returns the mailbox in dir; Send creates dir when it is missing.
func NewMailbox(dir string) *Mailbox { return &Mailbox{Dir: dir} }

// String says where the mail goes, for logs.
func (b *Mailbox) String() string { return "the mailbox in " + b.Dir }

// MailboxEntry is one kept message, as the mailbox's list shows it.
type MailboxEntry struct {
	ID      string // the file name without .eml
	Date    time.Time
	From    string
	To      string
	Subject string
	Kind    vend.MailKind
}

// MailboxMessage is one kept message, read back.
type MailboxMessage struct {
	MailboxEntry
	Header []MailboxHeader // every header, in name order, decoded
	Text   string          // the plain part
	HTML   string          // the HTML part; "" when there is none
}

// MailboxHeader is one header line of a kept message.
type MailboxHeader struct{ Name, Value string }

// idPattern is what a mailbox file's name (without .eml) looks like: the UTC
// time with nanoseconds, so names sort by time, and a random suffix, so
// writers at the same instant (two processes) do not collide.
var idPattern = regexp.MustCompile(`^[0-9]{8}T[0-9]{6}\.[0-9]{9}Z-[0-9a-f]{8}$`)

const idTimeLayout = "20060102T150405.000000000Z"

// Check makes sure the mailbox's directory can be written.
func (b *Mailbox) Check(context.Context) error {
	if err := os.MkdirAll(b.Dir, 0o700); err != nil {
		return fmt.Errorf("mailer: mailbox: %w", err)
	}
	f, err := os.CreateTemp(b.Dir, ".check-*")
	if err != nil {
		return fmt.Errorf("mailer: mailbox %s cannot be written: %w", b.Dir, err)
	}
	f.Close()
	return os.Remove(f.Name())
}

// Send writes m into the mailbox and drops the oldest messages beyond Keep. An
// address go-mail cannot use fails as it would over SMTP.
func (b *Mailbox) Send(ctx context.Context, m *Message) error {
	msg, err := buildMsg(m)
	if err != nil {
		return err
	}
	if m.Kind != "" {
		msg.SetGenHeader(headerKind, string(m.Kind))
	}
	var buf bytes.Buffer
	if _, err := msg.WriteTo(&buf); err != nil {
		return fmt.Errorf("mailer: mailbox: render message: %w", err)
	}
	if err := os.MkdirAll(b.Dir, 0o700); err != nil {
		return fmt.Errorf("mailer: mailbox: %w", err)
	}
	var suffix [4]byte
	rand.Read(suffix[:])
	id := b.now().UTC().Format(idTimeLayout) + "-" + hex.EncodeToString(suffix[:])
	if err := writeAtomic(filepath.Join(b.Dir, id+".eml"), buf.Bytes()); err != nil {
		return fmt.Errorf("mailer: mailbox: %w", err)
	}
	return b.prune()
}

// writeAtomic writes data to a temporary file beside name and renames it, so a
// reader never sees half a message and a crash leaves at most a stray .tmp.
func writeAtomic(name string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(name), ".new-*.tmp")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), name)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// prune removes the oldest messages beyond Keep. Another process pruning at
// the same time may have removed a file already; that is no error.
func (b *Mailbox) prune() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	ids, err := b.ids()
	if err != nil {
		return err
	}
	for _, id := range ids[min(b.Capacity(), len(ids)):] {
		if err := os.Remove(b.path(id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("mailer: mailbox: %w", err)
		}
	}
	return nil
}

// ids lists the kept messages' ids, newest first; a missing directory is an
// empty mailbox.
func (b *Mailbox) ids() ([]string, error) {
	entries, err := os.ReadDir(b.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("mailer: mailbox: %w", err)
	}
	var ids []string
	for _, e := range entries {
		if id, ok := strings.CutSuffix(e.Name(), ".eml"); ok && idPattern.MatchString(id) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	slices.Reverse(ids)
	return ids, nil
}

// Capacity is how many messages the mailbox keeps: Keep, or the default.
func (b *Mailbox) Capacity() int {
	if b.Keep <= 0 {
		return DefaultMailboxKeep
	}
	return b.Keep
}

func (b *Mailbox) path(id string) string { return filepath.Join(b.Dir, id+".eml") }

func (b *Mailbox) now() time.Time {
	if b.Now == nil {
		return time.Now()
	}
	return b.Now()
}

// List returns the kept messages, newest first. A message pruned while List
// reads is left out.
func (b *Mailbox) List(ctx context.Context) ([]*MailboxEntry, error) {
	list, _, err := b.ListPage(ctx, "", math.MaxInt)
	return list, err
}

// ListPage returns up to limit kept messages older than the one with id
// before ("": from the newest), newest first, and the id to pass as before
// for the next page ("" on the last page).
func (b *Mailbox) ListPage(ctx context.Context, before string, limit int) ([]*MailboxEntry, string, error) {
	if before != "" && !idPattern.MatchString(before) {
		return nil, "", vend.Errorf(vend.EINVALID, "before: the id of a message in the mailbox.")
	}
	ids, err := b.ids()
	if err != nil {
		return nil, "", err
	}
	if before != "" { // ids are newest first: skip those not older than before
		ids = ids[sort.Search(len(ids), func(i int) bool { return ids[i] < before }):]
	}
	var list []*MailboxEntry
	for len(ids) > 0 && len(list) < limit {
		if err := ctx.Err(); err != nil {
			return nil, "", err
		}
		id := ids[0]
		ids = ids[1:]
		m, err := b.Read(id)
		if vend.ErrorCode(err) == vend.ENOTFOUND {
			continue
		}
		if err != nil {
			return nil, "", err
		}
		list = append(list, &m.MailboxEntry)
	}
	var next string
	if len(ids) > 0 && len(list) > 0 {
		next = list[len(list)-1].ID
	}
	return list, next, nil
}

// Raw returns the message's file as it is: RFC 5322, for a mail client.
func (b *Mailbox) Raw(id string) ([]byte, error) {
	if !idPattern.MatchString(id) { // also keeps the id inside Dir
		return nil, vend.Errorf(vend.ENOTFOUND, "No such message in the mailbox.")
	}
	f, err := os.Open(b.path(id))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, vend.Errorf(vend.ENOTFOUND, "No such message in the mailbox; it may have made room for newer ones.")
	}
	if err != nil {
		return nil, fmt.Errorf("mailer: mailbox: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxMailboxFile+1))
	if err != nil {
		return nil, fmt.Errorf("mailer: mailbox: read %s: %w", id, err)
	}
	if len(data) > maxMailboxFile {
		return nil, fmt.Errorf("mailer: mailbox: %s is larger than %d bytes", id, maxMailboxFile)
	}
	return data, nil
}

// Read returns one kept message with its headers decoded and its text and
// HTML parts.
func (b *Mailbox) Read(id string) (*MailboxMessage, error) {
	data, err := b.Raw(id)
	if err != nil {
		return nil, err
	}
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("mailer: mailbox: %s: %w", id, err)
	}
	var dec mime.WordDecoder
	header := func(name string) string {
		v := msg.Header.Get(name)
		if d, err := dec.DecodeHeader(v); err == nil {
			return d
		}
		return v
	}
	m := &MailboxMessage{MailboxEntry: MailboxEntry{ID: id, From: header("From"), To: header("To"),
		Subject: header("Subject"), Kind: vend.MailKind(header(headerKind))}}
	if m.Date, err = msg.Header.Date(); err != nil {
		m.Date, _ = time.Parse(idTimeLayout, id[:strings.IndexByte(id, '-')])
	}
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range msg.Header {
			if !yield(k) {
				return
			}
		}
	}) {
		for _, v := range msg.Header[name] {
			if d, err := dec.DecodeHeader(v); err == nil {
				v = d
			}
			m.Header = append(m.Header, MailboxHeader{name, v})
		}
	}
	if err := m.readParts(msg.Header, msg.Body); err != nil {
		return nil, fmt.Errorf("mailer: mailbox: %s: %w", id, err)
	}
	return m, nil
}

// partHeader is a message's or a part's header (mail.Header,
// textproto.MIMEHeader).
type partHeader interface{ Get(string) string }

// readParts fills Text and HTML from a part: the first text/plain and the
// first text/html, looking into multipart containers.
func (m *MailboxMessage) readParts(h partHeader, body io.Reader) error {
	mediaType, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		mediaType = "text/plain" // RFC 2045's default
	}
	if strings.HasPrefix(mediaType, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextPart() // it decodes quoted-printable itself
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return err
			}
			if err := m.readParts(p.Header, p); err != nil {
				return err
			}
		}
	}
	switch strings.ToLower(h.Get("Content-Transfer-Encoding")) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, body)
	}
	data, err := io.ReadAll(body)
	if err != nil {
		return err
	}
	// Mail has CRLF line ends; the page shows what the template wrote.
	text := strings.ReplaceAll(string(data), "\r\n", "\n")
	switch {
	case mediaType == "text/plain" && m.Text == "":
		m.Text = text
	case mediaType == "text/html" && m.HTML == "":
		m.HTML = text
	}
	return nil
}
