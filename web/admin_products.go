package web

import (
	"context"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/catalog"
	"github.com/vend-shop/vend/store"
)

// adminProductRoutes adds the catalog's pages: products, their files and the
// versions of those files.
func (s *Server) adminProductRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /admin/products", s.requireAdmin(s.handleAdminProducts))
	m.HandleFunc("GET /admin/products/new", s.requireAdmin(s.handleAdminProductForm))
	m.HandleFunc("POST /admin/products/new", s.requireAdmin(s.handleAdminProductSave))
	m.HandleFunc("GET /admin/products/{id}", s.requireAdmin(s.handleAdminProductForm))
	m.HandleFunc("POST /admin/products/{id}", s.requireAdmin(s.handleAdminProductSave))
	m.HandleFunc("POST /admin/products/{id}/files", s.requireAdmin(s.handleAdminUpload))
	m.HandleFunc("POST /admin/products/{id}/files/{file}/{action}", s.requireAdmin(s.handleAdminFile))
}

type productsView struct {
	Products  []*vend.Product
	Completed map[string]int
}

func (s *Server) handleAdminProducts(w http.ResponseWriter, r *http.Request) {
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
		s.Error(w, r, err)
		return
	}
	s.renderAdmin(w, r, http.StatusOK, "admin-products", "Products", "products", v)
}

type productView struct {
	Product  *vend.Product
	New      bool
	Problem  string
	Versions []fileVersion
}

type fileVersion struct {
	*vend.File
	Current bool
}

func (s *Server) productView(ctx context.Context, id string) (*productView, error) {
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
		return nil
	})
	return v, err
}

func isCurrent(p *vend.Product, fileID int64) bool {
	for _, f := range p.Files {
		if f.ID == fileID {
			return true
		}
	}
	return false
}

func (s *Server) handleAdminProductForm(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if id == "" {
		s.renderAdmin(w, r, http.StatusOK, "admin-product", "New product", "products", &productView{New: true,
			Product: catalog.NewProduct("")})
		return
	}
	v, err := s.productView(r.Context(), id)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	s.renderAdmin(w, r, http.StatusOK, "admin-product", v.Product.Name, "products", v)
}

// handleAdminProductSave creates a product or saves its fields (its files stay).
func (s *Server) handleAdminProductSave(w http.ResponseWriter, r *http.Request) {
	ctx := context.WithoutCancel(r.Context())
	id := r.PathValue("id")
	actor, _ := adminActor(ctx)
	var p *vend.Product
	err := r.ParseForm()
	if err != nil {
		err = vend.Errorf(vend.EINVALID, "Bad form.")
	}
	f := r.PostForm
	fields := catalog.Fields{Name: f.Get("name"), Price: f.Get("price"), Currency: f.Get("currency"), Limit: f.Get("limit"), Lifetime: f.Get("lifetime")}
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
		return
	} else if err != nil {
		s.Error(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin/products/"+p.ID, http.StatusSeeOther)
}

func (s *Server) findProduct(ctx context.Context, id string) (*vend.Product, error) {
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
func (s *Server) handleAdminUpload(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := r.PathValue("id")
	// A large upload on a slow line takes longer than the server's read timeout.
	_ = http.NewResponseController(w).SetReadDeadline(time.Time{})
	mr, err := r.MultipartReader()
	if err != nil {
		s.Error(w, r, vend.Errorf(vend.EINVALID, "Send the file as a form upload (multipart/form-data)."))
		return
	}
	var replace bool
	var file *vend.File
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			s.Error(w, r, vend.Errorf(vend.EINVALID, "The upload broke off."))
			return
		}
		switch part.FormName() {
		case "mode":
			b, _ := io.ReadAll(io.LimitReader(part, 16))
			replace = string(b) == "replace"
		case "file":
			if file, err = s.storeUpload(ctx, part); err != nil {
				s.Error(w, r, err)
				return
			}
		}
		part.Close()
	}
	if file == nil {
		s.Error(w, r, vend.Errorf(vend.EINVALID, "Choose a file to upload."))
		return
	}
	actor, _ := adminActor(ctx)
	err = catalog.AddFile(context.WithoutCancel(ctx), s.DB, actor, id, file, replace)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin/products/"+id, http.StatusSeeOther)
}

// storeUpload puts one uploaded file into storage.
func (s *Server) storeUpload(ctx context.Context, part *multipart.Part) (*vend.File, error) {
	name := path.Base(strings.ReplaceAll(part.FileName(), `\`, "/")) // a path some browsers send
	if name == "" || name == "." || name == "/" {
		return nil, vend.Errorf(vend.EINVALID, "The file has no name.")
	}
	info, err := s.Blobs.Put(ctx, part)
	if err != nil {
		return nil, err
	}
	return &vend.File{Name: name, Key: info.Key, Size: info.Size, SHA256: info.SHA256}, nil
}

// handleAdminFile retires a current file, or makes an earlier one current
// again (after the current files).
func (s *Server) handleAdminFile(w http.ResponseWriter, r *http.Request) {
	if err := s.changeFile(r); err != nil {
		s.Error(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin/products/"+r.PathValue("id"), http.StatusSeeOther)
}

// changeFile applies the request's {action}, retire or restore, to the file
// {file} of product {id}.
func (s *Server) changeFile(r *http.Request) error {
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
