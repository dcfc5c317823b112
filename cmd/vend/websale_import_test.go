package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/provider/websale"
	"github.com/vend-shop/vend/store"
)

func TestWebsaleImport(t *testing.T) {
	t.Parallel()
	env, dir := websaleEnv(t)
	mustVend(t, env, "migrate")
	file := filepath.Join(t.TempDir(), "orders.csv")
	// As a spreadsheet in a German locale saves it: a byte order mark, semicolons.
	export := "\uFEFFBestellung;Order;Product;Email\nx;1000123;1234567890;kunde@example.de\nx;1000123;PAPERBACK;kunde@example.de\nx;1000124;1234567890;\n"
	if err := os.WriteFile(file, []byte(export), 0o600); err != nil {
		t.Fatal(err)
	}
	out := mustVend(t, env, "websale", "import", file)
	if want := "imported 2 items of 2 orders, 2 of them new\nskipped 1 rows of product numbers not in websale.products\n"; out != want {
		t.Errorf("first import:\n%s\nwant\n%s", out, want)
	}
	if out, _, _ := runStdin(t, env, export, "websale", "import", "-"); !strings.HasPrefix(out, "imported 2 items of 2 orders, 0 of them new\n") {
		t.Errorf("the same export again, from standard input:\n%s", out)
	}

	db := openLedger(t, dir)
	err := db.View(context.Background(), func(tx store.Tx) error {
		it, err := tx.FindImportedItem(context.Background(), websale.Provider, "myshop/1/1000123/1234567890")
		if err == nil && (it.OrderRef != "myshop/1/1000123" || it.Email != "kunde@example.de") {
			t.Errorf("imported %+v", it)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	trail := auditTrail(t, dir)
	if len(trail) != 2 || trail[0].Actor != cliActor || trail[0].Action != "websale.import" || trail[0].Target != vend.ProviderTarget(websale.Provider) ||
		!strings.Contains(trail[1].After, `"new":2`) {
		t.Errorf("audit trail: %+v", trail)
	}

	bad := filepath.Join(t.TempDir(), "bad.csv")
	if err := os.WriteFile(bad, []byte("order,product\n1000125,1234567890\n,1234567890\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := runMain(t, env, "websale", "import", bad); code == 0 || !strings.Contains(errOut, "line 3") {
		t.Errorf("a file with an empty order number: exit %d\n%s", code, errOut)
	}
	err = db.View(context.Background(), func(tx store.Tx) error {
		_, err := tx.FindImportedItem(context.Background(), websale.Provider, "myshop/1/1000125/1234567890")
		return err
	})
	if vend.ErrorCode(err) != vend.ENOTFOUND {
		t.Errorf("the good row of a refused file: %v, want it not imported", err)
	}
}
