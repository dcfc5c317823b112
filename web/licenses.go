package web

import (
	"bytes"
	"encoding/json"
	"mime"
	"net/http"
	"net/url"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/delivery"
	"github.com/vend-shop/vend/license"
)

// licenseAPI is the public licence API, compatible with Lemon Squeezy's
// License API: POST /v1/licenses/activate, validate and deactivate with
// form-encoded or JSON bodies, answered in its JSON shapes, so existing
// client code works by changing its base URL (docs/licenses.md).
type licenseAPI struct{ *Server }

// The API's default budget per client address (Server.LicensePerMinute,
// LicenseBurst): Lemon Squeezy's 60 a minute, with a burst for an app that
// checks several keys at start.
const (
	DefaultLicensePerMinute = 60
	DefaultLicenseBurst     = 30
	// maxLicenseBody bounds a request: three short fields.
	maxLicenseBody = 4 << 10
)

// licenseRequest is the fields a request may carry.
type licenseRequest struct {
	Key          string `json:"license_key"`
	InstanceName string `json:"instance_name"`
	InstanceID   string `json:"instance_id"`
}

// decodeLicenseRequest reads a form-encoded or JSON body, as Lemon Squeezy's
// clients send either.
func decodeLicenseRequest(contentType string, body []byte) (licenseRequest, error) {
	var req licenseRequest
	mt, _, _ := mime.ParseMediaType(contentType)
	if mt == "application/json" {
		dec := json.NewDecoder(bytes.NewReader(body))
		if err := dec.Decode(&req); err != nil {
			return req, vend.Errorf(vend.EUNPROCESSABLE, "The body is not a JSON object of license_key, instance_name and instance_id.")
		}
		return req, nil
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return req, vend.Errorf(vend.EUNPROCESSABLE, "The body is not a form of license_key, instance_name and instance_id.")
	}
	return licenseRequest{Key: form.Get("license_key"), InstanceName: form.Get("instance_name"), InstanceID: form.Get("instance_id")}, nil
}

// licenseKeyJSON, instanceJSON and metaJSON are Lemon Squeezy's objects.
type licenseKeyJSON struct {
	ID              int64   `json:"id"`
	Status          string  `json:"status"`
	Key             string  `json:"key"`
	ActivationLimit *int    `json:"activation_limit"` // null: unlimited
	ActivationUsage int     `json:"activation_usage"`
	CreatedAt       string  `json:"created_at"`
	ExpiresAt       *string `json:"expires_at"`
	TestMode        bool    `json:"test_mode"`
}

type instanceJSON struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	CreatedAt string `json:"created_at"`
}

type metaJSON struct {
	StoreID       int64   `json:"store_id"`
	OrderID       int64   `json:"order_id"`
	OrderItemID   int64   `json:"order_item_id"`
	ProductID     int64   `json:"product_id"`
	ProductName   string  `json:"product_name"`
	VariantID     int64   `json:"variant_id"`
	VariantName   string  `json:"variant_name"`
	CustomerID    int64   `json:"customer_id"`
	CustomerName  string  `json:"customer_name"`
	CustomerEmail string  `json:"customer_email"`
	VendProductID string  `json:"vend_product_id"`
	UpdatesUntil  *string `json:"updates_until"`
	// SignedLicense is the licence to check offline (license.Verify), for a
	// valid key.
	SignedLicense string `json:"signed_license,omitempty"`
}

// licenseAnswer is every answer's body; the operation's own flag
// (activated, valid, deactivated) is added by its handler.
type licenseAnswer struct {
	Activated   *bool           `json:"activated,omitempty"`
	Valid       *bool           `json:"valid,omitempty"`
	Deactivated *bool           `json:"deactivated,omitempty"`
	Error       *string         `json:"error"`
	LicenseKey  *licenseKeyJSON `json:"license_key"`
	Instance    *instanceJSON   `json:"instance"`
	Meta        *metaJSON       `json:"meta"`
}

// lsTime is Lemon Squeezy's timestamp shape: UTC, microseconds.
func lsTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z") }

func answerOf(a *license.Answer) licenseAnswer {
	var out licenseAnswer
	if a == nil {
		return out
	}
	l := a.License
	k := &licenseKeyJSON{ID: l.ID, Status: string(a.Status), Key: l.Key, ActivationUsage: l.Activations,
		CreatedAt: lsTime(l.CreatedAt), TestMode: a.Order != nil && a.Order.Test}
	if l.ActivationLimit != vend.Unlimited {
		n := l.ActivationLimit
		k.ActivationLimit = &n
	}
	if !l.ExpiresAt.IsZero() {
		s := lsTime(l.ExpiresAt)
		k.ExpiresAt = &s
	}
	out.LicenseKey = k
	if in := a.Instance; in != nil {
		out.Instance = &instanceJSON{ID: in.InstanceID, Name: in.Name, CreatedAt: lsTime(in.CreatedAt)}
	}
	m := &metaJSON{StoreID: 1, OrderID: l.OrderID, OrderItemID: l.ItemID, ProductID: license.ProductNumber(l.ProductID),
		VariantID: license.ProductNumber(l.ProductID), VariantName: "Default", VendProductID: l.ProductID, SignedLicense: a.Signed}
	if a.Product != nil {
		m.ProductName = a.Product.Name
	}
	if a.Order != nil {
		m.CustomerName, m.CustomerEmail = a.Order.Buyer.Name, a.Order.Buyer.Email
	}
	if a.Grant != nil && !a.Grant.UpdatesUntil.IsZero() {
		s := lsTime(a.Grant.UpdatesUntil)
		m.UpdatesUntil = &s
	}
	out.Meta = m
	return out
}

