package main

import (
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/blob"
	"github.com/vend-shop/vend/blob/local"
	"github.com/vend-shop/vend/blob/s3"
	"github.com/vend-shop/vend/config"
	"github.com/vend-shop/vend/license"
	"github.com/vend-shop/vend/store"
	"github.com/vend-shop/vend/store/postgres"
	"github.com/vend-shop/vend/store/sqlite"
)

// App is what every command shares: the configuration and the opened stores. Only
// this package knows the concrete store types.
type App struct {
	Stdout, Stderr io.Writer
	Environ        []string
	ConfigPath     string

	Config config.Config
	DB     store.DB
	SQLite *sqlite.DB // the same DB when the ledger is SQLite, else nil
	Blobs  blob.Store
	Secret []byte
	// LicenseKey signs licences (data_dir/license-key.pem).
	LicenseKey ed25519.PrivateKey
	Logger     *slog.Logger
}

// loadConfig reads the configuration once, from --config or $VEND_CONFIG and the
// environment.
func (a *App) loadConfig() error {
	path := a.ConfigPath
	if path == "" {
		path = a.getenv("VEND_CONFIG")
	}
	cfg, err := config.Load(path, a.Environ)
	if err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	a.Config = cfg
	a.Logger = newLogger(a.Stderr, cfg.LogLevel, cfg.LogFormat)
	return nil
}

func (a *App) getenv(key string) string {
	for _, kv := range a.Environ {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v
		}
	}
	return ""
}

func newLogger(w io.Writer, level, format string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: l}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// open loads the configuration and opens an existing data directory: the
// SQLite ledger (migrated), file storage and the signing secret. A data
// directory without a ledger is refused: `vend orders list` in the wrong
// working directory, or with the wrong --config, would otherwise make a new,
// empty shop there and show nothing, as if the orders were gone.
func (a *App) open(ctx context.Context) error {
	return a.openData(ctx, false)
}

// create is open for the commands that may start a shop: serve, demo,
// migrate, the first products import or user. They make the data directory
// and its ledger when there are none.
func (a *App) create(ctx context.Context) error {
	return a.openData(ctx, true)
}

func (a *App) openData(ctx context.Context, create bool) error {
	if a.Logger == nil { // not loaded yet (vend demo loads and adjusts it first)
		if err := a.loadConfig(); err != nil {
			return err
		}
	}
	dir := a.Config.DataDir
	if !create {
		if err := a.checkDataDir(); err != nil {
			return err
		}
	}
	if err := writableDir(dir); err != nil {
		return err
	}
	var err error
	if err := a.openBlobs(ctx); err != nil {
		return err
	}
	if err := a.openDB(ctx); err != nil {
		a.Blobs.Close()
		return err
	}
	// The secret lives in the data directory, never in the database (which would
	// then yield working links on its own). Instances sharing a PostgreSQL must
	// share the file; the database keeps a fingerprint to catch one that does not.
	a.Secret, err = loadSecret(filepath.Join(dir, "secret"))
	if err == nil && a.SQLite == nil {
		err = checkSharedSecret(ctx, a.DB, a.Secret, filepath.Join(dir, "secret"))
	}
	if err == nil {
		err = a.loadLicenseKey(ctx)
	}
	if err != nil {
		a.close()
		return err
	}
	return nil
}

// loadLicenseKey reads the key signed licences are made with, creating it
// once in the data directory. Instances sharing a PostgreSQL must share the
// file: the first stores its public key, the others compare theirs.
func (a *App) loadLicenseKey(ctx context.Context) error {
	path := filepath.Join(a.Config.DataDir, "license-key.pem")
	key, err := license.LoadKey(path)
	if err != nil {
		return err
	}
	a.LicenseKey = key
	if a.SQLite != nil {
		return nil
	}
	same, err := sameAsOthers(ctx, a.DB, "license_public_key", string(license.NewSigner(key).PublicKeyPEM()))
	if err != nil {
		return fmt.Errorf("licence key: %w", err)
	}
	if !same {
		return fmt.Errorf("licence key %s differs from the one the other instances on this database use: "+
			"copy their data_dir/license-key.pem here, or licences signed by one instance fail their check against the other's key", path)
	}
	return nil
}

