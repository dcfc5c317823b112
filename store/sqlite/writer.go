package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/vend-shop/vend/store"
	"github.com/vend-shop/vend/store/sqldb"
)

// Group commit. With synchronous=FULL every commit waits for an fsync; one
// transaction per notification would cap ingest at the disk's fsync rate. So
// Updates are handed to one writer goroutine, which runs every Update waiting when
// it starts a transaction inside that one transaction, each in a SAVEPOINT of its
// own: an Update that fails (or panics) rolls back alone, and every caller learns
// its outcome only after the shared COMMIT — so nil still means durable.

// maxBatch bounds how many Updates share a commit, so one batch never holds the
// writer for long.
const maxBatch = 256

// ErrClosed is returned by Update after Close.
var ErrClosed = errors.New("sqlite: database is closed")

type job struct {
	ctx  context.Context
	fn   func(tx store.Tx) error
	done chan result
}

type result struct {
	err      error
	panicked any
}

// Update runs fn in a write transaction, possibly shared with other Updates (see
// above). It returns once the transaction is committed or fn's work rolled back.
func (db *DB) Update(ctx context.Context, fn func(tx store.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	j := &job{ctx: ctx, fn: fn, done: make(chan result, 1)}
	select {
	case db.jobs <- j:
	case <-ctx.Done():
		return ctx.Err()
	case <-db.quit:
		return ErrClosed
	}
	r := <-j.done // the job is in the writer's hands: wait for its outcome
	if r.panicked != nil {
		panic(r.panicked)
	}
	return r.err
}

func (db *DB) writeLoop() {
	defer close(db.writerDone)
	for {
		select {
		case <-db.quit:
			return
		case j := <-db.jobs:
			batch := []*job{j}
		gather:
			for len(batch) < maxBatch {
				select {
				case j := <-db.jobs:
					batch = append(batch, j)
				default:
					break gather
				}
			}
			db.commit(batch)
		}
	}
}

func (db *DB) commit(batch []*job) {
	results := make([]result, len(batch))
	err := func() error {
		tx, err := db.write.BeginTx(context.Background(), nil)
		if err != nil {
			return fmt.Errorf("sqlite: begin: %w", err)
		}
		defer func() { _ = tx.Rollback() }() // a no-op after Commit
		for i, j := range batch {
			results[i] = db.runJob(tx, j)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("sqlite: commit: %w", err)
		}
		return nil
	}()
	db.generation.Add(1) // also after a failed commit: never too few
	db.writeStmts.Prepare(context.Background())
	for i, j := range batch {
		r := results[i]
		if err != nil && r.panicked == nil && r.err == nil {
			r.err = err
		}
		j.done <- r
	}
}

// Generation changes with every write transaction of this DB, so callers can tell
// whether anything was written since they last read (see delivery's cache). It
// does not see writes by other processes on the same file.
func (db *DB) Generation() uint64 { return db.generation.Load() }

// runJob runs one Update inside the shared transaction, in its own savepoint.
func (db *DB) runJob(tx *sql.Tx, j *job) (r result) {
	if err := j.ctx.Err(); err != nil {
		return result{err: err}
	}
	if _, err := tx.Exec(`SAVEPOINT job`); err != nil {
		return result{err: fmt.Errorf("sqlite: savepoint: %w", err)}
	}
	defer func() {
		if p := recover(); p != nil {
			r = result{panicked: p}
		}
		if r.err != nil || r.panicked != nil {
			if _, err := tx.Exec(`ROLLBACK TO job`); err != nil && r.err != nil {
				r.err = fmt.Errorf("%w (and rollback: %v)", r.err, err)
			}
		}
		if _, err := tx.Exec(`RELEASE job`); err != nil && r.err == nil && r.panicked == nil {
			r.err = fmt.Errorf("sqlite: release savepoint: %w", err)
		}
	}()
	err := j.fn(sqldb.NewTx(tx, db.Now(), db.writeStmts))
	if err == nil {
		err = j.ctx.Err() // cancelled while running: its caller has given up on it
	}
	return result{err: err}
}
