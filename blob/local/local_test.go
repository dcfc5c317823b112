package local_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/vend-shop/vend/blob"
	"github.com/vend-shop/vend/blob/blobtest"
	"github.com/vend-shop/vend/blob/local"
)

// MustOpenStore returns a store in a new directory under tb.TempDir().
func MustOpenStore(tb testing.TB) *local.Store {
	tb.Helper()
	s, err := local.Open(filepath.Join(tb.TempDir(), "files"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

func TestStore(t *testing.T) {
	blobtest.Run(t, func(tb testing.TB) blob.Store { return MustOpenStore(tb) })
}

// A secret outside the storage directory that no key may reach.
const secret = "root:x:0:0:secret outside the storage root\n"

func TestStore_Open_Escapes(t *testing.T) {
	tests := []struct {
		name string
		// plant puts something into the storage directory dir and returns a key in
		// the content-key pattern that leads to it; outside is a directory beside dir
		// holding the file "secret".
		plant func(t *testing.T, dir, outside string) string
	}{
		{
			name: "a symlink at a key pointing outside the root is refused",
			plant: func(t *testing.T, dir, outside string) string {
				key := blobtest.Key([]byte("a"))
				mkdir(t, filepath.Join(dir, key[:2]))
				symlink(t, filepath.Join(outside, "secret"), filepath.Join(dir, key))
				return key
			},
		},
		{
			name: "a relative symlink at a key climbing out of the root is refused",
			plant: func(t *testing.T, dir, outside string) string {
				key := blobtest.Key([]byte("b"))
				mkdir(t, filepath.Join(dir, key[:2]))
				symlink(t, "../../outside/secret", filepath.Join(dir, key))
				return key
			},
		},
		{
			name: "a symlinked key directory pointing outside the root is refused",
			plant: func(t *testing.T, dir, outside string) string {
				key := blobtest.Key([]byte("c"))
				if err := os.WriteFile(filepath.Join(outside, filepath.Base(key)), []byte(secret), 0o600); err != nil {
					t.Fatal(err)
				}
				symlink(t, outside, filepath.Join(dir, key[:2]))
				return key
			},
		},
		{
			name: "a symlink at a key pointing to /etc/passwd is refused",
			plant: func(t *testing.T, dir, outside string) string {
				key := blobtest.Key([]byte("d"))
				mkdir(t, filepath.Join(dir, key[:2]))
				symlink(t, "/etc/passwd", filepath.Join(dir, key))
				return key
			},
		},
		{
			name: "a directory at a key is not found",
			plant: func(t *testing.T, dir, outside string) string {
				key := blobtest.Key([]byte("e"))
				mkdir(t, filepath.Join(dir, key))
				return key
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := t.TempDir()
			dir, outside := filepath.Join(base, "files"), filepath.Join(base, "outside")
			mkdir(t, outside)
			if err := os.WriteFile(filepath.Join(outside, "secret"), []byte(secret), 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := local.Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			key := tt.plant(t, dir, outside)

			obj, err := s.Open(context.Background(), key)
			if err == nil {
				b, _ := io.ReadAll(obj.Reader)
				obj.Reader.Close()
				t.Fatalf("Open(%q) opened %d bytes (%q)", key, len(b), b[:min(len(b), 40)])
			}
		})
	}
}

func TestStore_Put_LeavesNoTemporaryFiles(t *testing.T) {
	s := MustOpenStore(t)
	data := blobtest.Data(9, 500_000)
	blobtest.MustPut(t, s, data)
	blobtest.MustPut(t, s, data)
	_, err := s.Put(context.Background(), &errReader{data: data[:1000]})
	if err == nil {
		t.Fatal("Put with a failing reader succeeded")
	}

	var files []string
	filepath.WalkDir(s.Dir(), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(s.Dir(), path)
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if len(files) != 1 || files[0] != blobtest.Key(data) {
		t.Errorf("files in the storage directory: %q, want only %q", files, blobtest.Key(data))
	}
	b, err := os.ReadFile(filepath.Join(s.Dir(), blobtest.Key(data)))
	if err != nil || !bytes.Equal(b, data) {
		t.Errorf("stored file: %v, or wrong bytes", err)
	}
}

type errReader struct{ data []byte }

func (r *errReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, errors.New("upload broke off")
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestStore_Open(t *testing.T) {
	s := MustOpenStore(t)
	t.Run("a large file is an *os.File, for sendfile", func(t *testing.T) {
		// http.ServeContent hands an *os.File to sendfile; anything else is copied
		// through user space.
		info := blobtest.MustPut(t, s, blobtest.Data(10, blob.SmallFileSize+1))
		obj, err := s.Open(context.Background(), info.Key)
		if err != nil {
			t.Fatal(err)
		}
		defer obj.Reader.Close()
		if _, ok := obj.Reader.(*os.File); !ok {
			t.Errorf("Reader is a %T, want *os.File", obj.Reader)
		}
	})
	t.Run("a small file is served from memory, also after it left the disk", func(t *testing.T) {
		data := blobtest.Data(11, blob.SmallFileSize)
		info := blobtest.MustPut(t, s, data)
		for i := range 2 {
			obj, err := s.Open(context.Background(), info.Key)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(obj.Reader)
			obj.Reader.Close()
			if !bytes.Equal(got, data) || obj.Size != int64(len(data)) {
				t.Fatalf("open %d: got %d bytes (size %d), want the %d stored", i, len(got), obj.Size, len(data))
			}
			if i == 0 { // the second open must not need the file
				if err := os.Remove(filepath.Join(s.Dir(), info.Key)); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
}

func mkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}