// licenseOp is one operation of the API: what it does with the request, and
// how its answer says it went.
type licenseOp struct {
	do   func(r *http.Request, req licenseRequest) (*license.Answer, error)
	flag func(*licenseAnswer, bool)
	// judges: the answer's flag says whether the key is valid (validate),
	// not only whether the operation was done.
	judges bool
}

func (s licenseAPI) activate() licenseOp {
	return licenseOp{
		do: func(r *http.Request, req licenseRequest) (*license.Answer, error) {
			return s.Licenses.Activate(r.Context(), req.Key, req.InstanceName, delivery.ClientIP(r))
		},
		flag: func(a *licenseAnswer, ok bool) { a.Activated = &ok },
	}
}

func (s licenseAPI) validate() licenseOp {
	return licenseOp{
		do: func(r *http.Request, req licenseRequest) (*license.Answer, error) {
			return s.Licenses.Validate(r.Context(), req.Key, req.InstanceID)
		},
		flag:   func(a *licenseAnswer, ok bool) { a.Valid = &ok },
		judges: true,
	}
}

func (s licenseAPI) deactivate() licenseOp {
	return licenseOp{
		do: func(r *http.Request, req licenseRequest) (*license.Answer, error) {
			return s.Licenses.Deactivate(r.Context(), req.Key, req.InstanceID)
		},
		flag: func(a *licenseAnswer, ok bool) { a.Deactivated = &ok },
	}
}

// handle adapts an operation: the budget, the body, the answer. A valid
// answer of validate is "valid": true; a key that is disabled or expired is
// 200 with "valid": false and the reason in "error".
func (s licenseAPI) handle(op licenseOp) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		allowAnyOrigin(w)
		if !s.licenseLimiter.allow(r.RemoteAddr, s.Now()) {
			s.refused("license")
			w.Header().Set("Retry-After", "10")
			s.licenseReply(w, http.StatusTooManyRequests, licenseAnswer{}, op, errTooManyLicenseRequests)
			return
		}
		body, err := readBody(w, r, maxLicenseBody)
		if err != nil {
			s.licenseReply(w, vend.HTTPStatus(err), licenseAnswer{}, op, err)
			return
		}
		req, err := decodeLicenseRequest(r.Header.Get("Content-Type"), body)
		if err != nil {
			s.licenseReply(w, vend.HTTPStatus(err), licenseAnswer{}, op, err)
			return
		}
		a, err := op.do(r, req)
		out := answerOf(a)
		switch {
		case err != nil:
			if vend.HTTPStatus(err) >= http.StatusInternalServerError {
				s.Logger.ErrorContext(r.Context(), "licence API failed", "route", r.Pattern, "error", err)
			}
			s.licenseReply(w, vend.HTTPStatus(err), out, op, err)
		case op.judges && !a.Status.Valid():
			s.licenseReply(w, http.StatusOK, out, op, refusalOf(a.Status))
		default:
			s.licenseReply(w, http.StatusOK, out, op, nil)
		}
	}
}

// errTooManyLicenseRequests is the answer past a client address's budget.
var errTooManyLicenseRequests = vend.Errorf(vend.EINVALID, "Too many requests from this address; try again in a minute.")

// refusalOf says why a key of status st is not valid.
func refusalOf(st vend.LicenseStatus) error {
	if st == vend.LicenseExpired {
		return vend.Errorf(vend.EINVALID, "This license key has expired.")
	}
	return vend.Errorf(vend.EINVALID, "This license key is disabled.")
}

// licenseReply writes an answer with status: the operation's flag true only
// without err, and err's public words (a vend error's message; "Internal
// error." for any other).
func (s licenseAPI) licenseReply(w http.ResponseWriter, status int, a licenseAnswer, op licenseOp, err error) {
	op.flag(&a, err == nil)
	if err != nil {
		msg := vend.ErrorMessage(err)
		a.Error = &msg
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, status, a)
}

// allowAnyOrigin lets software in a browser (a web app, an extension) call
// the API: it carries no cookies and answers only to the key's holder.
func allowAnyOrigin(w http.ResponseWriter) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
}

// handlePreflight answers a browser's CORS preflight for the API.
func handlePreflight(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	allowAnyOrigin(w)
	h.Set("Access-Control-Allow-Methods", "POST")
	h.Set("Access-Control-Allow-Headers", "Content-Type, Accept")
	h.Set("Access-Control-Max-Age", "86400")
	w.WriteHeader(http.StatusNoContent)
}

// handlePublicKey answers the key signed licences are checked with (PEM).
func (s licenseAPI) handlePublicKey(w http.ResponseWriter, r *http.Request) {
	if s.Licenses == nil || s.Licenses.Signer == nil {
		http.NotFound(w, r)
		return
	}
	allowAnyOrigin(w)
	w.Header().Set("Content-Type", "application/x-pem-file")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Write(s.Licenses.Signer.PublicKeyPEM())
}
