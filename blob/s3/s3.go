// Package s3 stores files in an S3-compatible bucket (AWS S3, versitygw, MinIO,
// R2, …). Keys are content keys as in blob/local ("ab/<sha256>"), under an optional
// prefix; credentials come from the SDK's default chain (AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, shared config files, instance roles).
//
// The credentials need s3:GetObject, s3:PutObject, s3:DeleteObject,
// s3:AbortMultipartUpload and s3:ListBucket on the bucket. ListBucket is what makes
// a missing key answer 404 instead of 403. A crash in the middle of an upload leaves
// an incomplete multipart upload or an object under "<prefix>tmp/"; a lifecycle rule
// that aborts incomplete uploads and expires "<prefix>tmp/" after a day removes them.
package s3

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/blob"
)

// Defaults for the Store's fields.
const (
	// DefaultPartSize is the size of one part of a multipart upload. Files up to
	// this size go up in a single request.
	DefaultPartSize = 16 << 20
	// DefaultConcurrency is how many parts of one upload are sent at once. An
	// upload holds at most PartSize × Concurrency bytes in memory.
	DefaultConcurrency = 4
)

// Limits of the S3 API.
const (
	minPartSize  = 5 << 20
	maxParts     = 10_000
	maxCopySize  = 5 << 30 // the largest object CopyObject copies in one request
	copyPartSize = 1 << 30 // 10,000 parts of 1 GiB cover S3's 5 TiB object limit
)

// Store is a blob.Store in an S3 bucket.
type Store struct {
	client  *s3.Client
	presign *s3.PresignClient
	bucket  string
	prefix  string // "" or ending in "/"
	small   blob.SmallFiles

	// PartSize is the size of each part of a multipart upload and the largest file
	// uploaded in one request; zero means DefaultPartSize, less than 5 MiB (S3's
	// smallest part) means 5 MiB. Files may have up to 10,000 parts: 160 GB by default.
	PartSize int64
	// Concurrency is how many parts of one upload are in flight at once; zero
	// means DefaultConcurrency.
	Concurrency int
	// Logger reports what does not fail a call: a temporary object left behind.
	Logger *slog.Logger

	// Where a server-side copy switches to UploadPartCopy, and its part size:
	// fields only so that tests reach the multipart copy with small files.
	maxCopySize, copyPartSize int64
}

var _ blob.Store = (*Store)(nil)

// Open connects to the bucket named by rawURL,
//
//	s3://bucket/prefix?endpoint=http://127.0.0.1:7070&region=us-east-1
//
// where prefix, endpoint and region are optional. Without an endpoint the store
// talks to AWS itself; with one it sends path-style requests to that server. The
// region comes from the URL, else from AWS_REGION or the shared config, else
// (only with an endpoint) is us-east-1. Open checks with one request that the
// bucket is there and the credentials found are let in.
func Open(ctx context.Context, rawURL string) (*Store, error) {
	u, err := parseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("s3 storage: %w", err)
	}
	var opts []func(*config.LoadOptions) error
	if u.region != "" {
		opts = append(opts, config.WithRegion(u.region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("s3 storage: load AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		if u.endpoint == "" {
			return nil, errors.New("s3 storage: no region: add ?region= to the URL or set AWS_REGION")
		}
		cfg.Region = "us-east-1"
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		if u.endpoint != "" {
			o.BaseEndpoint = aws.String(u.endpoint)
			o.UsePathStyle = true
		}
		// Downloads are not checked against a stored CRC: the SDK's CRC64 would
		// cost more CPU than the transfer itself, TCP/TLS guard the bytes on the
		// way, and a ranged GET (most of them) has no whole-object checksum anyway.
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		o.DisableLogOutputChecksumValidationSkipped = true
	})
	s := &Store{
		client:       client,
		presign:      s3.NewPresignClient(client),
		bucket:       u.bucket,
		prefix:       u.prefix,
		Logger:       slog.Default(),
		maxCopySize:  maxCopySize,
		copyPartSize: copyPartSize,
	}
	if _, err := client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &s.bucket}); err != nil {
		switch httpStatus(err) {
		case http.StatusNotFound:
			return nil, fmt.Errorf("s3 storage: bucket %q does not exist%s", s.bucket, u.at())
		case http.StatusForbidden, http.StatusUnauthorized:
			return nil, fmt.Errorf("s3 storage: bucket %q%s: access denied (check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, and s3:ListBucket): %w", s.bucket, u.at(), err)
		}
		return nil, fmt.Errorf("s3 storage: bucket %q%s: %w", s.bucket, u.at(), err)
	}
	return s, nil
}

