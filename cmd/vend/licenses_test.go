package main

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestLicensesCLI: a licensed product, a manual order that issues its key,
// and the key found, shown, disabled, enabled, limited and reset from the
// shell; the public key prints as PEM.
func TestLicensesCLI(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := []string{"VEND_DATA_DIR=" + filepath.Join(dir, "data")}
	if err := os.WriteFile(filepath.Join(dir, "app.zip"), []byte("PK app"), 0o600); err != nil {
		t.Fatal(err)
	}
	mustVend(t, env, "products", "add", "APP", "--name", "App", "--file", filepath.Join(dir, "app.zip"), "--price", "49")
	edited := mustVend(t, env, "products", "edit", "APP", "--license", "generated", "--activation-limit", "2", "--license-length", "365d",
		"--key-format", "APP-XXXXX-XXXXX-XXXXX-XXXXX")
	if !strings.Contains(edited, "licences generated\t2 activations\tlength 365d\tformat APP-XXXXX-XXXXX-XXXXX-XXXXX") {
		t.Errorf("products edit printed:\n%s", edited)
	}
	if _, errOut, code := runMain(t, env, "products", "edit", "APP", "--key-format", "XXXX"); code == 0 || !strings.Contains(errOut, "random characters") {
		t.Errorf("a key format with too few random characters: exit %d %s", code, errOut)
	}
	var order struct {
		ID       int64 `json:"id"`
		Licenses []struct {
			ID     int64  `json:"id"`
			Key    string `json:"key"`
			Status string `json:"status"`
		} `json:"licenses"`
	}
	if err := json.Unmarshal([]byte(mustVend(t, env, "orders", "create", "--email", "dev@example.com", "--product", "APP", "--json")), &order); err != nil {
		t.Fatal(err)
	}
	if len(order.Licenses) != 1 || !strings.HasPrefix(order.Licenses[0].Key, "APP-") || order.Licenses[0].Status != "inactive" {
		t.Fatalf("the manual order's keys: %+v", order.Licenses)
	}
	key, id := order.Licenses[0].Key, strconv.FormatInt(order.Licenses[0].ID, 10)
	if text := mustVend(t, env, "orders", "show", strconv.FormatInt(order.ID, 10)); !strings.Contains(text, "LICENCE") || !strings.Contains(text, key) {
		t.Errorf("orders show lacks the key:\n%s", text)
	}
	if list := mustVend(t, env, "licenses", "list", "--product", "APP"); !strings.Contains(list, key) || !strings.Contains(list, "0/2") {
		t.Errorf("licenses list:\n%s", list)
	}
	if show := mustVend(t, env, "licenses", "show", strings.ToLower(key)); !strings.Contains(show, "Licence "+id) || !strings.Contains(show, "dev@example.com") {
		t.Errorf("licenses show by key:\n%s", show)
	}
	if out := mustVend(t, env, "licenses", "disable", id); !strings.Contains(out, "disabled") || !strings.Contains(out, "Disabled by an administrator") {
		t.Errorf("disable:\n%s", out)
	}
	if out := mustVend(t, env, "licenses", "enable", key); !strings.Contains(out, "inactive") {
		t.Errorf("enable:\n%s", out)
	}
	if out := mustVend(t, env, "licenses", "limit", id, "unlimited"); !strings.Contains(out, "Activations 0 of unlimited") {
		t.Errorf("limit:\n%s", out)
	}
	mustVend(t, env, "licenses", "reset", id)
	if _, errOut, code := runMain(t, env, "licenses", "show", "NOPE-NOPE"); code == 0 || !strings.Contains(errOut, "No licence key") {
		t.Errorf("an unknown key: exit %d %s", code, errOut)
	}
	if _, errOut, code := runMain(t, env, "licenses", "limit", id, "0"); code == 0 || !strings.Contains(errOut, "activation limit") {
		t.Errorf("limit 0: exit %d %s", code, errOut)
	}
	block, _ := pem.Decode([]byte(mustVend(t, env, "licenses", "public-key")))
	if block == nil || block.Type != "PUBLIC KEY" {
		t.Fatalf("public-key printed no PEM public key")
	}
	if _, err := x509.ParsePKIXPublicKey(block.Bytes); err != nil {
		t.Errorf("public key: %v", err)
	}
	if st, err := os.Stat(filepath.Join(dir, "data", "license-key.pem")); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("license-key.pem: %v %v", st, err)
	}
	if audit := mustVend(t, env, "orders", "show", strconv.FormatInt(order.ID, 10), "--json"); strings.Count(audit, key) != 1 {
		t.Errorf("the key shows %d times in orders show --json, want once", strings.Count(audit, key))
	}
}
