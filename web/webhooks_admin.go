package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/store"
	"github.com/vend-shop/vend/webhook"
)

// webhookAdmin is the seller's outgoing webhooks: the endpoints, each with
// its secret, events and deliveries, a delivery's log, and replay; the same
// in the JSON API (docs/webhooks.md). The logic is in package webhook.
type webhookAdmin struct{ *Server }

const deliveriesPerPage = 50

func pathInt(r *http.Request, name, what string) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, vend.Errorf(vend.ENOTFOUND, "No such %s.", what)
	}
	return id, nil
}

// endpointDelivery reads the delivery the path names, which must be one of
// the endpoint's.
func (s webhookAdmin) endpointDelivery(r *http.Request) (*webhook.Record, error) {
	id, err := pathInt(r, "id", "webhook endpoint")
	if err != nil {
		return nil, err
	}
	did, err := pathInt(r, "delivery", "delivery")
	if err != nil {
		return nil, err
	}
	rec, err := webhook.FindRecord(r.Context(), s.DB, did)
	if err == nil && rec.EndpointID != id {
		err = vend.Errorf(vend.ENOTFOUND, "No such delivery of endpoint %d.", id)
	}
	return rec, err
}

// deliveriesQuery reads a deliveries list's query: status and before.
func deliveriesQuery(id int64, q url.Values) (store.DeliveryFilter, error) {
	f := store.DeliveryFilter{EndpointID: &id, Limit: deliveriesPerPage}
	switch st := vend.WebhookStatus(q.Get("status")); st {
	case "":
	case vend.WebhookPending, vend.WebhookDelivered, vend.WebhookFailed:
		f.Status = &st
	default:
		return f, vend.Errorf(vend.EINVALID, "status: pending, delivered or failed.")
	}
	if b := q.Get("before"); b != "" {
		var err error
		if f.Before, err = strconv.ParseInt(b, 10, 64); err != nil {
			return f, vend.Errorf(vend.EINVALID, "before: a delivery id.")
		}
	}
	return f, nil
}

type webhooksView struct {
	Endpoints []*vend.WebhookEndpoint
	Events    []vend.WebhookEvent
}

func (s webhookAdmin) handleList(w http.ResponseWriter, r *http.Request) error {
	es, err := webhook.List(r.Context(), s.DB)
	if err != nil {
		return err
	}
	s.renderAdmin(w, r, http.StatusOK, "admin-webhooks", "Webhooks", "webhooks", webhooksView{Endpoints: es, Events: vend.WebhookEvents()})
	return nil
}

// formFields reads an endpoint form: url, description, one event checkbox
// per event.
func formFields(r *http.Request) webhook.Fields {
	if err := r.ParseForm(); err != nil {
		return webhook.Fields{}
	}
	events := r.PostForm["event"]
	if events == nil {
		events = []string{}
	}
	return webhook.Fields{URL: r.PostFormValue("url"), Description: r.PostFormValue("description"), Events: events}
}

func (s webhookAdmin) handleCreate(w http.ResponseWriter, r *http.Request) error {
	actor, _ := adminActor(r.Context())
	e, err := webhook.Create(context.WithoutCancel(r.Context()), s.DB, actor, formFields(r))
	if err != nil {
		return err
	}
	redirectDone(w, r, "/admin/webhooks/"+strconv.FormatInt(e.ID, 10), "webhook-create")
	return nil
}

type webhookView struct {
	*webhook.Detail
	Events     []vend.WebhookEvent
	Deliveries []*vend.WebhookDelivery
	Status     string
	Next       string
}

func (s webhookAdmin) handleEndpoint(w http.ResponseWriter, r *http.Request) error {
	id, err := pathInt(r, "id", "webhook endpoint")
	if err != nil {
		return err
	}
	d, err := webhook.Find(r.Context(), s.DB, id, s.Now())
	if err != nil {
		return err
	}
	f, err := deliveriesQuery(id, r.URL.Query())
	if err != nil {
		return err
	}
	v := webhookView{Detail: d, Events: vend.WebhookEvents(), Status: r.URL.Query().Get("status")}
	if v.Deliveries, err = webhook.Deliveries(r.Context(), s.DB, f); err != nil {
		return err
	}
	if len(v.Deliveries) == deliveriesPerPage {
		next := url.Values{"before": {strconv.FormatInt(v.Deliveries[len(v.Deliveries)-1].ID, 10)}}
		if v.Status != "" {
			next.Set("status", v.Status)
		}
		v.Next = "/admin/webhooks/" + strconv.FormatInt(id, 10) + "?" + next.Encode()
	}
	s.renderAdmin(w, r, http.StatusOK, "admin-webhook", "Webhook endpoint", "webhooks", v)
	return nil
}

