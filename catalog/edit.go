package catalog

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/store"
)

// Fields are a product's fields as a seller writes them in the admin's form,
// the API or the CLI: "19.95", "unlimited", "30d". An empty field leaves the
// product's value as it is.
type Fields struct {
	Name     string `json:"name"`
	Price    string `json:"price"`
	Currency string `json:"currency"`
	Limit    string `json:"download_limit"`
	Lifetime string `json:"lifetime"`
	// Licences: "off", "generated" or "list" (from keys the seller uploads); the activation limit ("unlimited" or a
	// number); the licence's length ("unlimited", "365d"); the key format
	// ("default", or X for each random character: "APP-XXXXX-XXXXX-XXXXX-XXXXX").
	License         string `json:"license"`
	ActivationLimit string `json:"activation_limit"`
	LicenseLength   string `json:"license_length"`
	KeyFormat       string `json:"key_format"`
	// LowStock (keys from a list): the owner is mailed when fewer unused
	// keys remain ("10").
	LowStock string `json:"low_stock"`
	// Updates: how long new versions reach a buyer ("unlimited", "365d"),
	// and where the buyer renews ("none" clears it).
	UpdatesFor string `json:"updates_for"`
	RenewURL   string `json:"renew_url"`
}

// NewProduct is a product with vend's defaults, for Fields to fill in.
func NewProduct(id string) *vend.Product {
	return &vend.Product{ID: strings.TrimSpace(id), Currency: vend.DefaultCurrency, DownloadLimit: vend.DefaultDownloadLimit, Lifetime: vend.Forever}
}

// Apply sets p's fields from f and validates the result. The error names the
// field, for the seller.
func (f Fields) Apply(p *vend.Product) error {
	if s := strings.TrimSpace(f.Name); s != "" {
		p.Name = s
	}
	if s := strings.TrimSpace(f.Currency); s != "" {
		p.Currency = strings.ToUpper(s)
	}
	var err error
	if s := strings.TrimSpace(f.Price); s != "" {
		if p.Price, err = vend.ParseAmount(s); err != nil {
			return vend.Errorf(vend.EINVALID, "Price: %s", vend.ErrorMessage(err))
		}
	}
	if s := strings.TrimSpace(f.Limit); s != "" {
		if p.DownloadLimit, err = vend.ParseLimit(s); err != nil {
			return vend.Errorf(vend.EINVALID, "Download limit: %s", err)
		}
	}
	if s := strings.TrimSpace(f.Lifetime); s != "" {
		if p.Lifetime, err = vend.ParseLifetime(s); err != nil {
			return vend.Errorf(vend.EINVALID, "Lifetime: %s", err)
		}
	}
	if err := f.applyLicense(p); err != nil {
		return err
	}
	return p.Validate()
}

// applyLicense sets the licence and updates fields.
func (f Fields) applyLicense(p *vend.Product) error {
	switch s := strings.TrimSpace(f.License); s {
	case "":
	case "off":
		p.License.Mode = vend.LicenseOff
	default:
		p.License.Mode = vend.LicenseMode(s)
		if !p.License.Mode.Known() {
			return vend.Errorf(vend.EINVALID, "Licences: %q; use off, generated or list.", s)
		}
	}
	if p.License.ActivationLimit == 0 {
		p.License.ActivationLimit = 1
	}
	var err error
	if s := strings.TrimSpace(f.ActivationLimit); s != "" {
		if p.License.ActivationLimit, err = vend.ParseLimit(s); err != nil {
			return vend.Errorf(vend.EINVALID, "Activation limit: %s", strings.Replace(err.Error(), "download limit", "activation limit", 1))
		}
	}
	if s := strings.TrimSpace(f.LicenseLength); s != "" {
		if p.License.Length, err = vend.ParseLifetime(s); err != nil {
			return vend.Errorf(vend.EINVALID, "Licence length: %s", strings.Replace(err.Error(), "lifetime", "length", 1))
		}
	}
	if s := strings.TrimSpace(f.LowStock); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return vend.Errorf(vend.EINVALID, "Low stock: %q; use a number of keys.", s)
		}
		p.License.LowStock = n
	}
	switch s := strings.TrimSpace(f.KeyFormat); s {
	case "":
	case "default":
		p.License.KeyFormat = ""
	default:
		p.License.KeyFormat = s
	}
	if s := strings.TrimSpace(f.UpdatesFor); s != "" {
		if p.UpdatesFor, err = vend.ParseLifetime(s); err != nil {
			return vend.Errorf(vend.EINVALID, "Updates: %s", strings.Replace(err.Error(), "lifetime", "updates period", 1))
		}
	}
	switch s := strings.TrimSpace(f.RenewURL); s {
	case "":
	case "none":
		p.RenewURL = ""
	default:
		p.RenewURL = s
	}
	return nil
}

// CreateProduct validates and creates p, with an audit entry by actor; an
// existing id is a conflict.
func CreateProduct(ctx context.Context, db store.DB, actor string, p *vend.Product) error {
	if err := p.Validate(); err != nil {
		return err
	}
	err := db.Update(ctx, func(tx store.Tx) error {
		if _, err := tx.FindProductByID(ctx, p.ID); err == nil {
			return vend.Errorf(vend.ECONFLICT, "There is a product %s already.", p.ID)
		} else if vend.ErrorCode(err) != vend.ENOTFOUND {
			return err
		}
		p.Files = nil
		if err := tx.SaveProduct(ctx, p); err != nil {
			return err
		}
		return store.RecordAudit(ctx, tx, actor, "product.create", vend.ProductTarget(p.ID), nil, p)
	})
	if err != nil {
		return fmt.Errorf("catalog: create product %s: %w", p.ID, err)
	}
	return nil
}

