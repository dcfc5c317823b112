package web

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/catalog"
	"github.com/vend-shop/vend/ledger"
	"github.com/vend-shop/vend/store"
)

// productAdmin serves the admin's product pages and the API's product routes:
// the catalog, files and uploads, new-version releases.
type productAdmin struct{ *Server }

// handleAPIProducts lists the catalog.
func (s productAdmin) handleAPIProducts(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	var products []*vend.Product
	err := s.DB.View(ctx, func(tx store.Tx) error {
		var err error
		products, err = tx.FindProducts(ctx)
		return err
	})
	if err != nil {
		return err
	}
	if products == nil {
		products = []*vend.Product{}
	}
	apiJSON(w, map[string]any{"products": products})
	return nil
}

// handleAPIProduct answers a product with every file version it had.
func (s productAdmin) handleAPIProduct(w http.ResponseWriter, r *http.Request) error {
	return s.answerProduct(w, r, r.PathValue("id"))
}

func (s productAdmin) answerProduct(w http.ResponseWriter, r *http.Request, id string) error {
	v, err := s.productView(r.Context(), id)
	if err != nil {
		return err
	}
	versions := make([]*vend.File, len(v.Versions))
	for i, f := range v.Versions {
		versions[i] = f.File
	}
	apiJSON(w, map[string]any{"product": v.Product, "versions": versions})
	return nil
}

// handleAPISaveProduct creates a product (POST /api/v1/products, with "id")
// or changes the fields a body names (POST /api/v1/products/{id}). Fields
// are written as in the admin's form: {"price": "19.95", "download_limit":
// "unlimited", "lifetime": "30d"}.
func (s productAdmin) handleAPISaveProduct(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	var body struct {
		ID string `json:"id"`
		catalog.Fields
	}
	if err := decodeAPIBody(w, r, &body); err != nil {
		return err
	}
	ctx = context.WithoutCancel(ctx)
	actor, _ := adminActor(ctx)
	var p *vend.Product
	var err error
	if id := r.PathValue("id"); id != "" {
		if body.ID != "" && body.ID != id {
			err = vend.Errorf(vend.EINVALID, "A product's id does not change (%s).", id)
		} else {
			p, err = catalog.EditProduct(ctx, s.DB, actor, id, body.Fields)
		}
	} else {
		p = catalog.NewProduct(body.ID)
		if err = body.Fields.Apply(p); err == nil {
			err = catalog.CreateProduct(ctx, s.DB, actor, p)
		}
	}
	if err != nil {
		return err
	}
	return s.answerProduct(w, r, p.ID)
}

// handleAPIUpload streams the request body into storage as the file {name}
// and adds it to the product's files, or with ?replace=true makes it the only
// one. `curl -T book.pdf …/files/` names the file for you.
func (s productAdmin) handleAPIUpload(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id := r.PathValue("id")
	replace, err := apiBool(r.URL.Query().Get("replace"))
	if err != nil {
		return vend.Errorf(vend.EINVALID, "replace: true or false.")
	}
	name := r.PathValue("name")
	if err := catalog.ValidateFileName(name); err != nil {
		return err
	}
	// Refuse before reading gigabytes for a product that is not there.
	if _, err := s.findProduct(ctx, id); err != nil {
		return err
	}
	_ = http.NewResponseController(w).SetReadDeadline(time.Time{}) // as the admin's upload
	info, err := s.Blobs.Put(ctx, r.Body)
	var tooBig *http.MaxBytesError
	if err != nil && (ctx.Err() != nil || errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, &tooBig)) {
		err = vend.Errorf(vend.EINVALID, "The upload broke off.")
	}
	if err != nil {
		return err // storage's own failure: a logged 500
	}
	f := &vend.File{Name: name, Key: info.Key, Size: info.Size, SHA256: info.SHA256}
	actor, _ := adminActor(ctx)
	if err := catalog.AddFile(context.WithoutCancel(ctx), s.DB, actor, id, f, replace); err != nil {
		return err
	}
	return s.answerProduct(w, r, id)
}