// Close releases nothing; it lets cmd/vend close every store alike.
func (s *Store) Close() error { return nil }

// storeURL is a parsed storage URL.
type storeURL struct {
	bucket, prefix, endpoint, region string
}

func (u storeURL) at() string {
	if u.endpoint == "" {
		return ""
	}
	return " at " + u.endpoint
}

// parseURL parses a storage URL. Its errors name the part that is wrong but never
// repeat the whole URL, in case someone put a secret into it.
// CheckURL reports what Open would refuse in rawURL before it connects, so
// that vend config check refuses it too.
func CheckURL(rawURL string) error {
	if _, err := parseURL(rawURL); err != nil {
		return fmt.Errorf("s3 storage: %w", err)
	}
	return nil
}

func parseURL(raw string) (storeURL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return storeURL{}, errors.New("URL does not parse; want s3://bucket/prefix?endpoint=…&region=…")
	}
	switch {
	case u.Scheme != "s3":
		return storeURL{}, fmt.Errorf("URL scheme %q: want s3://bucket/prefix", u.Scheme)
	case u.User != nil:
		return storeURL{}, errors.New("URL has credentials in it: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY instead")
	case u.Opaque != "":
		return storeURL{}, errors.New("URL has no bucket: want s3://bucket/prefix")
	case u.Fragment != "":
		return storeURL{}, errors.New("URL has a #fragment: want s3://bucket/prefix?endpoint=…&region=…")
	case u.Port() != "":
		return storeURL{}, fmt.Errorf("bucket %q has a port: put the server into ?endpoint=", u.Host)
	}
	if err := checkBucket(u.Host); err != nil {
		return storeURL{}, err
	}
	s := storeURL{bucket: u.Host}
	if p := strings.Trim(u.Path, "/"); p != "" {
		for _, seg := range strings.Split(p, "/") {
			if seg == "" || seg == "." || seg == ".." {
				return storeURL{}, fmt.Errorf("prefix %q: empty, . and .. segments are not allowed", u.Path)
			}
		}
		s.prefix = p + "/"
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return storeURL{}, fmt.Errorf("URL query does not parse: %v", err)
	}
	for name, vals := range q {
		if len(vals) != 1 {
			return storeURL{}, fmt.Errorf("URL parameter %q given %d times", name, len(vals))
		}
		v := vals[0]
		switch name {
		case "endpoint":
			e, err := url.Parse(v)
			if err != nil || (e.Scheme != "http" && e.Scheme != "https") || e.Host == "" || e.User != nil {
				// The endpoint may carry the keys the URL must not (key:secret@).
				return storeURL{}, fmt.Errorf("endpoint %q: want http://host:port or https://host", vend.RedactURL(v))
			}
			s.endpoint = strings.TrimSuffix(v, "/")
		case "region":
			if v == "" || strings.ContainsFunc(v, func(r rune) bool { return !(r == '-' || 'a' <= r && r <= 'z' || '0' <= r && r <= '9') }) {
				return storeURL{}, fmt.Errorf("region %q: want a region name such as us-east-1", v)
			}
			s.region = v
		default:
			return storeURL{}, fmt.Errorf("unknown URL parameter %q (known: endpoint, region)", name)
		}
	}
	return s, nil
}

// checkBucket applies S3's rules for bucket names.
func checkBucket(name string) error {
	if name == "" {
		return errors.New("URL has no bucket: want s3://bucket/prefix")
	}
	ok := len(name) >= 3 && len(name) <= 63 && isAlnum(name[0]) && isAlnum(name[len(name)-1])
	for i := 0; ok && i < len(name); i++ {
		ok = isAlnum(name[i]) || name[i] == '-' || name[i] == '.'
	}
	if !ok {
		return fmt.Errorf("bucket name %q: want 3 to 63 lower-case letters, digits, dots and hyphens", name)
	}
	return nil
}

func isAlnum(c byte) bool { return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' }

// Put streams r into the bucket. A file of at most PartSize bytes is read into
// memory, so its hash and key are known before it goes up in one request. A larger
// one goes up as a multipart upload to a temporary key while it is hashed, is
// then copied inside the bucket to its content key, and the temporary object is
// deleted. Either way a reader never sees part of a file under a content key, and a
// failed Put leaves nothing under one.
func (s *Store) Put(ctx context.Context, r io.Reader) (blob.Info, error) {
	info, err := s.put(ctx, readerWithContext{ctx, r})
	if err != nil {
		if ctx.Err() != nil {
			err = ctx.Err() // not the SDK's account of it
		}
		return blob.Info{}, fmt.Errorf("s3 storage: put: %w", err)
	}
	return info, nil
}

func (s *Store) put(ctx context.Context, r io.Reader) (blob.Info, error) {
	partSize := s.partSize()
	first, err := readFirst(r, partSize)
	if err == io.EOF {
		sum := sha256.Sum256(first)
		info := blob.Info{Key: blob.ContentKey(sum[:]), Size: int64(len(first)), SHA256: hex.EncodeToString(sum[:])}
		_, err := s.client.PutObject(ctx, &s3.PutObjectInput{
			Bucket:         &s.bucket,
			Key:            aws.String(s.prefix + info.Key),
			Body:           bytes.NewReader(first),
			ContentLength:  aws.Int64(int64(len(first))),
			ChecksumSHA256: aws.String(base64.StdEncoding.EncodeToString(sum[:])),
		})
		if err != nil {
			return blob.Info{}, fmt.Errorf("store %s: %w", info.Key, err)
		}
		return info, nil
	} else if err != nil {
		return blob.Info{}, err
	}

	h := sha256.New()
	tmp := s.prefix + "tmp/" + rand.Text()
	size, err := s.upload(ctx, tmp, first, r, func(p []byte) { h.Write(p) })
	if err != nil {
		return blob.Info{}, err
	}
	defer s.remove(ctx, tmp)
	sum := h.Sum(nil)
	info := blob.Info{Key: blob.ContentKey(sum), Size: size, SHA256: hex.EncodeToString(sum)}
	key := s.prefix + info.Key
	// The same file stored before: nothing to copy.
	head, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.bucket, Key: &key})
	if err == nil && aws.ToInt64(head.ContentLength) == size {
		return info, nil
	}
	if err := s.copy(ctx, tmp, key, size); err != nil {
		return blob.Info{}, fmt.Errorf("store %s: %w", info.Key, err)
	}
	return info, nil
}

func (s *Store) partSize() int {
	switch {
	case s.PartSize == 0:
		return DefaultPartSize
	case s.PartSize < minPartSize:
		return minPartSize
	}
	return int(s.PartSize)
}

// readFirst reads up to limit bytes, growing its buffer on the way so that a small
// file costs little memory. It returns io.EOF with all of r when r ends first.
func readFirst(r io.Reader, limit int) ([]byte, error) {
	buf := make([]byte, 0, min(limit, 256<<10))
	for {
		if len(buf) == cap(buf) {
			if len(buf) == limit {
				return buf, nil
			}
			buf = append(make([]byte, 0, min(2*cap(buf), limit)), buf...)
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err != nil {
			return buf, err
		}
	}
}

// upload sends first and the rest of r to key as a multipart upload, with at most
// Concurrency parts (each one buffer of PartSize) in flight, and passes every byte
// read to hash in order. On failure it aborts the upload.
func (s *Store) upload(ctx context.Context, key string, first []byte, r io.Reader, hash func([]byte)) (int64, error) {
	mu, err := s.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &s.bucket, Key: &key})
	if err != nil {
		return 0, fmt.Errorf("upload: %w", err)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		wg        sync.WaitGroup
		parts     = make([]types.CompletedPart, 0, 16)
		partsMu   sync.Mutex
		free      = make(chan []byte, s.concurrency())
		allocated = 1
		size      int64
		readErr   error
	)
	buf, n := first, len(first)
	hash(first)
	for num := int32(1); ; num++ {
		if num > maxParts {
			readErr = fmt.Errorf("file larger than %d parts of %d bytes", maxParts, len(buf))
			break
		}
		size += int64(n)
		wg.Add(1)
		go func(num int32, part []byte) {
			defer wg.Done()
			out, err := s.client.UploadPart(ctx, &s3.UploadPartInput{
				Bucket: &s.bucket, Key: &key, UploadId: mu.UploadId, PartNumber: &num,
				Body: bytes.NewReader(part), ContentLength: aws.Int64(int64(len(part))),
			})
			if err != nil {
				cancel(fmt.Errorf("upload part %d: %w", num, err))
				return
			}
			partsMu.Lock()
			parts = append(parts, types.CompletedPart{PartNumber: &num, ETag: out.ETag})
			partsMu.Unlock()
			free <- part[:cap(part)]
		}(num, buf[:n])
		if n < len(buf) {
			break // the last part
		}
		// A buffer for the next part: a free one, a new one, or wait for one.
		select {
		case buf = <-free:
		default:
			if allocated < cap(free) {
				buf, allocated = make([]byte, len(first)), allocated+1
				break
			}
			select {
			case buf = <-free:
			case <-ctx.Done():
			}
		}
		if ctx.Err() != nil {
			break // a part failed
		}
		n, readErr = io.ReadFull(r, buf)
		if readErr == io.EOF {
			readErr = nil
			break // no more bytes, no empty part
		} else if readErr == io.ErrUnexpectedEOF {
			readErr = nil
		} else if readErr != nil {
			break
		}
		hash(buf[:n])
	}
	wg.Wait()
	err = readErr
	if err == nil {
		err = context.Cause(ctx)
	}
	if err == nil {
		slices.SortFunc(parts, func(a, b types.CompletedPart) int { return int(*a.PartNumber - *b.PartNumber) })
		_, err = s.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
			Bucket: &s.bucket, Key: &key, UploadId: mu.UploadId,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
		})
		if err != nil {
			err = fmt.Errorf("complete upload: %w", err)
		}
	}
	if err != nil {
		s.abort(ctx, key, mu.UploadId)
		return 0, err
	}
	return size, nil
}

func (s *Store) concurrency() int {
	if s.Concurrency <= 0 {
		return DefaultConcurrency
	}
	return s.Concurrency
}

// copy copies the object src to dst inside the bucket: in one request up to 5 GiB,
// in parts beyond.
func (s *Store) copy(ctx context.Context, src, dst string, size int64) error {
	source := copySource(s.bucket, src)
	if size <= s.maxCopySize {
		_, err := s.client.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &s.bucket, Key: &dst, CopySource: &source})
		if err != nil {
			return fmt.Errorf("copy: %w", err)
		}
		return nil
	}
	mu, err := s.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &s.bucket, Key: &dst})
	if err != nil {
		return fmt.Errorf("copy: %w", err)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	count := int32((size + s.copyPartSize - 1) / s.copyPartSize)
	parts := make([]types.CompletedPart, count)
	sem := make(chan struct{}, s.concurrency())
	var wg sync.WaitGroup
	for i := range count {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			num, start := i+1, int64(i)*s.copyPartSize
			out, err := s.client.UploadPartCopy(ctx, &s3.UploadPartCopyInput{
				Bucket: &s.bucket, Key: &dst, UploadId: mu.UploadId, PartNumber: &num, CopySource: &source,
				CopySourceRange: aws.String(fmt.Sprintf("bytes=%d-%d", start, min(start+s.copyPartSize, size)-1)),
			})
			if err != nil {
				cancel(fmt.Errorf("copy part %d: %w", num, err))
				return
			}
			parts[i] = types.CompletedPart{PartNumber: &num, ETag: out.CopyPartResult.ETag}
		})
	}
	wg.Wait()
	err = context.Cause(ctx)
	if err == nil {
		_, err = s.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
			Bucket: &s.bucket, Key: &dst, UploadId: mu.UploadId,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
		})
		if err != nil {
			err = fmt.Errorf("complete copy: %w", err)
		}
	}
	if err != nil {
		s.abort(ctx, dst, mu.UploadId)
		return err
	}
	return nil
}

// copySource is the x-amz-copy-source of key: bucket and key, URL-encoded.
func copySource(bucket, key string) string {
	segs := strings.Split(bucket+"/"+key, "/")
	for i, seg := range segs {
		segs[i] = url.PathEscape(seg)
	}
	return strings.Join(segs, "/")
}

// cleanupTimeout bounds the requests that clean up after a Put, which run even
// when the Put's context is cancelled.
const cleanupTimeout = 30 * time.Second

func (s *Store) abort(ctx context.Context, key string, uploadID *string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	if _, err := s.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &s.bucket, Key: &key, UploadId: uploadID}); err != nil {
		s.logger().WarnContext(ctx, "s3 storage: incomplete multipart upload left behind", "bucket", s.bucket, "key", key, "error", err)
	}
}

func (s *Store) remove(ctx context.Context, key string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	if _, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.bucket, Key: &key}); err != nil {
		s.logger().WarnContext(ctx, "s3 storage: temporary object left behind", "bucket", s.bucket, "key", key, "error", err)
	}
}

func (s *Store) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.Default()
	}
	return s.Logger
}

// httpStatus is the HTTP status of an SDK error, or 0.
func httpStatus(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

func errNotFound() error { return vend.Errorf(vend.ENOTFOUND, "No such file.") }

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
