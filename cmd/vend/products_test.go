package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/store"
)

// hasControl reports whether s holds a control character other than the
// newlines and tabs of a table: what would reach the operator's terminal.
func hasControl(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool {
		return r != '\n' && r != '\t' && (r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0)
	})
}

// TestProductsCLI_FileNames: every way the command line lets a file in (upload,
// add, import) refuses a name the API refuses, and `products show` never
// writes the control characters of a name stored before that rule.
func TestProductsCLI_FileNames(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	env := []string{"VEND_DATA_DIR=" + data}
	write := func(name, content string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("book.pdf", "%PDF-1.7 a book")
	mustVend(t, env, "products", "import", write("products.txt", "BOOK|Book|book.pdf|19.95\n"))

	// Names a file system holds: the file is there and would be stored.
	var paths []string
	for _, name := range []string{"evil\x1b]0;pwned\x07.pdf", "book\r.pdf", "book\n.pdf", `dir\book.pdf`, "photo\u202Efdp.exe"} {
		paths = append(paths, write(name, "%PDF evil"))
	}
	// Names it does not hold are refused the same way, not as a missing file.
	paths = append(paths, filepath.Join(dir, "book\x00.pdf"), filepath.Join(dir, strings.Repeat("x", 296)+".pdf"), dir+"/sub/..")
	for _, path := range paths {
		name := filepath.Base(path)
		refused := func(what, want string, args ...string) {
			t.Helper()
			out, errOut, code := runMain(t, env, args...)
			if code == 0 || !strings.Contains(errOut, want) {
				t.Errorf("%s %q: exit %d, want a refusal saying %q\n%s%s", what, name, code, want, out, errOut)
			}
			if hasControl(out + errOut) {
				t.Errorf("%s %q: control characters reached the terminal: %q", what, name, out+errOut)
			}
		}
		refused("upload", "file name", "products", "upload", "BOOK", path)
		refused("add", "file name", "products", "add", "OTHER", "--name", "Other", "--file", path)
		if !strings.ContainsAny(path, "\n\x00") { // a products file cannot hold these in a line (a test of ParseProducts)
			refused("import", "line 2: file", "products", "import", write("bad.txt", "BOOK|Book|book.pdf\nOTHER|Other|"+path+"\n"))
		}
	}
	var shown struct {
		Files    []vend.File
		Versions []vend.File
	}
	if err := json.Unmarshal([]byte(mustVend(t, env, "products", "show", "--json", "BOOK")), &shown); err != nil {
		t.Fatal(err)
	}
	if len(shown.Files) != 1 || len(shown.Versions) != 1 || shown.Files[0].Name != "book.pdf" {
		t.Errorf("files after the refusals: %+v", shown)
	}
	if out, _, code := runMain(t, env, "products", "show", "OTHER"); code == 0 {
		t.Errorf("OTHER was created:\n%s", out)
	}

	// A database written before the rule may hold such names.
	withLedger(t, data, func(ctx context.Context, tx store.Tx) error {
		p, err := tx.FindProductByID(ctx, "BOOK")
		if err != nil {
			return err
		}
		p.Name = "Book\x1b[2J"
		if err := tx.SaveProduct(ctx, p); err != nil {
			return err
		}
		legacy := &vend.File{Name: "evil\x1b]0;pwned\x07\r\n.pdf\u009b31m", Key: p.Files[0].Key, Size: 1, SHA256: p.Files[0].SHA256}
		return tx.SetFiles(ctx, "BOOK", append(p.Files, legacy))
	})
	for _, args := range [][]string{{"products", "show", "BOOK"}, {"products", "list"}, {"products", "edit", "BOOK", "--price", "20.00"}} {
		out := mustVend(t, env, args...)
		if hasControl(out) {
			t.Errorf("vend %s wrote control characters: %q", strings.Join(args, " "), out)
		}
		if !strings.Contains(out, "Book?[2J") {
			t.Errorf("vend %s lost the text around the escape:\n%s", strings.Join(args, " "), out)
		}
	}
	if out := mustVend(t, env, "products", "show", "BOOK"); !strings.Contains(out, "evil?]0;pwned? .pdf?31m  1 bytes") {
		t.Errorf("show does not list the legacy file:\n%s", out)
	}
}

func TestProductsArchiveCLI(t *testing.T) {
	t.Parallel()
	env, _ := seedCopy(t, "--orders", "1", "--attempts", "0", "--products", "2", "--buyers", "1", "--days", "1")
	env = append(env, "VEND_PAYPAL_RECEIVER_EMAILS=seller@example.com")
	if out := mustVend(t, env, "products", "archive", "SEED-001"); !strings.Contains(out, "SEED-001 archived") {
		t.Errorf("products archive: %s", out)
	}
	if list := mustVend(t, env, "products", "list"); strings.Contains(list, "SEED-001") || !strings.Contains(list, "SEED-000") {
		t.Errorf("products list shows an archived product:\n%s", list)
	}
	if list := mustVend(t, env, "products", "list", "--all"); !strings.Contains(list, "[archived]") {
		t.Errorf("products list --all:\n%s", list)
	}
	if show := mustVend(t, env, "products", "show", "SEED-001"); !strings.Contains(show, "no longer sold") {
		t.Errorf("products show:\n%s", show)
	}
	if _, errOut, code := runMain(t, env, "products", "button", "SEED-001"); code == 0 || !strings.Contains(errOut, "archived") {
		t.Errorf("a button for an archived product: exit %d %s", code, errOut)
	}
	mustVend(t, env, "products", "unarchive", "SEED-001")
	if list := mustVend(t, env, "products", "list"); !strings.Contains(list, "SEED-001") {
		t.Errorf("products list after unarchive:\n%s", list)
	}
	mustVend(t, env, "products", "button", "SEED-001")
	if _, errOut, code := runMain(t, env, "products", "archive", "NOPE"); code == 0 || !strings.Contains(errOut, "No such product") {
		t.Errorf("archive NOPE: exit %d %s", code, errOut)
	}
	var actions []string
	for _, e := range auditTrail(t, dirOf(env)) {
		if e.Target == vend.ProductTarget("SEED-001") {
			actions = append(actions, e.Action)
		}
	}
	if !slices.Equal(actions, []string{"product.unarchive", "product.archive"}) {
		t.Errorf("audit trail of SEED-001: %v", actions)
	}
}

func TestProductsButtonCLI_WarnsOfAPrivateBaseURL(t *testing.T) {
	t.Parallel()
	env, _ := seedCopy(t, "--orders", "1", "--attempts", "0", "--products", "2", "--buyers", "1", "--days", "1")
	env = append(env, "VEND_PAYPAL_RECEIVER_EMAILS=seller@example.com")
	for _, tt := range []struct {
		baseURL string
		warn    bool
	}{
		{"http://192.168.1.20:8080", true},
		{"http://localhost:8080", true},
		{"https://shop.example.com", false},
	} {
		out, errOut, code := runMain(t, append(env, "VEND_BASE_URL="+tt.baseURL), "products", "button", "SEED-000")
		if code != 0 || !strings.Contains(out, tt.baseURL+"/ipn/paypal") || strings.Contains(out, "warning") {
			t.Errorf("base_url %s: exit %d, form:\n%s%s", tt.baseURL, code, out, errOut)
		}
		if warned := strings.Contains(errOut, "PayPal could not deliver"); warned != tt.warn {
			t.Errorf("base_url %s: warned %v, want %v: %s", tt.baseURL, warned, tt.warn, errOut)
		}
	}
}
