package vend_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportDirection keeps the layout of STYLE.md: imports point inward, and
// only cmd/vend knows concrete stores.
func TestImportDirection(t *testing.T) {
	const mod = "github.com/vend-shop/vend"
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}:{{join .Deps " "}}`, "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, list, _ := strings.Cut(line, ":")
		deps[strings.TrimPrefix(strings.TrimPrefix(pkg, mod), "/")] = strings.Fields(list)
	}
	if len(deps) < 10 {
		t.Fatalf("go list found only %d packages", len(deps))
	}
	ours := func(d string) (string, bool) {
		if d == mod {
			return "", true
		}
		rel, ok := strings.CutPrefix(d, mod+"/")
		return rel, ok
	}
	for pkg, list := range deps {
		for _, d := range list {
			rel, isOurs := ours(d)
			forbidden := ""
			switch {
			case pkg == "" && isOurs:
				forbidden = "the domain package imports nothing of ours"
			case strings.HasPrefix(pkg, "provider/") && (d == "database/sql" || isOurs && rel != "" && !strings.HasPrefix(rel, "provider/")):
				forbidden = "providers only verify and normalize: no SQL, no ledger, no store"
			case (strings.HasPrefix(pkg, "store") || pkg == "ledger") && d == "net/http":
				forbidden = "stores and the ledger know nothing of HTTP"
			case isOurs && (rel == "store/sqlite" || rel == "blob/local") && pkg != "cmd/vend" && pkg != "bench":
				forbidden = "only cmd/vend names concrete stores"
			case isOurs && (rel == "web" || rel == "config" || rel == "cmd/vend") && pkg != "cmd/vend":
				forbidden = "nothing imports web, config or cmd/vend"
			case pkg == "ledger" && isOurs && (rel == "delivery" || rel == "web" || strings.HasPrefix(rel, "provider")):
				forbidden = "the ledger depends only on store and the domain"
			}
			if forbidden != "" {
				t.Errorf("%s imports %s: %s", pkgName(pkg), d, forbidden)
			}
		}
	}
}

func pkgName(rel string) string {
	if rel == "" {
		return "vend"
	}
	return rel
}
