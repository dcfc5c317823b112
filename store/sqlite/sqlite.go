// Package sqlite is vend's embedded store: one SQLite file in the data directory,
// WAL mode with synchronous=FULL so a committed notification survives a power cut.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // the pure-Go driver, registered as "sqlite"

	"github.com/vend-shop/vend/store"
	"github.com/vend-shop/vend/store/sqldb"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DB is the SQLite store. Writes go through a pool of exactly one connection, so
// SQLite's single writer never returns SQLITE_BUSY to us; reads use a wider pool.
type DB struct {
	Path string
	Now  func() time.Time
	// ObserveCommit, when set, is told how long each write commit took (a
	// metric); the writer calls it, so it must be quick.
	ObserveCommit func(time.Duration)

	write      *sql.DB
	read       *sql.DB
	writeStmts *sqldb.Stmts
	readStmts  *sqldb.Stmts

	jobs       chan *job     // Updates for the writer goroutine
	quit       chan struct{} // closed by Close
	writerDone chan struct{}
	closeOnce  sync.Once
	generation atomic.Uint64
}

var _ store.DB = (*DB)(nil)

// NewDB returns a DB for the file at path; call Open before use.
func NewDB(path string) *DB { return &DB{Path: path, Now: time.Now} }

func dsn(path string, readOnly bool) string {
	q := url.Values{}
	// busy_timeout first: setting WAL may itself wait for a lock.
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(1)")
	// Group commit runs each job in a savepoint, and SQLite copies every page a
	// savepoint changes into a sub-journal: in memory that costs nothing, as a
	// temp file it cost a write syscall per page. It holds only what a rollback
	// to the savepoint needs; durability is the WAL's.
	q.Add("_pragma", "temp_store(MEMORY)")
	// A page cache of 64 MiB for the one writer, 16 MiB for each reader
	// (SQLite's default is 2 MiB): random keys (grant ids, buyer emails) spread
	// inserts over whole indexes, and once an index outgrows the cache every
	// commit rereads and rewrites pages all over it. Ingest fell to a fifth at a
	// few MiB of data without this.
	if readOnly {
		q.Add("_pragma", "cache_size(-16384)")
	} else {
		q.Add("_pragma", "cache_size(-65536)")
	}
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Set("_txlock", "immediate")
	}
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
}

// Open opens (creating if needed) the database file and runs the migrations.
func (db *DB) Open(ctx context.Context) error {
	if dir := filepath.Dir(db.Path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("sqlite: create %s: %w", dir, err)
		}
	}
	if err := makePrivate(db.Path); err != nil {
		return fmt.Errorf("sqlite: open %s: %w", db.Path, err)
	}
	var err error
	if db.write, err = sql.Open("sqlite", dsn(db.Path, false)); err != nil {
		return fmt.Errorf("sqlite: open %s: %w", db.Path, err)
	}
	db.writeStmts = sqldb.NewStmts(db.write)
	db.write.SetMaxOpenConns(1)
	db.write.SetConnMaxIdleTime(0)
	db.write.SetConnMaxLifetime(0)
	if err := db.write.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlite: open %s: %w", db.Path, err)
	}
	if err := db.migrate(ctx); err != nil {
		return err
	}
	if db.read, err = sql.Open("sqlite", dsn(db.Path, true)); err != nil {
		return fmt.Errorf("sqlite: open %s for reading: %w", db.Path, err)
	}
	db.readStmts = sqldb.NewStmts(db.read)
	db.jobs, db.quit, db.writerDone = make(chan *job), make(chan struct{}), make(chan struct{})
	go db.writeLoop()
	db.read.SetMaxOpenConns(8)
	db.read.SetMaxIdleConns(8)
	return nil
}

// fileMode is the mode of the database file and of its backups: they hold
// buyers' names and email addresses, so only vend's own user may read them.
const fileMode fs.FileMode = 0o600

// makePrivate creates the database file with fileMode before SQLite opens it
// (SQLite would create it 0644 less the umask, and creates the -wal and -shm
// files with the mode of the database file), and takes group and other access
// away from a file, -wal or -shm that an older vend left readable.
func makePrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, fileMode)
	if err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		st, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		} else if err != nil {
			return err
		}
		if perm := st.Mode().Perm(); perm&^fileMode != 0 {
			if err := os.Chmod(p, perm&fileMode); err != nil {
				return err
			}
		}
	}
	return nil
}

func (db *DB) migrate(ctx context.Context) error {
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return fmt.Errorf("sqlite: migrations: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db.write, fsys)
	if err != nil {
		return fmt.Errorf("sqlite: migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("sqlite: migrate %s: %w", db.Path, err)
	}
	return nil
}

// Close closes both pools.
func (db *DB) Close() error {
	if db.quit != nil {
		db.closeOnce.Do(func() { close(db.quit) })
		<-db.writerDone
	}
	var err error
	for _, c := range []*sqldb.Stmts{db.readStmts, db.writeStmts} {
		if c != nil {
			c.Close()
		}
	}
	if db.read != nil {
		err = db.read.Close()
	}
	if db.write != nil {
		if e := db.write.Close(); e != nil && err == nil {
			err = e
		}
	}
	return err
}

// View runs fn in a read-only transaction on the read pool.
func (db *DB) View(ctx context.Context, fn func(tx store.Tx) error) error {
	// Deferred first, so it runs last: after the transaction freed its connection.
	defer db.readStmts.Prepare(context.Background())
	tx, err := db.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("sqlite: begin: %w", err)
	}
	// Also when fn panics: a connection left in a transaction is lost to the pool.
	defer func() { _ = tx.Rollback() }()
	if err := fn(sqldb.NewTx(tx, db.Now(), db.readStmts)); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: commit: %w", err)
	}
	return nil
}

// Backup writes a consistent copy of the live database to path (which must not
// exist) without stopping writers, using VACUUM INTO on a connection of its own:
// the read pool is query_only, which refuses VACUUM INTO, and the write pool's one
// connection would hold up every writer for the length of the copy. The copy is
// synced to disk before Backup returns.
func (db *DB) Backup(ctx context.Context, path string) error {
	if db.write == nil {
		return fmt.Errorf("sqlite: backup: %s is not open", db.Path)
	}
	// The copy is created empty with fileMode first, which VACUUM INTO accepts:
	// SQLite would create it 0644, readable by everyone, for the whole copy.
	// O_EXCL also makes sure an existing file is never overwritten.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fileMode)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("sqlite: backup: %s already exists", path)
	} else if err != nil {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	if err := db.vacuumInto(ctx, path); err != nil {
		os.Remove(path)
		return fmt.Errorf("sqlite: backup to %s: %w", path, err)
	}
	// The copy, and (where the system allows syncing a directory) its name in the
	// directory, survive a power cut.
	if err := syncFile(path); err != nil {
		return fmt.Errorf("sqlite: backup to %s: %w", path, err)
	}
	_ = syncFile(filepath.Dir(path))
	return nil
}

// vacuumInto copies the live database into the empty file at path.
func (db *DB) vacuumInto(ctx context.Context, path string) error {
	conn, err := sql.Open("sqlite", backupDSN(db.Path))
	if err != nil {
		return fmt.Errorf("open %s: %w", db.Path, err)
	}
	defer conn.Close()
	conn.SetMaxOpenConns(1)
	_, err = conn.ExecContext(ctx, `VACUUM INTO $1`, path)
	return err
}

// backupDSN opens the live file for VACUUM INTO: it waits for locks like the
// store's own connections and changes nothing in the source.
func backupDSN(path string) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
}

func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
