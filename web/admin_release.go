package web

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/store"
)

// adminReleaseRoutes adds the "new version" flow: preview, start, progress.
func (s *Server) adminReleaseRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /admin/products/{id}/release", s.requireAdmin(s.handleReleaseForm))
	m.HandleFunc("POST /admin/products/{id}/release", s.requireAdmin(s.handleRelease))
	m.HandleFunc("GET /admin/releases/{id}", s.requireAdmin(s.handleReleaseProgress))
}

type releaseFormView struct {
	Product *vend.Product
	Buyers  int
	Mail    bool
	Version string
	Problem string
}

func (s *Server) releaseForm(ctx context.Context, productID, problem string) (*releaseFormView, error) {
	v := &releaseFormView{Mail: s.Ledger.Mail, Problem: problem}
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
	var names []string
	for _, f := range v.Product.Files {
		names = append(names, f.Name)
	}
	v.Version = strings.Join(names, ", ")
	return v, nil
}

// handleReleaseForm previews a release: how many buyers it reaches.
func (s *Server) handleReleaseForm(w http.ResponseWriter, r *http.Request) {
	v, err := s.releaseForm(r.Context(), r.PathValue("id"), "")
	if err != nil {
		s.Error(w, r, err)
		return
	}
	s.renderAdmin(w, r, http.StatusOK, "admin-release", "New version of "+v.Product.Name, "products", v)
}

// handleRelease starts a release and runs it in the background; the progress
// page follows it. A release cut off by a restart resumes when vend starts.
func (s *Server) handleRelease(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	actor, _ := adminActor(r.Context())
	rel, err := s.Ledger.StartRelease(context.WithoutCancel(r.Context()), actor, id, r.PostFormValue("version"),
		r.PostFormValue("notify") != "", r.PostFormValue("reset") != "")
	if c := vend.ErrorCode(err); c == vend.EINVALID || c == vend.ECONFLICT {
		v, verr := s.releaseForm(r.Context(), id, vend.ErrorMessage(err))
		if verr != nil {
			s.Error(w, r, verr)
			return
		}
		s.renderAdmin(w, r, http.StatusBadRequest, "admin-release", "New version", "products", v)
		return
	} else if err != nil {
		s.Error(w, r, err)
		return
	}
	s.runRelease(rel.ID)
	http.Redirect(w, r, "/admin/releases/"+strconv.FormatInt(rel.ID, 10), http.StatusSeeOther)
}

// runRelease runs a started release in the background. Its work is recorded
// as it goes, so if vend stops first, the next start resumes it.
func (s *Server) runRelease(id int64) {
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
func (s *Server) handleReleaseProgress(w http.ResponseWriter, r *http.Request) {
	rel, err := findByPathID(s, r, "release", store.Tx.FindRelease)
	if err != nil {
		s.Error(w, r, err)
		return
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
}
