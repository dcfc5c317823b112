package catalog

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/blob"
	"github.com/vend-shop/vend/store"
)

// Imported says what an import did to one product.
type Imported struct {
	Product *vend.Product `json:"product"`
	Created bool          `json:"created"`
	NewFile bool          `json:"new_file"` // the file's content changed (or is new)
}

// Import copies each line's file into storage and saves the products, all in one
// transaction: if any file is missing, unreadable or has a name ValidateFileName
// refuses, nothing is saved. Relative
// file paths are taken relative to dir. Re-importing updates products in place;
// a product whose file did not change keeps its file (and its download statistics).
// Each product saved is in the audit trail as actor's.
func Import(ctx context.Context, db store.DB, blobs blob.Store, actor string, lines []Line, dir string) ([]Imported, error) {
	var errs []error
	for _, l := range lines {
		if err := ValidateFileName(filepath.Base(resolve(dir, l.File))); err != nil {
			errs = append(errs, &LineError{No: l.No, Msg: vend.ErrorMessage(err)})
		} else if st, err := os.Stat(resolve(dir, l.File)); err != nil {
			errs = append(errs, &LineError{No: l.No, Msg: fmt.Sprintf("file %s: %v", l.File, errors.Unwrap(err))})
		} else if !st.Mode().IsRegular() {
			errs = append(errs, &LineError{No: l.No, Msg: fmt.Sprintf("file %s is not a regular file", l.File)})
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	files := make([]*vend.File, len(lines))
	for i, l := range lines {
		f, err := Store(ctx, blobs, resolve(dir, l.File))
		if err != nil {
			return nil, &LineError{No: l.No, Msg: err.Error()}
		}
		files[i] = f
	}
	out := make([]Imported, len(lines))
	err := db.Update(ctx, func(tx store.Tx) error {
		for i, l := range lines {
			p := l.Product
			old, err := tx.FindProductByID(ctx, p.ID)
			switch {
			case vend.ErrorCode(err) == vend.ENOTFOUND:
				out[i].Created = true
			case err != nil:
				return err
			default:
				// The products file sets what it has columns for; the rest
				// (licences, updates) stays as the seller set it.
				p.CreatedAt = old.CreatedAt
				p.License, p.UpdatesFor, p.RenewURL = old.License, old.UpdatesFor, old.RenewURL
			}
			out[i].NewFile = old == nil || len(old.Files) != 1 || old.Files[0].SHA256 != files[i].SHA256 || old.Files[0].Name != files[i].Name
			if err := Save(ctx, tx, &p, []*vend.File{files[i]}); err != nil {
				return err
			}
			var before any
			if old != nil {
				before = old
			}
			if err := store.RecordAudit(ctx, tx, actor, "product.import", vend.ProductTarget(p.ID), before, &p); err != nil {
				return err
			}
			out[i].Product = &p
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("catalog: import: %w", err)
	}
	return out, nil
}

// Save validates and saves a product with its current files.
func Save(ctx context.Context, tx store.Products, p *vend.Product, files []*vend.File) error {
	if err := p.Validate(); err != nil {
		return err
	}
	if err := validateFiles(files); err != nil {
		return err
	}
	if err := tx.SaveProduct(ctx, p); err != nil {
		return err
	}
	if err := tx.SetFiles(ctx, p.ID, files); err != nil {
		return err
	}
	p.Files = files
	return nil
}

// Store copies the file at path into blob storage and describes it; the file's
// base name is what buyers see, so it must pass ValidateFileName, which is
// checked before any byte is copied.
func Store(ctx context.Context, blobs blob.Store, path string) (*vend.File, error) {
	name := filepath.Base(path)
	if err := ValidateFileName(name); err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	info, err := blobs.Put(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", path, err)
	}
	return &vend.File{Name: name, Key: info.Key, Size: info.Size, SHA256: info.SHA256}, nil
}

func resolve(dir, path string) string {
	if filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(dir, path)
}
