package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/vend-shop/vend/store"
	"github.com/vend-shop/vend/store/sqldb"
)

// Group commit. With synchronous=FULL every commit waits for an fsync; one
// transaction per notification would cap ingest at the disk's fsync rate. So
// Updates are handed to one writer goroutine, which runs every Update waiting when
// it starts a transaction, and those sent while it runs (see maxBatch), inside
// that one transaction, each in a SAVEPOINT of its own: an Update that fails (or
// panics) rolls back alone, and every caller learns its outcome only after the
// shared COMMIT — so nil still means durable.

// maxBatch bounds how many Updates share a commit, so one batch never holds the
// writer, and its callers' answers, for long. An Update that arrives while a
// batch runs joins it, up to that bound: its caller would otherwise wait for
// this commit and then for its own. Callers woken by a commit take a moment to
// send their next Update, so batches taken only from what waited when they
// began held under 4 of 16 callers' Updates (BenchmarkReceiveApply), and each
// commit (its fsync, and a WAL frame for every page it changed) served that few.
const maxBatch = 256

// ErrClosed is returned by Update after Close.
var ErrClosed = errors.New("sqlite: database is closed")

type job struct {
	ctx      context.Context
	fn       func(tx store.Tx) error
	log      bool // UpdateLog's: leaves the generation alone
	done     chan result
	answered bool // only the writer goroutine touches it
}

type result struct {
	err      error
	panicked any
}

// Update runs fn in a write transaction, possibly shared with other Updates (see
// above). It returns once the transaction is committed or fn's work rolled back.
func (db *DB) Update(ctx context.Context, fn func(tx store.Tx) error) error {
	return db.update(ctx, fn, false)
}

// UpdateLog is Update for writes that only add to the download log (attempts
// and the counters they add to, page visits, a session's bytes, last activity
// and completion): a commit of nothing else leaves
// Generation as it is. Nothing they write can end a download's admission, so
// delivery's cache of admissions outlives them (delivery.LogUpdater); with a
// batch that commits other writes too, the generation moves as for any Update.
func (db *DB) UpdateLog(ctx context.Context, fn func(tx store.Tx) error) error {
	return db.update(ctx, fn, true)
}

func (db *DB) update(ctx context.Context, fn func(tx store.Tx) error, log bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	j := &job{ctx: ctx, fn: fn, log: log, done: make(chan result, 1)}
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
	var batch []*job
	normal := false
	defer func() {
		if normal {
			close(db.writerDone)
			return
		}
		// A job's function called runtime.Goexit (t.Fatal inside an Update, in a
		// test): its transaction was rolled back; answer whoever still waits, and
		// keep writing for everyone else.
		for _, j := range batch {
			j.answer(result{err: errors.New("sqlite: an Update of this batch exited the writer's goroutine; the batch was rolled back")})
		}
		go db.writeLoop()
	}()
	for {
		select {
		case <-db.quit:
			normal = true
			return
		case j := <-db.jobs:
			batch = append(batch[:0], j)
			db.commit(&batch)
			clear(batch) // the jobs hold their callers' requests: let them go
		}
	}
}

// answer hands a job its outcome, once.
func (j *job) answer(r result) {
	if !j.answered {
		j.answered = true
		j.done <- r
	}
}

// commit runs a batch of jobs, and those that join it (see maxBatch), in as
// few transactions as it can: one, unless SQLite rolls the whole transaction
// back under a job (an I/O error, a full disk). Then every job that ran in it
// fails, and the rest run in a new transaction. *batch holds every job taken
// from the queue, for writeLoop to answer should a job exit its goroutine.
func (db *DB) commit(batch *[]*job) {
	for done := 0; done < len(*batch); {
		results, err := db.runBatch(batch, done)
		ran := (*batch)[done : done+len(results)]
		if err != nil || !onlyLog(ran) {
			db.generation.Add(1) // also after a failed commit: never too few
		}
		db.writeStmts.Prepare(context.Background())
		for i, r := range results {
			if err != nil && r.panicked == nil && r.err == nil {
				r.err = err
			}
			ran[i].answer(r)
		}
		done += len(results)
	}
}

// onlyLog reports whether every job of a batch was UpdateLog's.
func onlyLog(batch []*job) bool {
	for _, j := range batch {
		if !j.log {
			return false
		}
	}
	return true
}

// runBatch runs the jobs of *batch from index `from` on in one transaction, taking
// those that arrive meanwhile onto *batch (see maxBatch), until they are all
// done or the transaction broke, and commits it. It returns the results of the
// jobs it ran, in order from from, and the error that fails all of them (begin,
// commit, or the broken transaction).
func (db *DB) runBatch(batch *[]*job, from int) ([]result, error) {
	tx, err := db.write.BeginTx(context.Background(), nil)
	if err != nil {
		return make([]result, len(*batch)-from), fmt.Errorf("sqlite: begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }() // a no-op after Commit
	var results []result
	for i := from; i < len(*batch) || db.join(batch); i++ {
		r, broken := db.runJob(tx, (*batch)[i])
		results = append(results, r)
		if broken {
			return results, errors.New("sqlite: the transaction was rolled back under a concurrent update; try again")
		}
	}
	start := time.Now()
	if err := tx.Commit(); err != nil {
		return results, fmt.Errorf("sqlite: commit: %w", err)
	}
	if db.ObserveCommit != nil {
		db.ObserveCommit(time.Since(start))
	}
	return results, nil
}

// join takes a waiting job onto *batch, if it may still grow, and reports
// whether it did.
func (db *DB) join(batch *[]*job) bool {
	if len(*batch) >= maxBatch {
		return false
	}
	select {
	case j := <-db.jobs:
		*batch = append(*batch, j)
		return true
	default:
		return false
	}
}

// Generation changes with every write transaction of this DB but those of
// UpdateLog alone, so callers can tell whether anything was written since they
// last read (see delivery's cache). It does not see writes by other processes on
// the same file.
func (db *DB) Generation() uint64 { return db.generation.Load() }

// runJob runs one Update inside the shared transaction, in its own savepoint. Its
// statements run without the caller's cancellation: cancelling a statement makes
// SQLite roll back the whole shared transaction, so a caller that gives up is
// noticed between statements and only its savepoint is rolled back. broken reports
// that the transaction itself is gone (a savepoint could not be rolled back or
// released).
func (db *DB) runJob(tx *sql.Tx, j *job) (r result, broken bool) {
	if err := j.ctx.Err(); err != nil {
		return result{err: err}, false
	}
	if _, err := tx.Exec(`SAVEPOINT job`); err != nil {
		return result{err: fmt.Errorf("sqlite: savepoint: %w", err)}, true
	}
	defer func() {
		if p := recover(); p != nil {
			r = result{panicked: p}
		}
		if r.err != nil || r.panicked != nil {
			if _, err := tx.Exec(`ROLLBACK TO job`); err != nil {
				broken = true
				if r.err != nil {
					r.err = fmt.Errorf("%w (and rollback: %v)", r.err, err)
				}
			}
		}
		if _, err := tx.Exec(`RELEASE job`); err != nil {
			broken = true
			if r.err == nil && r.panicked == nil {
				r.err = fmt.Errorf("sqlite: release savepoint: %w", err)
			}
		}
	}()
	err := j.fn(sqldb.NewTx(tx, db.Now(), db.writeStmts).WithoutCancel())
	if err == nil {
		err = j.ctx.Err() // cancelled while running: its caller has given up on it
	}
	return result{err: err}, false
}
