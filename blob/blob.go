// Package blob holds the value types of file storage and the key scheme.
// Implementations (blob/local on disk, blob/s3 on S3-compatible object storage)
// keep the bytes; the database keeps only their key, size and hash.
package blob

import (
	"context"
	"io"
	"time"
)

// Info describes stored bytes. Keys are derived from the content (its SHA-256), so
// storing the same file twice keeps one copy and a key never reveals a file name.
type Info struct {
	Key    string
	Size   int64
	SHA256 string // lower-case hex
}

// Object is an open stored file. For local storage its Reader is an *os.File, so
// http.ServeContent can hand the transfer to sendfile.
type Object struct {
	Reader  io.ReadSeekCloser
	Size    int64
	ModTime time.Time
}

// Store keeps file bytes. Close releases what the store holds open (a directory
// handle); the store is not used after it.
type Store interface {
	io.Closer
	// Put streams r into storage, hashing it on the way.
	Put(ctx context.Context, r io.Reader) (Info, error)
	// Open opens the object stored under key.
	Open(ctx context.Context, key string) (*Object, error)
}
