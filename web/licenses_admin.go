package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/license"
	"github.com/vend-shop/vend/store"
)

// licenseAdmin is the admin's licence keys: the list (by product, or the
// key a seller pastes), a key with its activations, and what can be done to
// it; the same in the JSON API.
type licenseAdmin struct{ *Server }

const licensesPerPage = 50

// licensesQuery reads the list's query: key (one key, found by its hash),
// product, before (paging).
func (s licenseAdmin) licensesQuery(ctx context.Context, q url.Values) (store.LicenseFilter, int64, error) {
	f := store.LicenseFilter{Limit: licensesPerPage}
	if p := strings.TrimSpace(q.Get("product")); p != "" {
		f.ProductID = &p
	}
	if b := q.Get("before"); b != "" {
		var err error
		if f.Before, err = strconv.ParseInt(b, 10, 64); err != nil {
			return f, 0, vend.Errorf(vend.EINVALID, "before: a licence id.")
		}
	}
	if k := strings.TrimSpace(q.Get("key")); k != "" {
		id, err := license.FindKey(ctx, s.DB, k)
		return f, id, err
	}
	return f, 0, nil
}

type licensesView struct {
	Key, Product string
	Licenses     []license.Detail
	Next         string
	NotFound     bool
}

func (s licenseAdmin) handleAdminLicenses(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f, id, err := s.licensesQuery(r.Context(), q)
	v := licensesView{Key: q.Get("key"), Product: q.Get("product")}
	switch {
	case vend.ErrorCode(err) == vend.ENOTFOUND:
		v.NotFound = true
	case err != nil:
		return err
	case id != 0: // a pasted key: straight to it
		http.Redirect(w, r, "/admin/licenses/"+strconv.FormatInt(id, 10), http.StatusSeeOther)
		return nil
	default:
		if v.Licenses, err = license.List(r.Context(), s.DB, f, s.Now()); err != nil {
			return err
		}
		if len(v.Licenses) == licensesPerPage {
			next := url.Values{"before": {strconv.FormatInt(v.Licenses[len(v.Licenses)-1].ID, 10)}}
			if v.Product != "" {
				next.Set("product", v.Product)
			}
			v.Next = "/admin/licenses?" + next.Encode()
		}
	}
	s.renderAdmin(w, r, http.StatusOK, "admin-licenses", "Licence keys", "licenses", v)
	return nil
}

func licenseID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return 0, vend.Errorf(vend.ENOTFOUND, "No such licence key.")
	}
	return id, nil
}

func (s licenseAdmin) handleAdminLicense(w http.ResponseWriter, r *http.Request) error {
	id, err := licenseID(r)
	if err != nil {
		return err
	}
	rec, err := license.FindRecord(r.Context(), s.DB, id, s.Now())
	if err != nil {
		return err
	}
	s.renderAdmin(w, r, http.StatusOK, "admin-license", "Licence key", "licenses", rec)
	return nil
}

// handleAdminLicenseAction applies a form's action: disable, enable, reset,
// limit (with limit: a number or unlimited).
func (s licenseAdmin) handleAdminLicenseAction(w http.ResponseWriter, r *http.Request) error {
	id, err := licenseID(r)
	if err != nil {
		return err
	}
	action := license.Action(r.PathValue("action"))
	if (action == license.Disable || action == license.Reset) && r.PostFormValue("confirm") != "yes" {
		return vend.Errorf(vend.EINVALID, "Tick the box to confirm: the buyer's software is affected.")
	}
	limit := 0
	if action == license.Limit {
		if limit, err = vend.ParseLimit(r.PostFormValue("limit")); err != nil {
			return vend.Errorf(vend.EINVALID, "Activation limit: use a positive number or unlimited.")
		}
	}
	actor, _ := adminActor(r.Context())
	if _, err := license.Change(context.WithoutCancel(r.Context()), s.DB, actor, id, action, limit, s.Now()); err != nil {
		return err
	}
	redirectDone(w, r, "/admin/licenses/"+strconv.FormatInt(id, 10), "license-"+string(action))
	return nil
}

// handleAPILicenses answers GET /api/v1/licenses: key, product, before, limit.
func (s licenseAdmin) handleAPILicenses(w http.ResponseWriter, r *http.Request) error {
	f, id, err := s.licensesQuery(r.Context(), r.URL.Query())
	if err != nil {
		return err
	}
	if f.Limit, err = apiLimit(r.URL.Query().Get("limit")); err != nil {
		return err
	}
	out := struct {
		Licenses   []license.Detail `json:"licenses"`
		NextBefore int64            `json:"next_before,omitempty"`
	}{Licenses: []license.Detail{}}
	if id != 0 {
		rec, err := license.FindRecord(r.Context(), s.DB, id, s.Now())
		if err != nil {
			return err
		}
		out.Licenses = append(out.Licenses, rec.Detail)
	} else if ls, err := license.List(r.Context(), s.DB, f, s.Now()); err != nil {
		return err
	} else if len(ls) > 0 {
		out.Licenses = ls
		if len(ls) == f.Limit {
			out.NextBefore = ls[len(ls)-1].ID
		}
	}
	apiJSON(w, out)
	return nil
}

func (s licenseAdmin) handleAPILicense(w http.ResponseWriter, r *http.Request) error {
	id, err := licenseID(r)
	if err != nil {
		return err
	}
	rec, err := license.FindRecord(r.Context(), s.DB, id, s.Now())
	if err != nil {
		return err
	}
	apiJSON(w, rec)
	return nil
}

// handleAPILicenseAction: POST /api/v1/licenses/{id}/{action}, for limit with
// {"limit": n} (-1: unlimited).
func (s licenseAdmin) handleAPILicenseAction(w http.ResponseWriter, r *http.Request) error {
	id, err := licenseID(r)
	if err != nil {
		return err
	}
	action := license.Action(r.PathValue("action"))
	var body struct {
		Limit *int `json:"limit"`
	}
	if action == license.Limit {
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Limit == nil {
			return vend.Errorf(vend.EINVALID, `The body must be {"limit": <n or -1>}.`)
		}
	}
	actor, _ := adminActor(r.Context())
	var limit int
	if body.Limit != nil {
		limit = *body.Limit
	}
	rec, err := license.Change(context.WithoutCancel(r.Context()), s.DB, actor, id, action, limit, s.Now())
	if err != nil {
		return err
	}
	apiJSON(w, rec)
	return nil
}
