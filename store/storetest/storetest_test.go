package storetest_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/vend-shop/vend/store"
)

// TestRun_CallsEveryMethod fails when a method of store.Tx is called nowhere in
// the suite: a new store method comes with its conformance test, so SQLite and
// PostgreSQL are held to the same behaviour for it.
func TestRun_CallsEveryMethod(t *testing.T) {
	called := map[string]bool{}
	fset := token.NewFileSet()
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, e.Name(), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok {
				called[sel.Sel.Name] = true
			}
			return true
		})
	}
	tx := reflect.TypeFor[store.Tx]()
	for i := range tx.NumMethod() {
		if name := tx.Method(i).Name; !called[name] {
			t.Errorf("store.Tx.%s is never called by the conformance suite: add its test to store/storetest", name)
		}
	}
}
