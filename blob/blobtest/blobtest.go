// Package blobtest is the conformance suite every blob.Store passes: blob/local
// and blob/s3. Tests of an implementation call Run with a function that
// returns a new, empty store.
package blobtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/blob"
)

// Run runs the suite; open returns a new, empty store.
func Run(t *testing.T, open func(tb testing.TB) blob.Store) {
	t.Run("Put stores the bytes under a key derived from their SHA-256", func(t *testing.T) { testPut(t, open(t)) })
	t.Run("the same content twice gives the same key", func(t *testing.T) { testSameContent(t, open(t)) })
	t.Run("empty content can be stored", func(t *testing.T) { testEmpty(t, open(t)) })
	t.Run("a reader error stores nothing", func(t *testing.T) { testReaderError(t, open(t)) })
	t.Run("a cancelled context stores nothing", func(t *testing.T) { testCancelled(t, open(t)) })
	t.Run("while Put writes, its key is not found; then it holds the whole file", func(t *testing.T) { testAtomic(t, open(t)) })
	t.Run("keys that are not content keys are refused", func(t *testing.T) { testBadKeys(t, open(t)) })
}

// Data returns n reproducible random bytes.
func Data(seed uint64, n int) []byte {
	b := make([]byte, n)
	rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)}).Read(b)
	return b
}

// Key returns the key a store gives data: the hex SHA-256 under a directory of its
// first two characters.
func Key(data []byte) string {
	sum := sha256.Sum256(data)
	h := hex.EncodeToString(sum[:])
	return h[:2] + "/" + h
}

// MustPut stores data and checks the Info it gets back.
func MustPut(tb testing.TB, s blob.Store, data []byte) blob.Info {
	tb.Helper()
	info, err := s.Put(context.Background(), bytes.NewReader(data))
	if err != nil {
		tb.Fatalf("Put: %v", err)
	}
	sum := sha256.Sum256(data)
	if want := (blob.Info{Key: Key(data), Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:])}); info != want {
		tb.Fatalf("Put = %+v, want %+v", info, want)
	}
	return info
}

// MustRead opens key and returns its bytes, checking the object's size.
func MustRead(tb testing.TB, s blob.Store, key string) []byte {
	tb.Helper()
	obj, err := s.Open(context.Background(), key)
	if err != nil {
		tb.Fatalf("Open(%q): %v", key, err)
	}
	defer obj.Reader.Close()
	b, err := io.ReadAll(obj.Reader)
	if err != nil {
		tb.Fatalf("read %q: %v", key, err)
	}
	if int64(len(b)) != obj.Size {
		tb.Fatalf("Open(%q): Size %d, read %d bytes", key, obj.Size, len(b))
	}
	return b
}

// MustNotFind checks that key is not found.
func MustNotFind(tb testing.TB, s blob.Store, key string) {
	tb.Helper()
	obj, err := s.Open(context.Background(), key)
	if err == nil {
		obj.Reader.Close()
		tb.Fatalf("Open(%q) found an object", key)
	}
	if vend.ErrorCode(err) != vend.ENOTFOUND {
		tb.Fatalf("Open(%q): %v, want not found", key, err)
	}
}