// handleAPIFile retires a current file or restores an earlier version.
func (s productAdmin) handleAPIFile(w http.ResponseWriter, r *http.Request) error {
	if err := s.changeFile(r); err != nil {
		return err
	}
	return s.answerProduct(w, r, r.PathValue("id"))
}

// handleAPIStartRelease starts a new-version release of a product: POST
// /api/v1/products/{id}/releases with {"version", "notify", "reset_limits",
// "renewal"}.
// It runs in the background; GET /api/v1/releases/{id} follows it.
func (s productAdmin) handleAPIStartRelease(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Version string `json:"version"`
		Notify  bool   `json:"notify"`
		Reset   bool   `json:"reset_limits"`
		Renewal bool   `json:"renewal"`
	}
	if err := decodeAPIBody(w, r, &body); err != nil {
		return err
	}
	actor, _ := adminActor(r.Context())
	rel, err := s.Ledger.StartRelease(context.WithoutCancel(r.Context()), actor, r.PathValue("id"),
		ledger.ReleaseOptions{Version: body.Version, Notify: body.Notify, Reset: body.Reset, Renewal: body.Renewal})
	if err != nil {
		return err
	}
	s.runRelease(rel.ID)
	w.Header().Set("Location", "/api/v1/releases/"+strconv.FormatInt(rel.ID, 10))
	apiJSON(w, rel)
	return nil
}

func (s productAdmin) handleAPIRelease(w http.ResponseWriter, r *http.Request) error {
	rel, err := findByPathID(s.Server, r, "release", store.Tx.FindRelease)
	if err != nil {
		return err
	}
	apiJSON(w, rel)
	return nil
}

// productsView is the catalog's page.
type productsView struct {
	Products  []*vend.Product
	Completed map[string]int
}

func (s productAdmin) handleAdminProducts(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	var v productsView
	err := s.DB.View(ctx, func(tx store.Tx) error {
		var err error
		if v.Products, err = tx.FindProducts(ctx); err != nil {
			return err
		}
		v.Completed, err = tx.CompletedDownloads(ctx)
		return err
	})
	if err != nil {
		return err
	}
	s.renderAdmin(w, r, http.StatusOK, "admin-products", "Products", "products", v)
	return nil
}

type productView struct {
	Product  *vend.Product
	New      bool
	Problem  string
	Versions []fileVersion
	// UnusedKeys and WaitingItems: a product whose licence keys come from
	// the seller's list, how many are left and how many purchases wait.
	UnusedKeys, WaitingItems int
}

type fileVersion struct {
	*vend.File
	Current bool
}

func (s productAdmin) productView(ctx context.Context, id string) (*productView, error) {
	v := &productView{}
	err := s.DB.View(ctx, func(tx store.Tx) error {
		var err error
		if v.Product, err = tx.FindProductByID(ctx, id); err != nil {
			return err
		}
		all, err := tx.FindFileVersions(ctx, id)
		if err != nil {
			return err
		}
		for _, f := range all {
			v.Versions = append(v.Versions, fileVersion{File: f, Current: isCurrent(v.Product, f.ID)})
		}
		if v.Product.License.Mode != vend.LicenseList {
			return nil
		}
		if v.UnusedKeys, err = tx.CountPoolKeys(ctx, id); err != nil {
			return err
		}
		waiting, err := tx.FindWaitingItems(ctx, id, 1000)
		v.WaitingItems = len(waiting)
		return err
	})
	return v, err
}

// maxKeyListBody bounds an upload of licence keys: vend.MaxKeyList keys of
// some 80 bytes.
const maxKeyListBody = 8 << 20

// handleAdminKeys adds the keys of the form's list (one a line, pasted or
// uploaded as a text file) to a product's unused keys; waiting buyers get
// theirs at once.
func (s productAdmin) handleAdminKeys(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	body, err := readBody(w, r, maxKeyListBody)
	if err != nil {
		return err
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return vend.Errorf(vend.EINVALID, "Bad form.")
	}
	keys, err := vend.ParseKeyList(strings.NewReader(form.Get("keys")))
	if err != nil {
		return err
	}
	actor, _ := adminActor(r.Context())
	res, err := s.Ledger.ImportLicenseKeys(context.WithoutCancel(r.Context()), actor, id, keys)
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/admin/products/"+url.PathEscape(id)+"?"+url.Values{"done": {"keys"},
		"added": {strconv.Itoa(res.Added)}, "assigned": {strconv.Itoa(res.Assigned)}}.Encode(), http.StatusSeeOther)
	return nil
}