// checkDataDir reports a data directory that holds no shop: no SQLite ledger
// or, when the ledger is in PostgreSQL, no signing secret (a new one would
// make links that fail everywhere else).
func (a *App) checkDataDir() error {
	dir := a.Config.DataDir
	what, file := "ledger", filepath.Join(dir, "vend.db")
	if a.Config.Database != "" {
		what, file = "signing secret", filepath.Join(dir, "secret")
	}
	_, err := os.Stat(file)
	if err == nil {
		return nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("data directory %s: %w", dir, err)
	}
	abs, aerr := filepath.Abs(dir)
	if aerr != nil {
		abs = dir
	}
	return fmt.Errorf("data directory %s holds no %s (%s): is data_dir right (--config, VEND_DATA_DIR, or the directory vend runs in)? "+
		"Nothing was created there; vend serve or vend migrate starts a new shop", abs, what, filepath.Base(file))
}

// openBlobs opens file storage: the S3 bucket storage names, else data_dir/files.
func (a *App) openBlobs(ctx context.Context) error {
	var err error
	if a.Config.Storage != "" {
		a.Blobs, err = s3.Open(ctx, a.Config.Storage)
	} else {
		a.Blobs, err = local.Open(filepath.Join(a.Config.DataDir, "files"))
	}
	return err
}

// openDB opens the ledger: PostgreSQL when database names one, else the SQLite
// file in the data directory.
func (a *App) openDB(ctx context.Context) error {
	if a.Config.Database != "" {
		db := postgres.NewDB(a.Config.Database)
		if err := db.Open(ctx); err != nil {
			return err
		}
		a.DB = db
		return nil
	}
	db := sqlite.NewDB(filepath.Join(a.Config.DataDir, "vend.db"))
	if err := db.Open(ctx); err != nil {
		return err
	}
	a.DB, a.SQLite = db, db
	return nil
}

func (a *App) close() {
	if a.DB != nil {
		if err := a.DB.Close(); err != nil {
			a.Logger.Error("close database", "error", err)
		}
	}
	if a.Blobs != nil {
		if err := a.Blobs.Close(); err != nil {
			a.Logger.Error("close file storage", "error", err)
		}
	}
}

// loadSecret reads the signing secret, creating it once with 32 random bytes. It
// signs download links: losing or changing it breaks every link already sent.
func loadSecret(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if err := createSecret(path); err != nil {
			return nil, fmt.Errorf("create signing secret: %w", err)
		}
		return loadSecret(path)
	} else if err != nil {
		return nil, fmt.Errorf("read signing secret: %w", err)
	}
	secret, err := hex.DecodeString(strings.TrimSpace(string(data)))
	if err != nil || len(secret) < 32 {
		return nil, fmt.Errorf("signing secret %s is damaged (want 64 hex digits)", path)
	}
	return secret, nil
}

// cliError shows the operator a vend error's plain message ("No such product: X.")
// and any other error in full: on the command line, unlike on a buyer's page, the
// cause is what helps.
func cliError(err error) error {
	if err == nil {
		return nil
	}
	if code := vend.ErrorCode(err); code != vend.EINTERNAL {
		return errors.New(vend.ErrorMessage(err))
	}
	return err
}

// checkSharedSecret makes sure every instance on one database signs links with
// the same secret: the first one stores a fingerprint of its secret (an HMAC, from
// which the secret cannot be found), the others compare theirs with it.
func checkSharedSecret(ctx context.Context, db store.DB, secret []byte, path string) error {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte("vend/link-secret-fingerprint/v1"))
	same, err := sameAsOthers(ctx, db, "link_secret_fingerprint", hex.EncodeToString(h.Sum(nil)))
	if err != nil {
		return fmt.Errorf("signing secret: %w", err)
	}
	if !same {
		return fmt.Errorf("signing secret %s differs from the one the other instances on this database use: "+
			"copy their data_dir/secret here, or links made by one instance fail on another", path)
	}
	return nil
}

// sameAsOthers stores mine as the database's setting name unless an
// instance stored one first, and reports whether the stored one is mine.
func sameAsOthers(ctx context.Context, db store.DB, name, mine string) (bool, error) {
	var stored string
	err := db.Update(ctx, func(tx store.Tx) error {
		if _, err := tx.CreateSetting(ctx, name, mine); err != nil {
			return err
		}
		var err error
		stored, err = tx.FindSetting(ctx, name)
		return err
	})
	return hmac.Equal([]byte(stored), []byte(mine)), err
}

// createSecret writes a new secret to a temporary file and links it into place, so
// a crash never leaves a half-written secret, and two vends starting at once agree
// on the one that got there first.
func createSecret(path string) error {
	buf := make([]byte, 32)
	rand.Read(buf)
	tmp, err := os.CreateTemp(filepath.Dir(path), ".secret-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.WriteString(hex.EncodeToString(buf) + "\n")
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return nil
}

// printJSON writes v as indented JSON: the --json output of every command.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
