package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOpen_RefusesAnEmptyDataDir: a command that reads or changes a shop does
// not make a new, empty one where the seller surely meant the existing one; the
// commands that start a shop do.
func TestOpen_RefusesAnEmptyDataDir(t *testing.T) {
	t.Parallel()
	t.Run("a missing directory", func(t *testing.T) {
		t.Parallel()
		dir := filepath.Join(t.TempDir(), "vend-data")
		for _, args := range [][]string{{"orders", "list"}, {"products", "show", "X"}, {"mail", "list"}, {"user", "list"}} {
			_, errOut, code := runMain(t, []string{"VEND_DATA_DIR=" + dir}, args...)
			if code == 0 || !strings.Contains(errOut, "holds no ledger") || !strings.Contains(errOut, dir) {
				t.Errorf("vend %s: exit %d %s", strings.Join(args, " "), code, errOut)
			}
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("the data directory was made: %v", err)
		}
	})
	t.Run("a directory without a ledger, from a config file", func(t *testing.T) {
		t.Parallel()
		conf := filepath.Join(t.TempDir(), "vend.toml")
		os.WriteFile(conf, []byte(`data_dir = "shop"`), 0o600)
		os.Mkdir(filepath.Join(filepath.Dir(conf), "shop"), 0o700)
		if _, errOut, code := runMain(t, nil, "--config", conf, "orders", "list"); code == 0 || !strings.Contains(errOut, "holds no ledger") {
			t.Errorf("orders list: exit %d %s", code, errOut)
		}
		// migrate starts the shop, next to the config file; then it is found.
		mustVend(t, nil, "--config", conf, "migrate")
		if _, err := os.Stat(filepath.Join(filepath.Dir(conf), "shop", "vend.db")); err != nil {
			t.Errorf("migrate made no ledger next to the config file: %v", err)
		}
		mustVend(t, nil, "--config", conf, "orders", "list")
	})
	t.Run("PostgreSQL: a directory without the signing secret", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		env := []string{"VEND_DATA_DIR=" + dir, "VEND_DATABASE=postgres://vend@127.0.0.1:1/vend"}
		if _, errOut, code := runMain(t, env, "orders", "list"); code == 0 || !strings.Contains(errOut, "holds no signing secret") {
			t.Errorf("orders list: exit %d %s", code, errOut)
		}
	})
}