func (s webhookAdmin) handleEdit(w http.ResponseWriter, r *http.Request) error {
	id, err := pathInt(r, "id", "webhook endpoint")
	if err != nil {
		return err
	}
	actor, _ := adminActor(r.Context())
	f := formFields(r)
	if _, err := webhook.Change(context.WithoutCancel(r.Context()), s.DB, actor, id, "", &f, s.Now()); err != nil {
		return err
	}
	redirectDone(w, r, "/admin/webhooks/"+strconv.FormatInt(id, 10), "webhook-update")
	return nil
}

// handleAction applies enable, disable, rotate or delete; rotate and delete
// want their box ticked.
func (s webhookAdmin) handleAction(w http.ResponseWriter, r *http.Request) error {
	id, err := pathInt(r, "id", "webhook endpoint")
	if err != nil {
		return err
	}
	action := webhook.Action(r.PathValue("action"))
	if (action == webhook.Rotate || action == webhook.Delete) && r.PostFormValue("confirm") != "yes" {
		return vend.Errorf(vend.EINVALID, "Tick the box to confirm.")
	}
	actor, _ := adminActor(r.Context())
	if _, err := webhook.Change(context.WithoutCancel(r.Context()), s.DB, actor, id, action, nil, s.Now()); err != nil {
		return err
	}
	if action == webhook.Delete {
		redirectDone(w, r, "/admin/webhooks", "webhook-delete")
		return nil
	}
	redirectDone(w, r, "/admin/webhooks/"+strconv.FormatInt(id, 10), "webhook-"+string(action))
	return nil
}

func (s webhookAdmin) handleDelivery(w http.ResponseWriter, r *http.Request) error {
	rec, err := s.endpointDelivery(r)
	if err != nil {
		return err
	}
	s.renderAdmin(w, r, http.StatusOK, "admin-webhook-delivery", "Webhook delivery", "webhooks", rec)
	return nil
}

// replay queues the delivery the path names again, as the signed-in
// administrator.
func (s webhookAdmin) replay(r *http.Request) (*vend.WebhookDelivery, error) {
	rec, err := s.endpointDelivery(r)
	if err != nil {
		return nil, err
	}
	actor, _ := adminActor(r.Context())
	return webhook.Replay(context.WithoutCancel(r.Context()), s.DB, actor, rec.ID)
}

func (s webhookAdmin) handleReplay(w http.ResponseWriter, r *http.Request) error {
	d, err := s.replay(r)
	if err != nil {
		return err
	}
	redirectDone(w, r, "/admin/webhooks/"+strconv.FormatInt(d.EndpointID, 10)+"/deliveries/"+strconv.FormatInt(d.ID, 10), "webhook-replay")
	return nil
}

// The JSON API.

func (s webhookAdmin) handleAPIList(w http.ResponseWriter, r *http.Request) error {
	es, err := webhook.List(r.Context(), s.DB)
	if err != nil {
		return err
	}
	apiJSON(w, struct {
		Endpoints []*vend.WebhookEndpoint `json:"endpoints"`
	}{es})
	return nil
}

func decodeFields(w http.ResponseWriter, r *http.Request) (webhook.Fields, error) {
	var f webhook.Fields
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&f); err != nil {
		return f, vend.Errorf(vend.EINVALID, `The body must be {"url": "https://…", "events": ["order.paid", …], "description": "…"}.`)
	}
	return f, nil
}

