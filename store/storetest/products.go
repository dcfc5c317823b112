package storetest

import (
	"testing"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/store"
)

func findProduct(tb testing.TB, db store.DB, id string) *vend.Product {
	tb.Helper()
	var p *vend.Product
	view(tb, db, func(tx store.Tx) error {
		var err error
		p, err = tx.FindProductByID(ctx, id)
		return err
	})
	return p
}

func setFiles(tb testing.TB, db store.DB, id string, files ...*vend.File) []*vend.File {
	tb.Helper()
	update(tb, db, func(tx store.Tx) error { return tx.SetFiles(ctx, id, files) })
	return files
}

func file(name, content string) *vend.File {
	return &vend.File{Name: name, Key: "blob/" + content, Size: int64(len(content)), SHA256: sha(content)}
}

func testProducts(t *testing.T, open Opener) {
	subtests(t, open, map[string]func(t *testing.T, db store.DB){
		"SaveProduct creates a product that reads back field for field": func(t *testing.T, db store.DB) {
			p := &vend.Product{ID: "ebook", Name: "E-Book", Price: 1995, Currency: "EUR", DownloadLimit: 3, Lifetime: 30 * 24 * time.Hour}
			var at time.Time
			update(t, db, func(tx store.Tx) error { at = tx.Now(); return tx.SaveProduct(ctx, p) })
			got := findProduct(t, db, "ebook")
			if got.ID != p.ID || got.Name != p.Name || got.Price != p.Price || got.Currency != p.Currency ||
				got.DownloadLimit != p.DownloadLimit || got.Lifetime != p.Lifetime {
				t.Errorf("got %+v, want %+v", got, p)
			}
			if !got.CreatedAt.Equal(at) || !got.UpdatedAt.Equal(at) {
				t.Errorf("created %v updated %v, want both the transaction's Now %v", got.CreatedAt, got.UpdatedAt, at)
			}
			if len(got.Files) != 0 {
				t.Errorf("files = %v, want none", got.Files)
			}
		},
		"FindProductInfo reads the product as FindProductByID does, without its files": func(t *testing.T, db store.DB) {
			mustProduct(t, db, "ebook")
			full := findProduct(t, db, "ebook")
			var info *vend.Product
			view(t, db, func(tx store.Tx) error {
				var err error
				info, err = tx.FindProductInfo(ctx, "ebook")
				return err
			})
			if len(full.Files) != 1 || info.Files != nil || info.Name != full.Name || info.Price != full.Price ||
				info.DownloadLimit != full.DownloadLimit || !info.UpdatedAt.Equal(full.UpdatedAt) {
				t.Errorf("info %+v, full %+v", info, full)
			}
			err := db.View(ctx, func(tx store.Tx) error { _, err := tx.FindProductInfo(ctx, "nope"); return err })
			if vend.ErrorCode(err) != vend.ENOTFOUND {
				t.Errorf("a missing product: %v", err)
			}
		},
		"unlimited downloads and forever are kept as such": func(t *testing.T, db store.DB) {
			update(t, db, func(tx store.Tx) error {
				return tx.SaveProduct(ctx, &vend.Product{ID: "free", Name: "Free", Currency: "USD", DownloadLimit: vend.Unlimited, Lifetime: vend.Forever})
			})
			if got := findProduct(t, db, "free"); got.DownloadLimit != vend.Unlimited || got.Lifetime != vend.Forever || got.Price != 0 {
				t.Errorf("got limit %d lifetime %v price %s, want unlimited, forever, 0.00", got.DownloadLimit, got.Lifetime, got.Price)
			}
		},
		"SaveProduct updates fields, keeps CreatedAt and leaves files alone": func(t *testing.T, db store.DB) {
			first := mustProduct(t, db, "ebook")
			before := findProduct(t, db, "ebook")
			time.Sleep(5 * time.Millisecond)
			update(t, db, func(tx store.Tx) error {
				return tx.SaveProduct(ctx, &vend.Product{ID: "ebook", Name: "E-Book 2nd ed.", Price: 2495, Currency: "EUR", DownloadLimit: 7, Lifetime: time.Hour})
			})
			got := findProduct(t, db, "ebook")
			if got.Name != "E-Book 2nd ed." || got.Price != 2495 || got.Currency != "EUR" || got.DownloadLimit != 7 || got.Lifetime != time.Hour {
				t.Errorf("fields not updated: %+v", got)
			}
			if !got.CreatedAt.Equal(before.CreatedAt) {
				t.Errorf("CreatedAt moved from %v to %v", before.CreatedAt, got.CreatedAt)
			}
			if !got.UpdatedAt.After(before.UpdatedAt) {
				t.Errorf("UpdatedAt %v, want after %v", got.UpdatedAt, before.UpdatedAt)
			}
			if ids := fileIDs(got.Files); len(ids) != 1 || ids[0] != first.Files[0].ID {
				t.Errorf("files = %v, want the original file %d", ids, first.Files[0].ID)
			}
		},
		"FindProducts lists every product by id, with its current files": func(t *testing.T, db store.DB) {
			mustProduct(t, db, "b")
			mustProduct(t, db, "a")
			update(t, db, func(tx store.Tx) error {
				return tx.SaveProduct(ctx, &vend.Product{ID: "c", Name: "No files", Currency: "USD"})
			})
			var got []*vend.Product
			view(t, db, func(tx store.Tx) error {
				var err error
				got, err = tx.FindProducts(ctx)
				return err
			})
			if len(got) != 3 || got[0].ID != "a" || got[1].ID != "b" || got[2].ID != "c" {
				t.Fatalf("got %d products, want a, b, c", len(got))
			}
			if len(got[0].Files) != 1 || got[0].Files[0].Name != "a.pdf" || len(got[2].Files) != 0 {
				t.Errorf("files: a %v, c %v", got[0].Files, got[2].Files)
			}
		},
		"an archived product stays archived through a save, and comes back": func(t *testing.T, db store.DB) {
			mustProduct(t, db, "old")
			mustProduct(t, db, "new")
			update(t, db, func(tx store.Tx) error { return tx.SetProductArchived(ctx, "old", true) })
			if p := findProduct(t, db, "old"); !p.Archived || len(p.Files) != 1 {
				t.Errorf("archived: %+v, want archived with its file", p)
			}
			// A products import saves every line again; it must not sell an
			// archived product again.
			update(t, db, func(tx store.Tx) error {
				return tx.SaveProduct(ctx, &vend.Product{ID: "old", Name: "Re-imported", Currency: "USD", DownloadLimit: 3})
			})
			var listed []*vend.Product
			view(t, db, func(tx store.Tx) error {
				var err error
				listed, err = tx.FindProducts(ctx)
				return err
			})
			if len(listed) != 2 || listed[0].ID != "new" || listed[0].Archived || listed[1].ID != "old" || !listed[1].Archived || listed[1].Name != "Re-imported" {
				t.Errorf("FindProducts after a save: %+v %+v", listed[0], listed[1])
			}
			update(t, db, func(tx store.Tx) error { return tx.SetProductArchived(ctx, "old", false) })
			if p := findProduct(t, db, "old"); p.Archived {
				t.Errorf("unarchived: %+v", p)
			}
			err := db.Update(ctx, func(tx store.Tx) error { return tx.SetProductArchived(ctx, "nope", true) })
			if vend.ErrorCode(err) != vend.ENOTFOUND {
				t.Errorf("archive a missing product: %v, want ENOTFOUND", err)
			}
		},
		"FindProducts on an empty catalog is empty, not an error": func(t *testing.T, db store.DB) {
			view(t, db, func(tx store.Tx) error {
				ps, err := tx.FindProducts(ctx)
				if len(ps) != 0 {
					t.Errorf("got %d products", len(ps))
				}
				return err
			})
		},
		"SetFiles stores every field and gives ids": func(t *testing.T, db store.DB) {
			mustProduct(t, db, "p")
			f := file("book.pdf", "v1")
			var at time.Time
			update(t, db, func(tx store.Tx) error { at = tx.Now(); return tx.SetFiles(ctx, "p", []*vend.File{f}) })
			if f.ID == 0 || f.ProductID != "p" || !f.CreatedAt.Equal(at) {
				t.Errorf("SetFiles left id %d product %q created %v", f.ID, f.ProductID, f.CreatedAt)
			}
			var got *vend.File
			view(t, db, func(tx store.Tx) error {
				var err error
				got, err = tx.FindFileByID(ctx, f.ID)
				return err
			})
			if *got != *f {
				t.Errorf("FindFileByID = %+v, want %+v", got, f)
			}
		},
		"SetFiles keeps ids of unchanged files, retires others, keeps the given order": func(t *testing.T, db store.DB) {
			mustProduct(t, db, "p")
			// mustProduct's own file is retired by the first SetFiles.
			first := setFiles(t, db, "p", file("a.pdf", "a1"), file("b.pdf", "b1"), file("c.pdf", "c1"))
			a, b, c := first[0], first[1], first[2]
			// b changes content, a and c stay, c moves first, d is new.
			next := setFiles(t, db, "p", file("c.pdf", "c1"), file("a.pdf", "a1"), file("b.pdf", "b2"), file("d.pdf", "d1"))
			if next[0].ID != c.ID || next[1].ID != a.ID {
				t.Errorf("unchanged files got ids %d, %d, want %d, %d", next[0].ID, next[1].ID, c.ID, a.ID)
			}
			if next[2].ID == b.ID || next[2].ID == 0 || next[3].ID == 0 {
				t.Errorf("changed/new files got ids %d, %d (old b %d)", next[2].ID, next[3].ID, b.ID)
			}
			got := findProduct(t, db, "p")
			if ids, want := fileIDs(got.Files), fileIDs(next); len(ids) != 4 || ids[0] != want[0] || ids[1] != want[1] || ids[2] != want[2] || ids[3] != want[3] {
				t.Errorf("current files %v, want %v in that order", ids, want)
			}
			// A retired file stays findable: sessions and attempts refer to it.
			view(t, db, func(tx store.Tx) error {
				old, err := tx.FindFileByID(ctx, b.ID)
				if err == nil && old.SHA256 != sha("b1") {
					t.Errorf("retired file %d changed: %+v", b.ID, old)
				}
				// Every version, newest first: the product's own, a, b, c, then b2, d.
				all, err := tx.FindFileVersions(ctx, "p")
				if err != nil {
					return err
				}
				if len(all) != 6 || all[0].ID != next[3].ID || all[len(all)-1].SHA256 != sha("p") {
					t.Errorf("versions %v", fileIDs(all))
				}
				return nil
			})
		},
		"SetFiles matches on name and content, not on either alone": func(t *testing.T, db store.DB) {
			mustProduct(t, db, "p")
			old := setFiles(t, db, "p", file("a.pdf", "x"), file("b.pdf", "y"))
			next := setFiles(t, db, "p", file("renamed.pdf", "x"), file("b.pdf", "changed"))
			for i := range next {
				if next[i].ID == old[i].ID {
					t.Errorf("file %s kept id %d of %s", next[i].Name, next[i].ID, old[i].Name)
				}
			}
		},
		"SetFiles with the same list again changes no id": func(t *testing.T, db store.DB) {
			mustProduct(t, db, "p")
			old := setFiles(t, db, "p", file("a.pdf", "a"), file("b.pdf", "b"))
			next := setFiles(t, db, "p", file("a.pdf", "a"), file("b.pdf", "b"))
			if next[0].ID != old[0].ID || next[1].ID != old[1].ID || next[0].Key != old[0].Key {
				t.Errorf("ids %v, want %v", fileIDs(next), fileIDs(old))
			}
		},
		"SetFiles with two identical files keeps one id and adds one": func(t *testing.T, db store.DB) {
			mustProduct(t, db, "p")
			old := setFiles(t, db, "p", file("a.pdf", "a"))
			next := setFiles(t, db, "p", file("a.pdf", "a"), file("a.pdf", "a"))
			if next[0].ID != old[0].ID || next[1].ID == old[0].ID || next[1].ID == 0 {
				t.Errorf("ids %v, want [%d, new]", fileIDs(next), old[0].ID)
			}
			if got := findProduct(t, db, "p"); len(got.Files) != 2 {
				t.Errorf("%d current files, want 2", len(got.Files))
			}
		},
		"SetFiles with no files retires them all": func(t *testing.T, db store.DB) {
			mustProduct(t, db, "p")
			setFiles(t, db, "p")
			if got := findProduct(t, db, "p"); len(got.Files) != 0 {
				t.Errorf("files = %v, want none", fileIDs(got.Files))
			}
		},
		"a file retired and set again gets a new id": func(t *testing.T, db store.DB) {
			mustProduct(t, db, "p")
			old := setFiles(t, db, "p", file("a.pdf", "a"))
			setFiles(t, db, "p", file("b.pdf", "b"))
			next := setFiles(t, db, "p", file("a.pdf", "a"))
			if next[0].ID == old[0].ID {
				t.Errorf("retired file %d came back", old[0].ID)
			}
		},
		"files of one product do not touch another's": func(t *testing.T, db store.DB) {
			p := mustProduct(t, db, "p")
			mustProduct(t, db, "q")
			setFiles(t, db, "q", file("other.pdf", "o"))
			if got := findProduct(t, db, "p"); len(got.Files) != 1 || got.Files[0].ID != p.Files[0].ID {
				t.Errorf("p's files = %v, want [%d]", fileIDs(got.Files), p.Files[0].ID)
			}
		},
	})
}
