// Package local stores files in a directory on disk. Every access goes through an
// os.Root, so no key, however crafted, can reach a file outside that directory.
package local

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/blob"
)

// Store is a blob.Store in one directory.
type Store struct {
	root  *os.Root
	dir   string
	small blob.SmallFiles
}

var _ blob.Store = (*Store)(nil)

// Open opens (creating if needed) the storage directory.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("local storage: create %s: %w", dir, err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("local storage: open %s: %w", dir, err)
	}
	return &Store{root: root, dir: dir}, nil
}

// Close releases the directory handle.
func (s *Store) Close() error { return s.root.Close() }

// Dir returns the storage directory (for X-Accel mappings and docs).
func (s *Store) Dir() string { return s.dir }

// Put writes r to a temporary file inside the root, then renames it to its
// content key, so a reader never sees half a file.
func (s *Store) Put(ctx context.Context, r io.Reader) (blob.Info, error) {
	if err := s.root.MkdirAll("tmp", 0o700); err != nil {
		return blob.Info{}, fmt.Errorf("local storage: %w", err)
	}
	tmp := path.Join("tmp", rand.Text())
	f, err := s.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return blob.Info{}, fmt.Errorf("local storage: %w", err)
	}
	defer s.root.Remove(tmp) // a no-op once renamed
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), readerWithContext{ctx, r})
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return blob.Info{}, fmt.Errorf("local storage: write: %w", err)
	}
	key := blob.ContentKey(h.Sum(nil))
	sum := key[3:]
	if err := s.root.MkdirAll(sum[:2], 0o700); err != nil {
		return blob.Info{}, fmt.Errorf("local storage: %w", err)
	}
	if err := s.root.Rename(tmp, key); err != nil {
		return blob.Info{}, fmt.Errorf("local storage: store %s: %w", key, err)
	}
	// The key's directory may be new, so its own entry is made durable too.
	for _, dir := range []string{sum[:2], "."} {
		if err := s.syncDir(dir); err != nil {
			return blob.Info{}, fmt.Errorf("local storage: store %s: %w", key, err)
		}
	}
	return blob.Info{Key: key, Size: n, SHA256: sum}, nil
}

// syncDir makes a rename into dir durable: the file's own Sync does not cover its
// directory entry, and a product whose key vanished in a power cut cannot be served.
func (s *Store) syncDir(dir string) error {
	d, err := s.root.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// Open opens the object under key. Keys that are not content keys are refused
// before the file system is asked.
func (s *Store) Open(ctx context.Context, key string) (*blob.Object, error) {
	if !blob.ValidKey(key) {
		return nil, vend.Errorf(vend.ENOTFOUND, "No such file.")
	}
	if obj, ok := s.small.Open(key); ok {
		return obj, nil
	}
	f, err := s.root.Open(key)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, vend.Errorf(vend.ENOTFOUND, "No such file.")
	} else if err != nil {
		return nil, fmt.Errorf("local storage: open %s: %w", key, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("local storage: stat %s: %w", key, err)
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, vend.Errorf(vend.ENOTFOUND, "No such file.")
	}
	if st.Size() <= blob.SmallFileSize {
		defer f.Close()
		data := make([]byte, st.Size())
		if _, err := f.ReadAt(data, 0); err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("local storage: read %s: %w", key, err)
		}
		return s.small.Add(key, data, st.ModTime()), nil
	}
	return &blob.Object{Reader: f, Size: st.Size(), ModTime: st.ModTime()}, nil
}

type readerWithContext struct {
	ctx context.Context
	r   io.Reader
}

func (r readerWithContext) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}