func (s webhookAdmin) handleAPICreate(w http.ResponseWriter, r *http.Request) error {
	f, err := decodeFields(w, r)
	if err != nil {
		return err
	}
	if f.Events == nil {
		f.Events = []string{}
	}
	actor, _ := adminActor(r.Context())
	e, err := webhook.Create(context.WithoutCancel(r.Context()), s.DB, actor, f)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/webhooks/"+strconv.FormatInt(e.ID, 10))
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, webhook.DetailOf(e, s.Now()))
	return nil
}

func (s webhookAdmin) handleAPIEndpoint(w http.ResponseWriter, r *http.Request) error {
	id, err := pathInt(r, "id", "webhook endpoint")
	if err != nil {
		return err
	}
	d, err := webhook.Find(r.Context(), s.DB, id, s.Now())
	if err != nil {
		return err
	}
	apiJSON(w, d)
	return nil
}

// handleAPIEdit: POST /api/v1/webhooks/{id} with the fields to change; a
// field left out keeps its value (events too).
func (s webhookAdmin) handleAPIEdit(w http.ResponseWriter, r *http.Request) error {
	id, err := pathInt(r, "id", "webhook endpoint")
	if err != nil {
		return err
	}
	var body struct {
		URL         string   `json:"url"`
		Description *string  `json:"description"`
		Events      []string `json:"events"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&body); err != nil {
		return vend.Errorf(vend.EINVALID, `The body must be {"url": …, "events": […], "description": …}, each optional.`)
	}
	cur, err := webhook.Find(r.Context(), s.DB, id, s.Now())
	if err != nil {
		return err
	}
	f := webhook.Fields{URL: body.URL, Description: cur.Description, Events: body.Events}
	if body.Description != nil {
		f.Description = *body.Description
	}
	actor, _ := adminActor(r.Context())
	e, err := webhook.Change(context.WithoutCancel(r.Context()), s.DB, actor, id, "", &f, s.Now())
	if err != nil {
		return err
	}
	apiJSON(w, webhook.DetailOf(e, s.Now()))
	return nil
}

func (s webhookAdmin) handleAPIDelete(w http.ResponseWriter, r *http.Request) error {
	r.SetPathValue("action", string(webhook.Delete))
	return s.handleAPIAction(w, r)
}

// handleAPIAction: POST /api/v1/webhooks/{id}/{action}: enable, disable,
// rotate (DELETE the endpoint to delete it).
func (s webhookAdmin) handleAPIAction(w http.ResponseWriter, r *http.Request) error {
	id, err := pathInt(r, "id", "webhook endpoint")
	if err != nil {
		return err
	}
	actor, _ := adminActor(r.Context())
	e, err := webhook.Change(context.WithoutCancel(r.Context()), s.DB, actor, id, webhook.Action(r.PathValue("action")), nil, s.Now())
	if err != nil {
		return err
	}
	if e == nil {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	apiJSON(w, webhook.DetailOf(e, s.Now()))
	return nil
}

func (s webhookAdmin) handleAPIDeliveries(w http.ResponseWriter, r *http.Request) error {
	id, err := pathInt(r, "id", "webhook endpoint")
	if err != nil {
		return err
	}
	if _, err := webhook.Find(r.Context(), s.DB, id, s.Now()); err != nil {
		return err
	}
	f, err := deliveriesQuery(id, r.URL.Query())
	if err != nil {
		return err
	}
	if f.Limit, err = apiLimit(r.URL.Query().Get("limit")); err != nil {
		return err
	}
	ds, err := webhook.Deliveries(r.Context(), s.DB, f)
	if err != nil {
		return err
	}
	out := struct {
		Deliveries []*vend.WebhookDelivery `json:"deliveries"`
		NextBefore int64                   `json:"next_before,omitempty"`
	}{Deliveries: ds}
	if len(ds) == f.Limit {
		out.NextBefore = ds[len(ds)-1].ID
	}
	apiJSON(w, out)
	return nil
}

func (s webhookAdmin) handleAPIDelivery(w http.ResponseWriter, r *http.Request) error {
	rec, err := s.endpointDelivery(r)
	if err != nil {
		return err
	}
	apiJSON(w, rec)
	return nil
}

func (s webhookAdmin) handleAPIReplay(w http.ResponseWriter, r *http.Request) error {
	d, err := s.replay(r)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, d)
	return nil
}