// handleAPIKeys: POST /api/v1/products/{id}/license-keys with the list as a
// text body, one key a line; answers what it did (ledger.KeyImport).
func (s productAdmin) handleAPIKeys(w http.ResponseWriter, r *http.Request) error {
	body, err := readBody(w, r, maxKeyListBody)
	if err != nil {
		return err
	}
	keys, err := vend.ParseKeyList(bytes.NewReader(body))
	if err != nil {
		return err
	}
	actor, _ := adminActor(r.Context())
	res, err := s.Ledger.ImportLicenseKeys(context.WithoutCancel(r.Context()), actor, r.PathValue("id"), keys)
	if err != nil {
		return err
	}
	apiJSON(w, res)
	return nil
}

func isCurrent(p *vend.Product, fileID int64) bool {
	for _, f := range p.Files {
		if f.ID == fileID {
			return true
		}
	}
	return false
}

func (s productAdmin) handleAdminProductForm(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if id == "" {
		s.renderAdmin(w, r, http.StatusOK, "admin-product", "New product", "products", &productView{New: true,
			Product: catalog.NewProduct("")})
		return nil
	}
	v, err := s.productView(r.Context(), id)
	if err != nil {
		return err
	}
	s.renderAdmin(w, r, http.StatusOK, "admin-product", v.Product.Name, "products", v)
	return nil
}

// handleAdminProductSave creates a product or saves its fields (its files stay).
func (s productAdmin) handleAdminProductSave(w http.ResponseWriter, r *http.Request) error {
	ctx := context.WithoutCancel(r.Context())
	id := r.PathValue("id")
	actor, _ := adminActor(ctx)
	var p *vend.Product
	err := r.ParseForm()
	if err != nil {
		err = vend.Errorf(vend.EINVALID, "Bad form.")
	}
	f := r.PostForm
	fields := catalog.Fields{Name: f.Get("name"), Price: f.Get("price"), Currency: f.Get("currency"), Limit: f.Get("limit"), Lifetime: f.Get("lifetime"),
		License: f.Get("license"), ActivationLimit: f.Get("activation_limit"), LicenseLength: f.Get("license_length"),
		KeyFormat: orDefault(f.Get("key_format")), LowStock: f.Get("low_stock"), UpdatesFor: f.Get("updates_for"),
		RenewURL: orNone(f.Get("renew_url"))}
	switch {
	case err != nil:
	case id == "":
		p = catalog.NewProduct(f.Get("id"))
		if err = fields.Apply(p); err == nil {
			err = catalog.CreateProduct(ctx, s.DB, actor, p)
		}
	default:
		p, err = catalog.EditProduct(ctx, s.DB, actor, id, fields)
	}
	if c := vend.ErrorCode(err); p != nil && (c == vend.EINVALID || c == vend.ECONFLICT) {
		s.renderAdmin(w, r, http.StatusBadRequest, "admin-product", "Product", "products",
			&productView{New: id == "", Product: p, Problem: vend.ErrorMessage(err)})
		return nil
	} else if err != nil {
		return err
	}
	redirectDone(w, r, "/admin/products/"+p.ID, "product")
	return nil
}

// orDefault and orNone read an emptied form field as "back to the default"
// and "none": a form sends every field, and an empty one means the seller
// cleared it, where the API and the CLI leave what they do not name.
func orDefault(v string) string {
	if strings.TrimSpace(v) == "" {
		return "default"
	}
	return v
}

func orNone(v string) string {
	if strings.TrimSpace(v) == "" {
		return "none"
	}
	return v
}

func (s productAdmin) findProduct(ctx context.Context, id string) (*vend.Product, error) {
	var p *vend.Product
	err := s.DB.View(ctx, func(tx store.Tx) error {
		var err error
		p, err = tx.FindProductByID(ctx, id)
		return err
	})
	return p, err
}

// handleAdminUpload streams an uploaded file into storage, hashing it on the
// way, and adds it to the product's files, or (mode=replace) makes it the
// product's only file: a new version. Nothing is held in memory, so the size
// is the storage's limit, not vend's.
func (s productAdmin) handleAdminUpload(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id := r.PathValue("id")
	// A large upload on a slow line takes longer than the server's read timeout.
	_ = http.NewResponseController(w).SetReadDeadline(time.Time{})
	mr, err := r.MultipartReader()
	if err != nil {
		return vend.Errorf(vend.EINVALID, "Send the file as a form upload (multipart/form-data).")
	}
	var replace bool
	var file *vend.File
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return vend.Errorf(vend.EINVALID, "The upload broke off.")
		}
		switch part.FormName() {
		case "mode":
			b, _ := io.ReadAll(io.LimitReader(part, 16))
			replace = string(b) == "replace"
		case "file":
			if file, err = s.storeUpload(ctx, part); err != nil {
				return err
			}
		}
		part.Close()
	}
	if file == nil {
		return vend.Errorf(vend.EINVALID, "Choose a file to upload.")
	}
	actor, _ := adminActor(ctx)
	err = catalog.AddFile(context.WithoutCancel(ctx), s.DB, actor, id, file, replace)
	if err != nil {
		return err
	}
	redirectDone(w, r, "/admin/products/"+id, "upload")
	return nil
}