func testPut(t *testing.T, s blob.Store) {
	data := Data(1, 3<<20+17)
	info := MustPut(t, s, data)
	if got := MustRead(t, s, info.Key); !bytes.Equal(got, data) {
		t.Fatal("Open returns other bytes than were stored")
	}
	obj, err := s.Open(context.Background(), info.Key)
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Reader.Close()
	if obj.ModTime.IsZero() {
		t.Error("ModTime is zero")
	}
	// Range requests seek.
	if _, err := obj.Reader.Seek(1<<20, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	part := make([]byte, 100)
	if _, err := io.ReadFull(obj.Reader, part); err != nil || !bytes.Equal(part, data[1<<20:1<<20+100]) {
		t.Errorf("after Seek: %v, wrong bytes", err)
	}
}

func testSameContent(t *testing.T, s blob.Store) {
	data := Data(2, 100_000)
	a, b := MustPut(t, s, data), MustPut(t, s, bytes.Clone(data))
	if a != b {
		t.Errorf("keys differ: %+v and %+v", a, b)
	}
	if got := MustRead(t, s, a.Key); !bytes.Equal(got, data) {
		t.Error("wrong bytes after the second Put")
	}
	// Concurrent Puts of the same content agree too.
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if info, err := s.Put(context.Background(), bytes.NewReader(data)); err != nil || info != a {
				t.Errorf("concurrent Put = %+v, %v", info, err)
			}
		})
	}
	wg.Wait()
	if got := MustRead(t, s, a.Key); !bytes.Equal(got, data) {
		t.Error("wrong bytes after concurrent Puts")
	}
}

func testEmpty(t *testing.T, s blob.Store) {
	info := MustPut(t, s, nil)
	if got := MustRead(t, s, info.Key); len(got) != 0 {
		t.Errorf("read %d bytes, want 0", len(got))
	}
}

// failingReader yields n bytes of data, then err.
type failingReader struct {
	data []byte
	err  error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func testReaderError(t *testing.T, s blob.Store) {
	data := Data(3, 1<<20)
	broken := errors.New("connection reset by uploader")
	_, err := s.Put(context.Background(), &failingReader{data: data[:300_000], err: broken})
	if !errors.Is(err, broken) {
		t.Fatalf("Put = %v, want the reader's error", err)
	}
	MustNotFind(t, s, Key(data))
	MustNotFind(t, s, Key(data[:300_000]))
}

func testCancelled(t *testing.T, s blob.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	data := Data(4, 1<<20)
	r := &cancelAfter{data: data, n: 200_000, cancel: cancel}
	if _, err := s.Put(ctx, r); !errors.Is(err, context.Canceled) {
		t.Fatalf("Put = %v, want context.Canceled", err)
	}
	MustNotFind(t, s, Key(data))
	MustNotFind(t, s, Key(data[:200_000]))
}

// cancelAfter reads data and cancels its context after n bytes.
type cancelAfter struct {
	data   []byte
	n      int
	cancel func()
	read   int
}

func (r *cancelAfter) Read(p []byte) (int, error) {
	if r.read >= r.n {
		r.cancel()
	}
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), 32<<10)], r.data)
	r.data, r.read = r.data[n:], r.read+n
	return n, nil
}

func testAtomic(t *testing.T, s blob.Store) {
	data := Data(5, 2<<20)
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		_, err := s.Put(context.Background(), pr)
		done <- err
	}()
	if _, err := pw.Write(data[:1<<20]); err != nil {
		t.Fatal(err)
	}
	MustNotFind(t, s, Key(data)) // half written
	if _, err := pw.Write(data[1<<20:]); err != nil {
		t.Fatal(err)
	}
	MustNotFind(t, s, Key(data)) // all written, not yet committed
	pw.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := MustRead(t, s, Key(data)); !bytes.Equal(got, data) {
		t.Error("wrong bytes")
	}
}

func testBadKeys(t *testing.T, s blob.Store) {
	info := MustPut(t, s, Data(6, 1000))
	for _, key := range []string{
		"",
		"../x",
		"/etc/passwd",
		"../../../../etc/passwd",
		info.Key[:2],
		info.Key[3:],
		"/" + info.Key,
		info.Key + "/",
		info.Key + "\n",
		info.Key[:2] + "/../" + info.Key,
		"./" + info.Key,
		info.Key[:2] + "//" + info.Key[3:],
		upper(info.Key),
		"tmp/" + info.Key[3:],
		Key([]byte("never stored")),
	} {
		MustNotFind(t, s, key)
	}
}

func upper(s string) string { return string(bytes.ToUpper([]byte(s))) }
