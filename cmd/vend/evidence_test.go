package main

import (
	"archive/zip"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestOrdersEvidenceCLI: vend orders evidence writes an order's pack, owner
// readable only, and says what it holds; an unknown order is a clear error.
func TestOrdersEvidenceCLI(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := []string{"VEND_DATA_DIR=" + filepath.Join(dir, "data"), "VEND_SHOP_TERMS_VERSION=v3"}
	if err := os.WriteFile(filepath.Join(dir, "book.pdf"), []byte("%PDF book"), 0o600); err != nil {
		t.Fatal(err)
	}
	mustVend(t, env, "products", "add", "BOOK", "--name", "Book", "--file", filepath.Join(dir, "book.pdf"), "--price", "9")
	var order struct {
		ID int64 `json:"id"`
	}
	if err := json.Unmarshal([]byte(mustVend(t, env, "orders", "create", "--email", "dev@example.com", "--product", "BOOK", "--json")), &order); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "pack.zip")
	said := mustVend(t, env, "orders", "evidence", strconv.FormatInt(order.ID, 10), "-o", out)
	if !strings.Contains(said, "pack.zip: order 1, 0 download requests, 0 completed downloads, 0 page visits") {
		t.Errorf("orders evidence said %q", said)
	}
	if fi, err := os.Stat(out); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the pack: %v %v", fi, err)
	}
	z, err := zip.OpenReader(out)
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	var names []string
	var orderCSV string
	for _, f := range z.File {
		names = append(names, f.Name)
		if strings.HasSuffix(f.Name, "/order.csv") {
			rc, _ := f.Open()
			b := make([]byte, 4096)
			n, _ := rc.Read(b)
			rc.Close()
			orderCSV = string(b[:n])
		}
	}
	if len(names) != 9 || names[0] != "evidence-order-1/summary.html" || !strings.HasPrefix(names[8], "evidence-order-1/notifications/") || !strings.Contains(orderCSV, ",v3,BOOK,") {
		t.Errorf("the pack holds %v; order.csv:\n%s", names, orderCSV)
	}
	if _, errOut, code := runMain(t, env, "orders", "evidence", "999"); code == 0 || !strings.Contains(errOut, "999") {
		t.Errorf("an unknown order: exit %d %q", code, errOut)
	}
}
