package vend_test

import (
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/vend-shop/vend"

// mayImport is the layout of STYLE.md as data: for every package of the module,
// the packages of ours its code (not its tests) may import. A package missing
// from this table fails the test, so a new package starts by saying where it
// sits. Imports point inward: nothing imports web, config or cmd/vend; only
// cmd/vend names concrete stores; test helpers are imported by tests alone.
var mayImport = map[string][]string{
	"":                     {},
	"provider/form":        {},
	"provider/digistore24": {"", "provider/form"},
	"provider/paypal":      {"", "provider/form"},
	"provider/generic":     {""},
	"provider/stripe":      {""},
	"provider/websale":     {""},

	"store":          {""},
	"store/sqldb":    {"", "store"},
	"store/sqlite":   {"", "store", "store/sqldb"},
	"store/postgres": {"", "store", "store/sqldb"},
	"blob":           {""},
	"blob/local":     {"", "blob"},
	"blob/s3":        {"", "blob"},

	"ledger":   {"", "store", "locale"},
	"catalog":  {"", "store", "blob"},
	"delivery": {"", "store", "blob"},
	"mailer":   {"", "store", "locale"},
	"report":   {"", "store"},
	"license":  {"", "store"},
	"metrics":  {"", "store"},
	"webhook":  {"", "store"},
	"account":  {"", "store"},
	"config":   {""},
	"locale":   {""},
	"intake":   {"", "store", "ledger"},
	"web": {"", "store", "blob", "ledger", "catalog", "delivery", "intake", "report", "account", "locale", "license", "metrics", "webhook",
		"mailer"}, // mailer: the admin reads the development mailbox
	"bench": {"", "provider/digistore24", "provider/paypal"},
	"cmd/vend": {"", "store", "store/sqlite", "store/postgres", "blob", "blob/local", "blob/s3",
		"ledger", "catalog", "delivery", "mailer", "report", "account", "config", "intake", "web", "provider/form", "locale", "license", "metrics", "webhook",
		"provider/digistore24", "provider/generic", "provider/paypal", "provider/stripe", "provider/websale"},

	// Test helpers: conformance suites and real services for tests.
	"internal/servicetest":    {},
	"internal/testclock":      {},
	"store/storetest":         {"", "store", "internal/testclock"},
	"store/postgres/pgtest":   {"store/postgres", "internal/servicetest"},
	"store/sqlite/sqlitetest": {"store/sqlite"},
	"blob/blobtest":           {"", "blob"},
	"blob/s3/s3test":          {"internal/servicetest"},
	"mailer/smtptest":         {},
	"webhook/webhooktest":     {},
}

// backends are the concrete stores, which tests may open.
var backends = []string{"store/sqlite", "store/postgres", "blob/local", "blob/s3"}

// testHelpers may be imported by tests only.
var testHelpers = []string{"internal/servicetest", "internal/testclock", "store/storetest", "store/postgres/pgtest", "store/sqlite/sqlitetest",
	"blob/blobtest", "blob/s3/s3test", "mailer/smtptest", "webhook/webhooktest"}

// TestImportDirection checks every package's imports against mayImport, and the
// rules on what below the HTTP layer may use of the standard library.
func TestImportDirection(t *testing.T) {
	pkgs, err := goList()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pkgs {
		allowed, known := mayImport[p.Rel]
		if !known {
			t.Errorf("%s is not in mayImport (deps_test.go): add it with the packages of ours it may import", p.name())
			continue
		}
		for _, d := range p.Imports {
			if rel, ours := ourPackage(d); ours && !slices.Contains(allowed, rel) {
				t.Errorf("%s imports %s: not in its row of mayImport", p.name(), name(rel))
			}
		}
		// Tests may also use their own package, test helpers, concrete
		// backends and providers (a test plays the provider's side); never what
		// sits above them. Providers and the domain are tested on their own.
		for _, d := range p.TestImports {
			rel, ours := ourPackage(d)
			if !ours || rel == p.Rel || slices.Contains(allowed, rel) {
				continue
			}
			plays := strings.HasPrefix(rel, "provider/") // a test plays the provider's side
			if strings.HasPrefix(p.Rel, "provider/") || p.Rel == "" ||
				!slices.Contains(testHelpers, rel) && !slices.Contains(backends, rel) && !plays {
				t.Errorf("the tests of %s import %s: not in its row of mayImport, nor a test helper, backend or provider", p.name(), name(rel))
			}
		}
		for _, d := range p.Deps {
			if reason := forbiddenStd(p.Rel, d); reason != "" {
				t.Errorf("%s depends on %s: %s", p.name(), d, reason)
			}
		}
	}
	for rel := range mayImport {
		if !slices.ContainsFunc(pkgs, func(p pkg) bool { return p.Rel == rel }) {
			t.Errorf("mayImport names %s, which is not a package of the module", name(rel))
		}
	}
}

// forbiddenStd says why pkg may not depend (directly or not) on dep, or "".
func forbiddenStd(pkg, dep string) string {
	switch {
	case strings.HasPrefix(pkg, "provider/") && dep == "database/sql":
		return "providers only verify and normalize: no SQL"
	case (pkg == "store" || strings.HasPrefix(pkg, "store/") || pkg == "ledger") && dep == "net/http":
		return "stores and the ledger know nothing of HTTP"
	}
	return ""
}

type pkg struct {
	Rel         string   // path in the module; "" is the domain package vend
	Imports     []string // direct imports of the package's code
	TestImports []string // direct imports of its tests
	Deps        []string // everything its code depends on
}

func (p pkg) name() string { return name(p.Rel) }

func name(rel string) string {
	if rel == "" {
		return "vend"
	}
	return rel
}

func ourPackage(path string) (rel string, ours bool) {
	if path == module {
		return "", true
	}
	return strings.CutPrefix(path, module+"/")
}

func goList() ([]pkg, error) {
	out, err := exec.Command("go", "list", "-f",
		`{{.ImportPath}}|{{join .Imports " "}}|{{join .TestImports " "}} {{join .XTestImports " "}}|{{join .Deps " "}}`,
		module+"/...").Output()
	if err != nil {
		return nil, fmt.Errorf("go list: %w", err)
	}
	var list []pkg
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(line, "|")
		rel, _ := ourPackage(f[0])
		list = append(list, pkg{Rel: rel, Imports: strings.Fields(f[1]), TestImports: strings.Fields(f[2]), Deps: strings.Fields(f[3])})
	}
	if len(list) < 10 {
		return nil, fmt.Errorf("go list found only %d packages", len(list))
	}
	return list, nil
}
