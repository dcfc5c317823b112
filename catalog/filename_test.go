package catalog_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/blob/local"
	"github.com/vend-shop/vend/catalog"
	"github.com/vend-shop/vend/store"
	"github.com/vend-shop/vend/store/sqlite/sqlitetest"
)

// badFileNames are names that reach a terminal, a header or a path as
// something else than a name, each with what the refusal says.
var badFileNames = []struct{ name, in, want string }{
	{"ESC starts a terminal escape sequence", "evil\x1b]0;pwned\x07.pdf", "control character"},
	{"CR", "book\r.pdf", "control character"},
	{"LF", "book\n.pdf", "control character"},
	{"NUL", "book\x00.pdf", "control character"},
	{"DEL", "book\x7f.pdf", "control character"},
	{"C1 CSI", "book\u009b31m.pdf", "control character"},
	{"slash", "dir/book.pdf", "'/' or '\\'"},
	{"backslash", `dir\book.pdf`, "'/' or '\\'"},
	{"dot dot", "..", "not a name"},
	{"dot", ".", "not a name"},
	{"empty", "", "empty"},
	{"right-to-left override disguises the extension", "photo\u202Efdp.exe", "bidirectional"},
	{"invalid UTF-8", "book\xff.pdf", "UTF-8"},
	{"256 bytes", strings.Repeat("x", 252) + ".pdf", "too long"},
}

func TestValidateFileName(t *testing.T) {
	t.Parallel()
	for _, tt := range badFileNames {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := catalog.ValidateFileName(tt.in)
			if vend.ErrorCode(err) != vend.EINVALID || !strings.Contains(vend.ErrorMessage(err), tt.want) {
				t.Fatalf("ValidateFileName(%q) = %v, want EINVALID saying %q", tt.in, err, tt.want)
			}
			// The message is shown in terminals and pages: it quotes the name.
			if strings.ContainsFunc(vend.ErrorMessage(err), func(r rune) bool { return r < 0x20 || r == 0x7f }) {
				t.Errorf("the message carries a control character: %q", vend.ErrorMessage(err))
			}
		})
	}
	for _, ok := range []string{"book.pdf", "audio course.mp3", "Müller – Übungen (2. Auflage).pdf", "..book", "a..b.zip",
		".hidden", "日本語.epub", strings.Repeat("x", 251) + ".pdf"} {
		if err := catalog.ValidateFileName(ok); err != nil {
			t.Errorf("ValidateFileName(%q) = %v, want nil", ok, err)
		}
	}
}

// TestAddFile_RefusesBadNames: a file whose name breaks the rule is never
// added, whoever stored its bytes.
func TestAddFile_RefusesBadNames(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := sqlitetest.MustOpenDB(t)
	p := catalog.NewProduct("BOOK")
	p.Name = "Book"
	if err := catalog.CreateProduct(ctx, db, "cli", p); err != nil {
		t.Fatal(err)
	}
	for _, tt := range badFileNames {
		f := &vend.File{Name: tt.in, Key: "k", Size: 1, SHA256: strings.Repeat("0", 64)}
		if err := catalog.AddFile(ctx, db, "cli", "BOOK", f, false); vend.ErrorCode(err) != vend.EINVALID {
			t.Errorf("%s: AddFile = %v, want EINVALID", tt.name, err)
		}
		err := db.Update(ctx, func(tx store.Tx) error { return catalog.Save(ctx, tx, p, []*vend.File{f}) })
		if vend.ErrorCode(err) != vend.EINVALID {
			t.Errorf("%s: Save = %v, want EINVALID", tt.name, err)
		}
	}
	var versions []*vend.File
	err := db.View(ctx, func(tx store.Tx) (err error) {
		versions, err = tx.FindFileVersions(ctx, "BOOK")
		return err
	})
	if err != nil || len(versions) != 0 {
		t.Errorf("files stored: %+v %v", versions, err)
	}
}

// TestStore_RefusesBadNames: a file on disk whose name breaks the rule is
// refused before any byte of it is copied into storage.
func TestStore_RefusesBadNames(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	blobs, err := local.Open(filepath.Join(dir, "files"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { blobs.Close() })
	for _, name := range []string{"evil\x1b[2J.pdf", "book\r.pdf", "book\n.pdf", `a\b.pdf`} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte("%PDF"), 0o600); err != nil {
			t.Fatal(err)
		}
		if f, err := catalog.Store(ctx, blobs, path); vend.ErrorCode(err) != vend.EINVALID {
			t.Errorf("Store(%q) = %+v, %v, want EINVALID", name, f, err)
		}
	}
	// The names a file system cannot hold are refused the same way.
	for _, path := range []string{filepath.Join(dir, "a\x00b.pdf"), filepath.Join(dir, strings.Repeat("x", 300)), dir + "/sub/.."} {
		if _, err := catalog.Store(ctx, blobs, path); vend.ErrorCode(err) != vend.EINVALID {
			t.Errorf("Store(%q) = %v, want EINVALID", path, err)
		}
	}
	stored := 0
	filepath.WalkDir(blobs.Dir(), func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			stored++
		}
		return nil
	})
	if stored != 0 {
		t.Errorf("%d files were copied into storage", stored)
	}
}