// storeUpload puts one uploaded file into storage, once its name passed the
// catalog's rule: a refused name stores nothing.
func (s productAdmin) storeUpload(ctx context.Context, part *multipart.Part) (*vend.File, error) {
	name := part.FileName()
	if name == "" {
		return nil, vend.Errorf(vend.EINVALID, "Choose a file to upload.")
	}
	name = path.Base(strings.ReplaceAll(name, `\`, "/")) // some browsers send the whole path
	if err := catalog.ValidateFileName(name); err != nil {
		return nil, err
	}
	info, err := s.Blobs.Put(ctx, part)
	if err != nil {
		return nil, err
	}
	return &vend.File{Name: name, Key: info.Key, Size: info.Size, SHA256: info.SHA256}, nil
}

// handleAdminFile retires a current file, or makes an earlier one current
// again (after the current files).
func (s productAdmin) handleAdminFile(w http.ResponseWriter, r *http.Request) error {
	if r.PathValue("action") == "retire" && r.PostFormValue("confirm") != "yes" { // buyers lose the file: the form asks first
		return vend.Errorf(vend.EINVALID, "Tick the box to confirm that buyers lose this file.")
	}
	if err := s.changeFile(r); err != nil {
		return err
	}
	redirectDone(w, r, "/admin/products/"+r.PathValue("id"), "file-"+r.PathValue("action"))
	return nil
}

// changeFile applies the request's {action}, retire or restore, to the file
// {file} of product {id}.
func (s productAdmin) changeFile(r *http.Request) error {
	id := r.PathValue("id")
	fileID, err := strconv.ParseInt(r.PathValue("file"), 10, 64)
	if err != nil {
		return vend.Errorf(vend.ENOTFOUND, "No such file.")
	}
	ctx := context.WithoutCancel(r.Context())
	actor, _ := adminActor(ctx)
	switch r.PathValue("action") {
	case "retire":
		return catalog.RetireFile(ctx, s.DB, actor, id, fileID)
	case "restore":
		return catalog.RestoreFile(ctx, s.DB, actor, id, fileID)
	default:
		return vend.Errorf(vend.ENOTFOUND, "No such action: retire or restore.")
	}
}

// releaseFormView is the "new version" flow's first page: preview, then
// start, then progress.
type releaseFormView struct {
	Product *vend.Product
	Buyers  int
	Mail    bool
	Version string
	Problem string
}

func (s productAdmin) releaseForm(ctx context.Context, productID, version, problem string) (*releaseFormView, error) {
	v := &releaseFormView{Mail: s.Ledger.Mail, Version: version, Problem: problem}
	err := s.DB.View(ctx, func(tx store.Tx) error {
		var err error
		if v.Product, err = tx.FindProductByID(ctx, productID); err != nil {
			return err
		}
		v.Buyers, err = tx.CountActiveGrants(ctx, productID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return v, nil
}

// handleReleaseForm previews a release: how many buyers it reaches.
func (s productAdmin) handleReleaseForm(w http.ResponseWriter, r *http.Request) error {
	v, err := s.releaseForm(r.Context(), r.PathValue("id"), "", "")
	if err != nil {
		return err
	}
	s.renderAdmin(w, r, http.StatusOK, "admin-release", "New version of "+v.Product.Name, "products", v)
	return nil
}

// handleRelease starts a release and runs it in the background; the progress
// page follows it. A release cut off by a restart resumes when vend starts.
func (s productAdmin) handleRelease(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	actor, _ := adminActor(r.Context())
	rel, err := s.Ledger.StartRelease(context.WithoutCancel(r.Context()), actor, id, ledger.ReleaseOptions{
		Version: r.PostFormValue("version"), Notify: r.PostFormValue("notify") != "", Reset: r.PostFormValue("reset") != "",
		Renewal: r.PostFormValue("renewal") != ""})
	if c := vend.ErrorCode(err); c == vend.EINVALID || c == vend.ECONFLICT {
		v, verr := s.releaseForm(r.Context(), id, r.PostFormValue("version"), vend.ErrorMessage(err))
		if verr != nil {
			return verr
		}
		s.renderAdmin(w, r, http.StatusBadRequest, "admin-release", "New version", "products", v)
		return nil
	} else if err != nil {
		return err
	}
	s.runRelease(rel.ID)
	http.Redirect(w, r, "/admin/releases/"+strconv.FormatInt(rel.ID, 10), http.StatusSeeOther)
	return nil
}

// runRelease runs a started release in the background. Its work is recorded
// as it goes, so if vend stops first, the next start resumes it.
func (s productAdmin) runRelease(id int64) {
	go func() {
		if err := s.Ledger.RunRelease(context.Background(), id, nil); err != nil {
			s.Logger.Error("release stopped; it resumes at the next start", "release", id, "error", err)
		}
	}()
}

type releaseView struct {
	Release *vend.Release
	Percent int
}

// handleReleaseProgress shows how far a release got, refreshing itself while
// it runs.
func (s productAdmin) handleReleaseProgress(w http.ResponseWriter, r *http.Request) error {
	rel, err := findByPathID(s.Server, r, "release", store.Tx.FindRelease)
	if err != nil {
		return err
	}
	v := releaseView{Release: rel, Percent: 100}
	if rel.Total > 0 {
		v.Percent = min(100, rel.Done*100/rel.Total)
	}
	page := adminPage{newAdminView(r, "Release of "+rel.ProductID, "products"), v}
	if rel.Status == vend.ReleaseRunning {
		page.Refresh = 2
	}
	s.render(w, r, http.StatusOK, "admin-release-progress", page)
	return nil
}

// handleAdminArchive archives a product (archive: no longer sold; its buyers
// keep their downloads) or puts it on sale again, and goes back to it.
func (s productAdmin) handleAdminArchive(archive bool) handlerFunc {
	done := "unarchive"
	if archive {
		done = "archive"
	}
	return func(w http.ResponseWriter, r *http.Request) error {
		if archive && r.PostFormValue("confirm") != "yes" {
			return vend.Errorf(vend.EINVALID, "Tick the box to confirm: new payments for the product are then refused.")
		}
		actor, _ := adminActor(r.Context())
		p, err := catalog.ArchiveProduct(context.WithoutCancel(r.Context()), s.DB, actor, r.PathValue("id"), archive)
		if err != nil {
			return err
		}
		redirectDone(w, r, "/admin/products/"+url.PathEscape(p.ID), done)
		return nil
	}
}
