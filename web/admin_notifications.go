package web

import (
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

// The notification log: every raw message a provider sent, with what vend
// concluded, and a replay that runs a stored message through its provider's
// steps again (intake.Replay).

const notificationsPerPage = 50

var allVerdicts = []vend.Verdict{vend.VerdictApplied, vend.VerdictDuplicate, vend.VerdictRejected, vend.VerdictInvalid,
	vend.VerdictError, vend.VerdictIgnored, vend.VerdictReceived}

// ---- the list ----

type notificationsView struct {
	Query         url.Values
	Notifications []*vend.Notification
	Next          string // the next page's URL, or ""
	Providers     []string
	Verdicts      []vend.Verdict
}

func (s *Server) handleAdminNotifications(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	f, err := notificationFilter(r.URL.Query())
	if err != nil {
		s.Error(w, r, err)
		return
	}
	f.Limit = notificationsPerPage
	notes, err := viewOne(ctx, s.DB, func(tx store.Tx) ([]*vend.Notification, error) { return tx.FindNotifications(ctx, f) })
	if err != nil {
		s.Error(w, r, err)
		return
	}
	v := notificationsView{Query: r.URL.Query(), Notifications: notes, Providers: s.Intake.Names(), Verdicts: allVerdicts}
	if len(notes) == notificationsPerPage {
		next := r.URL.Query()
		next.Set("before", strconv.FormatInt(notes[len(notes)-1].ID, 10))
		v.Next = "/admin/notifications?" + next.Encode()
	}
	s.renderAdmin(w, r, http.StatusOK, "admin-notifications", "Notifications", "notifications", v)
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

// ---- one notification ----

type notificationView struct {
	N        *vend.Notification
	Headers  []headerLine // sorted by name
	Body     string       // the raw body as text; the template escapes it
	ReplayOf int64        // the notification this one replays, when the page follows a replay
}

type headerLine struct{ Name, Value string }

func (s *Server) handleAdminNotification(w http.ResponseWriter, r *http.Request) {
	n, err := findByPathID(s, r, "notification", store.Tx.FindNotificationByID)
	if err != nil {
		s.Error(w, r, err)
		return
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
}

// asText returns stored bytes as text to show: bytes that are not UTF-8 (a
// windows-1252 IPN) become U+FFFD. Whoever shows it still escapes it.
func asText(b []byte) string { return strings.ToValidUTF8(string(b), "\uFFFD") }

// handleAdminReplay replays a notification and shows the replay.
func (s *Server) handleAdminReplay(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		s.Error(w, r, vend.Errorf(vend.ENOTFOUND, "No such notification."))
		return
	}
	actor, _ := adminActor(r.Context())
	n, err := s.Intake.Replay(r.Context(), id, actor)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	http.Redirect(w, r, fmt.Sprintf("/admin/notifications/%d?replay_of=%d", n.ID, id), http.StatusSeeOther)
}
