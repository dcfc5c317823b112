package s3

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/vend-shop/vend/blob"
)

// Open opens the object under key: one HEAD request for its size and time. The
// bytes come later, as Reader is read. Keys that are not content keys are refused
// before the bucket is asked.
//
// The Reader is tied to ctx: cancelling it ends the reads, so the context of the
// request being served is the right one.
func (s *Store) Open(ctx context.Context, key string) (*blob.Object, error) {
	if !blob.ValidKey(key) {
		return nil, errNotFound()
	}
	if obj, ok := s.small.Open(key); ok {
		return obj, nil // no request at all: the bytes of a key never change
	}
	out, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.bucket, Key: aws.String(s.prefix + key)})
	if httpStatus(err) == http.StatusNotFound {
		return nil, errNotFound()
	} else if err != nil {
		return nil, fmt.Errorf("s3 storage: open %s: %w", key, err)
	}
	r := &objectReader{ctx: ctx, s: s, key: key, size: aws.ToInt64(out.ContentLength)}
	if r.size <= blob.SmallFileSize {
		data, err := io.ReadAll(r)
		r.Close()
		if err != nil || int64(len(data)) != r.size {
			return nil, fmt.Errorf("s3 storage: read %s: got %d of %d bytes: %w", key, len(data), r.size, err)
		}
		// Kept for good, so checked once: the bytes must be what the key names.
		if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != key[len(key)-64:] {
			return nil, fmt.Errorf("s3 storage: %s does not hold the bytes its key names", key)
		}
		return s.small.Add(key, data, aws.ToTime(out.LastModified)), nil
	}
	return &blob.Object{Reader: r, Size: r.size, ModTime: aws.ToTime(out.LastModified)}, nil
}

// objectReader reads an object with ranged GETs. Seek only moves the offset; Read
// asks for the bytes from the offset to the end of the object and keeps reading
// that response for as long as the reads follow each other. So a whole download,
// or a resume, is one GET, and each range of a multi-range request one GET more.
type objectReader struct {
	// ctx is the context of the Open call. io.Reader has no place for one, and
	// the reader lives no longer than the request that opened it.
	ctx  context.Context
	s    *Store
	key  string
	size int64
	off  int64 // where the next Read starts

	body    io.ReadCloser // an open GET response, or nil
	bodyOff int64         // where body goes on
	closed  bool
}

// Read retries this many times, with a new GET from the same offset, when a
// response breaks off before the bytes asked for.
const readRetries = 3

// skipLimit is how far ahead a Seek may go and still keep the open response, by
// reading and dropping the bytes between: cheaper than a new request.
const skipLimit = 256 << 10

func (o *objectReader) Read(p []byte) (int, error) {
	switch {
	case o.closed:
		return 0, errors.New("s3 storage: read of a closed object")
	case o.off >= o.size:
		return 0, io.EOF
	case len(p) == 0:
		return 0, nil
	}
	p = p[:min(int64(len(p)), o.size-o.off)]
	for attempt := 0; ; attempt++ {
		if o.body != nil && o.bodyOff != o.off {
			if d := o.off - o.bodyOff; d < 0 || d > skipLimit {
				o.closeBody()
			} else if n, err := io.CopyN(io.Discard, o.body, d); err != nil {
				o.bodyOff += n
				o.closeBody()
			} else {
				o.bodyOff += n
			}
		}
		if o.body == nil {
			if err := o.get(); err != nil {
				return 0, err
			}
		}
		n, err := o.body.Read(p)
		o.off, o.bodyOff = o.off+int64(n), o.bodyOff+int64(n)
		if o.bodyOff == o.size {
			o.finishBody()
		} else if err != nil {
			o.closeBody()
		}
		if n > 0 {
			return n, nil
		} else if err == nil {
			continue
		}
		if err == io.EOF {
			err = io.ErrUnexpectedEOF // short of the size HEAD reported
		}
		if attempt == readRetries || o.ctx.Err() != nil {
			return 0, fmt.Errorf("s3 storage: read %s at %d: %w", o.key, o.off, err)
		}
	}
}

// get starts a GET of the bytes from o.off to the end of the object.
func (o *objectReader) get() error {
	out, err := o.s.client.GetObject(o.ctx, &s3.GetObjectInput{
		Bucket: &o.s.bucket,
		Key:    aws.String(o.s.prefix + o.key),
		Range:  aws.String("bytes=" + strconv.FormatInt(o.off, 10) + "-"),
	})
	if err != nil {
		return fmt.Errorf("s3 storage: read %s at %d: %w", o.key, o.off, err)
	}
	// A server that ignored the Range would send bytes from the wrong place.
	if cr := aws.ToString(out.ContentRange); !strings.HasPrefix(cr, "bytes "+strconv.FormatInt(o.off, 10)+"-") {
		out.Body.Close()
		return fmt.Errorf("s3 storage: read %s at %d: server answered range %q", o.key, o.off, cr)
	}
	o.body, o.bodyOff = out.Body, o.off
	return nil
}

// finishBody closes a response read to its end, reading its EOF first so that
// the connection goes back to the pool.
func (o *objectReader) finishBody() {
	var b [1]byte
	o.body.Read(b[:])
	o.closeBody()
}

func (o *objectReader) closeBody() {
	o.body.Close()
	o.body = nil
}

// Seek sets the offset of the next Read; it sends no request.
func (o *objectReader) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += o.off
	case io.SeekEnd:
		offset += o.size
	default:
		return 0, fmt.Errorf("s3 storage: seek %s: invalid whence %d", o.key, whence)
	}
	if offset < 0 {
		return 0, fmt.Errorf("s3 storage: seek %s: negative position %d", o.key, offset)
	}
	o.off = offset
	return offset, nil
}

// Close ends an open response.
func (o *objectReader) Close() error {
	if o.body != nil {
		o.closeBody()
	}
	o.closed = true
	return nil
}