// EditProduct applies f to the product id names, in the transaction that
// saves it, so edits of different fields at once never undo each other; its
// files stay. It returns the product as saved or, when f does not validate,
// as f would make it (for the form to show again) with the error.
func EditProduct(ctx context.Context, db store.DB, actor, id string, f Fields) (*vend.Product, error) {
	var p *vend.Product
	err := db.Update(ctx, func(tx store.Tx) error {
		before, err := tx.FindProductByID(ctx, id)
		if err != nil {
			return err
		}
		after := *before
		p = &after
		if err := f.Apply(p); err != nil {
			return err
		}
		if err := tx.SaveProduct(ctx, p); err != nil {
			return err
		}
		return store.RecordAudit(ctx, tx, actor, "product.edit", vend.ProductTarget(id), before, p)
	})
	if err != nil {
		return p, fmt.Errorf("catalog: edit product %s: %w", id, err)
	}
	return p, nil
}

// ArchiveProduct stops selling a product (archived) or sells it again, and
// records it in the audit trail. Archiving takes nothing from the product's
// buyers: its files and their grants stay; the ledger refuses new payments.
func ArchiveProduct(ctx context.Context, db store.DB, actor, id string, archived bool) (*vend.Product, error) {
	action := "product.archive"
	if !archived {
		action = "product.unarchive"
	}
	var p *vend.Product
	err := db.Update(ctx, func(tx store.Tx) error {
		before, err := tx.FindProductByID(ctx, id)
		if err != nil {
			return err
		}
		if err := tx.SetProductArchived(ctx, id, archived); err != nil {
			return err
		}
		if p, err = tx.FindProductByID(ctx, id); err != nil {
			return err
		}
		return store.RecordAudit(ctx, tx, actor, action, vend.ProductTarget(id), before, p)
	})
	if err != nil {
		return nil, fmt.Errorf("catalog: %s %s: %w", action, id, err)
	}
	return p, nil
}

// AddFile adds a stored file to the product's current files or, with
// replace, makes it the only one: a new version. Buyers' earlier files stay
// in the product's file versions. The file's name must pass ValidateFileName.
func AddFile(ctx context.Context, db store.DB, actor, productID string, f *vend.File, replace bool) error {
	if err := ValidateFileName(f.Name); err != nil {
		return fmt.Errorf("catalog: add file to %s: %w", productID, err)
	}
	return changeFiles(ctx, db, actor, productID, "product.file.upload", func(files []*vend.File) ([]*vend.File, error) {
		if replace {
			return []*vend.File{f}, nil
		}
		return append(files, f), nil
	})
}

// RetireFile takes a file out of the product's current files; a product keeps
// at least one.
func RetireFile(ctx context.Context, db store.DB, actor, productID string, fileID int64) error {
	return changeFiles(ctx, db, actor, productID, "product.file.retire", func(files []*vend.File) ([]*vend.File, error) {
		var out []*vend.File
		for _, f := range files {
			if f.ID != fileID {
				out = append(out, f)
			}
		}
		switch {
		case len(out) == len(files):
			return nil, vend.Errorf(vend.ENOTFOUND, "File %d is not one of %s's current files.", fileID, productID)
		case len(out) == 0:
			return nil, vend.Errorf(vend.EINVALID, "A product keeps at least one file: upload its replacement first.")
		}
		return out, nil
	})
}

// RestoreFile makes an earlier version of the product's files current again,
// after the current ones.
func RestoreFile(ctx context.Context, db store.DB, actor, productID string, fileID int64) error {
	var old *vend.File
	err := db.View(ctx, func(tx store.Tx) error {
		f, err := tx.FindFileByID(ctx, fileID)
		if err == nil && f.ProductID != productID {
			err = vend.Errorf(vend.ENOTFOUND, "No file %d of %s.", fileID, productID)
		}
		old = f
		return err
	})
	if vend.ErrorCode(err) == vend.ENOTFOUND {
		return vend.Errorf(vend.ENOTFOUND, "No file %d of %s.", fileID, productID)
	} else if err != nil {
		return fmt.Errorf("catalog: restore file %d: %w", fileID, err)
	}
	return changeFiles(ctx, db, actor, productID, "product.file.restore", func(files []*vend.File) ([]*vend.File, error) {
		for _, f := range files {
			if f.ID == fileID {
				return nil, vend.Errorf(vend.ECONFLICT, "File %d is current already.", fileID)
			}
		}
		again := *old
		return append(files, &again), nil
	})
}

// changeFiles replaces the product's current files by what change makes of
// them, with an audit entry.
func changeFiles(ctx context.Context, db store.DB, actor, productID, action string, change func([]*vend.File) ([]*vend.File, error)) error {
	err := db.Update(ctx, func(tx store.Tx) error {
		p, err := tx.FindProductByID(ctx, productID)
		if err != nil {
			return err
		}
		before := append([]*vend.File(nil), p.Files...)
		files, err := change(append([]*vend.File(nil), p.Files...))
		if err != nil {
			return err
		}
		if err := tx.SetFiles(ctx, productID, files); err != nil {
			return err
		}
		return store.RecordAudit(ctx, tx, actor, action, vend.ProductTarget(productID), before, files)
	})
	if err != nil {
		return fmt.Errorf("catalog: %s %s: %w", action, productID, err)
	}
	return nil
}
