package blob

import (
	"bytes"
	"sync"
	"time"
)

// SmallFileSize is the largest object a store keeps in memory once read. Keys name
// content, so a copy never goes stale; and for a file of a few KiB, opening it (a
// walk under a root and a stat, or a request to an object store) costs more than
// sending it. Larger files are read from where they are: sendfile, ranged GETs.
const (
	SmallFileSize  = 64 << 10
	smallFilesSize = 64 << 20 // at most this much memory for them
)

// SmallFiles is the in-memory copy of small objects; the zero value is ready.
type SmallFiles struct {
	mu    sync.RWMutex
	m     map[string]smallFile
	total int64
}

type smallFile struct {
	data []byte
	mod  time.Time
}

// Open returns the kept copy of key, if any.
func (c *SmallFiles) Open(key string) (*Object, bool) {
	c.mu.RLock()
	f, ok := c.m[key]
	c.mu.RUnlock()
	if !ok {
		return nil, false
	}
	return smallObject(f.data, f.mod), true
}

// Add keeps data as the bytes of key and returns an object reading them.
func (c *SmallFiles) Add(key string, data []byte, mod time.Time) *Object {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || c.total+int64(len(data)) > smallFilesSize {
		c.m, c.total = map[string]smallFile{}, 0 // simplest bound: start over
	}
	if _, ok := c.m[key]; !ok {
		c.m[key] = smallFile{data: data, mod: mod}
		c.total += int64(len(data))
	}
	return smallObject(data, mod)
}

func smallObject(data []byte, mod time.Time) *Object {
	return &Object{Reader: nopCloser{bytes.NewReader(data)}, Size: int64(len(data)), ModTime: mod}
}

type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }
