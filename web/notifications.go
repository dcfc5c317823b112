package web

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/store"
)

// notificationAdmin serves the notification log, a message, and its replay.
type notificationAdmin struct{ *Server }

// handleAPINotifications lists notifications, newest first, with the log's
// filters: provider, verdict, order, before and limit.
func (s notificationAdmin) handleAPINotifications(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	f, err := notificationFilter(r.URL.Query())
	if err == nil {
		f.Limit, err = apiLimit(r.URL.Query().Get("limit"))
	}
	if err != nil {
		return err
	}
	notes, err := viewOne(ctx, s.DB, func(tx store.Tx) ([]*vend.Notification, error) { return tx.FindNotifications(ctx, f) })
	if err != nil {
		return err
	}
	out := struct {
		Notifications []*vend.Notification `json:"notifications"`
		NextBefore    int64                `json:"next_before,omitempty"`
	}{Notifications: notes}
	if out.Notifications == nil {
		out.Notifications = []*vend.Notification{}
	}
	if len(notes) == f.Limit {
		out.NextBefore = notes[len(notes)-1].ID
	}
	apiJSON(w, out)
	return nil
}

func (s notificationAdmin) handleAPINotification(w http.ResponseWriter, r *http.Request) error {
	n, err := findByPathID(s.Server, r, "notification", store.Tx.FindNotificationByID)
	if err != nil {
		return err
	}
	apiJSON(w, n)
	return nil
}

// handleAPIReplay replays a stored notification (see intake.Replay) and answers the
// new notification it made.
func (s notificationAdmin) handleAPIReplay(w http.ResponseWriter, r *http.Request) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return vend.Errorf(vend.ENOTFOUND, "No such notification.")
	}
	actor, _ := adminActor(r.Context())
	n, err := s.Intake.Replay(context.WithoutCancel(r.Context()), id, actor)
	if err != nil {
		return err
	}
	apiJSON(w, n)
	return nil
}

// The notification log: every raw message a provider sent, with what vend
// concluded, and a replay that runs a stored message through its provider's
// steps again (intake.Replay).

const notificationsPerPage = 50

var allVerdicts = []vend.Verdict{vend.VerdictApplied, vend.VerdictDuplicate, vend.VerdictRejected, vend.VerdictInvalid,
	vend.VerdictError, vend.VerdictIgnored, vend.VerdictReceived}

type notificationsView struct {
	Query         url.Values
	Notifications []*vend.Notification
	Next          string // the next page's URL, or ""
	Providers     []string
	Verdicts      []vend.Verdict
}

func (s notificationAdmin) handleAdminNotifications(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	f, err := notificationFilter(r.URL.Query())
	if err != nil {
		return err
	}
	f.Limit = notificationsPerPage
	notes, err := viewOne(ctx, s.DB, func(tx store.Tx) ([]*vend.Notification, error) { return tx.FindNotifications(ctx, f) })
	if err != nil {
		return err
	}
	v := notificationsView{Query: r.URL.Query(), Notifications: notes, Providers: s.Intake.Names(), Verdicts: allVerdicts}
	if len(notes) == notificationsPerPage {
		next := r.URL.Query()
		next.Set("before", strconv.FormatInt(notes[len(notes)-1].ID, 10))
		v.Next = "/admin/notifications?" + next.Encode()
	}
	s.renderAdmin(w, r, http.StatusOK, "admin-notifications", "Notifications", "notifications", v)
	return nil
}

// notificationFilter reads the notification log's filters: provider, verdict,
// order (an order id) and before (a notification id, for the next page). Empty
// values filter nothing.
func notificationFilter(v url.Values) (store.NotificationFilter, error) {
	var f store.NotificationFilter
	if p := strings.TrimSpace(v.Get("provider")); p != "" {
		f.Provider = &p
	}
	if s := strings.TrimSpace(v.Get("verdict")); s != "" {
		verdict := vend.Verdict(s)
		if !slices.Contains(allVerdicts, verdict) {
			return f, vend.Errorf(vend.EINVALID, "verdict: one of %s.", joinVerdicts(allVerdicts))
		}
		f.Verdict = &verdict
	}
	if s := strings.TrimSpace(v.Get("order")); s != "" {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id < 1 {
			return f, vend.Errorf(vend.EINVALID, "order: not an order id.")
		}
		f.OrderID = &id
	}
	if s := strings.TrimSpace(v.Get("before")); s != "" {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id < 1 {
			return f, vend.Errorf(vend.EINVALID, "before: not a notification id.")
		}
		f.Before = id
	}
	return f, nil
}

func joinVerdicts(vs []vend.Verdict) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = string(v)
	}
	return strings.Join(s, ", ")
}

type notificationView struct {
	N        *vend.Notification
	Headers  []headerLine // sorted by name
	Body     string       // the raw body as text; the template escapes it
	ReplayOf int64        // the notification this one replays, when the page follows a replay
}

type headerLine struct{ Name, Value string }

func (s notificationAdmin) handleAdminNotification(w http.ResponseWriter, r *http.Request) error {
	n, err := findByPathID(s.Server, r, "notification", store.Tx.FindNotificationByID)
	if err != nil {
		return err
	}
	v := notificationView{N: n, Body: asText(n.Body)}
	for _, name := range slices.Sorted(maps.Keys(n.Headers)) {
		for _, value := range n.Headers[name] {
			v.Headers = append(v.Headers, headerLine{asText([]byte(name)), asText([]byte(value))})
		}
	}
	if of, err := strconv.ParseInt(r.URL.Query().Get("replay_of"), 10, 64); err == nil && of > 0 {
		v.ReplayOf = of
	}
	s.renderAdmin(w, r, http.StatusOK, "admin-notification", "Notification "+strconv.FormatInt(n.ID, 10), "notifications", v)
	return nil
}

// asText returns stored bytes as text to show: bytes that are not UTF-8 (a
// windows-1252 IPN) become U+FFFD. Whoever shows it still escapes it.
func asText(b []byte) string { return strings.ToValidUTF8(string(b), "\uFFFD") }

// handleAdminReplay replays a notification and shows the replay.
func (s notificationAdmin) handleAdminReplay(w http.ResponseWriter, r *http.Request) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return vend.Errorf(vend.ENOTFOUND, "No such notification.")
	}
	actor, _ := adminActor(r.Context())
	n, err := s.Intake.Replay(r.Context(), id, actor)
	if err != nil {
		return err
	}
	http.Redirect(w, r, fmt.Sprintf("/admin/notifications/%d?replay_of=%d", n.ID, id), http.StatusSeeOther)
	return nil
}

// handleAdminDismiss lets a refused message be: it leaves the dashboard.
func (s notificationAdmin) handleAdminDismiss(w http.ResponseWriter, r *http.Request) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return vend.Errorf(vend.ENOTFOUND, "No such notification.")
	}
	actor, _ := adminActor(r.Context())
	if err := s.Ledger.DismissRefused(context.WithoutCancel(r.Context()), actor, id); err != nil {
		return err
	}
	http.Redirect(w, r, "/admin", http.StatusSeeOther)
	return nil
}
